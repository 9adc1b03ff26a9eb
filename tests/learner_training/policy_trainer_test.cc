// PolicyTrainer::Update's contract with the losses that drive it: the loss sees the logprobs of
// exactly the trained tokens, a malformed gradient or a bad sequence changes nothing, a skipped
// step is not counted, and the optimizer settings have one set of rules.
#include "learner/training/policy_trainer.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "learner/training/sequence_logprobs.h"
#include "tests/model/test_util.h"

namespace flywheel::learner {
namespace {

std::unique_ptr<PolicyTrainer> MakeTrainer() {
  auto m = model::Transformer::Create(model::RandomModel(testing::TinyConfig(), 1, 0.1f));
  EXPECT_TRUE(m.ok()) << m.status();
  OptimizerOptions opt;
  opt.schedule.lr = 1e-3;
  auto t = PolicyTrainer::Create(std::move(*m), opt, /*micro_batch_size=*/2, nullptr);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

std::vector<float> Params(const PolicyTrainer& t) {
  return std::vector<float>(t.policy().params(), t.policy().params() + t.policy().num_params());
}

std::vector<TrainSequence> Batch() {
  return {{{1, 2, 3, 4, 5}, 3}, {{6, 7, 8}, 1}, {{9, 10, 11, 12}, 2}};
}

// -mean logprob over the trained tokens.
absl::StatusOr<LossOutputs> MeanNll(const LossInputs& in) {
  LossOutputs out;
  int64_t n = 0;
  for (const auto& lp : in.logp) n += static_cast<int64_t>(lp.size());
  for (const auto& lp : in.logp) {
    out.dlogp.emplace_back(lp.size(), static_cast<float>(-1.0 / n));
    for (float x : lp) out.loss -= x / n;
  }
  return out;
}

TEST(PolicyTrainerTest, LossSeesTheTrainedTokensOnly) {
  auto trainer = MakeTrainer();
  const auto batch = Batch();
  // The loss must see what an independent forward computes for those tokens.
  std::vector<std::vector<int32_t>> prompts, rest;
  for (const auto& b : batch) {
    prompts.emplace_back(b.tokens.begin(), b.tokens.begin() + b.loss_begin);
    rest.emplace_back(b.tokens.begin() + b.loss_begin, b.tokens.end());
  }
  std::vector<ScoredSpan> spans;
  for (size_t i = 0; i < batch.size(); ++i) spans.push_back({&prompts[i], &rest[i]});
  auto expected = SequenceLogprobs(trainer->policy(), spans, 1, nullptr);
  ASSERT_TRUE(expected.ok()) << expected.status();
  auto stats = trainer->Update(batch, [&](const LossInputs& in) {
    EXPECT_EQ(in.logp.size(), batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      EXPECT_EQ(static_cast<int64_t>(in.logp[i].size()), batch[i].trained());
      EXPECT_EQ(in.entropy[i].size(), in.logp[i].size());
      EXPECT_EQ(std::memcmp(in.logp[i].data(), (*expected)[i].data(), in.logp[i].size() * 4), 0);
    }
    return MeanNll(in);
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->applied);
  EXPECT_EQ(trainer->step(), 1);
  EXPECT_GT(stats->grad_norm, 0);
}

TEST(PolicyTrainerTest, BadSequencesOrGradientsChangeNothing) {
  auto trainer = MakeTrainer();
  const auto w0 = Params(*trainer);
  auto bad_begin = Batch();
  bad_begin[1].loss_begin = 3;  // nothing left to train
  EXPECT_EQ(trainer->Update(bad_begin, MeanNll).status().code(),
            absl::StatusCode::kInvalidArgument);
  bad_begin[1].loss_begin = 0;  // nothing to predict the first token from
  EXPECT_EQ(trainer->Update(bad_begin, MeanNll).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto short_grad = [](const LossInputs& in) -> absl::StatusOr<LossOutputs> {
    auto out = MeanNll(in);
    out->dlogp[0].pop_back();
    return out;
  };
  EXPECT_EQ(trainer->Update(Batch(), short_grad).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto failing = [](const LossInputs&) -> absl::StatusOr<LossOutputs> {
    return absl::DataLossError("the loss failed");
  };
  EXPECT_EQ(trainer->Update(Batch(), failing).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(trainer->Update({}, MeanNll).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::memcmp(Params(*trainer).data(), w0.data(), w0.size() * 4), 0);
  EXPECT_EQ(trainer->step(), 0);
}

TEST(PolicyTrainerTest, SkippedStepIsNotCounted) {
  auto trainer = MakeTrainer();
  const auto w0 = Params(*trainer);
  auto stats = trainer->Update(Batch(), [](const LossInputs&) -> absl::StatusOr<LossOutputs> {
    LossOutputs out;
    out.skip = true;
    return out;
  });
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->applied);
  EXPECT_EQ(trainer->step(), 0);
  EXPECT_EQ(std::memcmp(Params(*trainer).data(), w0.data(), w0.size() * 4), 0);
}

TEST(PolicyTrainerTest, OptimizerRulesAreOneList) {
  OptimizerOptions o;
  EXPECT_TRUE(OptimizerProblems(o).empty());
  o.schedule.lr = 0;  // a learning rate of 0 trains nothing: refused, here and in job specs
  o.beta2 = 1.0;
  o.grad_clip = -1;
  const auto problems = OptimizerProblems(o);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0], "lr must be finite and > 0, got 0");
  auto m = model::Transformer::Create(model::RandomModel(testing::TinyConfig(), 1, 0.1f));
  ASSERT_TRUE(m.ok());
  auto t = PolicyTrainer::Create(std::move(*m), o, 1, nullptr);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel::learner
