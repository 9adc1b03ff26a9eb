#include "tests/learner_daemon/learner_cluster.h"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "common/base/logging.h"
#include "common/model/checkpoint.h"
#include "common/rpc/status.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "learner/tasks/arith_task.h"
#include "nlohmann/json.hpp"

namespace flywheel::testing {

LearnerCluster::LearnerCluster(int rollout_servers, std::vector<std::string> learner_args)
    : learner_args_(std::move(learner_args)) {
  auto config = model::PresetConfig("tiny");
  FW_CHECK(config.ok());
  auto w = model::RandomModel(*config, 7);
  FW_CHECK(model::SaveModelDir(model_dir(), w.config, w.params.data()).ok());
  FW_CHECK(tokenizer::WriteByteLevelTokenizer(model_dir()).ok());
  learner::ArithTaskOptions task;
  task.digits = 1;
  task.ops = "+";
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
  for (int i = 0; i < rollout_servers; ++i) {
    auto r = StartRolloutServer({"--model", model_dir()});
    FW_CHECK(r.ok()) << r.status();
    rollouts_.push_back(std::move(*r));
  }
  auto rw = DaemonProcess::Start({FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0",
                                  "--metrics-listen", "127.0.0.1:0", "--threads", "1"});
  FW_CHECK(rw.ok()) << rw.status();
  reward_ = std::move(*rw);
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
  argv.insert(argv.end(), args.begin(), args.end());
  return DaemonProcess::Start(argv);
}

void LearnerCluster::StartLearner() {
  std::vector<std::string> argv = {FLYWHEEL_LEARNER_BIN, "--listen",    "127.0.0.1:0",
                                   "--metrics-listen",   "127.0.0.1:0", "--state-dir",
                                   state_dir(),          "--threads",   "1"};
  argv.insert(argv.end(), learner_args_.begin(), learner_args_.end());
  auto l = DaemonProcess::Start(argv);
  FW_CHECK(l.ok()) << l.status();
  learner_ = std::move(*l);
  stub_ = v1::JobService::NewStub(
      grpc::CreateChannel(learner_->address(), grpc::InsecureChannelCredentials()));
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
  s.add_reward_servers(reward_->address());
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

absl::StatusOr<std::vector<v1::StepMetrics>> LearnerCluster::WatchToEnd(
    const std::string& id, std::vector<std::string>* messages) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(600));
  v1::WatchJobRequest req;
  req.set_id(id);
  auto reader = stub_->WatchJob(&ctx, req);
  std::vector<v1::StepMetrics> out;
  v1::JobEvent e;
  while (reader->Read(&e)) {
    if (e.has_metrics()) out.push_back(e.metrics());
    if (messages != nullptr && !e.message().empty()) messages->push_back(e.message());
  }
  grpc::Status st = reader->Finish();
  if (!st.ok()) return rpc::FromGrpc(st);
  return out;
}

std::vector<float> LoadParams(const std::string& dir) {
  auto w = model::LoadModelDir(dir);
  EXPECT_TRUE(w.ok()) << w.status();
  return w.ok() ? w->params : std::vector<float>{};
}

}  // namespace flywheel::testing
