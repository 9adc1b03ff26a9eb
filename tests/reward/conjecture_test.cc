// The self-play gate: a table of conjectures with the verdict each must get (valid with its exact
// value, or rejected for the named reason), the expression language's edge cases, duplicates
// within a batch, and random bytes (no crash, and every rejection names a known reason).
#include "reward/conjecture.h"

#include <random>
#include <set>
#include <string>

#include "common/tokenizer/utf8.h"
#include "gtest/gtest.h"

namespace flywheel::reward {
namespace {

ConjectureOptions Options(std::string target = "(12+7)*3-5") {
  ConjectureOptions o;
  o.target = std::move(target);
  o.limits.ops = "+-*";
  o.limits.max_digits = 3;
  o.limits.max_ops = 4;
  o.limits.max_chars = 24;
  o.max_abs_value = 100000;
  return o;
}

struct Case {
  const char* completion;
  const char* expect;  // the value for a valid conjecture, else the rejection reason
};

TEST(ConjectureTest, Table) {
  const Case cases[] = {
      // Valid: the value is derived exactly.
      {"12+7", "19"},
      {"12+7=", "19"},
      {" 12 + 7 =19", "19"},
      {"(12+7)*3", "57"},
      {"3*(4+5)-2\nmore text", "25"},
      {"0*7+1", "1"},
      {"999*99", "98901"},
      {"((2+3))*4", "20"},
      {"19-7", "12"},
      // Unparseable: not an expression.
      {"", "unparseable"},
      {"=", "unparseable"},
      {"12+", "unparseable"},
      {"(12+7", "unparseable"},
      {"12+7)", "unparseable"},
      {"12 7", "unparseable"},
      {"()", "unparseable"},
      {"*3", "unparseable"},
      // Outside the task's language: operators, characters, literals.
      {"12/4", "not_in_grammar"},
      {"2^3", "not_in_grammar"},
      {"x+1", "not_in_grammar"},
      {"-3+5", "not_in_grammar"},
      {"3+-5", "not_in_grammar"},
      {"1.5*2", "not_in_grammar"},
      {"007+1", "not_in_grammar"},
      {"1234+1", "not_in_grammar"},
      {"１２+1", "not_in_grammar"},  // full-width digits are not ASCII digits
      // Too long: characters, operators, nesting.
      {"1+1+1+1+1+1", "too_long"},
      {"111+111+111+111+111+1", "too_long"},
      {"((((((((((1))))))))))+1", "too_long"},
      // Out of range: negative results, values past the bound.
      {"3-5", "out_of_range"},
      {"999*999", "out_of_range"},
      // Trivial: no operation.
      {"42", "trivial"},
      {"(42)", "trivial"},
      // A copy of the target, after normalisation (spaces, redundant parentheses).
      {"(12+7)*3-5", "copy_of_target"},
      {"((12 + 7) * 3) - 5", "copy_of_target"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.completion);
    const Verdict v = VerifyConjecture(c.completion, Options());
    const std::string expect = c.expect;
    if (std::isdigit(static_cast<unsigned char>(expect[0]))) {
      EXPECT_TRUE(v.correct) << v.reason;
      EXPECT_EQ(v.answer, expect);
      EXPECT_TRUE(v.reason.empty());
    } else {
      EXPECT_FALSE(v.correct);
      EXPECT_EQ(v.reason.substr(0, v.reason.find(':')), expect) << v.reason;
    }
  }
}

TEST(ConjectureTest, DivisionWhenTheTaskAllowsIt) {
  ConjectureOptions o = Options();
  o.limits.ops = "+-*/";
  EXPECT_EQ(VerifyConjecture("12/4+1", o).answer, "4");
  const Verdict remainder = VerifyConjecture("7/2+1", o);
  EXPECT_FALSE(remainder.correct);
  EXPECT_EQ(remainder.reason.rfind("not_exact", 0), 0u) << remainder.reason;
  EXPECT_EQ(VerifyConjecture("5/(3-3)", o).reason.rfind("not_exact", 0), 0u);
  o.allow_negative = true;
  EXPECT_EQ(VerifyConjecture("3-5", o).answer, "-2");
}

TEST(ConjectureTest, KeysIdentifyDuplicatesAfterNormalisation) {
  const ConjectureOptions o = Options();
  EXPECT_EQ(ConjectureKey("1+2*3", o), ConjectureKey(" (1) + (2*3) =7", o));
  EXPECT_EQ(ConjectureKey("1+(2+3)", o), ConjectureKey("1+2+3", o));  // + is associative
  EXPECT_NE(ConjectureKey("1-(2+3)", o), ConjectureKey("1-2+3", o));  // - is not
  EXPECT_NE(ConjectureKey("(1+2)*3", o), ConjectureKey("1+2*3", o));
  EXPECT_EQ(ConjectureKey("1+", o), std::nullopt);
}

TEST(ConjectureTest, RandomBytesGetAKnownReason) {
  const std::set<std::string> reasons = {"unparseable",   "not_in_grammar", "not_exact",
                                         "out_of_range",  "too_long",       "trivial",
                                         "copy_of_target"};
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789+-*/()= .x\n";
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const int n = static_cast<int>(rng() % 30);
    for (int k = 0; k < n; ++k) {
      // Mostly the language's own characters (to reach deep into the parser), some raw bytes.
      s.push_back(rng() % 8 == 0 ? static_cast<char>(rng() % 256)
                                 : alphabet[rng() % alphabet.size()]);
    }
    const Verdict v = VerifyConjecture(s, Options());
    if (v.correct) {
      EXPECT_FALSE(v.answer.empty()) << s;
    } else {
      EXPECT_TRUE(reasons.count(v.reason.substr(0, v.reason.find(':')))) << s << " -> " << v.reason;
      // The reason travels in a protobuf string: it must be UTF-8 whatever bytes came in.
      EXPECT_TRUE(tokenizer::ValidateUtf8(v.reason).ok()) << v.reason;
    }
  }
}

}  // namespace
}  // namespace flywheel::reward
