#include "tests/learner_daemon/learner_cluster.h"

#include <signal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/model/checkpoint.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "learner/tasks/arith_task.h"
#include "nlohmann/json.hpp"

namespace flywheel::testing {

LearnerCluster::LearnerCluster(int rollout_servers, std::vector<std::string> learner_args)
    : LearnerCluster(LearnerClusterOptions{.rollout_servers = rollout_servers,
                                           .learner_args = std::move(learner_args)}) {}

LearnerCluster::LearnerCluster(LearnerClusterOptions options) : options_(std::move(options)) {
  auto config = model::PresetConfig("tiny");
  FW_CHECK(config.ok());
  auto w = model::RandomModel(*config, 7);
  FW_CHECK(model::SaveModelDir(model_dir(), w.config, w.params.data()).ok());
  FW_CHECK(tokenizer::WriteByteLevelTokenizer(model_dir()).ok());
  learner::ArithTaskOptions task;
  task.digits = 1;
  task.ops = std::string("+");  // (assigning the literal trips GCC 12's -Wrestrict bug 105329)
  task.train_count = 60;
  task.eval_count = 16;
  auto splits = learner::GenerateArithSplits(task);
  FW_CHECK(splits.ok());
  FW_CHECK(learner::WriteArithJsonl(train_path(), splits->train).ok());
  FW_CHECK(learner::WriteArithJsonl(eval_path(), splits->eval).ok());
  // A task an untrained model can already score on now and then: any digit in the completion.
  // Its rewards vary within groups from the first step, so GRPO has a signal to follow.
  {
    std::ofstream out(digits_path());
    for (const auto& row : splits->train) {
      out << nlohmann::json{{"prompt", row.prompt},
                            {"task",
                             {{"verifier", "regex"},
                              {"regex", {{"pattern", "[0-9]"}, {"full_match", false}}}}}}
                 .dump()
          << "\n";
    }
  }
  for (int i = 0; i < options_.rollout_servers; ++i) {
    auto r = StartRolloutServer({"--model", model_dir()});
    FW_CHECK(r.ok()) << r.status();
    rollouts_.push_back(std::move(*r));
  }
  for (int i = 0; i < options_.reward_servers; ++i) {
    rewards_.push_back(StartReward("127.0.0.1:0"));
    reward_addresses_.push_back(rewards_.back()->address());
  }
  StartLearner();
}

absl::StatusOr<std::unique_ptr<DaemonProcess>> LearnerCluster::StartRolloutServer(
    const std::vector<std::string>& args) {
  std::vector<std::string> argv = {FLYWHEEL_ROLLOUT_BIN,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--metrics-listen",
                                   "127.0.0.1:0",
                                   "--threads",
                                   "1",
                                   "--kv-blocks",
                                   "512"};
  argv.insert(argv.end(), options_.server_args.begin(), options_.server_args.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return DaemonProcess::Start(argv);
}

std::unique_ptr<DaemonProcess> LearnerCluster::StartReward(const std::string& listen) {
  std::vector<std::string> argv = {FLYWHEEL_REWARD_BIN, "--listen",  listen, "--metrics-listen",
                                   "127.0.0.1:0",       "--threads", "1"};
  argv.insert(argv.end(), options_.server_args.begin(), options_.server_args.end());
  auto rw = DaemonProcess::Start(argv);
  FW_CHECK(rw.ok()) << rw.status();
  return std::move(*rw);
}

void LearnerCluster::KillReward(int i) {
  auto st = rewards_[i]->Stop(SIGKILL);
  FW_CHECK(st.ok()) << st.status();
}

void LearnerCluster::RestartReward(int i) { rewards_[i] = StartReward(reward_addresses_[i]); }

void LearnerCluster::StartLearner() {
  std::vector<std::string> argv = {FLYWHEEL_LEARNER_BIN, "--listen",    "127.0.0.1:0",
                                   "--metrics-listen",   "127.0.0.1:0", "--state-dir",
                                   state_dir(),          "--threads",   "1"};
  argv.insert(argv.end(), options_.learner_args.begin(), options_.learner_args.end());
  auto l = DaemonProcess::Start(argv, 60, options_.learner_log_file ? learner_log() : "");
  FW_CHECK(l.ok()) << l.status();
  learner_ = std::move(*l);
  rpc::ChannelOptions channel;
  channel.tls = options_.client_tls;
  stub_ = v1::JobService::NewStub(rpc::MakeChannel(learner_->address(), channel));
}

void LearnerCluster::KillLearner() {
  if (learner_) {
    auto st = learner_->Stop(SIGKILL);
    FW_CHECK(st.ok()) << st.status();
    learner_.reset();
  }
}

void LearnerCluster::KillRollout(int i) {
  auto st = rollouts_[i]->Stop(SIGKILL);
  FW_CHECK(st.ok()) << st.status();
}

v1::JobSpec LearnerCluster::GrpoSpec() const {
  v1::JobSpec s;
  s.set_name("test-grpo");
  s.set_algorithm("grpo");
  s.set_policy_model_dir(model_dir());
  s.set_dataset(digits_path());
  s.set_eval_dataset(eval_path());
  for (const auto& r : rollouts_) s.add_rollout_servers(r->address());
  for (const auto& a : reward_addresses_) s.add_reward_servers(a);
  s.mutable_grpo()->set_group_size(4);
  s.mutable_optimizer()->set_lr(1e-3);
  s.set_prompts_per_step(4);
  s.set_micro_batch_size(8);
  s.set_steps(6);
  s.set_eval_interval(3);
  s.set_checkpoint_interval(2);
  s.mutable_sampling()->set_max_tokens(4);
  s.mutable_sampling()->set_temperature(1.0f);
  s.set_seed(11);
  s.set_request_timeout_seconds(30);
  return s;
}

absl::StatusOr<v1::Job> LearnerCluster::Submit(const v1::JobSpec& spec) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  rpc::AddBearer(&ctx, options_.token);
  v1::SubmitJobRequest req;
  *req.mutable_spec() = spec;
  v1::Job job;
  grpc::Status st = stub_->SubmitJob(&ctx, req, &job);
  if (!st.ok()) return rpc::FromGrpc(st);
  return job;
}

absl::StatusOr<v1::Job> LearnerCluster::Get(const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  rpc::AddBearer(&ctx, options_.token);
  v1::GetJobRequest req;
  req.set_id(id);
  v1::Job job;
  grpc::Status st = stub_->GetJob(&ctx, req, &job);
  if (!st.ok()) return rpc::FromGrpc(st);
  return job;
}

absl::StatusOr<v1::Job> LearnerCluster::Wait(const std::string& id, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    auto job = Get(id);
    if (!job.ok()) return job;
    if (job->state() == v1::JOB_STATE_SUCCEEDED || job->state() == v1::JOB_STATE_FAILED ||
        job->state() == v1::JOB_STATE_CANCELLED) {
      return job;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError("job did not end in time: " + id);
}

absl::Status LearnerCluster::WaitForStep(const std::string& id, int64_t step, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    auto job = Get(id);
    if (!job.ok()) return job.status();
    if (job->step() >= step) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError("job did not reach its step in time: " + id);
}

absl::StatusOr<std::vector<v1::JobEvent>> LearnerCluster::WatchEvents(const std::string& id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(600));
  rpc::AddBearer(&ctx, options_.token);
  v1::WatchJobRequest req;
  req.set_id(id);
  auto reader = stub_->WatchJob(&ctx, req);
  std::vector<v1::JobEvent> out;
  v1::JobEvent e;
  while (reader->Read(&e)) out.push_back(e);
  grpc::Status st = reader->Finish();
  if (!st.ok()) return rpc::FromGrpc(st);
  return out;
}

absl::StatusOr<std::vector<v1::StepMetrics>> LearnerCluster::WatchToEnd(
    const std::string& id, std::vector<std::string>* messages) {
  ASSIGN_OR_RETURN(auto events, WatchEvents(id));
  std::vector<v1::StepMetrics> out;
  for (const auto& e : events) {
    if (e.has_metrics()) out.push_back(e.metrics());
    if (messages != nullptr && !e.message().empty()) messages->push_back(e.message());
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> LearnerCluster::EventsToEnd(const std::string& id) {
  ASSIGN_OR_RETURN(auto events, WatchEvents(id));
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (!e.message().empty()) out.push_back(e.message());
  }
  return out;
}

std::vector<float> LoadParams(const std::string& dir) {
  auto w = model::LoadModelDir(dir);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? w->params : std::vector<float>{};
}

bool SameWeights(const std::string& dir_a, const std::string& dir_b) {
  const std::vector<float> a = LoadParams(dir_a), b = LoadParams(dir_b);
  return !a.empty() && a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

absl::StatusOr<v1::Job> LearnerCluster::Run(const v1::JobSpec& spec, double timeout_s) {
  ASSIGN_OR_RETURN(v1::Job job, Submit(spec));
  return Wait(job.id(), timeout_s);
}

absl::StatusOr<v1::Job> LearnerCluster::RunToSuccess(const v1::JobSpec& spec, double timeout_s) {
  ASSIGN_OR_RETURN(v1::Job job, Run(spec, timeout_s));
  if (job.state() != v1::JOB_STATE_SUCCEEDED) {
    return absl::AbortedError(absl::StrCat("job ", job.id(), " ended ",
                                           v1::JobState_Name(job.state()), ": ", job.error()));
  }
  return job;
}

}  // namespace flywheel::testing
