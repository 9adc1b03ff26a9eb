// The math verifier against a table of (gold, completion, expected) cases: every normalisation
// both ways (equal and not equal), the extraction markers, and attempts to game the verifier.
#include <cstdio>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "reward/math_verifier.h"

namespace flywheel::reward {
namespace {

struct Case {
  const char* gold;
  const char* completion;
  bool expected;
};

// Completions written out in full: extraction markers, reasoning, and gaming attempts.
const std::vector<Case> kCompletionCases = {
    // Markers.
    {"42", R"x(So the total is \boxed{42}.)x", true},
    {"42", R"x(\boxed{41})x", false},
    {"42", R"x(First \boxed{40} was wrong; the result is \boxed{42})x", false},  // two answers
    {"42", R"x($\fbox{42}$)x", true},
    {"42", R"x(The value is $\boxed 42$.)x", true},
    {"42", "Adding up, 40 + 2 = 42.\n#### 42", true},
    {"42", "#### 43", false},
    {"42", "#### Step 1: add the parts\n40 + 2 = 42\n#### 42", true},  // markdown heading
    {"42", "#### Final Answer: 42", true},
    {"42", "#### 42\n#### 43", false},
    {"42", "We get it. The answer is 42.", true},
    {"42", "The final answer is $42$. I hope it is correct.", true},
    {"42", "The answer is 41.", false},
    {"42", "Answer: 42", true},
    {"42", "**Answer:** 42", true},
    {"42", "**Final Answer**: **42**", true},
    {"42", "Final answer:\n\n42", true},
    {"42", "the answer is: 42", true},
    {"42", "Computing 6 * 7 gives 42", false},  // no marker, and last-number mode is off
    {"42", "", false},
    {"3.5", "The answer is 3.5.", true},
    {"3.5", "The answer is 3. 5 is wrong.", false},
    {R"x(\frac{1}{2})x", R"x(\boxed{\frac{1}{2}})x", true},
    {R"x(\frac{1}{2})x", R"x(\boxed{\frac{1}{\boxed{2}}})x", true},  // nested box is one answer
    {R"x(\sqrt{2})x", R"x(\boxed{\sqrt{\frac{4}{2}}})x", true},
    // Gaming: several final answers, hedges, answers only in the reasoning.
    {"1", R"x(\boxed{1} or \boxed{2})x", false},
    {"2", R"x(\boxed{1} or \boxed{2})x", false},
    {"2", R"x(\boxed{2}. Double-checking: \boxed{2.0})x", true},  // same answer twice
    {"3", R"x(\boxed{3 \text{ or } 4})x", false},
    {"3", "The answer is either 3 or 4.", false},
    {"3", "Answer: 3 or 4", false},
    {"3", R"x(\boxed{3 \lor 4})x", false},
    {"3", "The answer is 3. Actually, the answer is 4.", false},
    {"42", "It could be 42, but I am not sure. \\boxed{41}", false},
    {"42", "<think>It is \\boxed{42}.</think> The answer is 41.", false},
    {"42", "<think>Maybe \\boxed{41}.</think> So \\boxed{42}", true},
    {"42", "<think>Long reasoning ... \\boxed{42}", false},  // never left the reasoning
    {"42", R"x(\boxed{42)x", false},                         // unclosed box
    {"42", R"x(\boxed{})x", false},
    {"42", R"x(\boxed{1,2,3,...,42})x", false},
    {"42", R"x(\boxed{x})x", false},
    {"42", R"x(\boxed{40 + 2 = 42})x", true},  // the last right-hand side of an equation
    {"42", R"x(\boxed{42 = 43})x", false},
    {"5", "The answer is 5 or more.", false},
    {"yes", R"x(\boxed{\text{Yes}})x", true},
    {"yes", R"x(\boxed{\text{No}})x", false},
};

// Answer pairs checked both ways: gold a / completion \boxed{b}, and gold b / completion
// \boxed{a}.
struct Pair {
  const char* a;
  const char* b;
  bool equal;
};

const std::vector<Pair> kPairs = {
    // Thousands separators.
    {"1000", "1,000", true},
    {"1000000", "1,000,000", true},
    {"1000", R"x(1{,}000)x", true},
    {"12345.5", "12,345.5", true},
    {"1000", "1,001", false},
    {"100", "1,000", false},
    {"10000", "1,0000", false},
    // Decimal forms.
    {"0.5", R"x(\frac{1}{2})x", true},
    {"0.5", ".5", true},
    {"5", "5.0", true},
    {"2.5", "2.50", true},
    {"5", "5.", true},
    {"1.5", "1.50001", false},
    {"0.1", "0.10000001", false},
    {R"x(\frac{1}{3})x", "0.33333", true},
    {R"x(\frac{1}{3})x", "0.33", false},
    {R"x(\frac{2}{3})x", "0.6667", true},
    {R"x(\frac{2}{3})x", "0.667", false},
    {"0.25", "0.2500", true},
    {"0.25", "0.2501", false},
    // Fractions.
    {R"x(\frac{3}{4})x", "3/4", true},
    {R"x(\dfrac{3}{4})x", "0.75", true},
    {R"x(\tfrac34)x", R"x(\frac{3}{4})x", true},
    {R"x(\frac12)x", "0.5", true},
    {"6/8", "3/4", true},
    {R"x(-\frac{1}{2})x", "-0.5", true},
    {R"x(\frac{-1}{2})x", "-1/2", true},
    {R"x(\frac{1}{2})x", R"x(\frac{1}{3})x", false},
    {"3/4", "4/3", false},
    {R"x(2\frac{1}{2})x", "5/2", true},
    {R"x(2\frac{1}{2})x", "1", false},
    {R"x(-1\frac{1}{4})x", "-1.25", true},
    // \left / \right and spacing.
    {R"x(\left(1, 2\right))x", "(1,2)", true},
    {R"x(\left[ 0, 1 \right))x", "[0,1)", true},
    {R"x(\left( 3, 4 \right))x", "(3, 5)", false},
    {R"x(1\,000)x", "1000", true},
    {R"x(\displaystyle \frac{1}{2})x", "0.5", true},
    // \text{} and friends.
    {R"x(\text{5})x", "5", true},
    {R"x(\textbf{7})x", "7", true},
    {R"x(\mathrm{12})x", "12", true},
    {R"x(\text{5})x", "6", false},
    // Units.
    {"540", "540 meters", true},
    {"18", "18 dollars", true},
    {"5", "5 km/h", true},
    {"10", "10cm", true},
    {"5", R"x(5\text{ cm})x", true},
    {"12", R"x(12 \mbox{ inches})x", true},
    {"3", "4 hours", false},
    {"9.8", "9.8 m/s^2", true},
    {"2x", "2x", true},
    {"2", "2x", false},
    // Currency.
    {"18", R"x(\$18)x", true},
    {"18", R"x(\$18.00)x", true},
    {"20", "\u20ac20", true},
    {"18", R"x(\$19)x", false},
    {"70000", R"x(\$70,000)x", true},
    // Percentages.
    {"25", R"x(25\%)x", true},
    {"0.25", "25%", true},
    {"25", "25 percent", true},
    {"25", "50%", false},
    {"0.025", "25%", false},
    {R"x(12.5\%)x", "0.125", true},
    // Trailing punctuation.
    {"42", "42.", true},
    {"42", "42;", true},
    {"42", "43.", false},
    // Degrees.
    {"30", R"x(30^\circ)x", true},
    {"30", R"x(30^{\circ})x", true},
    {"30", "30\u00b0", true},
    {"30", R"x(45^\circ)x", false},
    // Signs and unicode.
    {"-5", "\u22125", true},
    {"-5", "5", false},
    {"5", "+5", true},
    // Tuples, intervals, sets, lists.
    {"(1, 2)", "(1,2)", true},
    {"(1, 2)", "(2, 1)", false},
    {"(1, 2)", "(1, 2, 3)", false},
    {R"x((\frac12, 3))x", "(0.5, 3)", true},
    {"[0, 1)", "[0,1)", true},
    {"[0, 1)", "(0, 1]", false},
    {R"x((-\infty, 3))x", R"x((-\infty,3))x", true},
    {R"x((-\infty, 3])x", R"x((-\infty, 3))x", false},
    {R"x(\{1, 2\})x", R"x(\{2, 1\})x", true},
    {"2, 3", "3, 2", true},
    {"2, 3", "2, 4", false},
    {"2, 3", "2", false},
    {"(1, 2)", "1, 2", false},
    {"1, 2", "1 and 2", true},
    // Simple expressions.
    {"x + 1", "1 + x", true},
    {"2x", R"x(x \cdot 2)x", true},
    {"x^2 - 1", "(x-1)(x+1)", true},
    {"x^2", "x", false},
    {"a+b", "b+a", true},
    {"x", "y", false},
    {R"x(\frac{x}{2})x", "0.5x", true},
    {R"x(\sqrt{8})x", R"x(2\sqrt{2})x", true},
    {R"x(\frac{\sqrt{2}}{2})x", R"x(\frac{1}{\sqrt{2}})x", true},
    {R"x(\sqrt{3})x", R"x(\sqrt{2})x", false},
    {R"x(\pi)x", "3.14159", true},
    {R"x(\pi)x", "3.14", false},
    {R"x(2\pi)x", "6.28319", true},
    {R"x(\sqrt{2})x", "1.41421", true},
    {R"x(\sqrt{2})x", "1.4", false},
    {R"x(\sqrt[3]{8})x", "2", true},
    {"2^{10}", "1024", true},
    {"1.5e3", "1500", true},
    {R"x(1.5 \times 10^{3})x", "1500", true},
    {"3!", "6", true},
    {R"x(\frac{\pi}{2})x", R"x(\frac{\pi}{3})x", false},
    // Equations and relations.
    {"5", "x = 5", true},
    {"5", "k=5", true},
    {"5", "x = 4", false},
    {"y = 2x + 1", "y = 1 + 2x", true},
    {"y = 2x + 1", "y = 2x - 1", false},
    {"x > 3", "3 < x", true},
    {R"x(x \ge 3)x", "x > 3", false},
    {R"x(x \leq 3)x", "x <= 3", true},
    // Text answers.
    {R"x(\text{Monday})x", "Monday", true},
    {"Monday", "monday", true},
    {"Monday", "Tuesday", false},
    // Large integers stay exact.
    {"123456789012345678901234567890", "123456789012345678901234567890", true},
    {"123456789012345678901234567890", "123456789012345678901234567891", false},
};

bool Verify(const std::string& gold, const std::string& completion) {
  auto prepared = PrepareMathGold(gold, {});
  EXPECT_TRUE(prepared.ok()) << prepared.status();
  if (!prepared.ok()) return false;
  auto verdict = VerifyMath(*prepared, completion, {});
  EXPECT_TRUE(verdict.ok()) << verdict.status();
  return verdict.ok() && verdict->correct;
}

TEST(MathTable, CompletionCases) {
  for (const Case& c : kCompletionCases) {
    EXPECT_EQ(Verify(c.gold, c.completion), c.expected)
        << "gold: " << c.gold << "\ncompletion: " << c.completion;
  }
}

TEST(MathTable, PairsBothWays) {
  for (const Pair& p : kPairs) {
    EXPECT_EQ(Verify(p.a, std::string("\\boxed{") + p.b + "}"), p.equal)
        << "gold: " << p.a << "\nanswer: " << p.b;
    EXPECT_EQ(Verify(p.b, std::string("\\boxed{") + p.a + "}"), p.equal)
        << "gold: " << p.b << "\nanswer: " << p.a;
  }
}

TEST(MathTable, HasEnoughCases) {
  // The acceptance bar for issue 5: at least 150 (gold, completion, expected) cases.
  size_t cases = kCompletionCases.size() + 2 * kPairs.size();
  EXPECT_GE(cases, 150u);
  size_t unequal = 0;
  for (const Case& c : kCompletionCases) unequal += !c.expected;
  for (const Pair& p : kPairs) unequal += p.equal ? 0 : 2;
  EXPECT_GE(unequal, 60u);
  std::printf("math table: %zu cases (%zu completions, %zu pairs both ways), %zu expect wrong\n",
              cases, kCompletionCases.size(), kPairs.size(), unequal);
}

TEST(MathTable, LastNumberFallbackIsExplicit) {
  MathVerifyOptions options;
  options.extract.last_number = true;
  auto v = VerifyMath("42", "Computing 6 * 7 gives 42.", options);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->correct);
  v = VerifyMath("1000", "She pays $1,000 in total", options);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->correct);
  v = VerifyMath("42", "It is 42, no wait, 41", options);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->correct);
}

TEST(MathTable, ReasonsExplainVerdicts) {
  auto v = VerifyMath("1", R"x(\boxed{1} or \boxed{2})x", {});
  ASSERT_TRUE(v.ok());
  EXPECT_NE(v->reason.find("several different final answers"), std::string::npos) << v->reason;
  v = VerifyMath("3", "The answer is either 3 or 4.", {});
  ASSERT_TRUE(v.ok());
  EXPECT_NE(v->reason.find("hedged"), std::string::npos) << v->reason;
  v = VerifyMath("3", "no marker here", {});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->reason, "no final answer found");
}

}  // namespace
}  // namespace flywheel::reward
