// Jinja's built-in filters and tests (jinja2/filters.py, jinja2/tests.py) as chat templates use
// them, plus transformers' tojson.
#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/jinja_builtins.h"
#include "common/tokenizer/jinja_interpreter.h"
#include "common/tokenizer/python_str.h"

namespace flywheel::tokenizer::jinja {
namespace {

absl::Status Error(const std::string& what) { return absl::InvalidArgumentError(what); }

// Jinja's attribute paths for sort / map / groupby: "a.b" or "0".
absl::StatusOr<Value> AttributePath(const Value& v, const std::string& path) {
  Value cur = v;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      int64_t index = 0;
      if (!absl::SimpleAtoi(part, &index)) return Error("attribute index out of range: " + part);
      ASSIGN_OR_RETURN(cur, GetItem(cur, Value::Int(index)));
    } else {
      ASSIGN_OR_RETURN(cur, GetItem(cur, Value::String(part)));
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// Sort key: strings lower-cased unless case-sensitive (Jinja's ignore_case).
Value SortKey(const Value& v, bool case_sensitive) {
  return v.is_string() && !case_sensitive ? Value::String(py::Lower(v.str())) : v;
}

absl::StatusOr<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return 0;
    case Kind::kString:
      return static_cast<int64_t>(py::Length(v.str()));
    case Kind::kList:
    case Kind::kTuple:
      return static_cast<int64_t>(v.items().size());
    case Kind::kDict:
    case Kind::kNamespace:
      return static_cast<int64_t>(v.dict().entries.size());
    default:
      return Error(absl::StrCat("object of type '", v.TypeName(), "' has no len()"));
  }
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// select / reject / selectattr / rejectattr.
absl::StatusOr<Value> Select(Interpreter& in, const Value& input, Args& args, bool attr,
                             bool keep) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  size_t next = 0;
  std::string attribute;
  if (attr) {
    if (args.positional.empty() || !args.positional[0].is_string()) {
      return Error("selectattr / rejectattr need an attribute name");
    }
    attribute = args.positional[next++].str();
  }
  std::string test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) return Error("the test name must be a str");
    test = args.positional[next++].str();
  }
  Args test_args;
  test_args.positional.assign(args.positional.begin() + next, args.positional.end());
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (attr) {
      ASSIGN_OR_RETURN(subject, AttributePath(item, attribute));
    }
    bool pass;
    if (test.empty()) {
      pass = subject.Truthy();
    } else {
      Args copy = test_args;
      ASSIGN_OR_RETURN(pass, ApplyTest(in, test, subject, copy));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> ToJsonFilter(const Value& input, Args& args) {
  std::vector<Value> a;
  RETURN_IF_ERROR(
      BindArgs("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"}, &a));
  if (a[0].Truthy()) return Error("tojson: ensure_ascii=True is not supported");
  int indent = -1;
  std::string item_sep = ", ", key_sep = ": ";
  if (a[1].kind() == Kind::kInt) {
    indent = static_cast<int>(std::max<int64_t>(0, a[1].integer()));
    item_sep = ",";  // json.dumps drops the space after ',' when indenting
  } else if (!a[1].is_undefined() && !a[1].is_none()) {
    return Error("tojson: indent must be an integer");
  }
  if (a[2].is_sequence() && a[2].items().size() == 2 && a[2].items()[0].is_string() &&
      a[2].items()[1].is_string()) {
    item_sep = a[2].items()[0].str();
    key_sep = a[2].items()[1].str();
  } else if (!a[2].is_undefined() && !a[2].is_none()) {
    return Error("tojson: separators must be a pair of strings");
  }
  ASSIGN_OR_RETURN(std::string json, ToJson(input, indent, item_sep, key_sep, a[3].Truthy()));
  return Value::String(std::move(json));
}

absl::StatusOr<Value> Sort(const Value& input, const std::vector<Value>& a) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const bool reverse = a[0].Truthy(), case_sensitive = a[1].Truthy();
  std::vector<std::pair<Value, Value>> keyed;
  for (const Value& item : items) {
    Value key = item;
    if (a[2].is_string()) {
      ASSIGN_OR_RETURN(key, AttributePath(item, a[2].str()));
    }
    keyed.emplace_back(SortKey(key, case_sensitive), item);
  }
  absl::Status error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    absl::StatusOr<bool> less = reverse ? Less(y.first, x.first) : Less(x.first, y.first);
    if (!less.ok()) error = less.status();
    return less.ok() && *less;
  });
  RETURN_IF_ERROR(error);
  std::vector<Value> out;
  for (auto& [_, v] : keyed) out.push_back(std::move(v));
  return Value::List(std::move(out));
}

absl::StatusOr<Value> MinMax(const Value& input, const std::vector<Value>& a, bool max) {
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  if (items.empty()) return Value();
  const Value* best = nullptr;
  Value best_key;
  for (const Value& item : items) {
    Value key = item;
    if (a[1].is_string()) {
      ASSIGN_OR_RETURN(key, AttributePath(item, a[1].str()));
    }
    key = SortKey(key, a[0].Truthy());
    if (best != nullptr) {
      ASSIGN_OR_RETURN(bool better, max ? Less(best_key, key) : Less(key, best_key));
      if (!better) continue;
    }
    best = &item;
    best_key = key;
  }
  return *best;
}

}  // namespace

absl::Status BindArgs(std::string_view function, const Args& args,
                      std::initializer_list<std::string_view> names, std::vector<Value>* out) {
  out->assign(names.size(), Value());
  if (args.positional.size() > names.size()) {
    return Error(absl::StrCat(std::string(function), "() takes at most ", names.size(),
                              " arguments (", args.positional.size(), " given)"));
  }
  for (size_t i = 0; i < args.positional.size(); ++i) (*out)[i] = args.positional[i];
  for (const auto& [k, v] : args.keyword) {
    auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end()) {
      return Error(
          absl::StrCat(std::string(function), "() got an unexpected keyword argument '", k, "'"));
    }
    (*out)[it - names.begin()] = v;
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> ApplyFilter(Interpreter& in, const std::string& name, const Value& input,
                                  Args& args) {
  std::vector<Value> a;
  auto bind = [&](std::initializer_list<std::string_view> names) {
    return BindArgs(name, args, names, &a);
  };
  if (name == "tojson") return ToJsonFilter(input, args);
  if (name == "trim") {
    RETURN_IF_ERROR(bind({"chars"}));
    std::optional<std::string> chars;
    if (a[0].is_string()) chars = a[0].str();
    return Value::String(py::Strip(input.Str(), chars, true, true));
  }
  if (name == "length" || name == "count") {
    ASSIGN_OR_RETURN(int64_t n, Length(input));
    return Value::Int(n);
  }
  if (name == "string") return input.is_string() ? input : Value::String(input.Str());
  if (name == "lower") return Value::String(py::Lower(input.Str()));
  if (name == "upper") return Value::String(py::Upper(input.Str()));
  if (name == "title") return Value::String(py::Title(input.Str()));
  if (name == "capitalize") return Value::String(py::Capitalize(input.Str()));
  if (name == "safe") return input;
  if (name == "e" || name == "escape") return Value::String(HtmlEscape(input.Str()));
  if (name == "default" || name == "d") {
    RETURN_IF_ERROR(bind({"default_value", "boolean"}));
    const bool use_default = input.is_undefined() || (a[1].Truthy() && !input.Truthy());
    if (!use_default) return input;
    return a[0].is_undefined() ? Value::String("") : a[0];
  }
  if (name == "first" || name == "last") {
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    return Value::List(std::move(items));
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::u32string u = py::ToU32(input.str());
      std::reverse(u.begin(), u.end());
      return Value::String(py::FromU32(u));
    }
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    std::reverse(items.begin(), items.end());
    return Value::List(std::move(items));
  }
  if (name == "items") {
    if (input.is_undefined()) return Value::List({});
    if (!input.is_mapping()) return Error("items: can only get item pairs from a mapping");
    std::vector<Value> out;
    for (const auto& [k, v] : input.dict().entries) {
      out.push_back(Value::Tuple({Value::String(k), v}));
    }
    return Value::List(std::move(out));
  }
  if (name == "dictsort") {
    RETURN_IF_ERROR(bind({"case_sensitive", "by", "reverse"}));
    if (!input.is_mapping()) return Error("dictsort: expected a mapping");
    const size_t pos = a[1].is_string() && a[1].str() == "value" ? 1 : 0;
    std::vector<Value> pairs;
    for (const auto& [k, v] : input.dict().entries)
      pairs.push_back(Value::Tuple({Value::String(k), v}));
    std::vector<Value> sort_args = {a[2], a[0], Value::String(std::to_string(pos))};
    return Sort(Value::List(std::move(pairs)), sort_args);
  }
  if (name == "join") {
    RETURN_IF_ERROR(bind({"d", "attribute"}));
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += a[0].Str();
      Value item = items[i];
      if (a[1].is_string()) {
        ASSIGN_OR_RETURN(item, AttributePath(item, a[1].str()));
      }
      out += item.Str();
    }
    return Value::String(out);
  }
  if (name == "replace") {
    RETURN_IF_ERROR(bind({"old", "new", "count"}));
    ASSIGN_OR_RETURN(Value method, GetAttribute(Value::String(input.Str()), "replace"));
    Args call;
    call.positional = {Value::String(a[0].Str()), Value::String(a[1].Str())};
    if (a[2].is_number()) call.positional.push_back(a[2]);
    return in.Call(method, call);
  }
  if (name == "int" || name == "float") {
    RETURN_IF_ERROR(bind({"default", "base"}));
    const Value fallback =
        a[0].is_undefined() ? (name == "int" ? Value::Int(0) : Value::Float(0)) : a[0];
    double d;
    if (input.is_number()) {
      d = input.number();
    } else if (input.is_string()) {
      try {
        size_t used = 0;
        const std::string s = py::Strip(input.str(), std::nullopt, true, true);
        d = std::stod(s, &used);
        if (used != s.size()) return fallback;
      } catch (const std::exception&) {
        return fallback;
      }
    } else {
      return fallback;
    }
    if (name == "float") return Value::Float(d);
    if (input.is_number() && input.kind() != Kind::kFloat) return Value::Int(input.integer());
    const std::optional<int64_t> i = py::FloatToInt(d);
    return i ? Value::Int(*i) : fallback;
  }
  if (name == "abs") {
    if (!input.is_number()) return Error("bad operand type for abs()");
    return input.kind() == Kind::kFloat ? Value::Float(std::fabs(input.number()))
                                        : Value::Int(std::llabs(input.integer()));
  }
  if (name == "round") {
    RETURN_IF_ERROR(bind({"precision", "method"}));
    const double scale = std::pow(10.0, a[0].is_number() ? a[0].integer() : 0);
    const std::string method = a[1].is_string() ? a[1].str() : "common";
    double x = input.number() * scale;
    // Python's round() breaks ties to even, which is nearbyint's default rounding.
    x = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
    return Value::Float(x / scale);
  }
  if (name == "sum") {
    RETURN_IF_ERROR(bind({"attribute", "start"}));
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    Value total = a[1].is_undefined() ? Value::Int(0) : a[1];
    for (const Value& item : items) {
      Value v = item;
      if (a[0].is_string()) {
        ASSIGN_OR_RETURN(v, AttributePath(item, a[0].str()));
      }
      ASSIGN_OR_RETURN(total, Arithmetic("+", total, v));
    }
    return total;
  }
  if (name == "min" || name == "max") {
    RETURN_IF_ERROR(bind({"case_sensitive", "attribute"}));
    return MinMax(input, a, name == "max");
  }
  if (name == "sort") {
    RETURN_IF_ERROR(bind({"reverse", "case_sensitive", "attribute"}));
    return Sort(input, a);
  }
  if (name == "unique") {
    RETURN_IF_ERROR(bind({"case_sensitive", "attribute"}));
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    std::vector<Value> out, seen;
    for (const Value& item : items) {
      Value key = item;
      if (a[1].is_string()) {
        ASSIGN_OR_RETURN(key, AttributePath(item, a[1].str()));
      }
      key = SortKey(key, a[0].Truthy());
      if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equal(s, key); })) {
        continue;
      }
      seen.push_back(key);
      out.push_back(item);
    }
    return Value::List(std::move(out));
  }
  if (name == "map") {
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
    std::vector<Value> out;
    const Value* attribute = nullptr;
    const Value* fallback = nullptr;
    for (const auto& [k, v] : args.keyword) {
      if (k == "attribute") attribute = &v;
      if (k == "default") fallback = &v;
    }
    for (const Value& item : items) {
      if (attribute != nullptr) {
        ASSIGN_OR_RETURN(Value v, AttributePath(item, attribute->Str()));
        out.push_back(v.is_undefined() && fallback != nullptr ? *fallback : v);
        continue;
      }
      if (args.positional.empty() || !args.positional[0].is_string()) {
        return Error("map: needs a filter name or attribute=");
      }
      Args filter_args;
      filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
      ASSIGN_OR_RETURN(Value v, ApplyFilter(in, args.positional[0].str(), item, filter_args));
      out.push_back(std::move(v));
    }
    return Value::List(std::move(out));
  }
  if (name == "select" || name == "reject") return Select(in, input, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") {
    return Select(in, input, args, true, name == "selectattr");
  }
  if (name == "attr") {
    RETURN_IF_ERROR(bind({"name"}));
    // Attributes only: a dict's items are not attributes in Python, its methods are.
    const std::string attr = a[0].Str();
    if (input.kind() == Kind::kDict && attr != "items" && attr != "keys" && attr != "values" &&
        attr != "get") {
      return Value();
    }
    return GetAttribute(input, attr);
  }
  if (name == "indent") {
    RETURN_IF_ERROR(bind({"width", "first", "blank"}));
    const std::string pad =
        a[0].is_string() ? a[0].str() : std::string(a[0].is_number() ? a[0].integer() : 4, ' ');
    const std::vector<std::string> lines = py::Split(input.Str(), std::string("\n"), -1, false);
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n";
      const bool blank = py::Strip(lines[i], std::nullopt, true, true).empty();
      if ((i > 0 || a[1].Truthy()) && (!blank || a[2].Truthy())) out += pad;
      out += lines[i];
    }
    return Value::String(out);
  }
  if (name == "wordcount") {
    return Value::Int(static_cast<int64_t>(py::Split(input.Str(), std::nullopt, -1, false).size()));
  }
  if (name == "format") {
    if (!args.keyword.empty()) return Error("format: keyword arguments are not supported");
    return Arithmetic("%", Value::String(input.Str()), Value::Tuple(args.positional));
  }
  return Error(absl::StrCat("no filter named '", name, "'"));
}

absl::StatusOr<bool> ApplyTest(Interpreter& in, const std::string& name, const Value& input,
                               Args& args) {
  std::vector<Value> a;
  RETURN_IF_ERROR(BindArgs(name, args, {"other"}, &a));
  const Kind k = input.kind();
  if (name == "defined") return k != Kind::kUndefined;
  if (name == "undefined") return k == Kind::kUndefined;
  if (name == "none") return k == Kind::kNone;
  if (name == "true") return k == Kind::kBool && input.boolean();
  if (name == "false") return k == Kind::kBool && !input.boolean();
  if (name == "boolean") return k == Kind::kBool;
  if (name == "integer") return k == Kind::kInt;
  if (name == "float") return k == Kind::kFloat;
  if (name == "number") return input.is_number();
  if (name == "string") return k == Kind::kString;
  if (name == "mapping") return k == Kind::kDict;
  if (name == "sequence") return input.is_sequence() || k == Kind::kString || k == Kind::kDict;
  if (name == "iterable") return input.is_sequence() || input.is_mapping() || k == Kind::kString;
  if (name == "callable") return k == Kind::kFunction;
  if (name == "sameas") {
    if (input.is_none() || input.is_bool() || a[0].is_none() || a[0].is_bool()) {
      return k == a[0].kind() && (k != Kind::kBool || input.boolean() == a[0].boolean());
    }
    return Equal(input, a[0]) && (input.is_sequence() || input.is_mapping());
  }
  if (name == "eq" || name == "equalto" || name == "==") return Equal(input, a[0]);
  if (name == "ne" || name == "!=") return !Equal(input, a[0]);
  if (name == "lt" || name == "lessthan" || name == "<") return Less(input, a[0]);
  if (name == "gt" || name == "greaterthan" || name == ">") return Less(a[0], input);
  if (name == "le" || name == "<=") {
    ASSIGN_OR_RETURN(bool gt, Less(a[0], input));
    return !gt;
  }
  if (name == "ge" || name == ">=") {
    ASSIGN_OR_RETURN(bool lt, Less(input, a[0]));
    return !lt;
  }
  if (name == "in") {
    const Value& container = a[0];
    if (container.is_string()) {
      if (!input.is_string()) {
        return Error(
            absl::StrCat("'in <string>' requires string as left operand, not ", input.TypeName()));
      }
      return container.str().find(input.str()) != std::string::npos;
    }
    if (container.is_mapping()) return input.is_string() && container.dict().Find(input.str());
    if (container.is_sequence() || container.is_undefined()) {
      ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(container));
      return std::any_of(items.begin(), items.end(),
                         [&](const Value& v) { return Equal(v, input); });
    }
    return Error(absl::StrCat("argument of type '", container.TypeName(), "' is not iterable"));
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (k != Kind::kInt) return Error(absl::StrCat(name, ": expected an integer"));
    if (name == "divisibleby") {
      if (!a[0].is_number() || a[0].integer() == 0) return Error("divisibleby: bad divisor");
      return input.integer() % a[0].integer() == 0;
    }
    return (input.integer() % 2 != 0) == (name == "odd");
  }
  if (name == "lower") return py::Lower(input.Str()) == input.Str();
  if (name == "upper") return py::Upper(input.Str()) == input.Str();
  if (name == "escaped") return false;
  return Error(absl::StrCat("no test named '", name, "'"));
}

}  // namespace flywheel::tokenizer::jinja
