// Attribute and item lookup, the str / dict / list methods templates call, iteration, and the
// global functions.
#include <algorithm>
#include <cctype>
#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/jinja_builtins.h"
#include "common/tokenizer/python_str.h"

namespace flywheel::tokenizer::jinja {
namespace {

absl::Status TypeError(const std::string& what) {
  return absl::InvalidArgumentError(std::string(what));
}

std::optional<std::string> OptionalStr(const Value& v) {
  if (v.is_string()) return v.str();
  return std::nullopt;
}

// A str or a tuple of them, as startswith / endswith take.
absl::StatusOr<std::vector<std::string>> Affixes(const Value& v, std::string_view method) {
  if (v.is_string()) return std::vector<std::string>{v.str()};
  if (v.kind() == Kind::kTuple) {
    std::vector<std::string> out;
    for (const Value& item : v.items()) {
      if (!item.is_string()) break;
      out.push_back(item.str());
    }
    if (out.size() == v.items().size()) return out;
  }
  return TypeError(absl::StrCat(std::string(method), " first arg must be str or a tuple of str"));
}

// Python index normalization for str.find-style [start, end) arguments on code points.
void Clamp(const Value& v, int64_t length, int64_t* out) {
  if (!v.is_number()) return;
  int64_t i = v.integer();
  if (i < 0) i = std::max<int64_t>(0, i + length);
  *out = std::min(i, length);
}

// str.format with {} / {0} / {name} fields (no format specs or conversions).
absl::StatusOr<std::string> StrFormat(const std::string& fmt, const Args& args) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    const char c = fmt[i];
    if ((c == '{' || c == '}') && i + 1 < fmt.size() && fmt[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = fmt.find('}', i);
    if (close == std::string::npos) return TypeError("Single '{' encountered in format string");
    const std::string field = fmt.substr(i + 1, close - i - 1);
    if (field.find_first_of(":!") != std::string::npos) {
      return TypeError("str.format: format specs and conversions are not supported");
    }
    const Value* v = nullptr;
    if (field.empty() || std::all_of(field.begin(), field.end(), ::isdigit)) {
      size_t index = auto_index;
      if (field.empty()) {
        ++auto_index;
      } else if (!absl::SimpleAtoi(field, &index)) {
        index = args.positional.size();  // too many digits: no such argument
      }
      if (index < args.positional.size()) v = &args.positional[index];
    } else {
      for (const auto& [k, kv] : args.keyword) {
        if (k == field) v = &kv;
      }
    }
    if (v == nullptr) return TypeError(absl::StrCat("str.format: no argument for {", field, "}"));
    out += v->Str();
    i = close;
  }
  return out;
}

absl::StatusOr<Value> StrMethod(const std::string& s, const std::string& name, Args& args) {
  std::vector<Value> a;
  auto bind = [&](std::initializer_list<std::string_view> names) {
    return BindArgs(absl::StrCat("str.", name), args, names, &a);
  };
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    RETURN_IF_ERROR(bind({"chars"}));
    return Value::String(py::Strip(s, OptionalStr(a[0]), name != "rstrip", name != "lstrip"));
  }
  if (name == "split" || name == "rsplit") {
    RETURN_IF_ERROR(bind({"sep", "maxsplit"}));
    if (a[0].is_string() && a[0].str().empty()) return TypeError("empty separator");
    std::vector<Value> parts;
    for (std::string& p : py::Split(s, OptionalStr(a[0]), a[1].is_number() ? a[1].integer() : -1,
                                    name == "rsplit")) {
      parts.push_back(Value::String(std::move(p)));
    }
    return Value::List(std::move(parts));
  }
  if (name == "splitlines") {
    RETURN_IF_ERROR(bind({"keepends"}));
    std::vector<Value> lines;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '\n' && s[i] != '\r') continue;
      size_t end = i;
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      lines.push_back(Value::String(s.substr(start, (a[0].Truthy() ? i + 1 : end) - start)));
      start = i + 1;
    }
    if (start < s.size()) lines.push_back(Value::String(s.substr(start)));
    return Value::List(std::move(lines));
  }
  if (name == "startswith" || name == "endswith") {
    RETURN_IF_ERROR(bind({"prefix", "start", "end"}));
    ASSIGN_OR_RETURN(std::vector<std::string> affixes, Affixes(a[0], name));
    std::u32string u = py::ToU32(s);
    int64_t begin = 0, end = static_cast<int64_t>(u.size());
    Clamp(a[1], end, &begin);
    Clamp(a[2], static_cast<int64_t>(u.size()), &end);
    const std::string part = begin <= end ? py::FromU32(u.substr(begin, end - begin)) : "";
    for (const std::string& x : affixes) {
      if (begin > end) continue;
      if (name == "startswith" ? absl::StartsWith(part, x) : absl::EndsWith(part, x)) {
        return Value::Bool(true);
      }
    }
    return Value::Bool(false);
  }
  if (name == "lower") return Value::String(py::Lower(s));
  if (name == "upper") return Value::String(py::Upper(s));
  if (name == "title") return Value::String(py::Title(s));
  if (name == "capitalize") return Value::String(py::Capitalize(s));
  if (name == "replace") {
    RETURN_IF_ERROR(bind({"old", "new", "count"}));
    if (!a[0].is_string() || !a[1].is_string()) return TypeError("replace arguments must be str");
    const std::string &from = a[0].str(), &to = a[1].str();
    int64_t count = a[2].is_number() ? a[2].integer() : -1;
    std::string out;
    if (from.empty()) {  // inserts `to` around every code point
      std::u32string u = py::ToU32(s);
      for (size_t i = 0; i <= u.size(); ++i) {
        if (count != 0) {
          out += to;
          --count;
        }
        if (i < u.size()) out += py::FromU32(u.substr(i, 1));
      }
      return Value::String(out);
    }
    size_t pos = 0;
    for (size_t at; count != 0 && (at = s.find(from, pos)) != std::string::npos; --count) {
      out += s.substr(pos, at - pos) + to;
      pos = at + from.size();
    }
    return Value::String(out + s.substr(pos));
  }
  if (name == "find" || name == "rfind" || name == "index" || name == "rindex" || name == "count") {
    RETURN_IF_ERROR(bind({"sub", "start", "end"}));
    if (!a[0].is_string()) return TypeError(absl::StrCat(name, " argument must be str"));
    std::u32string u = py::ToU32(s), sub = py::ToU32(a[0].str());
    int64_t begin = 0, end = static_cast<int64_t>(u.size());
    Clamp(a[1], end, &begin);
    Clamp(a[2], static_cast<int64_t>(u.size()), &end);
    std::u32string hay = begin <= end ? u.substr(begin, end - begin) : std::u32string();
    if (name == "count") {
      if (sub.empty()) return Value::Int(static_cast<int64_t>(hay.size()) + 1);
      int64_t n = 0;
      for (size_t at = 0; (at = hay.find(sub, at)) != std::u32string::npos; at += sub.size()) ++n;
      return Value::Int(n);
    }
    const size_t at = name[0] == 'r' ? hay.rfind(sub) : hay.find(sub);
    if (begin > end || at == std::u32string::npos) {
      if (name == "index" || name == "rindex") return TypeError("substring not found");
      return Value::Int(-1);
    }
    return Value::Int(begin + static_cast<int64_t>(at));
  }
  if (name == "join") {
    RETURN_IF_ERROR(bind({"iterable"}));
    ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(a[0]));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return TypeError(absl::StrCat("sequence item ", i, ": expected str instance, ",
                                      items[i].TypeName(), " found"));
      }
      if (i > 0) out += s;
      out += items[i].str();
    }
    return Value::String(out);
  }
  if (name == "format") {
    ASSIGN_OR_RETURN(std::string out, StrFormat(s, args));
    return Value::String(out);
  }
  auto all_of = [&](auto pred) {
    std::u32string u = py::ToU32(s);
    return Value::Bool(!u.empty() && std::all_of(u.begin(), u.end(), pred));
  };
  if (name == "isspace") return all_of([](char32_t c) { return py::IsSpace(c); });
  if (name == "isdigit") return all_of([](char32_t c) { return c >= '0' && c <= '9'; });
  if (name == "isalpha") return all_of([](char32_t c) { return c < 128 && std::isalpha(c); });
  if (name == "isalnum") return all_of([](char32_t c) { return c < 128 && std::isalnum(c); });
  if (name == "islower") return Value::Bool(py::Lower(s) == s && py::Upper(s) != s);
  if (name == "isupper") return Value::Bool(py::Upper(s) == s && py::Lower(s) != s);
  return TypeError(absl::StrCat("'str' object has no attribute '", name, "'"));
}

const char* const kStrMethods[] = {
    "strip",    "lstrip",  "rstrip",  "split",   "rsplit",     "splitlines", "startswith",
    "endswith", "lower",   "upper",   "title",   "capitalize", "replace",    "find",
    "rfind",    "index",   "rindex",  "count",   "join",       "format",     "isspace",
    "isdigit",  "isalpha", "isalnum", "islower", "isupper"};

absl::StatusOr<Value> DictMethod(const Value& d, const std::string& name, Args& args) {
  std::vector<Value> a;
  if (name == "items" || name == "keys" || name == "values") {
    RETURN_IF_ERROR(BindArgs(absl::StrCat("dict.", name), args, {}, &a));
    std::vector<Value> out;
    for (const auto& [k, v] : d.dict().entries) {
      if (name == "items") {
        out.push_back(Value::Tuple({Value::String(k), v}));
      } else {
        out.push_back(name == "keys" ? Value::String(k) : v);
      }
    }
    return Value::List(std::move(out));
  }
  // get
  RETURN_IF_ERROR(BindArgs("dict.get", args, {"key", "default"}, &a));
  const Value* v = a[0].is_string() ? d.dict().Find(a[0].str()) : nullptr;
  if (v != nullptr) return *v;
  return a[1].is_undefined() ? Value::None() : a[1];
}

Value Method(const Value& self, const std::string& name,
             absl::StatusOr<Value> (*fn)(const Value&, const std::string&, Args&)) {
  return Value::Callable(name, [self, name, fn](Args& args) { return fn(self, name, args); });
}

int64_t ToIndex(int64_t i, int64_t n) { return i < 0 ? i + n : i; }

}  // namespace

absl::StatusOr<std::vector<Value>> Iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::kUndefined:
      return std::vector<Value>();
    case Kind::kList:
    case Kind::kTuple:
      return v.items();
    case Kind::kDict:
    case Kind::kNamespace: {
      std::vector<Value> keys;
      for (const auto& [k, _] : v.dict().entries) keys.push_back(Value::String(k));
      return keys;
    }
    case Kind::kString: {
      std::vector<Value> chars;
      for (char32_t cp : py::ToU32(v.str())) chars.push_back(Value::String(py::FromU32({&cp, 1})));
      return chars;
    }
    default:
      return TypeError(absl::StrCat("'", v.TypeName(), "' object is not iterable"));
  }
}

absl::StatusOr<Value> GetAttribute(const Value& obj, const std::string& name) {
  switch (obj.kind()) {
    case Kind::kUndefined:
      return TypeError(absl::StrCat("undefined value has no attribute '", name, "'"));
    case Kind::kString:
      if (std::find(std::begin(kStrMethods), std::end(kStrMethods), name) !=
          std::end(kStrMethods)) {
        return Method(obj, name, [](const Value& self, const std::string& n, Args& args) {
          return StrMethod(self.str(), n, args);
        });
      }
      return Value();
    case Kind::kDict:
      if (name == "items" || name == "keys" || name == "values" || name == "get") {
        return Method(obj, name, DictMethod);
      }
      [[fallthrough]];
    case Kind::kNamespace: {
      const Value* v = obj.dict().Find(name);
      return v != nullptr ? *v : Value();
    }
    case Kind::kList:
    case Kind::kTuple:
      if (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
          name == "remove" || name == "clear" || name == "sort" || name == "reverse") {
        return TypeError(absl::StrCat("access to attribute '", name, "' of '", obj.TypeName(),
                                      "' object is unsafe"));
      }
      if (name == "index" || name == "count") {
        return Method(
            obj, name,
            [](const Value& self, const std::string& n, Args& args) -> absl::StatusOr<Value> {
              std::vector<Value> a;
              RETURN_IF_ERROR(BindArgs(absl::StrCat("list.", n), args, {"value"}, &a));
              int64_t count = 0;
              for (size_t i = 0; i < self.items().size(); ++i) {
                if (!Equal(self.items()[i], a[0])) continue;
                if (n == "index") return Value::Int(static_cast<int64_t>(i));
                ++count;
              }
              if (n == "index") return TypeError("value is not in list");
              return Value::Int(count);
            });
      }
      return Value();
    default:
      return Value();
  }
}

absl::StatusOr<Value> GetItem(const Value& obj, const Value& key) {
  switch (obj.kind()) {
    case Kind::kUndefined:
      return TypeError("undefined value is not subscriptable");
    case Kind::kDict:
    case Kind::kNamespace: {
      if (key.is_string()) {
        const Value* v = obj.dict().Find(key.str());
        if (v != nullptr) return *v;
        if (obj.kind() == Kind::kDict) return GetAttribute(obj, key.str());
      }
      return Value();
    }
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kString: {
      if (key.is_string()) return GetAttribute(obj, key.str());
      if (key.kind() != Kind::kInt && key.kind() != Kind::kBool) return Value();
      if (obj.is_string()) {
        std::u32string u = py::ToU32(obj.str());
        const int64_t i = ToIndex(key.integer(), static_cast<int64_t>(u.size()));
        if (i < 0 || i >= static_cast<int64_t>(u.size())) return Value();
        return Value::String(py::FromU32(u.substr(i, 1)));
      }
      const int64_t i = ToIndex(key.integer(), static_cast<int64_t>(obj.items().size()));
      if (i < 0 || i >= static_cast<int64_t>(obj.items().size())) return Value();
      return obj.items()[i];
    }
    default:
      return Value();
  }
}

absl::StatusOr<Value> GetSlice(const Value& obj, const Value& start, const Value& stop,
                               const Value& step) {
  if (!obj.is_string() && !obj.is_sequence()) {
    if (obj.is_undefined()) return TypeError("undefined value is not subscriptable");
    return TypeError(absl::StrCat("'", obj.TypeName(), "' object is not subscriptable"));
  }
  for (const Value* v : {&start, &stop, &step}) {
    if (!v->is_undefined() && !v->is_none() && v->kind() != Kind::kInt &&
        v->kind() != Kind::kBool) {
      return TypeError("slice indices must be integers or None");
    }
  }
  std::u32string u;
  int64_t n;
  if (obj.is_string()) {
    u = py::ToU32(obj.str());
    n = static_cast<int64_t>(u.size());
  } else {
    n = static_cast<int64_t>(obj.items().size());
  }
  const int64_t st = step.is_number() ? step.integer() : 1;
  if (st == 0) return TypeError("slice step cannot be zero");
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t fallback) {
    if (!v.is_number()) return fallback;
    int64_t i = v.integer();
    if (i < 0) {
      i += n;
      if (i < 0) i = st < 0 ? -1 : 0;
    } else if (i >= n) {
      i = st < 0 ? n - 1 : n;
    }
    return i;
  };
  const int64_t b = adjust(start, st < 0 ? n - 1 : 0);
  const int64_t e = adjust(stop, st < 0 ? -1 : n);
  std::vector<int64_t> picks;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) picks.push_back(i);
  if (obj.is_string()) {
    std::u32string out;
    for (int64_t i : picks) out.push_back(u[i]);
    return Value::String(py::FromU32(out));
  }
  std::vector<Value> out;
  for (int64_t i : picks) out.push_back(obj.items()[i]);
  return obj.kind() == Kind::kList ? Value::List(std::move(out)) : Value::Tuple(std::move(out));
}

Dict BuiltinGlobals() {
  Dict g;
  g.Set("range", Value::Callable("range", [](Args& args) -> absl::StatusOr<Value> {
          std::vector<int64_t> n;
          for (const Value& v : args.positional) {
            if (v.kind() != Kind::kInt && v.kind() != Kind::kBool) {
              return TypeError("range() arguments must be integers");
            }
            n.push_back(v.integer());
          }
          if (n.empty() || n.size() > 3 || !args.keyword.empty()) {
            return TypeError("range() takes 1 to 3 integer arguments");
          }
          const int64_t start = n.size() > 1 ? n[0] : 0, stop = n.size() > 1 ? n[1] : n[0];
          const int64_t step = n.size() > 2 ? n[2] : 1;
          if (step == 0) return TypeError("range() arg 3 must not be zero");
          // The sandbox caps ranges (MAX_RANGE); so does flywheel. 128-bit: stop - start and the
          // last i + step may be past int64.
          const __int128 span = static_cast<__int128>(stop) - start;
          const __int128 count =
              (step > 0 ? span <= 0 : span >= 0) ? 0 : span / step + (span % step != 0 ? 1 : 0);
          if (count > 100000) return TypeError("range too big");
          std::vector<Value> out;
          for (__int128 k = 0; k < count; ++k)
            out.push_back(Value::Int(static_cast<int64_t>(start + k * step)));
          return Value::List(std::move(out));
        }));
  auto from_args = [](Args& args, bool ns) -> absl::StatusOr<Value> {
    Dict d;
    for (const Value& v : args.positional) {
      if (!v.is_mapping()) return TypeError("expected a mapping");
      for (const auto& [k, kv] : v.dict().entries) d.Set(k, kv);
    }
    for (const auto& [k, v] : args.keyword) d.Set(k, v);
    return ns ? Value::Namespace(std::move(d)) : Value::Dictionary(std::move(d));
  };
  g.Set("namespace",
        Value::Callable("namespace", [from_args](Args& args) { return from_args(args, true); }));
  g.Set("dict",
        Value::Callable("dict", [from_args](Args& args) { return from_args(args, false); }));
  g.Set("raise_exception",
        Value::Callable("raise_exception", [](Args& args) -> absl::StatusOr<Value> {
          const std::string message = args.positional.empty() ? "" : args.positional[0].Str();
          return absl::InvalidArgumentError(absl::StrCat("raise_exception: ", message));
        }));
  g.Set("strftime_now", Value::Callable("strftime_now", [](Args& args) -> absl::StatusOr<Value> {
          if (args.positional.size() != 1 || !args.positional[0].is_string()) {
            return TypeError("strftime_now takes one format string");
          }
          std::time_t now = std::time(nullptr);
          std::tm local;
          localtime_r(&now, &local);
          char buf[256];
          const size_t n =
              std::strftime(buf, sizeof(buf), args.positional[0].str().c_str(), &local);
          return Value::String(std::string(buf, n));
        }));
  return g;
}

}  // namespace flywheel::tokenizer::jinja
