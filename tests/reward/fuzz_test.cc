// Random bytes and random LaTeX-ish token soup through the math extractor, normaliser, parser
// and comparison: nothing may crash, hang or throw, and equality must be reflexive on answers
// that normalise to non-empty text. A fixed seed keeps failures reproducible.
#include <chrono>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "reward/math_compare.h"
#include "reward/math_eval.h"
#include "reward/math_extract.h"
#include "reward/math_verifier.h"
#include "reward/score.h"

namespace flywheel::reward {
namespace {

std::string RandomBytes(std::mt19937_64& rng, size_t max_len) {
  std::uniform_int_distribution<size_t> len(0, max_len);
  std::uniform_int_distribution<int> byte(0, 255);
  std::string s(len(rng), '\0');
  for (char& c : s) c = static_cast<char>(byte(rng));
  return s;
}

std::string RandomTokens(std::mt19937_64& rng, size_t max_tokens) {
  static const char* kTokens[] = {"\\boxed{",
                                  "\\fbox{",
                                  "{",
                                  "}",
                                  "\\frac",
                                  "\\dfrac",
                                  "\\sqrt",
                                  "[",
                                  "]",
                                  "(",
                                  ")",
                                  "\\{",
                                  "\\}",
                                  "^",
                                  "_",
                                  "-",
                                  "+",
                                  "*",
                                  "/",
                                  "=",
                                  "<",
                                  "\\le",
                                  ",",
                                  ".",
                                  "0",
                                  "1",
                                  "7",
                                  "42",
                                  "1,000",
                                  "3.14",
                                  "x",
                                  "y",
                                  "\\pi",
                                  "\\infty",
                                  " ",
                                  "\n",
                                  "%",
                                  "\\%",
                                  "$",
                                  "\\$",
                                  "\\text{",
                                  "\\left(",
                                  "\\right)",
                                  "!",
                                  "or",
                                  "####",
                                  "Answer:",
                                  "The answer is ",
                                  "<think>",
                                  "</think>",
                                  "\\",
                                  "e",
                                  "E5",
                                  "\u2212",
                                  "\u00b0",
                                  "^\\circ",
                                  "|",
                                  "\\cdot",
                                  "2\\frac{1}{2}",
                                  "meters",
                                  "10^{100}"};
  std::uniform_int_distribution<size_t> count(0, max_tokens);
  std::uniform_int_distribution<size_t> pick(0, sizeof(kTokens) / sizeof(kTokens[0]) - 1);
  std::string s;
  for (size_t n = count(rng); n > 0; --n) s += kTokens[pick(rng)];
  return s;
}

void Exercise(const std::string& s) {
  auto extraction = ExtractFinalAnswers(s, {.last_number = true});
  if (extraction.ok()) {
    for (const std::string& a : extraction->answers) {
      NormalizedAnswer n = NormalizeMathAnswer(a);
      (void)ParseAnswer(n.text);
    }
  }
  NormalizedAnswer n = NormalizeMathAnswer(s);
  auto parsed = ParseAnswer(n.text);
  if (parsed.ok()) {
    for (int item : parsed->items) (void)Evaluate(*parsed, item);
  }
  (void)MathAnswersEqual(s, "42");
  (void)MathAnswersEqual("x^2 + 1", s);
  if (!n.text.empty() && s.size() < 200) {
    // The fast path makes this trivially true; it still runs the normaliser twice.
    EXPECT_TRUE(NormalizedAnswersEqual(n, n, {})) << s;
  }
  (void)VerifyMath("42", s, {});
}

TEST(Fuzz, RandomBytes) {
  std::mt19937_64 rng(20260821);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20000; ++i) Exercise(RandomBytes(rng, 64));
  for (int i = 0; i < 200; ++i) Exercise(RandomBytes(rng, 4096));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
}

TEST(Fuzz, TokenSoup) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) Exercise(RandomTokens(rng, 24));
  for (int i = 0; i < 300; ++i) Exercise(RandomTokens(rng, 400));
}

TEST(Fuzz, ScoreItemNeverCrashes) {
  std::mt19937_64 rng(99);
  auto spec = ParseTaskSpec({{"verifier", "math"}, {"gold", "\\frac{1}{2}"}});
  ASSERT_TRUE(spec.ok());
  for (int i = 0; i < 5000; ++i) {
    std::string s = (i % 2) ? RandomTokens(rng, 40) : RandomBytes(rng, 128);
    auto r = ScoreItem(*spec, {"", s});
    if (r.ok()) {
      EXPECT_TRUE(r->total == 0.0 || r->total == 1.0);
    }
  }
}

// The conjecture gate through ScoreBatch (duplicate marking included) on token soup and bytes:
// every item is scored (no error for any text), the total is 0 or 1, and a valid conjecture's
// answer is its exact value.
TEST(Fuzz, ConjectureBatchesNeverCrash) {
  std::mt19937_64 rng(101);
  auto spec = ParseTaskSpec(
      {{"verifier", "conjecture"}, {"conjecture", {{"target", "(3+4)*5"}, {"ops", "+-*/"}}}});
  ASSERT_TRUE(spec.ok()) << spec.status();
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> texts;
    for (int i = 0; i < 25; ++i) {
      texts.push_back(i % 3 == 0      ? RandomBytes(rng, 40)
                      : i % 3 == 1    ? RandomTokens(rng, 12)
                      : texts.empty() ? "1+2"
                                      : texts[rng() % texts.size()]);
    }
    std::vector<ScoreRequest> batch;
    for (const auto& t : texts) batch.push_back({&*spec, {"", t}});
    auto results = ScoreBatch(batch);
    ASSERT_EQ(results.size(), texts.size());
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].ok()) continue;  // oversized or invalid UTF-8: the input guard's error
      EXPECT_TRUE(results[i]->total == 0.0 || results[i]->total == 1.0) << texts[i];
    }
  }
}

}  // namespace
}  // namespace flywheel::reward
