// flywheel-reward as deployed: the real daemon on 127.0.0.1 (port 0), scored by the CLI and by
// a gRPC client; bad items fail alone and the daemon keeps serving; /metrics passes promtool; a
// judged rubric criterion against a real flywheel-rollout judge equals the model core's P(yes).
#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/model/transformer.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "reward/judge.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"
#include "tests/util/time_scale.h"

namespace flywheel {
namespace {

namespace v1 = ::flywheel::v1;

std::unique_ptr<testing::DaemonProcess> StartReward(const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {FLYWHEEL_REWARD_BIN,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--metrics-listen",
                                   "127.0.0.1:0",
                                   "--threads",
                                   "2",
                                   "--item-timeout",
                                   std::to_string(5 * testing::TimeScale())};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto d = testing::DaemonProcess::Start(argv);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

std::vector<nlohmann::json> RunCli(const std::string& server,
                                   const std::vector<nlohmann::json>& items,
                                   const testing::TempDir& dir, int* rc) {
  {
    std::ofstream f(dir.File("items.jsonl"));
    for (const auto& it : items) f << it.dump() << "\n";
    f << "{broken\n";
  }
  std::string out;
  *rc = testing::RunCommand(absl::StrCat(FLYWHEEL_CLI, " reward --server ", server, " --file ",
                                         dir.File("items.jsonl"), " 2>/dev/null"),
                            &out);
  std::vector<nlohmann::json> lines;
  std::stringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

TEST(RewardServerTest, CliScoresItemsAndBadOnesFailAlone) {
  auto daemon = StartReward();
  ASSERT_NE(daemon, nullptr);
  testing::TempDir dir;
  nlohmann::json math = {{"verifier", "math"}, {"gold", "1,000"}};
  std::vector<nlohmann::json> items = {
      {{"prompt", "How many?"}, {"completion", "So the total is \\boxed{1000}."}, {"task", math}},
      {{"prompt", "How many?"}, {"completion", "#### 999"}, {"task", math}},
      {{"prompt", "How many?"}, {"completion", "\\boxed{1000} or \\boxed{2}"}, {"task", math}},
      {{"completion", "B"}, {"task", {{"verifier", "choice"}, {"gold", "B"}}}},
      {{"completion", "x"}, {"task", {{"verifier", "telepathy"}}}},
      {{"completion", "x"}, {"task", {{"verifier", "math"}}}},
      {{"completion", "x"}, {"task", {{"verifier", "regex"}, {"pattern", "(unclosed"}}}},
  };
  int rc = 0;
  auto lines = RunCli(daemon->address(), items, dir, &rc);
  EXPECT_EQ(rc, 1) << "error lines make the exit status 1";
  ASSERT_EQ(lines.size(), items.size() + 1);
  EXPECT_EQ(lines[0]["reward"], 1.0);
  EXPECT_EQ(lines[0]["correct"], true);
  EXPECT_EQ(lines[1]["correct"], false);
  EXPECT_EQ(lines[2]["correct"], false) << "two different boxed answers must not pass";
  EXPECT_EQ(lines[3]["correct"], true);
  for (size_t i = 4; i < 7; ++i) {
    ASSERT_TRUE(lines[i].contains("error")) << lines[i].dump();
    EXPECT_EQ(lines[i]["code"], "INVALID_ARGUMENT") << lines[i].dump();
  }
  EXPECT_NE(lines[4]["error"].get<std::string>().find("telepathy"), std::string::npos)
      << lines[4].dump();
  EXPECT_NE(lines[7]["error"].get<std::string>().find("line 8"), std::string::npos)
      << lines[7].dump();

  // Hostile inputs through gRPC (bytes fields carry invalid UTF-8); each fails alone.
  auto stub = v1::RewardService::NewStub(
      grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials()));
  v1::ScoreRewardsRequest req;
  auto add = [&](const std::string& completion, const std::string& task) {
    auto* it = req.add_items();
    it->set_prompt("p");
    it->set_completion(completion);
    it->set_task_json(task);
  };
  add("\\boxed{7}", R"({"verifier":"math","gold":"7"})");
  add(std::string("\\boxed{\xff\xfe}"), R"({"verifier":"math","gold":"7"})");
  add(std::string(10 << 20, 'a') + "\\boxed{7}", R"({"verifier":"math","gold":"7"})");
  add(std::string(100000, '{') + std::string(100000, '}'), R"({"verifier":"math","gold":"7"})");
  add("\\boxed{7}", "not json");
  add("\\boxed{7}", R"({"verifier":"math","gold":"7"})");
  grpc::ClientContext ctx;
  v1::ScoreRewardsResponse resp;
  ASSERT_TRUE(stub->Score(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 6);
  EXPECT_TRUE(resp.results(0).error().empty());
  EXPECT_TRUE(resp.results(0).correct());
  for (int i = 1; i <= 4; ++i) {
    EXPECT_FALSE(resp.results(i).error().empty()) << "item " << i;
    EXPECT_EQ(resp.results(i).error_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT))
        << resp.results(i).error();
  }
  EXPECT_TRUE(resp.results(5).correct()) << "later items are unaffected";

  auto body = testing::HttpGet(daemon->metrics_address(), "/metrics");
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_NE(body->find("flywheel_reward_items_total{outcome=\"correct\",verifier=\"math\"}"),
            std::string::npos)
      << *body;
  EXPECT_NE(body->find("flywheel_reward_errors_total"), std::string::npos);
  EXPECT_NE(body->find("flywheel_reward_item_duration_seconds_bucket"), std::string::npos);
  std::ofstream(dir.File("metrics.txt")) << *body;
  std::string out;
  EXPECT_EQ(testing::RunCommand("promtool check metrics < " + dir.File("metrics.txt"), &out), 0)
      << out;
}

// The daemon serves self-play's gate: each conjecture of a request is checked, its value derived
// (the answer), duplicates within one batch key rejected after the first, and items of another
// batch key unaffected by them.
TEST(RewardServerTest, ConjectureGateDerivesAnswersAndRejectsDuplicatesOfItsBatch) {
  auto daemon = StartReward();
  ASSERT_NE(daemon, nullptr);
  auto stub = v1::RewardService::NewStub(
      grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials()));
  v1::ScoreRewardsRequest req;
  auto add = [&](const std::string& completion, const std::string& batch) {
    auto* it = req.add_items();
    it->set_prompt("Write a simpler problem related to (12+7)*3-5:");
    it->set_completion(completion);
    it->set_task_json(nlohmann::json{{"verifier", "conjecture"},
                                     {"conjecture", {{"target", "(12+7)*3-5"}, {"batch", batch}}}}
                          .dump());
  };
  add("12+7=", "r1");
  add("(12) + 7", "r1");  // the same problem: a duplicate of item 0
  add("19*3", "r1");
  add("12+7", "r2");        // another batch: not a duplicate
  add("(12+7)*3-5", "r1");  // its target
  add("57", "r1");          // a bare number
  grpc::ClientContext ctx;
  v1::ScoreRewardsResponse resp;
  ASSERT_TRUE(stub->Score(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 6);
  const std::vector<std::pair<std::string, std::string>> want = {
      {"19", ""}, {"", "duplicate"},      {"57", ""},
      {"19", ""}, {"", "copy_of_target"}, {"", "trivial"}};
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    const auto& r = resp.results(i);
    EXPECT_TRUE(r.error().empty()) << r.error();
    EXPECT_EQ(r.correct(), want[i].second.empty());
    if (r.correct()) EXPECT_EQ(r.answer(), want[i].first);
    if (!r.correct()) EXPECT_EQ(r.reason().rfind(want[i].second, 0), 0u) << r.reason();
  }
  // ListVerifiers offers it, so job specs that use it pass SubmitJob's probe.
  grpc::ClientContext list_ctx;
  v1::ListVerifiersResponse list;
  ASSERT_TRUE(stub->ListVerifiers(&list_ctx, {}, &list).ok());
  EXPECT_NE(std::find(list.verifiers().begin(), list.verifiers().end(), "conjecture"),
            list.verifiers().end());
}

TEST(RewardServerTest, JudgedCriterionEqualsModelCoreYesProbability) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(
      testing::RunCommand(absl::StrCat(FLYWHEEL_CLI, " init-model --preset tiny --seed 4 --out ",
                                       dir.File("judge")),
                          &out),
      0)
      << out;
  auto rollout = testing::DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", dir.File("judge"),
                                                "--listen", "127.0.0.1:0", "--metrics-listen",
                                                "127.0.0.1:0", "--threads", "1"});
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  auto daemon = StartReward({"--judge", (*rollout)->address()});
  ASSERT_NE(daemon, nullptr);

  const std::string question = "Explain why the sky is blue.";
  const std::string response = "Rayleigh scattering favours short wavelengths.";
  nlohmann::json task = {
      {"verifier", "rubric"},
      {"rubric", nlohmann::json::array({
                     {{"title", "Mentions scattering"},
                      {"weight", 2.0},
                      {"kind", "judge"},
                      {"description", "The response names the physical mechanism."}},
                     {{"title", "Short"}, {"weight", 1.0}, {"kind", "max_words"}, {"limit", 20}},
                 })}};
  auto stub = v1::RewardService::NewStub(
      grpc::CreateChannel(daemon->address(), grpc::InsecureChannelCredentials()));
  v1::ScoreRewardsRequest req;
  auto* item = req.add_items();
  item->set_prompt(question);
  item->set_completion(response);
  item->set_task_json(task.dump());
  grpc::ClientContext ctx;
  v1::ScoreRewardsResponse resp;
  ASSERT_TRUE(stub->Score(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.results_size(), 1);
  ASSERT_TRUE(resp.results(0).error().empty()) << resp.results(0).error();
  ASSERT_EQ(resp.results(0).criteria_size(), 2);
  const auto& judged = resp.results(0).criteria(0);
  EXPECT_TRUE(judged.judged());

  // The same P(yes) from the model core directly.
  auto tok = tokenizer::Tokenizer::FromFile(dir.File("judge"));
  auto model = model::Transformer::Load(dir.File("judge"));
  ASSERT_TRUE(tok.ok() && model.ok());
  const std::string prompt =
      reward::RenderJudgePrompt(question, response, "The response names the physical mechanism.");
  double lp[2] = {0, 0};
  const std::string conts[2] = {" yes", " no"};
  for (int k = 0; k < 2; ++k) {
    auto p = (*tok)->Encode(prompt);
    auto c = (*tok)->Encode(conts[k]);
    ASSERT_TRUE(p.ok() && c.ok());
    std::vector<int32_t> seq = *p;
    seq.insert(seq.end(), c->begin(), c->end());
    model::ForwardResult r;
    ASSERT_TRUE((*model)->Forward({seq}, {}, &r, nullptr, nullptr).ok());
    for (size_t t = p->size() - 1; t < r.logprobs[0].size(); ++t) lp[k] += r.logprobs[0][t];
  }
  const double expected = reward::YesProbability(lp[0], lp[1]);
  EXPECT_EQ(judged.score(), expected);
  EXPECT_GT(expected, 0.0);
  EXPECT_LT(expected, 1.0);
  // r = Σ w_j c_j / Σ_{w_j > 0} w_j, clipped to [0, 1]; the rule criterion holds (7 words).
  EXPECT_EQ(resp.results(0).criteria(1).score(), 1.0);
  EXPECT_NEAR(resp.results(0).total(), (2.0 * expected + 1.0) / 3.0, 1e-12);
}

}  // namespace
}  // namespace flywheel
