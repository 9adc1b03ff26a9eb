// Statement execution and expression evaluation.
#include "common/tokenizer/jinja_interpreter.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/jinja_builtins.h"
#include "common/tokenizer/python_str.h"

namespace flywheel::tokenizer::jinja {
namespace {

// Deep enough for any chat template; stops runaway recursive macros before the stack does.
constexpr int kMaxMacroDepth = 64;
// The most bytes (or items) `seq * n` may make: far past any chat template's needs, and a template
// cannot exhaust memory with one expression.
constexpr size_t kMaxRepeated = size_t{16} << 20;

absl::Status LineError(int line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("template line ", line, ": ", what));
}

// Errors from builtins get the line of the expression that raised them.
absl::Status AtLine(const absl::Status& s, int line) {
  if (s.ok() || absl::StartsWith(s.message(), "template line ") ||
      absl::StartsWith(s.message(), "raise_exception")) {
    return s;
  }
  return absl::Status(s.code(), absl::StrCat("template line ", line, ": ", s.message()));
}

bool IsInt(const Value& v) { return v.kind() == Kind::kInt || v.kind() == Kind::kBool; }

// Python's ints have no bound; a template's are 64-bit, and a result past that is an error (never
// a wrapped value, which would be undefined behaviour).
// r by pointer: an argument by value could be read before the overflow builtin has written it.
absl::StatusOr<Value> IntResult(bool overflow, const int64_t* r) {
  if (overflow) {
    return absl::InvalidArgumentError("integer overflow (template integers are 64-bit)");
  }
  return Value::Int(*r);
}

absl::StatusOr<Value> IntArithmetic(const std::string& op, int64_t a, int64_t b) {
  int64_t r = 0;
  if (op == "+") return IntResult(__builtin_add_overflow(a, b, &r), &r);
  if (op == "-") return IntResult(__builtin_sub_overflow(a, b, &r), &r);
  if (op == "*") return IntResult(__builtin_mul_overflow(a, b, &r), &r);
  if (op == "//" || op == "%") {  // b != 0
    if (b == -1) return op == "%" ? Value::Int(0) : IntResult(__builtin_sub_overflow(0, a, &r), &r);
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;  // floor, as Python rounds
    return Value::Int(op == "//" ? q : a - q * b);
  }
  // "**" with b >= 0, by squaring: log2(b) steps, however large b is.
  int64_t base = a;
  bool overflow = false;
  r = 1;
  for (int64_t e = b; e > 0 && !overflow; e >>= 1) {
    if (e & 1) overflow |= __builtin_mul_overflow(r, base, &r);
    if (e > 1) overflow |= __builtin_mul_overflow(base, base, &base);
  }
  return IntResult(overflow, &r);
}

// printf-style '%' formatting of a str with %s, %r, %d, %i, %f and %%.
absl::StatusOr<Value> Format(const std::string& fmt, const Value& arg) {
  std::vector<Value> args = arg.kind() == Kind::kTuple ? arg.items() : std::vector<Value>{arg};
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < fmt.size(); ++i) {
    if (fmt[i] != '%') {
      out += fmt[i];
      continue;
    }
    if (++i == fmt.size()) return absl::InvalidArgumentError("incomplete format");
    const char c = fmt[i];
    if (c == '%') {
      out += '%';
      continue;
    }
    if (next >= args.size()) {
      return absl::InvalidArgumentError("not enough arguments for format string");
    }
    const Value& v = args[next++];
    if (c == 's') {
      out += v.Str();
    } else if (c == 'r') {
      out += v.Repr();
    } else if ((c == 'd' || c == 'i') && v.is_number()) {
      const std::optional<int64_t> i =
          v.kind() == Kind::kFloat ? py::FloatToInt(v.number()) : v.integer();
      if (!i) return absl::InvalidArgumentError("cannot convert float infinity or nan to integer");
      absl::StrAppend(&out, *i);
    } else if (c == 'f' && v.is_number()) {
      absl::StrAppend(&out, absl::StrFormat("%f", v.number()));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported format character '", std::string(1, c), "'"));
    }
  }
  if (next < args.size()) {
    return absl::InvalidArgumentError("not all arguments converted during string formatting");
  }
  return Value::String(out);
}

}  // namespace

absl::StatusOr<Value> Arithmetic(const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined() || b.is_undefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported operand: an undefined value in '", op, "'"));
  }
  auto type_error = [&] {
    return absl::InvalidArgumentError(absl::StrCat("unsupported operand type(s) for ", op, ": '",
                                                   a.TypeName(), "' and '", b.TypeName(), "'"));
  };
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::String(a.str() + b.str());
    if (a.is_sequence() && a.kind() == b.kind()) {
      std::vector<Value> items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return a.kind() == Kind::kList ? Value::List(std::move(items))
                                     : Value::Tuple(std::move(items));
    }
    if (a.is_string() || b.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "can only concatenate str (not \"", (a.is_string() ? b : a).TypeName(), "\") to str"));
    }
  }
  if (op == "*" && (a.is_string() || a.is_sequence() || b.is_string() || b.is_sequence())) {
    const Value& seq = a.is_string() || a.is_sequence() ? a : b;
    const Value& count = &seq == &a ? b : a;
    if (!IsInt(count)) return type_error();
    const int64_t n = std::max<int64_t>(0, count.integer());
    const size_t unit = seq.is_string() ? seq.str().size() : seq.items().size();
    if (unit > 0 && n > static_cast<int64_t>(kMaxRepeated / unit)) {
      return absl::InvalidArgumentError("repetition result too large");
    }
    if (seq.is_string()) {
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += seq.str();
      return Value::String(out);
    }
    std::vector<Value> items;
    for (int64_t i = 0; i < n; ++i)
      items.insert(items.end(), seq.items().begin(), seq.items().end());
    return seq.kind() == Kind::kList ? Value::List(items) : Value::Tuple(items);
  }
  if (op == "%" && a.is_string()) return Format(a.str(), b);
  if (!a.is_number() || !b.is_number()) return type_error();
  const bool ints = IsInt(a) && IsInt(b);
  const double x = a.number(), y = b.number();
  if (ints && (op == "+" || op == "-" || op == "*")) {
    return IntArithmetic(op, a.integer(), b.integer());
  }
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "/") {
    if (y == 0) return absl::InvalidArgumentError("division by zero");
    return Value::Float(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) return absl::InvalidArgumentError("integer division or modulo by zero");
    if (ints) return IntArithmetic(op, a.integer(), b.integer());
    const double q = std::floor(x / y);
    return Value::Float(op == "//" ? q : x - q * y);
  }
  if (op == "**") {
    if (ints && b.integer() >= 0) return IntArithmetic(op, a.integer(), b.integer());
    return Value::Float(std::pow(x, y));
  }
  return type_error();
}

Interpreter::Interpreter(const Dict& globals) {
  scopes_.emplace_back();
  for (const auto& [k, v] : globals.entries) scopes_[0][k] = v;
}

absl::Status Interpreter::Render(const Body& body, std::string* out) { return Exec(body, out); }

absl::Status Interpreter::Exec(const Body& body, std::string* out) {
  for (const auto& s : body) {
    RETURN_IF_ERROR(ExecStmt(*s, out));
    if (flow_ != Flow::kNormal) return absl::OkStatus();
  }
  return absl::OkStatus();
}

Value Interpreter::Lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    auto found = it->find(name);
    if (found != it->end()) return found->second;
  }
  return Value();
}

absl::Status Interpreter::Assign(const std::vector<std::string>& targets, const Value& value,
                                 int line) {
  if (targets.size() == 1) {
    scopes_.back()[targets[0]] = value;
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(value));
  if (items.size() != targets.size()) {
    return LineError(line, absl::StrCat("cannot unpack ", items.size(), " values into ",
                                        targets.size(), " names"));
  }
  for (size_t i = 0; i < targets.size(); ++i) scopes_.back()[targets[i]] = items[i];
  return absl::OkStatus();
}

absl::Status Interpreter::ExecStmt(const Stmt& s, std::string* out) {
  switch (s.type) {
    case Stmt::Type::kData:
      *out += s.text;
      return absl::OkStatus();
    case Stmt::Type::kPrint: {
      ASSIGN_OR_RETURN(Value v, Eval(*s.expr));
      *out += v.Str();
      return absl::OkStatus();
    }
    case Stmt::Type::kIf:
      for (size_t i = 0; i < s.conditions.size(); ++i) {
        ASSIGN_OR_RETURN(Value cond, Eval(*s.conditions[i]));
        if (cond.Truthy()) return Exec(s.bodies[i], out);
      }
      return Exec(s.else_body, out);
    case Stmt::Type::kFor:
      return ExecFor(s, out);
    case Stmt::Type::kSet: {
      ASSIGN_OR_RETURN(Value v, Eval(*s.expr));
      if (s.attribute.empty()) return Assign(s.targets, v, s.line);
      Value ns = Lookup(s.targets[0]);
      if (ns.kind() != Kind::kNamespace) {
        return LineError(s.line, absl::StrCat("cannot assign attribute on non-namespace object '",
                                              s.targets[0], "'"));
      }
      ns.namespace_dict().Set(s.attribute, std::move(v));
      return absl::OkStatus();
    }
    case Stmt::Type::kSetBlock:
    case Stmt::Type::kFilterBlock: {
      std::string text;
      RETURN_IF_ERROR(Exec(s.body, &text));
      Value v = Value::String(std::move(text));
      if (s.expr) {
        ASSIGN_OR_RETURN(v, ApplyFilterExpr(*s.expr, v));
      }
      if (s.type == Stmt::Type::kFilterBlock) {
        *out += v.Str();
        return absl::OkStatus();
      }
      scopes_.back()[s.targets[0]] = std::move(v);
      return absl::OkStatus();
    }
    case Stmt::Type::kMacro:
      scopes_.back()[s.targets[0]] = MakeMacro(s);
      return absl::OkStatus();
    case Stmt::Type::kWith: {
      std::vector<Value> values;
      for (const auto& e : s.values) {
        ASSIGN_OR_RETURN(Value v, Eval(*e));
        values.push_back(std::move(v));
      }
      scopes_.emplace_back();
      for (size_t i = 0; i < values.size(); ++i) scopes_.back()[s.targets[i]] = values[i];
      absl::Status st = Exec(s.body, out);
      scopes_.pop_back();
      return st;
    }
    case Stmt::Type::kGeneration:
      return Exec(s.body, out);
    case Stmt::Type::kBreak:
      flow_ = Flow::kBreak;
      return absl::OkStatus();
    case Stmt::Type::kContinue:
      flow_ = Flow::kContinue;
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Interpreter::ExecFor(const Stmt& s, std::string* out) {
  ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr));
  ASSIGN_OR_RETURN(std::vector<Value> all, Iterate(iterable));
  std::vector<Value> items;
  if (s.condition) {
    // The loop filter sees each item under the loop's target names.
    for (const Value& item : all) {
      scopes_.emplace_back();
      absl::Status st = Assign(s.targets, item, s.line);
      absl::StatusOr<Value> keep = st.ok() ? Eval(*s.condition) : absl::StatusOr<Value>(st);
      scopes_.pop_back();
      if (!keep.ok()) return keep.status();
      if (keep->Truthy()) items.push_back(item);
    }
  } else {
    items = std::move(all);
  }
  if (items.empty()) return Exec(s.else_body, out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    Dict loop;
    loop.Set("index", Value::Int(i + 1));
    loop.Set("index0", Value::Int(i));
    loop.Set("revindex", Value::Int(n - i));
    loop.Set("revindex0", Value::Int(n - i - 1));
    loop.Set("first", Value::Bool(i == 0));
    loop.Set("last", Value::Bool(i == n - 1));
    loop.Set("length", Value::Int(n));
    loop.Set("depth", Value::Int(1));
    loop.Set("depth0", Value::Int(0));
    loop.Set("previtem", i > 0 ? items[i - 1] : Value());
    loop.Set("nextitem", i + 1 < n ? items[i + 1] : Value());
    loop.Set("cycle", Value::Callable("loop.cycle", [i](Args& args) -> absl::StatusOr<Value> {
               if (args.positional.empty()) {
                 return absl::InvalidArgumentError("no items for cycling given");
               }
               return args.positional[static_cast<size_t>(i) % args.positional.size()];
             }));
    scopes_.emplace_back();
    scopes_.back()["loop"] = Value::Dictionary(std::move(loop));
    absl::Status st = Assign(s.targets, items[i], s.line);
    if (st.ok()) st = Exec(s.body, out);
    scopes_.pop_back();
    RETURN_IF_ERROR(st);
    const Flow flow = flow_;
    flow_ = Flow::kNormal;
    if (flow == Flow::kBreak) break;
  }
  return absl::OkStatus();
}

Value Interpreter::MakeMacro(const Stmt& s) {
  const Stmt* macro = &s;
  return Value::Callable(s.targets[0], [this, macro](Args& args) -> absl::StatusOr<Value> {
    if (depth_ >= kMaxMacroDepth) return LineError(macro->line, "macros nest too deeply");
    Scope frame;
    for (size_t i = 0; i < macro->params.size(); ++i) {
      Value v = i < args.positional.size() ? args.positional[i] : Value();
      for (const auto& [k, kv] : args.keyword) {
        if (k == macro->params[i]) v = kv;
      }
      if (v.is_undefined() && macro->values[i]) {
        ASSIGN_OR_RETURN(v, Eval(*macro->values[i]));
      }
      frame[macro->params[i]] = std::move(v);
    }
    if (args.positional.size() > macro->params.size()) {
      return LineError(macro->line, absl::StrCat("macro '", macro->targets[0], "' takes ",
                                                 macro->params.size(), " arguments"));
    }
    // The body sees the template's top level and its own arguments, not the caller's locals.
    std::vector<Scope> saved(std::make_move_iterator(scopes_.begin() + 1),
                             std::make_move_iterator(scopes_.end()));
    scopes_.resize(1);
    scopes_.push_back(std::move(frame));
    ++depth_;
    std::string text;
    absl::Status st = Exec(macro->body, &text);
    --depth_;
    flow_ = Flow::kNormal;
    scopes_.resize(1);
    for (auto& scope : saved) scopes_.push_back(std::move(scope));
    RETURN_IF_ERROR(st);
    return Value::String(std::move(text));
  });
}

absl::StatusOr<Value> Interpreter::Call(const Value& callee, Args& args) {
  if (callee.kind() != Kind::kFunction) {
    if (callee.is_undefined()) return absl::InvalidArgumentError("call of an undefined value");
    return absl::InvalidArgumentError(
        absl::StrCat("'", callee.TypeName(), "' object is not callable"));
  }
  return callee.function()(args);
}

absl::StatusOr<Args> Interpreter::EvalArgs(const Expr& e) {
  Args args;
  const size_t total = e.children.size() - e.first_arg;
  const size_t positional = total - e.keywords.size();
  for (size_t i = 0; i < total; ++i) {
    ASSIGN_OR_RETURN(Value v, Eval(*e.children[e.first_arg + i]));
    if (i < positional) {
      args.positional.push_back(std::move(v));
    } else {
      args.keyword.emplace_back(e.keywords[i - positional], std::move(v));
    }
  }
  return args;
}

absl::StatusOr<Value> Interpreter::ApplyFilterExpr(const Expr& e, const Value& input) {
  // A chain: the innermost filter's input is `input` (its child is null).
  Value v = input;
  if (e.children[0]) {
    ASSIGN_OR_RETURN(v, ApplyFilterExpr(*e.children[0], input));
  }
  ASSIGN_OR_RETURN(Args args, EvalArgs(e));
  absl::StatusOr<Value> r = ApplyFilter(*this, e.name, v, args);
  if (!r.ok()) return AtLine(r.status(), e.line);
  return r;
}

absl::StatusOr<bool> Interpreter::EvalCompare(const std::string& op, const Value& a,
                                              const Value& b) {
  if (op == "==") return Equal(a, b);
  if (op == "!=") return !Equal(a, b);
  if (op == "in" || op == "not in") {
    Args args;
    args.positional.push_back(b);
    ASSIGN_OR_RETURN(bool in, ApplyTest(*this, "in", a, args));
    return op == "in" ? in : !in;
  }
  if (a.is_undefined() || b.is_undefined()) {
    return absl::InvalidArgumentError("an undefined value cannot be compared");
  }
  if (op == "<") return Less(a, b);
  if (op == ">") return Less(b, a);
  if (op == "<=") {
    ASSIGN_OR_RETURN(bool greater, Less(b, a));
    return !greater;
  }
  ASSIGN_OR_RETURN(bool less, Less(a, b));  // >=
  return !less;
}

absl::StatusOr<Value> Interpreter::EvalBinary(const Expr& e) {
  ASSIGN_OR_RETURN(Value a, Eval(*e.children[0]));
  if (e.name == "and") return a.Truthy() ? Eval(*e.children[1]) : a;
  if (e.name == "or") return a.Truthy() ? a : Eval(*e.children[1]);
  ASSIGN_OR_RETURN(Value b, Eval(*e.children[1]));
  if (e.name == "~") return Value::String(a.Str() + b.Str());
  absl::StatusOr<Value> r = Arithmetic(e.name, a, b);
  if (!r.ok()) return AtLine(r.status(), e.line);
  return r;
}

absl::StatusOr<Value> Interpreter::Eval(const Expr& e) {
  switch (e.type) {
    case Expr::Type::kLiteral:
      return e.literal;
    case Expr::Type::kName:
      return Lookup(e.name);
    case Expr::Type::kList:
    case Expr::Type::kTuple: {
      std::vector<Value> items;
      for (const auto& c : e.children) {
        ASSIGN_OR_RETURN(Value v, Eval(*c));
        items.push_back(std::move(v));
      }
      return e.type == Expr::Type::kList ? Value::List(std::move(items))
                                         : Value::Tuple(std::move(items));
    }
    case Expr::Type::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        ASSIGN_OR_RETURN(Value k, Eval(*e.children[i]));
        ASSIGN_OR_RETURN(Value v, Eval(*e.children[i + 1]));
        if (!k.is_string()) return LineError(e.line, "dict keys must be strings");
        d.Set(k.str(), std::move(v));
      }
      return Value::Dictionary(std::move(d));
    }
    case Expr::Type::kAttr: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0]));
      absl::StatusOr<Value> r = GetAttribute(obj, e.name);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Type::kItem: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0]));
      ASSIGN_OR_RETURN(Value key, Eval(*e.children[1]));
      absl::StatusOr<Value> r = GetItem(obj, key);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Type::kSlice: {
      ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0]));
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        if (e.children[i + 1]) {
          ASSIGN_OR_RETURN(parts[i], Eval(*e.children[i + 1]));
        }
      }
      absl::StatusOr<Value> r = GetSlice(obj, parts[0], parts[1], parts[2]);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Type::kCall: {
      ASSIGN_OR_RETURN(Value callee, Eval(*e.children[0]));
      ASSIGN_OR_RETURN(Args args, EvalArgs(e));
      absl::StatusOr<Value> r = Call(callee, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Type::kFilter: {
      ASSIGN_OR_RETURN(Value input, Eval(*e.children[0]));
      ASSIGN_OR_RETURN(Args args, EvalArgs(e));
      absl::StatusOr<Value> r = ApplyFilter(*this, e.name, input, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Type::kTest: {
      ASSIGN_OR_RETURN(Value input, Eval(*e.children[0]));
      ASSIGN_OR_RETURN(Args args, EvalArgs(e));
      absl::StatusOr<bool> r = ApplyTest(*this, e.name, input, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return Value::Bool(*r != e.negated);
    }
    case Expr::Type::kNeg:
    case Expr::Type::kPos: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.children[0]));
      if (!v.is_number()) {
        return LineError(
            e.line, absl::StrCat("bad operand type for unary ",
                                 e.type == Expr::Type::kNeg ? "-" : "+", ": '", v.TypeName(), "'"));
      }
      if (e.type == Expr::Type::kPos) return IsInt(v) ? Value::Int(v.integer()) : v;
      if (!IsInt(v)) return Value::Float(-v.number());
      return IntArithmetic("-", 0, v.integer());
    }
    case Expr::Type::kNot: {
      ASSIGN_OR_RETURN(Value v, Eval(*e.children[0]));
      return Value::Bool(!v.Truthy());
    }
    case Expr::Type::kBinary:
      return EvalBinary(e);
    case Expr::Type::kCompare: {
      ASSIGN_OR_RETURN(Value left, Eval(*e.children[0]));
      for (size_t i = 0; i < e.ops.size(); ++i) {
        ASSIGN_OR_RETURN(Value right, Eval(*e.children[i + 1]));
        absl::StatusOr<bool> r = EvalCompare(e.ops[i], left, right);
        if (!r.ok()) return AtLine(r.status(), e.line);
        if (!*r) return Value::Bool(false);
        left = std::move(right);
      }
      return Value::Bool(true);
    }
    case Expr::Type::kCond: {
      ASSIGN_OR_RETURN(Value test, Eval(*e.children[1]));
      if (test.Truthy()) return Eval(*e.children[0]);
      if (e.children[2]) return Eval(*e.children[2]);
      return Value();
    }
  }
  return Value();
}

}  // namespace flywheel::tokenizer::jinja
