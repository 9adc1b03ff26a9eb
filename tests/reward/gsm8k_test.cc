// Acceptance 1 of issue 5: every GSM8K test answer verifies as correct when its reference
// solution is the completion, and as wrong when the final number is changed.
#include <cstdint>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "reward/score.h"

namespace flywheel::reward {
namespace {

// The final "#### N" line of a GSM8K solution replaced by `answer`.
std::string WithFinalAnswer(const std::string& solution, const std::string& answer) {
  size_t pos = solution.rfind("####");
  return solution.substr(0, pos) + "#### " + answer;
}

TEST(Gsm8k, ReferenceSolutionsVerifyAndChangedAnswersFail) {
  std::ifstream in(FLYWHEEL_GSM8K_PATH);
  ASSERT_TRUE(in) << "cannot open " << FLYWHEEL_GSM8K_PATH;
  int rows = 0, right_ok = 0, changed_ok = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++rows;
    nlohmann::json row = nlohmann::json::parse(line);
    const std::string question = row["question"];
    const std::string solution = row["answer"];
    std::string gold = solution.substr(solution.rfind("####") + 4);
    gold.erase(0, gold.find_first_not_of(' '));

    nlohmann::json spec_json = {{"verifier", "math"}, {"gold", gold}};
    auto spec = ParseTaskSpec(spec_json);
    ASSERT_TRUE(spec.ok()) << spec.status();

    auto right = ScoreItem(*spec, {question, solution});
    ASSERT_TRUE(right.ok()) << right.status();
    if (right->correct && right->total == 1.0) {
      ++right_ok;
    } else {
      ADD_FAILURE() << "row " << rows << " gold " << gold << ": " << right->reason;
    }

    // Changed final numbers: off by one, and doubled (GSM8K answers are integers, some with
    // thousands separators).
    std::string digits;
    for (char c : gold) {
      if (c != ',') digits.push_back(c);
    }
    int64_t value = std::stoll(digits);
    bool all_wrong = true;
    for (int64_t changed : {value + 1, value - 1, value == 0 ? 7 : value * 2}) {
      auto wrong = ScoreItem(*spec, {question, WithFinalAnswer(solution, std::to_string(changed))});
      ASSERT_TRUE(wrong.ok()) << wrong.status();
      if (wrong->correct || wrong->total != 0.0) {
        all_wrong = false;
        ADD_FAILURE() << "row " << rows << " gold " << gold << " accepted " << changed;
      }
    }
    changed_ok += all_wrong;
  }
  EXPECT_EQ(rows, 1319);
  EXPECT_EQ(right_ok, rows);
  EXPECT_EQ(changed_ok, rows);
  std::printf("GSM8K: %d/%d reference solutions correct, %d/%d with changed answers wrong\n",
              right_ok, rows, changed_ok, rows);
}

TEST(Gsm8k, WholeSolutionAsGold) {
  // A gold given as a full reference solution is reduced to its "#### N" answer.
  std::ifstream in(FLYWHEEL_GSM8K_PATH);
  ASSERT_TRUE(in);
  std::string line;
  int checked = 0;
  while (std::getline(in, line) && checked < 50) {
    nlohmann::json row = nlohmann::json::parse(line);
    const std::string solution = row["answer"];
    auto spec = ParseTaskSpec({{"verifier", "math"}, {"gold", solution}});
    ASSERT_TRUE(spec.ok()) << spec.status();
    std::string gold = solution.substr(solution.rfind("####") + 4);
    auto r = ScoreItem(*spec, {"", "The answer is " + gold + "."});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->correct) << gold << ": " << r->reason;
    ++checked;
  }
}

}  // namespace
}  // namespace flywheel::reward
