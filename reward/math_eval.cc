#include "reward/math_eval.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

using Kind = ExprNode::Kind;

absl::Status EvalError(std::string_view why) {
  return absl::InvalidArgumentError(Cat("cannot evaluate: ", why));
}

Value FromRational(const Rational& q, bool decimal) {
  Value v;
  v.q = q;
  v.d = q.ToDouble();
  v.decimal = decimal;
  return v;
}

Value FromDouble(double d, bool decimal, bool infinite = false) {
  Value v;
  v.exact = false;
  v.d = d;
  v.decimal = decimal;
  v.infinite = infinite;
  return v;
}

// Integer n-th root of a non-negative __int128 when it is exact.
std::optional<Rational::Int> ExactIntRoot(Rational::Int v, long long n) {
  if (v < 0 || n < 1) return std::nullopt;
  double estimate = std::round(std::pow(static_cast<double>(v), 1.0 / static_cast<double>(n)));
  for (double c = std::max(0.0, estimate - 1); c <= estimate + 1; c += 1) {
    auto p = Pow(Rational(static_cast<long long>(c)), n);
    if (p && p->num() == v) return static_cast<Rational::Int>(c);
  }
  return std::nullopt;
}

class Evaluator {
 public:
  Evaluator(const ParsedAnswer& a, const SymbolLookup& lookup) : a_(a), lookup_(lookup) {}

  absl::StatusOr<Value> Eval(int index) {
    const ExprNode& n = a_.nodes[index];
    switch (n.kind) {
      case Kind::kNumber:
        if (n.exact) return FromRational(n.number, n.decimal);
        return FromDouble(n.approx, n.decimal);
      case Kind::kSymbol: {
        double v;
        if (!lookup_ || !lookup_(n.name, &v)) return EvalError(Cat("free symbol ", n.name));
        return FromDouble(v, false);
      }
      case Kind::kConstant:
        if (n.name == "pi") return FromDouble(M_PI, false);
        return FromDouble(INFINITY, false, true);
      default:
        break;
    }
    std::vector<Value> args;
    for (int child : n.args) {
      auto v = Eval(child);
      if (!v.ok()) return v.status();
      args.push_back(*v);
    }
    return Apply(n, args);
  }

 private:
  absl::StatusOr<Value> Finish(double d, const std::vector<Value>& args) {
    bool decimal = false, infinite_in = false;
    for (const Value& v : args) {
      decimal |= v.decimal;
      infinite_in |= v.infinite;
    }
    if (std::isnan(d)) return EvalError("undefined (NaN)");
    if (std::isinf(d) && !infinite_in) return EvalError("overflow");
    return FromDouble(d, decimal, std::isinf(d));
  }

  absl::StatusOr<Value> Exact(const std::optional<Rational>& q, double fallback,
                              const std::vector<Value>& args) {
    bool all_exact = true, decimal = false;
    for (const Value& v : args) {
      all_exact &= v.exact;
      decimal |= v.decimal;
    }
    if (all_exact && q) return FromRational(*q, decimal);
    return Finish(fallback, args);
  }

  absl::StatusOr<Value> Apply(const ExprNode& n, const std::vector<Value>& v) {
    bool exact2 = v.size() == 2 && v[0].exact && v[1].exact;
    switch (n.kind) {
      case Kind::kAdd:
        return Exact(exact2 ? Add(v[0].q, v[1].q) : std::nullopt, v[0].d + v[1].d, v);
      case Kind::kSub:
        return Exact(exact2 ? Sub(v[0].q, v[1].q) : std::nullopt, v[0].d - v[1].d, v);
      case Kind::kMul:
        return Exact(exact2 ? Mul(v[0].q, v[1].q) : std::nullopt, v[0].d * v[1].d, v);
      case Kind::kDiv:
        if ((v[1].exact && v[1].q.is_zero()) || v[1].d == 0) return EvalError("division by zero");
        return Exact(exact2 ? Div(v[0].q, v[1].q) : std::nullopt, v[0].d / v[1].d, v);
      case Kind::kNeg:
        return Exact(v[0].exact ? Negate(v[0].q) : std::nullopt, -v[0].d, v);
      case Kind::kPow:
        return Power(v);
      case Kind::kFactorial: {
        if (!v[0].exact || !v[0].q.is_integer() || v[0].q.num() < 0 || v[0].q.num() > 33) {
          // 33! is the largest factorial that fits the 128-bit numerator.
          return EvalError("factorial of a non-integer or too large a number");
        }
        Rational r(1);
        for (long long k = 2; k <= static_cast<long long>(v[0].q.num()); ++k)
          r = *Mul(r, Rational(k));
        return FromRational(r, v[0].decimal);
      }
      case Kind::kFunc:
        return Function(n.name, v);
      default:
        return EvalError("bad node");
    }
  }

  absl::StatusOr<Value> Power(const std::vector<Value>& v) {
    const Value& base = v[0];
    const Value& e = v[1];
    if (base.exact && e.exact) {
      if (e.q.is_integer()) {
        if (base.q.is_zero() && e.q.num() < 0) return EvalError("zero to a negative power");
        // Exponents beyond 10^4 overflow any base other than 0 and +-1 long before the loop ends.
        if (e.q.num() > -10000 && e.q.num() < 10000) {
          if (auto r = Pow(base.q, static_cast<long long>(e.q.num()))) {
            return FromRational(*r, base.decimal || e.decimal);
          }
        }
      } else if (e.q.den() <= 64 && !base.q.is_zero() && base.q.num() > 0) {
        // Rational exponent p/q: exact when the q-th roots of numerator and denominator exist.
        auto rn = ExactIntRoot(base.q.num(), static_cast<long long>(e.q.den()));
        auto rd = ExactIntRoot(base.q.den(), static_cast<long long>(e.q.den()));
        if (rn && rd && e.q.num() > -10000 && e.q.num() < 10000) {
          auto root = Rational::Make(*rn, *rd);
          if (root) {
            if (auto r = Pow(*root, static_cast<long long>(e.q.num()))) {
              return FromRational(*r, base.decimal || e.decimal);
            }
          }
        }
      }
    }
    if (base.d < 0 && !(e.exact && e.q.is_integer())) return EvalError("root of a negative number");
    return Finish(std::pow(base.d, e.d), v);
  }

  absl::StatusOr<Value> Function(const std::string& name, const std::vector<Value>& v) {
    const Value& x = v[0];
    if (name == "sqrt" || name == "root") {
      long long index = 2;
      if (name == "root") {
        if (!v[1].exact || !v[1].q.is_integer() || v[1].q.num() < 2 || v[1].q.num() > 64) {
          return EvalError("root index must be an integer from 2 to 64");
        }
        index = static_cast<long long>(v[1].q.num());
      }
      if (x.d < 0 && index % 2 == 0) return EvalError("even root of a negative number");
      if (x.exact) {
        bool neg = x.q.num() < 0;
        Rational::Int mag = neg ? -x.q.num() : x.q.num();
        auto rn = ExactIntRoot(mag, index);
        auto rd = ExactIntRoot(x.q.den(), index);
        if (rn && rd) {
          if (auto r = Rational::Make(neg ? -*rn : *rn, *rd)) return FromRational(*r, x.decimal);
        }
      }
      double r =
          index == 2 ? std::sqrt(x.d) : std::copysign(std::pow(std::fabs(x.d), 1.0 / index), x.d);
      return Finish(r, {x});
    }
    if (name == "abs") {
      if (x.exact) return FromRational(x.q.num() < 0 ? *Negate(x.q) : x.q, x.decimal);
      return Finish(std::fabs(x.d), {x});
    }
    if (name == "ln" || name == "log") {
      // \log without a base is the natural logarithm, as in SymPy (and so in Math-Verify).
      if (x.d <= 0) return EvalError("logarithm of a non-positive number");
      if (x.exact && x.q == Rational(1)) return FromRational(Rational(0), x.decimal);
      return Finish(std::log(x.d), {x});
    }
    if (name == "exp") return Finish(std::exp(x.d), {x});
    if (name == "sin") return Finish(std::sin(x.d), {x});
    if (name == "cos") return Finish(std::cos(x.d), {x});
    if (name == "tan") return Finish(std::tan(x.d), {x});
    return EvalError(Cat("unknown function ", name));
  }

  const ParsedAnswer& a_;
  const SymbolLookup& lookup_;
};

}  // namespace

absl::StatusOr<Value> Evaluate(const ParsedAnswer& answer, int index, const SymbolLookup& lookup) {
  if (index < 0 || static_cast<size_t>(index) >= answer.nodes.size()) {
    return absl::InvalidArgumentError("node index out of range");
  }
  return Evaluator(answer, lookup).Eval(index);
}

void CollectSymbols(const ParsedAnswer& answer, int index, std::vector<std::string>* names) {
  std::vector<int> stack = {index};
  while (!stack.empty()) {
    const ExprNode& n = answer.nodes[stack.back()];
    stack.pop_back();
    if (n.kind == Kind::kSymbol) names->push_back(n.name);
    for (int child : n.args) stack.push_back(child);
  }
}

}  // namespace flywheel::reward
