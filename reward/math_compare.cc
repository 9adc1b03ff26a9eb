#include "reward/math_compare.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/mix.h"
#include "reward/math_eval.h"
#include "reward/text_util.h"

namespace flywheel::reward {
namespace {

// Two evaluations of the same exact expression in different forms (2*sqrt(2) vs sqrt(8), or a
// polynomial expanded vs factored at a random point) differ only by double rounding, ~1e-15
// relative, amplified by cancellation. 1e-9 leaves that a wide margin; a genuinely different
// expression differs by O(1) at a random point.
constexpr double kSymbolicRelTol = 1e-9;
// Values this close to zero count as zero for the relative tests above (cancellation to zero).
constexpr double kAbsFloor = 1e-12;
// Random points per identity test; each one a wrong expression passes by coincidence has
// probability ~0, and a few guard against a point where both sides happen to be undefined.
constexpr int kIdentityPoints = 6;

bool Close(double a, double b, double rel) {
  if (std::isinf(a) || std::isinf(b)) return a == b;
  return std::fabs(a - b) <= std::max(rel * std::max(std::fabs(a), std::fabs(b)), kAbsFloor);
}

bool ValuesEqual(const Value& a, const Value& b, const CompareOptions& options) {
  if (a.infinite || b.infinite) return a.infinite && b.infinite && a.d == b.d;
  if (a.exact && b.exact) {
    if (a.q == b.q) return true;
    // A decimal may stand for a value with a non-terminating expansion (0.6667 for 2/3). Two
    // values that both terminate are different numbers however close they are.
    bool a_approximates = a.decimal && !b.q.terminates();
    bool b_approximates = b.decimal && !a.q.terminates();
    if (!a_approximates && !b_approximates) return false;
    return Close(a.d, b.d, options.rel_tol);
  }
  double rel = (a.decimal || b.decimal) ? options.rel_tol : kSymbolicRelTol;
  return Close(a.d, b.d, rel);
}

Value DivideBy100(const Value& v) {
  Value out = v;
  if (v.exact) {
    if (auto q = Div(v.q, Rational(100))) {
      out.q = *q;
    } else {
      out.exact = false;
    }
  }
  out.d = v.d / 100;
  return out;
}

bool ScalarsEqual(const Value& g, bool g_percent, const Value& p, bool p_percent,
                  const CompareOptions& options) {
  if (ValuesEqual(g, p, options)) return true;
  if (!options.percent_flexible || g_percent == p_percent) return false;
  return g_percent ? ValuesEqual(DivideBy100(g), p, options)
                   : ValuesEqual(g, DivideBy100(p), options);
}

// Compares expression `gi` of `g` with `pi` of `p`.
bool ExprsEqual(const ParsedAnswer& g, int gi, bool g_percent, const ParsedAnswer& p, int pi,
                bool p_percent, const CompareOptions& options) {
  std::vector<std::string> gs, ps;
  CollectSymbols(g, gi, &gs);
  CollectSymbols(p, pi, &ps);
  std::sort(gs.begin(), gs.end());
  gs.erase(std::unique(gs.begin(), gs.end()), gs.end());
  std::sort(ps.begin(), ps.end());
  ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  if (gs != ps) return false;
  if (gs.empty()) {
    auto gv = Evaluate(g, gi);
    auto pv = Evaluate(p, pi);
    if (!gv.ok() || !pv.ok()) return false;
    return ScalarsEqual(*gv, g_percent, *pv, p_percent, options);
  }
  // Identity test: both sides at the same pseudo-random points (fixed seed, so a verdict is
  // reproducible). Points lie in [0.5, 2.5): away from 0 and 1, where distinct expressions such as
  // x and x^2 coincide.
  int agreed = 0;
  for (int k = 0; k < kIdentityPoints; ++k) {
    uint64_t state = 0x5EEDull + static_cast<uint64_t>(k);
    std::vector<double> point(gs.size());
    for (double& x : point)
      x = 0.5 + 2.0 * static_cast<double>(SplitMixNext(state) >> 11) * 0x1p-53;
    SymbolLookup lookup = [&](std::string_view name, double* value) {
      auto it = std::lower_bound(gs.begin(), gs.end(), name);
      if (it == gs.end() || *it != name) return false;
      *value = point[static_cast<size_t>(it - gs.begin())];
      return true;
    };
    auto gv = Evaluate(g, gi, lookup);
    auto pv = Evaluate(p, pi, lookup);
    if (!gv.ok() && !pv.ok()) continue;  // both undefined here: no evidence either way
    if (!gv.ok() || !pv.ok()) return false;
    if (!ScalarsEqual(*gv, g_percent, *pv, p_percent, options)) return false;
    ++agreed;
  }
  // Half the points must be defined on both sides for the verdict to mean anything.
  return agreed >= kIdentityPoints / 2;
}

bool SameMultiset(const ParsedAnswer& g, const ParsedAnswer& p, const CompareOptions& options) {
  if (g.items.size() != p.items.size()) return false;
  std::vector<bool> used(p.items.size(), false);
  for (int gi : g.items) {
    bool found = false;
    for (size_t j = 0; j < p.items.size() && !found; ++j) {
      if (!used[j] && ExprsEqual(g, gi, false, p, p.items[j], false, options)) {
        used[j] = true;
        found = true;
      }
    }
    if (!found) return false;
  }
  return true;
}

// "a > b" is "b < a"; returns the relation with < or <= when it has a direction.
std::string Canonical(const ParsedAnswer& a, int* lhs, int* rhs) {
  *lhs = a.items[0];
  *rhs = a.items[1];
  if (a.relation == ">" || a.relation == ">=") {
    std::swap(*lhs, *rhs);
    return a.relation == ">" ? "<" : "<=";
  }
  return a.relation;
}

bool ParsedEqual(const ParsedAnswer& g, bool g_percent, const ParsedAnswer& p, bool p_percent,
                 const CompareOptions& options) {
  using Shape = ParsedAnswer::Shape;
  if (g.shape == Shape::kScalar && p.shape == Shape::kScalar) {
    return ExprsEqual(g, g.items[0], g_percent, p, p.items[0], p_percent, options);
  }
  if (g_percent || p_percent) return false;
  auto unordered = [](Shape s) { return s == Shape::kSet || s == Shape::kList; };
  if (unordered(g.shape) && unordered(p.shape)) return SameMultiset(g, p, options);
  if (g.shape == Shape::kTuple && p.shape == Shape::kTuple) {
    if (g.open != p.open || g.close != p.close || g.items.size() != p.items.size()) return false;
    for (size_t i = 0; i < g.items.size(); ++i) {
      if (!ExprsEqual(g, g.items[i], false, p, p.items[i], false, options)) return false;
    }
    return true;
  }
  if (g.shape == Shape::kRelation && p.shape == Shape::kRelation) {
    int gl, gr, pl, pr;
    std::string gr_rel = Canonical(g, &gl, &gr);
    std::string pr_rel = Canonical(p, &pl, &pr);
    if (gr_rel != pr_rel) return false;
    if (ExprsEqual(g, gl, false, p, pl, false, options) &&
        ExprsEqual(g, gr, false, p, pr, false, options)) {
      return true;
    }
    bool symmetric = gr_rel == "=" || gr_rel == "!=";
    return symmetric && ExprsEqual(g, gl, false, p, pr, false, options) &&
           ExprsEqual(g, gr, false, p, pl, false, options);
  }
  return false;
}

// Offset just past the last '=' outside brackets that is a relation of its own (not part of <=,
// >= or !=), or npos.
size_t AfterLastEquals(std::string_view s) {
  int depth = 0;
  size_t found = std::string_view::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '{' || c == '(' || c == '[') ++depth;
    if ((c == '}' || c == ')' || c == ']') && depth > 0) --depth;
    if (c == '=' && depth == 0 &&
        (i == 0 || (s[i - 1] != '<' && s[i - 1] != '>' && s[i - 1] != '!'))) {
      found = i + 1;
    }
  }
  return found;
}

std::string StringKey(std::string_view s) {
  std::string out;
  for (char c : AsciiLower(s)) {
    if (!IsSpace(c) && c != '{' && c != '}') out.push_back(c);
  }
  return out;
}

}  // namespace

bool NormalizedAnswersEqual(const NormalizedAnswer& gold, const NormalizedAnswer& pred,
                            const CompareOptions& options) {
  if (gold.text.empty() || pred.text.empty()) return false;
  if (gold.text == pred.text && gold.percent == pred.percent) return true;

  // An equation on one side only: compare its last right-hand side ("x = 5", "2 + 3 = 5" for 5).
  bool g_eq = AfterLastEquals(gold.text) != std::string::npos;
  bool p_eq = AfterLastEquals(pred.text) != std::string::npos;
  if (g_eq != p_eq) {
    const NormalizedAnswer& eq = g_eq ? gold : pred;
    NormalizedAnswer rhs = NormalizeMathAnswer(
        std::string_view(eq.text).substr(AfterLastEquals(eq.text)), options.normalize);
    rhs.percent |= eq.percent;
    if (rhs.text.empty() || AfterLastEquals(rhs.text) != std::string::npos) return false;
    return g_eq ? NormalizedAnswersEqual(rhs, pred, options)
                : NormalizedAnswersEqual(gold, rhs, options);
  }

  auto g = ParseAnswer(gold.text);
  auto p = ParseAnswer(pred.text);
  if (g.ok() && p.ok()) return ParsedEqual(*g, gold.percent, *p, pred.percent, options);
  if (g.ok() != p.ok()) return false;  // math on one side, text on the other
  return gold.percent == pred.percent && StringKey(gold.text) == StringKey(pred.text);
}

bool MathAnswersEqual(std::string_view gold, std::string_view pred, const CompareOptions& options) {
  return NormalizedAnswersEqual(NormalizeMathAnswer(gold, options.normalize),
                                NormalizeMathAnswer(pred, options.normalize), options);
}

}  // namespace flywheel::reward
