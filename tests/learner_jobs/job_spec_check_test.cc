// CheckJobSpec against real files and real daemons: a spec with many problems reports all of
// them in one list, a valid spec reports none, and probes of dead servers run concurrently.
#include "learner/jobs/job_spec_check.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "learner/jobs/job_spec.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"

namespace flywheel::learner {
namespace {

namespace v1 = ::flywheel::v1;
using ::testing::HasSubstr;

// True if some problem contains every one of `parts`.
SpecCheckOptions ProbeTimeout(double seconds) {
  SpecCheckOptions options;
  options.probe_timeout_seconds = seconds;
  return options;
}

bool Has(const std::vector<std::string>& problems, std::initializer_list<std::string> parts) {
  for (const auto& p : problems) {
    bool all = true;
    for (const auto& part : parts) all = all && p.find(part) != std::string::npos;
    if (all) return true;
  }
  return false;
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// A listening socket that never accepts: TCP connects, but the gRPC handshake never completes, so
// a probe of it can only end by its deadline (unlike a closed port, which fails at once).
class BlackHole {
 public:
  BlackHole() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(listen(fd_, 16), 0);
    EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    address_ = absl::StrCat("127.0.0.1:", ntohs(addr.sin_port));
  }
  ~BlackHole() { close(fd_); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

class JobSpecCheckTest : public ::testing::Test {
 protected:
  // A tiny model directory the learner could train: config, weights and tokenizer.
  std::string MakeModelDir(const std::string& name) {
    auto config = model::PresetConfig("tiny");
    EXPECT_TRUE(config.ok());
    auto weights = model::RandomModel(*config, 1);
    const std::string path = dir_.File(name);
    EXPECT_TRUE(model::SaveModelDir(path, weights.config, weights.params.data()).ok());
    EXPECT_TRUE(tokenizer::WriteByteLevelTokenizer(path).ok());
    return path;
  }

  testing::TempDir dir_;
};

TEST_F(JobSpecCheckTest, DefaultsFillOnlyUnsetFields) {
  v1::JobSpec spec;
  spec.set_policy_model_dir("/m");
  spec.mutable_grpo()->set_clip_eps_high(0.28);
  spec.mutable_grpo()->set_clip_eps_low(0);  // optional: an explicit 0 is kept
  spec.set_max_async_steps(0);
  spec.mutable_sampling()->set_temperature(0);
  spec.set_micro_batch_size(2);
  ApplyJobDefaults(&spec);
  EXPECT_EQ(spec.grpo().group_size(), 8);
  EXPECT_EQ(spec.grpo().clip_eps_low(), 0);
  EXPECT_EQ(spec.grpo().clip_eps_high(), 0.28);
  EXPECT_EQ(spec.grpo().advantage_norm(), "mean_std");
  EXPECT_EQ(spec.grpo().loss_aggregation(), "token-mean");
  EXPECT_EQ(spec.optimizer().lr(), 1e-5);
  EXPECT_EQ(spec.optimizer().beta1(), 0.9);
  EXPECT_EQ(spec.optimizer().beta2(), 0.999);
  EXPECT_EQ(spec.optimizer().eps(), 1e-8);
  EXPECT_EQ(spec.optimizer().grad_clip(), 1.0);
  EXPECT_EQ(spec.optimizer().lr_schedule(), "constant");
  EXPECT_EQ(spec.prompts_per_step(), 8);
  EXPECT_EQ(spec.micro_batch_size(), 2);
  EXPECT_EQ(spec.max_async_steps(), 0);
  EXPECT_EQ(spec.eval_interval(), 10);
  EXPECT_EQ(spec.checkpoint_interval(), 10);
  EXPECT_EQ(spec.chat_template(), "auto");
  EXPECT_EQ(spec.request_timeout_seconds(), 120);
  EXPECT_EQ(spec.sft().epochs(), 1);
  EXPECT_EQ(spec.sampling().temperature(), 0);
  EXPECT_EQ(spec.sampling().top_p(), 1);
  // Set explicitly, so that a checkpoint's generation_config.json cannot truncate RL sampling.
  EXPECT_TRUE(spec.sampling().has_top_k());
  EXPECT_EQ(spec.sampling().top_k(), 0);
  EXPECT_TRUE(spec.sampling().has_min_p());
  EXPECT_EQ(spec.sampling().min_p(), 0);
  EXPECT_EQ(spec.distill().teacher(), "servers");
  EXPECT_EQ(spec.distill().kl_coef(), 1.0);
  EXPECT_EQ(spec.distill().loss(), "importance_sampling");
  EXPECT_EQ(spec.reference_model_dir(), "/m");

  v1::JobSpec unset;
  ApplyJobDefaults(&unset);
  EXPECT_EQ(unset.max_async_steps(), 1);
  EXPECT_EQ(unset.sampling().temperature(), 1);
  EXPECT_EQ(unset.grpo().clip_eps_low(), 0.2);
}

TEST_F(JobSpecCheckTest, EveryProblemReportedAtOnce) {
  const std::string eval = dir_.File("eval.jsonl");
  WriteFile(eval, R"({"prompt": "1+1=", "task": {"verifier": "math", "gold": "2"}})"
                  "\n"
                  "{not json\n"
                  R"({"prompt": "2+2=", "task": {"verifier": "oracle", "gold": "4"}})"
                  "\n");
  v1::JobSpec spec;
  spec.set_algorithm("grpo");
  spec.set_policy_model_dir(dir_.File("no-such-model"));
  spec.set_dataset(dir_.File("no-such-data.jsonl"));
  spec.set_eval_dataset(eval);
  spec.mutable_grpo()->set_group_size(1);
  spec.mutable_sampling()->set_max_tokens(16);
  spec.set_steps(3);
  spec.add_rollout_servers("127.0.0.1:1");
  spec.add_rollout_servers("no-port-here");
  spec.add_reward_servers("127.0.0.1:2");
  auto problems = CheckJobSpec(spec, ProbeTimeout(5));
  const std::string all = absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {"policy_model_dir", "no-such-model", "not a directory"})) << all;
  EXPECT_TRUE(Has(problems, {"no-such-data.jsonl", "cannot read"})) << all;
  EXPECT_TRUE(Has(problems, {eval + ":2:", "malformed JSON"})) << all;
  EXPECT_TRUE(Has(problems, {eval + ":3:", "oracle"})) << all;
  EXPECT_TRUE(Has(problems, {"grpo.group_size must be >= 2"})) << all;
  EXPECT_TRUE(Has(problems, {"rollout server 127.0.0.1:1 unreachable"})) << all;
  EXPECT_TRUE(Has(problems, {"reward server 127.0.0.1:2 unreachable"})) << all;
  EXPECT_TRUE(Has(problems, {"\"no-port-here\" is not host:port"})) << all;
  // Nothing else: the other fields are valid after defaults.
  EXPECT_EQ(problems.size(), 8u) << all;
}

TEST_F(JobSpecCheckTest, BadHyperParametersAndMissingServers) {
  const std::string model_dir = MakeModelDir("model");
  const std::string data = dir_.File("data.jsonl");
  WriteFile(data, R"({"prompt": "q", "answer": "a"})"
                  "\n");
  v1::JobSpec spec;
  spec.set_algorithm("ppo");
  spec.set_policy_model_dir(model_dir);
  spec.set_dataset(data);
  spec.mutable_optimizer()->set_lr(-1);
  spec.mutable_optimizer()->set_beta2(1.0);
  spec.mutable_optimizer()->set_lr_schedule("exponential");
  spec.mutable_optimizer()->set_min_lr_ratio(2);
  spec.mutable_sampling()->set_top_p(1.5);
  spec.set_chat_template("vicuna");
  spec.set_eval_interval(-1);
  auto problems = CheckJobSpec(spec, {});
  const std::string all = absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {"algorithm must be"})) << all;
  EXPECT_TRUE(Has(problems, {"optimizer.lr"})) << all;
  EXPECT_TRUE(Has(problems, {"optimizer.beta2"})) << all;
  EXPECT_TRUE(Has(problems, {"optimizer.lr_schedule", "\"exponential\""})) << all;
  EXPECT_TRUE(Has(problems, {"optimizer.min_lr_ratio must be in [0, 1], got 2"})) << all;
  EXPECT_TRUE(Has(problems, {"sampling.top_p"})) << all;
  EXPECT_TRUE(Has(problems, {"sampling.max_tokens must be > 0"})) << all;
  EXPECT_TRUE(Has(problems, {"steps must be >= 1"})) << all;
  EXPECT_TRUE(Has(problems, {"eval_interval must be >= 1"})) << all;
  EXPECT_TRUE(Has(problems, {"chat_template"})) << all;

  // SFT needs no servers without an eval dataset, but does with one.
  spec.Clear();
  spec.set_algorithm("sft");
  spec.set_policy_model_dir(model_dir);
  spec.set_dataset(data);
  spec.mutable_sampling()->set_max_tokens(8);
  spec.set_steps(1);
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  spec.set_eval_dataset(data);  // its row has no task
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(Has(problems, {"rollout_servers is empty"})) << absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {"reward_servers is empty"})) << absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {data + ":1: missing \"task\""})) << absl::StrJoin(problems, "\n");
}

TEST_F(JobSpecCheckTest, ModelDirContents) {
  const std::string model_dir = MakeModelDir("model");
  const std::string no_tok = dir_.File("no-tok");
  std::filesystem::create_directories(no_tok);
  std::filesystem::copy_file(model_dir + "/config.json", no_tok + "/config.json");
  // Reference with another vocabulary: the KL term would compare different token sets.
  auto other = model::PresetConfig("tiny");
  other->vocab_size += 64;
  auto weights = model::RandomModel(*other, 2);
  ASSERT_TRUE(model::SaveModelDir(dir_.File("ref"), *other, weights.params.data()).ok());

  const std::string data = dir_.File("data.jsonl");
  WriteFile(data, R"({"prompt": "q", "answer": "a"})"
                  "\n");
  v1::JobSpec spec;
  spec.set_algorithm("sft");
  spec.set_policy_model_dir(no_tok);
  spec.set_reference_model_dir(dir_.File("ref"));
  spec.set_dataset(data);
  spec.mutable_sampling()->set_max_tokens(8);
  spec.set_steps(1);
  auto problems = CheckJobSpec(spec, {});
  const std::string all = absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {no_tok, "no *.safetensors"})) << all;
  EXPECT_TRUE(Has(problems, {no_tok, "no tokenizer.json"})) << all;
  EXPECT_EQ(problems.size(), 2u) << all;

  spec.set_policy_model_dir(model_dir);
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(Has(problems, {"reference model vocab_size"})) << absl::StrJoin(problems, "\n");
  EXPECT_EQ(problems.size(), 1u) << absl::StrJoin(problems, "\n");
}

TEST_F(JobSpecCheckTest, ValidSpecWithLiveServers) {
  const std::string model_dir = MakeModelDir("model");
  auto rollout = testing::DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", model_dir,
                                                "--listen", "127.0.0.1:0", "--metrics-listen",
                                                "127.0.0.1:0", "--threads", "1"});
  ASSERT_TRUE(rollout.ok()) << rollout.status();
  auto reward =
      testing::DaemonProcess::Start({FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0",
                                     "--metrics-listen", "127.0.0.1:0", "--threads", "1"});
  ASSERT_TRUE(reward.ok()) << reward.status();

  const std::string data = dir_.File("train.jsonl");
  WriteFile(data, R"({"prompt": "1+1=", "task": {"verifier": "math", "gold": "2"}})"
                  "\n"
                  R"({"messages": [{"role": "user", "content": "Say yes"}], "answer": "yes", )"
                  R"("task": {"verifier": "exact"}})"
                  "\n");
  v1::JobSpec spec;
  spec.set_algorithm("grpo");
  spec.set_policy_model_dir(model_dir);
  spec.set_dataset(data);
  spec.set_eval_dataset(data);
  spec.mutable_sampling()->set_max_tokens(16);
  spec.set_steps(2);
  spec.add_rollout_servers((*rollout)->address());
  spec.add_reward_servers((*reward)->address());
  auto problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");

  // Elastic entries are accepted without probes (their servers come and go); a malformed one and
  // a model the fixed server does not serve are problems.
  spec.add_rollout_servers("dns:flywheel-rollout.example:50051");
  spec.add_rollout_servers("registered");
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");
  spec.add_rollout_servers("dns:no-port");
  spec.set_rollout_model("nope");
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(Has(problems, {"\"dns:no-port\" is not dns:NAME:PORT"}))
      << absl::StrJoin(problems, "\n");
  EXPECT_TRUE(Has(problems, {"no model named \"nope\""})) << absl::StrJoin(problems, "\n");
  EXPECT_EQ(problems.size(), 2u) << absl::StrJoin(problems, "\n");
  spec.clear_rollout_servers();
  spec.add_rollout_servers((*rollout)->address());
  spec.set_rollout_model("default");
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(problems.empty()) << absl::StrJoin(problems, "\n");

  // The same servers behind a policy of another shape: the rollout server's model does not match.
  auto bigger = model::PresetConfig("small");
  ASSERT_TRUE(bigger.ok());
  auto weights = model::RandomModel(*bigger, 3);
  const std::string other = dir_.File("other");
  ASSERT_TRUE(model::SaveModelDir(other, *bigger, weights.params.data()).ok());
  ASSERT_TRUE(tokenizer::WriteByteLevelTokenizer(other).ok());
  spec.set_policy_model_dir(other);
  problems = CheckJobSpec(spec, {});
  EXPECT_TRUE(Has(problems, {"rollout server", (*rollout)->address(), "parameters"}))
      << absl::StrJoin(problems, "\n");
}

TEST_F(JobSpecCheckTest, DeadServersProbedConcurrently) {
  std::vector<std::unique_ptr<BlackHole>> holes;
  v1::JobSpec spec;
  spec.set_algorithm("grpo");
  for (int i = 0; i < 5; ++i) {
    holes.push_back(std::make_unique<BlackHole>());
    (i < 3 ? spec.add_rollout_servers() : spec.add_reward_servers())
        ->assign(holes.back()->address());
  }
  constexpr double kTimeout = 1.0;
  const auto start = std::chrono::steady_clock::now();
  auto problems = CheckJobSpec(spec, ProbeTimeout(kTimeout));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Has(problems, {holes[i]->address(), "unreachable"}))
        << absl::StrJoin(problems, "\n");
  }
  // Each probe waits out its full deadline (the black hole never answers), so the check takes at
  // least one timeout; one by one it would take 5. 2.5 leaves room for a slow shared machine.
  EXPECT_GE(seconds, 0.9 * kTimeout);
  EXPECT_LT(seconds, 2.5 * kTimeout);
}

}  // namespace
}  // namespace flywheel::learner
