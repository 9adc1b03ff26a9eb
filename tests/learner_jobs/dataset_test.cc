// LoadDataset: good rows, chat-template rows, and each kind of bad line reported with its line.
#include "learner/jobs/dataset.h"

#include <fstream>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/model/test_util.h"

namespace flywheel::learner {
namespace {

using ::testing::HasSubstr;

std::string Write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.File(name)) << text;
  return dir.File(name);
}

DatasetNeeds Needs(bool task, bool answer, const std::string& chat_template = "chatml",
                   size_t max_problems = 20) {
  DatasetNeeds needs;
  needs.task = task;
  needs.answer = answer;
  needs.chat_template = chat_template;
  needs.max_problems = max_problems;
  return needs;
}

TEST(DatasetTest, GoodRows) {
  testing::TempDir dir;
  const std::string path = Write(dir, "d.jsonl",
                                 R"({"prompt": "1+1=", "answer": "2"})"
                                 "\n\n"  // blank lines are skipped but still counted
                                 R"({"prompt": "2+2=", "task": {"verifier": "math", "gold": "4"}})"
                                 "\n");
  std::vector<std::string> problems;
  auto rows = LoadDataset(path, {}, &problems);
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[0].prompt, "1+1=");
  EXPECT_EQ(rows[0].answer, "2");
  EXPECT_EQ(rows[0].task_json, "");
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].answer, "");
  auto task = nlohmann::json::parse(rows[1].task_json);
  EXPECT_EQ(task["verifier"], "math");
  EXPECT_EQ(task["gold"], "4");
}

TEST(DatasetTest, MessagesRenderedWithChatTemplate) {
  testing::TempDir dir;
  const std::string path = Write(dir, "d.jsonl",
                                 R"({"messages": [{"role": "system", "content": "Be brief."}, )"
                                 R"({"role": "user", "content": "Hi"}], "answer": "Hello"})"
                                 "\n");
  std::vector<std::string> problems;
  auto rows = LoadDataset(path, Needs(false, true), &problems);
  ASSERT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].prompt,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\n");

  auto llama = LoadDataset(path, Needs(false, false, "llama3"), &problems);
  ASSERT_EQ(llama.size(), 1u);
  EXPECT_THAT(llama[0].prompt, HasSubstr("<|start_header_id|>user<|end_header_id|>\n\nHi"));
  EXPECT_THAT(llama[0].prompt,
              ::testing::EndsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"));
}

TEST(DatasetTest, BadLinesReportedWithLineNumbers) {
  testing::TempDir dir;
  const std::string path =
      Write(dir, "d.jsonl",
            R"({"prompt": "ok", "answer": "1", "task": {"verifier": "exact"}})"
            "\n"
            R"({"prompt": "broken", )"
            "\n"
            R"({"answer": "3", "task": {"verifier": "math", "gold": "3"}})"
            "\n"
            R"({"prompt": "p", "answer": 4, "task": {"verifier": "math", "gold": "4"}})"
            "\n"
            R"({"prompt": "p", "task": {"verifier": "telepathy", "gold": "5"}})"
            "\n"
            R"({"prompt": "p", "answer": "6"})"
            "\n");
  std::vector<std::string> problems;
  auto rows = LoadDataset(path, Needs(true, false), &problems);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].line, 1);
  // The exact task had no gold: the row's answer is filled in.
  EXPECT_EQ(nlohmann::json::parse(rows[0].task_json)["gold"], "1");
  ASSERT_EQ(problems.size(), 5u) << absl::StrJoin(problems, "\n");
  EXPECT_THAT(problems[0], HasSubstr(path + ":2: malformed JSON"));
  EXPECT_THAT(problems[1], HasSubstr(path + ":3: missing \"prompt\" or \"messages\""));
  EXPECT_THAT(problems[2], HasSubstr(path + ":4: \"answer\" must be a string"));
  EXPECT_THAT(problems[3], HasSubstr(path + ":5: task: "));
  EXPECT_THAT(problems[3], HasSubstr("telepathy"));
  EXPECT_THAT(problems[4], HasSubstr(path + ":6: missing \"task\""));
}

TEST(DatasetTest, MissingGoldWithoutAnswerIsReported) {
  testing::TempDir dir;
  const std::string path = Write(dir, "d.jsonl",
                                 R"({"prompt": "p", "task": {"verifier": "math"}})"
                                 "\n");
  std::vector<std::string> problems;
  EXPECT_TRUE(LoadDataset(path, Needs(true, false), &problems).empty());
  ASSERT_EQ(problems.size(), 2u) << absl::StrJoin(problems, "\n");
  EXPECT_THAT(problems[0], HasSubstr(":1: task: "));
  EXPECT_THAT(problems[0], HasSubstr("gold"));
  EXPECT_THAT(problems[1], HasSubstr("no usable rows"));
}

TEST(DatasetTest, ProblemsCappedWithACount) {
  testing::TempDir dir;
  std::string text;
  for (int i = 0; i < 30; ++i) text += "not json\n";
  const std::string path = Write(dir, "d.jsonl", text);
  std::vector<std::string> problems;
  EXPECT_TRUE(LoadDataset(path, Needs(false, false, "chatml", 5), &problems).empty());
  ASSERT_EQ(problems.size(), 7u) << absl::StrJoin(problems, "\n");  // 5 + count + no rows
  EXPECT_EQ(problems[5], path + ": 25 more bad lines");
}

TEST(DatasetTest, UnreadableAndEmptyFiles) {
  testing::TempDir dir;
  std::vector<std::string> problems;
  EXPECT_TRUE(LoadDataset(dir.File("nope.jsonl"), {}, &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("nope.jsonl: cannot read"));

  problems.clear();
  EXPECT_TRUE(LoadDataset(dir.path(), {}, &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("is a directory"));

  problems.clear();
  EXPECT_TRUE(LoadDataset(Write(dir, "empty.jsonl", "\n  \n"), {}, &problems).empty());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("empty.jsonl: no usable rows"));
}

}  // namespace
}  // namespace flywheel::learner
