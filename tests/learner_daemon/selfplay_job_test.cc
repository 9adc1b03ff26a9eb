// Self-play jobs on real daemons: a tiny model warm-started briefly on the expression task's SFT
// rows plays both roles. Every round writes conjectures that the reward server's gate judges, the
// solver attempts targets and conjectures, and one update trains both roles with exact logprobs;
// a learner killed mid-job resumes with the same solved set and round, and ends with the same
// weights as an uninterrupted run; bad self-play specs report every problem at once.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "gtest/gtest.h"
#include "learner/tasks/expr_task.h"
#include "learner/tasks/jsonl_file.h"
#include "learner/training/checkpoint.h"
#include "nlohmann/json.hpp"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

namespace fs = std::filesystem;

class SelfPlayJobTest : public ::testing::Test {
 protected:
  // The expression task (2-operator targets of 1-digit numbers, small enough for a 1M-parameter
  // model to solve sometimes), then a short SFT warm start of both roles.
  static void SetUpTestSuite() {
    cluster_ = new LearnerCluster();
    learner::ExprTaskOptions o;
    o.train_count = 24;
    o.eval_count = 16;
    o.target_ops = 2;
    o.digits = 1;
    o.max_value = 99;
    o.warm_start_count = 2000;
    auto splits = learner::GenerateExprSplits(o);
    FW_CHECK(splits.ok()) << splits.status();
    std::vector<std::string> train, eval;
    for (const auto& p : splits->train) train.push_back(learner::ExprTargetJson(p, o));
    for (const auto& p : splits->eval) eval.push_back(learner::ExprTargetJson(p, o));
    FW_CHECK(learner::WriteLinesAtomic(TargetsPath(), train).ok());
    FW_CHECK(learner::WriteLinesAtomic(EvalPath(), eval).ok());
    FW_CHECK(learner::WriteLinesAtomic(WarmPath(), learner::ExprWarmStartJson(*splits, o)).ok());

    v1::JobSpec sft;
    sft.set_algorithm("sft");
    sft.set_policy_model_dir(cluster_->model_dir());
    sft.set_dataset(WarmPath());
    sft.set_steps(250);
    sft.set_prompts_per_step(32);
    sft.set_micro_batch_size(32);
    sft.mutable_sft()->set_epochs(100);
    sft.mutable_optimizer()->set_lr(3e-3);
    sft.mutable_optimizer()->set_warmup_steps(20);
    sft.set_checkpoint_interval(250);
    sft.set_checkpoint_dir(cluster_->dir() + "/warm");
    sft.mutable_sampling()->set_max_tokens(12);
    sft.mutable_sampling()->add_stop_token_ids(258);  // <|im_end|> of the byte-level tokenizer
    auto job = cluster_->Submit(sft);
    FW_CHECK(job.ok()) << job.status();
    auto done = cluster_->Wait(job->id());
    FW_CHECK(done.ok() && done->state() == v1::JOB_STATE_SUCCEEDED)
        << (done.ok() ? done->error() : done.status().ToString());
    *warm_dir_ = done->checkpoint();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }

  static std::string TargetsPath() { return cluster_->dir() + "/targets.jsonl"; }
  static std::string EvalPath() { return cluster_->dir() + "/targets_eval.jsonl"; }
  static std::string WarmPath() { return cluster_->dir() + "/warm_start.jsonl"; }

  v1::JobSpec SelfPlaySpec(const std::string& checkpoints) const {
    v1::JobSpec s;
    s.set_name("test-selfplay");
    s.set_algorithm("selfplay");
    s.set_policy_model_dir(*warm_dir_);
    s.set_dataset(TargetsPath());
    s.set_eval_dataset(EvalPath());
    s.add_rollout_servers(cluster_->rollout(0)->address());
    s.add_reward_servers(cluster_->reward()->address());
    s.set_prompts_per_step(8);
    s.set_micro_batch_size(64);
    s.set_steps(6);
    s.set_eval_interval(3);
    s.set_checkpoint_interval(1);
    s.set_checkpoint_dir(checkpoints);
    s.mutable_sampling()->set_max_tokens(12);
    s.mutable_sampling()->add_stop_token_ids(258);  // <|im_end|> of the byte-level tokenizer
    s.mutable_optimizer()->set_lr(1e-3);
    s.mutable_selfplay()->set_attempts(4);
    s.mutable_selfplay()->set_conjectures_per_target(2);
    s.set_seed(5);
    return s;
  }

  static LearnerCluster* cluster_;
  static std::string* warm_dir_;
};

LearnerCluster* SelfPlayJobTest::cluster_ = nullptr;
std::string* SelfPlayJobTest::warm_dir_ = new std::string;

std::set<int64_t> SolvedSet(const std::string& checkpoint) {
  auto state = learner::ReadTrainerState(checkpoint);
  EXPECT_TRUE(state.ok()) << state.status();
  return state.ok() ? std::set<int64_t>(state->solved_targets.begin(), state->solved_targets.end())
                    : std::set<int64_t>{};
}

TEST_F(SelfPlayJobTest, BothRolesUpdateWithExactLogprobs) {
  auto job = cluster_->Submit(SelfPlaySpec(cluster_->dir() + "/both"));
  ASSERT_TRUE(job.ok()) << job.status();
  auto metrics = cluster_->WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster_->Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  ASSERT_EQ(metrics->size(), 6u);
  int solver = 0, conjecturer = 0, valid = 0;
  double solved = 0;
  for (const auto& m : *metrics) {
    SCOPED_TRACE(m.step());
    EXPECT_GT(m.conjectures(), 0);  // unsolved targets got conjectures
    EXPECT_EQ(m.logprob_diff_max(), 0.0);
    if (m.solver_trained() + m.conjecturer_trained() > 0) EXPECT_GT(m.logprob_tokens_checked(), 0);
    EXPECT_GE(m.targets_solved(), solved);  // cumulative: never falls
    solved = m.targets_solved();
    int rejected = 0;
    for (const auto& [reason, n] : m.conjecture_rejections()) rejected += n;
    EXPECT_EQ(rejected + static_cast<int>(m.conjecture_valid_rate() * m.conjectures() + 0.5),
              m.conjectures());
    int histogram = 0;
    for (int count : m.conjecture_solve_histogram()) histogram += count;
    EXPECT_EQ(histogram, static_cast<int>(m.conjecture_valid_rate() * m.conjectures() + 0.5));
    solver += m.solver_trained();
    conjecturer += m.conjecturer_trained();
    valid += static_cast<int>(m.conjecture_valid_rate() * m.conjectures() + 0.5);
  }
  // The warm start taught both formats: some conjectures pass the gate, and both roles train.
  EXPECT_GT(valid, 0);
  EXPECT_GT(solver, 0);
  EXPECT_GT(conjecturer, 0);
  EXPECT_GT(solved, 0.0);
  EXPECT_TRUE(done->has_eval_accuracy());
  // The checkpoint holds the solved set the last round reported.
  const std::set<int64_t> lines = SolvedSet(done->checkpoint());
  EXPECT_EQ(static_cast<double>(lines.size()) / 24, metrics->back().targets_solved());
}

TEST_F(SelfPlayJobTest, KilledLearnerResumesWithTheSameSolvedSetAndRound) {
  v1::JobSpec spec = SelfPlaySpec(cluster_->dir() + "/uninterrupted");
  spec.clear_eval_dataset();
  auto a = cluster_->Submit(spec);
  ASSERT_TRUE(a.ok()) << a.status();
  auto a_done = cluster_->Wait(a->id());
  ASSERT_TRUE(a_done.ok()) << a_done.status();
  ASSERT_EQ(a_done->state(), v1::JOB_STATE_SUCCEEDED) << a_done->error();

  spec.set_checkpoint_dir(cluster_->dir() + "/interrupted");
  auto b = cluster_->Submit(spec);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(cluster_->WaitForStep(b->id(), 3).ok());
  cluster_->KillLearner();
  cluster_->StartLearner();
  auto b_done = cluster_->Wait(b->id());
  ASSERT_TRUE(b_done.ok()) << b_done.status();
  ASSERT_EQ(b_done->state(), v1::JOB_STATE_SUCCEEDED) << b_done->error();
  EXPECT_EQ(b_done->step(), a_done->step());
  EXPECT_EQ(SolvedSet(b_done->checkpoint()), SolvedSet(a_done->checkpoint()));
  const std::vector<float> wa = LoadParams(a_done->checkpoint());
  const std::vector<float> wb = LoadParams(b_done->checkpoint());
  ASSERT_EQ(wa.size(), wb.size());
  EXPECT_EQ(std::memcmp(wa.data(), wb.data(), wa.size() * sizeof(float)), 0)
      << "the resumed self-play run's weights differ from the uninterrupted run's";
  EXPECT_NE(wa, LoadParams(*warm_dir_)) << "both runs trained";
}

TEST_F(SelfPlayJobTest, BadSpecsReportEveryProblemAtOnce) {
  v1::JobSpec spec = SelfPlaySpec(cluster_->dir() + "/bad");
  spec.set_dataset(cluster_->train_path());  // arithmetic rows: no "problem"
  spec.mutable_selfplay()->set_attempts(1);
  spec.mutable_selfplay()->set_solver_loss("ppo");
  spec.mutable_selfplay()->set_conjecture_template("no placeholder");
  spec.set_max_async_steps(2);
  auto job = cluster_->Submit(spec);
  ASSERT_FALSE(job.ok());
  const std::string message(job.status().message());
  for (const char* want :
       {"missing \"problem\"", "selfplay.attempts must be >= 2", "solver_loss must be",
        "conjecture_template must contain {target}", "max_async_steps must be 0 for selfplay"}) {
    EXPECT_NE(message.find(want), std::string::npos) << want << "\nin:\n" << message;
  }
}

}  // namespace
}  // namespace flywheel::testing
