// Overflow-checked rational arithmetic on __int128.
#include "reward/rational.h"

#include <cmath>

namespace flywheel::reward {
namespace {

using Int = Rational::Int;

Int Abs(Int v) { return v < 0 ? -v : v; }

Int Gcd(Int a, Int b) {
  a = Abs(a);
  b = Abs(b);
  while (b != 0) {
    Int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// The most negative __int128 has no positive counterpart; keeping values strictly inside
// (-max, max) lets Abs and negation never overflow.
constexpr Int kMax = ~(static_cast<Int>(1) << 127);

bool MulOk(Int a, Int b, Int* out) {
  return !__builtin_mul_overflow(a, b, out) && *out != -kMax - 1;
}
bool AddOk(Int a, Int b, Int* out) {
  return !__builtin_add_overflow(a, b, out) && *out != -kMax - 1;
}

}  // namespace

std::optional<Rational> Rational::Make(Int num, Int den) {
  if (den == 0) return std::nullopt;
  if (num == -kMax - 1 || den == -kMax - 1) return std::nullopt;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  Int g = Gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  Rational r;
  r.num_ = num;
  r.den_ = den;
  return r;
}

bool Rational::terminates() const {
  Int d = den_;
  while (d % 2 == 0) d /= 2;
  while (d % 5 == 0) d /= 5;
  return d == 1;
}

double Rational::ToDouble() const {
  return static_cast<double>(static_cast<long double>(num_) / static_cast<long double>(den_));
}

std::string Rational::ToString() const {
  auto int_to_string = [](Int v) {
    if (v == 0) return std::string("0");
    bool neg = v < 0;
    v = Abs(v);
    std::string s;
    while (v > 0) {
      s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
      v /= 10;
    }
    if (neg) s.push_back('-');
    return std::string(s.rbegin(), s.rend());
  };
  std::string s = int_to_string(num_);
  if (den_ != 1) {
    s.push_back('/');
    s.append(int_to_string(den_));
  }
  return s;
}

std::optional<Rational> Add(const Rational& a, const Rational& b) {
  Int g = Gcd(a.den(), b.den());
  Int x, y, n, d;
  if (!MulOk(a.num(), b.den() / g, &x) || !MulOk(b.num(), a.den() / g, &y) || !AddOk(x, y, &n) ||
      !MulOk(a.den() / g, b.den(), &d)) {
    return std::nullopt;
  }
  return Rational::Make(n, d);
}

std::optional<Rational> Negate(const Rational& a) { return Rational::Make(-a.num(), a.den()); }

std::optional<Rational> Sub(const Rational& a, const Rational& b) {
  auto nb = Negate(b);
  if (!nb) return std::nullopt;
  return Add(a, *nb);
}

std::optional<Rational> Mul(const Rational& a, const Rational& b) {
  // Cross-reduce first so products of already-reduced fractions overflow as late as possible.
  Int g1 = Gcd(a.num(), b.den());
  Int g2 = Gcd(b.num(), a.den());
  if (g1 == 0) g1 = 1;
  if (g2 == 0) g2 = 1;
  Int n, d;
  if (!MulOk(a.num() / g1, b.num() / g2, &n) || !MulOk(a.den() / g2, b.den() / g1, &d)) {
    return std::nullopt;
  }
  return Rational::Make(n, d);
}

std::optional<Rational> Div(const Rational& a, const Rational& b) {
  if (b.is_zero()) return std::nullopt;
  auto inv = Rational::Make(b.den(), b.num());
  if (!inv) return std::nullopt;
  return Mul(a, *inv);
}

std::optional<Rational> Pow(const Rational& a, long long e) {
  if (e < 0) {
    if (a.is_zero()) return std::nullopt;
    auto inv = Rational::Make(a.den(), a.num());
    if (!inv) return std::nullopt;
    if (e == -e) return std::nullopt;  // LLONG_MIN
    return Pow(*inv, -e);
  }
  Rational result(1);
  Rational base = a;
  // Square-and-multiply: any exponent beyond 127 overflows unless |a| is 0 or 1, so the loop
  // ends after a handful of steps either way.
  while (e > 0) {
    if (e & 1) {
      auto r = Mul(result, base);
      if (!r) return std::nullopt;
      result = *r;
    }
    e >>= 1;
    if (e > 0) {
      auto b = Mul(base, base);
      if (!b) return std::nullopt;
      base = *b;
    }
  }
  return result;
}

namespace {
std::optional<Int> ExactIntSqrt(Int v) {
  if (v < 0) return std::nullopt;
  Int r = static_cast<Int>(std::sqrt(static_cast<long double>(v)));
  // The long double estimate can be off by a few units for 128-bit inputs.
  for (Int c = (r > 2 ? r - 2 : 0); c <= r + 2; ++c) {
    Int sq;
    if (__builtin_mul_overflow(c, c, &sq)) break;
    if (sq == v) return c;
  }
  return std::nullopt;
}
}  // namespace

std::optional<Rational> ExactSqrt(const Rational& a) {
  auto n = ExactIntSqrt(a.num());
  auto d = ExactIntSqrt(a.den());
  if (!n || !d) return std::nullopt;
  return Rational::Make(*n, *d);
}

std::optional<Rational> ParseDecimal(std::string_view text) {
  Int mantissa = 0;
  int scale = 0;  // number of digits after the point
  bool seen_point = false, seen_digit = false;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      seen_digit = true;
      if (!MulOk(mantissa, 10, &mantissa) || !AddOk(mantissa, c - '0', &mantissa)) {
        return std::nullopt;
      }
      if (seen_point) ++scale;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      break;
    }
  }
  if (!seen_digit) return std::nullopt;
  long long exponent = 0;
  if (i < text.size()) {
    if (text[i] != 'e' && text[i] != 'E') return std::nullopt;
    ++i;
    bool neg = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) neg = text[i++] == '-';
    if (i >= text.size()) return std::nullopt;
    for (; i < text.size(); ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      exponent = exponent * 10 + (text[i] - '0');
      // 10^40 already overflows __int128; larger exponents are not worth representing.
      if (exponent > 40) return std::nullopt;
    }
    if (neg) exponent = -exponent;
  }
  exponent -= scale;
  auto ten_pow = Pow(Rational(10), exponent);
  if (!ten_pow) return std::nullopt;
  auto m = Rational::Make(mantissa, 1);
  if (!m) return std::nullopt;
  return Mul(*m, *ten_pow);
}

}  // namespace flywheel::reward
