// Exact rational numbers for answer comparison. Numerator and denominator are 128-bit so that
// any answer a model writes with up to ~38 digits stays exact; every operation reports overflow
// instead of wrapping, and the caller then falls back to floating point.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flywheel::reward {

// p/q in lowest terms with q > 0. Value type; thread-compatible.
class Rational {
 public:
  using Int = __int128;

  Rational() = default;  // 0/1
  explicit Rational(long long n) : num_(n) {}

  // Returns nullopt when den == 0.
  static std::optional<Rational> Make(Int num, Int den);

  Int num() const { return num_; }
  Int den() const { return den_; }
  bool is_integer() const { return den_ == 1; }
  bool is_zero() const { return num_ == 0; }
  // True when the decimal expansion terminates (den = 2^a 5^b): such a value can be written
  // exactly as a decimal, so a decimal that differs from it is a different number.
  bool terminates() const;
  double ToDouble() const;
  std::string ToString() const;

  friend bool operator==(const Rational& a, const Rational& b) {
    return a.num_ == b.num_ && a.den_ == b.den_;
  }

 private:
  Int num_ = 0;
  Int den_ = 1;
};

// Arithmetic; nullopt on overflow or division by zero.
std::optional<Rational> Add(const Rational& a, const Rational& b);
std::optional<Rational> Sub(const Rational& a, const Rational& b);
std::optional<Rational> Mul(const Rational& a, const Rational& b);
std::optional<Rational> Div(const Rational& a, const Rational& b);
std::optional<Rational> Negate(const Rational& a);
// a^e for an integer exponent (negative allowed); nullopt on overflow or 0^negative.
std::optional<Rational> Pow(const Rational& a, long long e);
// Exact square root when numerator and denominator are perfect squares, else nullopt.
std::optional<Rational> ExactSqrt(const Rational& a);

// Parses "123", "12.50", ".5", "5." (digits with at most one '.', no sign) exactly, and
// scientific forms "1.5e3" / "2E-4". nullopt on malformed text or overflow.
std::optional<Rational> ParseDecimal(std::string_view text);

}  // namespace flywheel::reward
