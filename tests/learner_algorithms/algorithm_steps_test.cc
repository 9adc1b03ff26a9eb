// The algorithms' steps on the policy trainer with a tiny random model: SFT learns, GRPO's
// micro-batching matches one big batch, the rollout-vs-learner logprob check is exact, failures
// leave everything unchanged, the optimizer state round-trips, and distillation moves the student
// towards its teacher.
#include "learner/algorithms/grpo_step.h"
#include "learner/algorithms/opd_step.h"
#include "learner/algorithms/sft_step.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "learner/training/sequence_logprobs.h"
#include "tests/model/test_util.h"

namespace flywheel::learner {
namespace {

using model::ModelConfig;
using model::Transformer;

std::unique_ptr<Transformer> MakeModel(uint64_t seed) {
  auto m = Transformer::Create(model::RandomModel(testing::TinyConfig(), seed, 0.1f));
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

std::unique_ptr<PolicyTrainer> MakeTrainer(std::unique_ptr<Transformer> policy, int64_t mbs,
                                           double lr = 1e-3, ThreadPool* pool = nullptr) {
  OptimizerOptions opt;
  opt.schedule.lr = lr;
  auto t = PolicyTrainer::Create(std::move(policy), opt, mbs, pool);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

// The raw logprobs of each sample's completion under `m`.
std::vector<std::vector<float>> CompletionLogprobs(const Transformer& m,
                                                   const std::vector<const TrainSample*>& samples) {
  std::vector<ScoredSpan> spans;
  for (const TrainSample* s : samples) spans.push_back({&s->prompt, &s->completion});
  auto lp = SequenceLogprobs(m, spans, 3, nullptr);
  EXPECT_TRUE(lp.ok()) << lp.status();
  return lp.ok() ? *std::move(lp) : std::vector<std::vector<float>>(samples.size());
}

std::vector<float> Params(const PolicyTrainer& t) {
  return std::vector<float>(t.policy().params(), t.policy().params() + t.policy().num_params());
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// groups x g samples with random prompts/completions of varying length, behaviour logprobs from
// `behaviour` (so they are on-policy for it), all tokens of version `version`, and rewards that
// vary within each group.
std::vector<TrainGroup> MakeGroups(const Transformer& behaviour, int groups, int g, int64_t version,
                                   uint64_t seed) {
  const int64_t V = behaviour.config().vocab_size;
  std::vector<TrainGroup> out(groups);
  std::vector<const TrainSample*> all;
  for (int i = 0; i < groups; ++i) {
    auto prompt = testing::RandomSequences({3 + i % 3}, V, seed + 100 * i)[0];
    for (int j = 0; j < g; ++j) {
      TrainSample s;
      s.prompt = prompt;
      s.completion = testing::RandomSequences({2 + (i + j) % 4}, V, seed + 100 * i + j + 1)[0];
      s.versions.assign(s.completion.size(), version);
      s.reward = (j % 3 == 0) ? 1.0 : (j % 3 == 1 ? 0.0 : 0.5);
      out[i].push_back(s);
    }
  }
  for (auto& grp : out)
    for (auto& s : grp) all.push_back(&s);
  const auto lp = CompletionLogprobs(behaviour, all);
  size_t k = 0;
  for (auto& grp : out)
    for (auto& s : grp) s.behaviour_logprobs = lp[k++];
  return out;
}

double SeqLogprob(const Transformer& m, const TrainSample& s) {
  const auto lp = CompletionLogprobs(m, {&s});
  double sum = 0;
  for (float x : lp[0]) sum += x;
  return sum;
}

TEST(PolicyTrainerTest, SftLowersLossOnRepeatedBatch) {
  auto trainer = MakeTrainer(MakeModel(1), /*mbs=*/2, /*lr=*/1e-2);
  const int64_t V = testing::TinyConfig().vocab_size;
  std::vector<SftExample> batch;
  for (int i = 0; i < 5; ++i) {
    batch.push_back(
        {testing::RandomSequences({4}, V, 10 + i)[0], testing::RandomSequences({3}, V, 20 + i)[0]});
  }
  auto first = SftStep(*trainer, batch);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->tokens, 15);
  double last = first->loss;
  for (int i = 0; i < 30; ++i) {
    auto s = SftStep(*trainer, batch);
    ASSERT_TRUE(s.ok()) << s.status();
    last = s->loss;
  }
  EXPECT_EQ(trainer->step(), 31);
  // A model with ~4k parameters memorises 15 tokens quickly; halving is a loose bar.
  EXPECT_LT(last, 0.5 * first->loss) << "first " << first->loss << " last " << last;
}

// The step applies the scheduled rate (warmup, then linear decay to lr * min_lr_ratio on the last
// step) and reports it.
TEST(PolicyTrainerTest, StepsFollowTheLrSchedule) {
  OptimizerOptions opt;
  opt.schedule = LrSchedule{.lr = 1e-3,
                            .warmup_steps = 2,
                            .decay = LrDecay::kLinear,
                            .total_steps = 5,
                            .min_lr_ratio = 0.2};
  auto trainer = PolicyTrainer::Create(MakeModel(3), opt, /*micro_batch_size=*/4, nullptr);
  ASSERT_TRUE(trainer.ok()) << trainer.status();
  const std::vector<SftExample> batch = {{{1, 2, 3}, {4, 5}}};
  std::vector<double> lrs;
  for (int i = 0; i < 5; ++i) {
    auto s = SftStep(**trainer, batch);
    ASSERT_TRUE(s.ok()) << s.status();
    lrs.push_back(s->lr);
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(lrs[i], LearningRate(opt.schedule, i)) << i;
  EXPECT_DOUBLE_EQ(lrs[1], 1e-3);  // the peak at the end of warmup
  EXPECT_DOUBLE_EQ(lrs[4], 2e-4);  // lr * min_lr_ratio on the last step
}

TEST(PolicyTrainerTest, MicroBatchesMatchOneBatch) {
  ThreadPool pool(2);
  auto one = MakeTrainer(MakeModel(2), /*mbs=*/1, 1e-3, &pool);
  auto all = MakeTrainer(MakeModel(2), /*mbs=*/1000, 1e-3, &pool);
  auto again = MakeTrainer(MakeModel(2), /*mbs=*/1000, 1e-3, &pool);
  const auto groups = MakeGroups(one->policy(), 3, 4, 0, 7);
  GrpoOptions opts;
  auto s1 = GrpoStep(*one, nullptr, groups, opts, 0);
  auto s2 = GrpoStep(*all, nullptr, groups, opts, 0);
  auto s3 = GrpoStep(*again, nullptr, groups, opts, 0);
  ASSERT_TRUE(s1.ok() && s2.ok() && s3.ok());
  // Determinism: identical inputs give identical bits.
  EXPECT_TRUE(SameBits(Params(*all), Params(*again)));
  EXPECT_EQ(s1->loss, s2->loss);  // the forward is batch invariant, the loss sees the same logps
  // Not bitwise: each micro-batch's parameter gradient is a separate float sum that is then added
  // into the accumulator, so the summation order differs from the one-batch backward. The
  // relative difference of the norm is a few float ulps times the number of terms.
  EXPECT_NEAR(s1->grad_norm, s2->grad_norm, 1e-5 * s2->grad_norm);
  // Adam's first step moves each weight by ~lr * g / |g|, so gradient rounding differences
  // appear scaled to lr; 1% of lr is far above rounding and far below a real update (lr).
  const auto p1 = Params(*one), p2 = Params(*all);
  double max_diff = 0;
  for (size_t i = 0; i < p1.size(); ++i)
    max_diff = std::max(max_diff, double{std::fabs(p1[i] - p2[i])});
  EXPECT_LE(max_diff, 1e-5);
}

TEST(PolicyTrainerTest, OnPolicyLogprobCheckIsExact) {
  ThreadPool pool(2);
  auto trainer = MakeTrainer(MakeModel(3), /*mbs=*/4, 1e-3, &pool);
  auto groups = MakeGroups(trainer->policy(), 3, 4, /*version=*/7, 11);
  // One sample from an older version: excluded from the check.
  groups[0][0].versions.assign(groups[0][0].completion.size(), 6);
  auto s = GrpoStep(*trainer, nullptr, groups, GrpoOptions{}, /*policy_version=*/7);
  ASSERT_TRUE(s.ok()) << s.status();
  int64_t expected = 0;
  for (auto& g : groups)
    for (auto& x : g) expected += x.completion.size();
  expected -= groups[0][0].completion.size();
  EXPECT_EQ(s->check.tokens(), expected);
  EXPECT_EQ(s->check.max(), 0.0);  // batch-invariant kernels: bit for bit
  EXPECT_EQ(s->check.mean(), 0.0);
  EXPECT_EQ(trainer->step(), 1);
}

TEST(PolicyTrainerTest, NonFiniteInputChangesNothing) {
  auto trainer = MakeTrainer(MakeModel(4), 2);
  // A normal step first so the moments are non-zero.
  const auto good = MakeGroups(trainer->policy(), 2, 3, 0, 21);
  ASSERT_TRUE(GrpoStep(*trainer, nullptr, good, GrpoOptions{}, 0).ok());
  const auto w0 = Params(*trainer);
  const auto m0 = trainer->adam_m(), v0 = trainer->adam_v();

  auto nan_reward = good;
  nan_reward[1][2].reward = std::numeric_limits<double>::quiet_NaN();
  auto nan_lp = good;
  nan_lp[0][1].behaviour_logprobs[0] = std::numeric_limits<float>::quiet_NaN();
  for (const auto* bad : {&nan_reward, &nan_lp}) {
    auto s = GrpoStep(*trainer, nullptr, *bad, GrpoOptions{}, 0);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(SameBits(Params(*trainer), w0));
    EXPECT_TRUE(SameBits(trainer->adam_m(), m0));
    EXPECT_TRUE(SameBits(trainer->adam_v(), v0));
    EXPECT_EQ(trainer->step(), 1);
  }
}

TEST(PolicyTrainerTest, NonFiniteWeightsAreFailedPrecondition) {
  auto weights = model::RandomModel(testing::TinyConfig(), 5, 0.1f);
  weights.params[weights.params.size() / 2] = std::numeric_limits<float>::infinity();
  auto policy = Transformer::Create(std::move(weights));
  ASSERT_TRUE(policy.ok());
  auto trainer = MakeTrainer(std::move(*policy), 2);
  const auto w0 = Params(*trainer);
  std::vector<SftExample> batch = {{{1, 2, 3}, {4, 5}}};
  auto s = SftStep(*trainer, batch);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
  EXPECT_NE(s.status().message().find("non-finite loss/grad norm at step 0"), std::string::npos);
  EXPECT_TRUE(SameBits(Params(*trainer), w0));
  EXPECT_EQ(trainer->step(), 0);
}

TEST(PolicyTrainerTest, BadInputIsInvalidArgument) {
  auto trainer = MakeTrainer(MakeModel(6), 2);
  const auto w0 = Params(*trainer);
  const auto good = MakeGroups(trainer->policy(), 2, 2, 0, 31);
  auto empty = good;
  empty[0][0].completion.clear();
  empty[0][0].behaviour_logprobs.clear();
  empty[0][0].versions.clear();
  auto mismatch = good;
  mismatch[1][0].behaviour_logprobs.push_back(-1.0f);
  auto out_of_vocab = good;
  out_of_vocab[1][1].completion[0] = static_cast<int32_t>(testing::TinyConfig().vocab_size);
  for (const auto* bad : {&empty, &mismatch, &out_of_vocab}) {
    auto s = GrpoStep(*trainer, nullptr, *bad, GrpoOptions{}, 0);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << s.status();
  }
  GrpoOptions kl;
  kl.kl_coef = 0.1;
  EXPECT_EQ(GrpoStep(*trainer, nullptr, good, kl, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SftStep(*trainer, {{{1}, {}}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SameBits(Params(*trainer), w0));
  EXPECT_EQ(trainer->step(), 0);
}

TEST(PolicyTrainerTest, PositiveAdvantageBecomesMoreLikely) {
  auto trainer = MakeTrainer(MakeModel(7), 4);
  auto groups = MakeGroups(trainer->policy(), 1, 4, 0, 41);
  for (int j = 0; j < 4; ++j) groups[0][j].reward = (j == 2) ? 1.0 : 0.0;
  const double before = SeqLogprob(trainer->policy(), groups[0][2]);
  const double other_before = SeqLogprob(trainer->policy(), groups[0][0]);
  ASSERT_TRUE(GrpoStep(*trainer, nullptr, groups, GrpoOptions{}, 0).ok());
  EXPECT_GT(SeqLogprob(trainer->policy(), groups[0][2]), before);
  EXPECT_LT(SeqLogprob(trainer->policy(), groups[0][0]), other_before);
}

TEST(PolicyTrainerTest, DroppedGroupsSkipTheStep) {
  auto trainer = MakeTrainer(MakeModel(8), 4);
  auto groups = MakeGroups(trainer->policy(), 2, 3, 0, 51);
  for (auto& g : groups)
    for (auto& s : g) s.reward = 1.0;
  const auto w0 = Params(*trainer);
  GrpoOptions opts;
  opts.drop_equal_reward_groups = true;
  auto s = GrpoStep(*trainer, nullptr, groups, opts, 0);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->skipped);
  EXPECT_EQ(s->dropped_groups, 2);
  EXPECT_EQ(trainer->step(), 0);
  EXPECT_TRUE(SameBits(Params(*trainer), w0));
}

TEST(PolicyTrainerTest, RestoreStateRoundTrip) {
  auto a = MakeTrainer(MakeModel(9), 3);
  const auto batch1 = MakeGroups(a->policy(), 2, 3, 0, 61);
  ASSERT_TRUE(GrpoStep(*a, nullptr, batch1, GrpoOptions{}, 0).ok());

  // A second trainer rebuilt from the first one's checkpointable state.
  model::ModelWeights w{a->policy().config(), Params(*a)};
  auto policy = Transformer::Create(std::move(w));
  ASSERT_TRUE(policy.ok());
  auto b = MakeTrainer(std::move(*policy), 3);
  EXPECT_EQ(b->RestoreState(1, {1.0f}, a->adam_v()).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(b->RestoreState(a->step(), a->adam_m(), a->adam_v()).ok());

  const auto batch2 = MakeGroups(a->policy(), 2, 3, 1, 71);
  auto sa = GrpoStep(*a, nullptr, batch2, GrpoOptions{}, 1);
  auto sb = GrpoStep(*b, nullptr, batch2, GrpoOptions{}, 1);
  ASSERT_TRUE(sa.ok() && sb.ok());
  EXPECT_EQ(a->step(), 2);
  EXPECT_EQ(b->step(), 2);
  EXPECT_TRUE(SameBits(Params(*a), Params(*b)));
  EXPECT_TRUE(SameBits(a->adam_m(), b->adam_m()));
  EXPECT_TRUE(SameBits(a->adam_v(), b->adam_v()));
}

// Distillation: teacher logprobs of the sampled tokens from another model.
std::vector<TrainGroup> WithTeacher(std::vector<TrainGroup> groups, const Transformer& teacher) {
  std::vector<const TrainSample*> all;
  for (auto& g : groups)
    for (auto& s : g) all.push_back(&s);
  const auto lp = CompletionLogprobs(teacher, all);
  size_t k = 0;
  for (auto& g : groups)
    for (auto& s : g) s.teacher_logprobs = lp[k++];
  return groups;
}

// Mean over the batch's tokens of log p_student - log p_teacher under `student` now (the sampled
// reverse KL), or of its absolute value (how far the two are apart on these tokens).
double ReverseKl(const Transformer& student, const std::vector<TrainGroup>& groups,
                 bool absolute = false) {
  std::vector<const TrainSample*> all;
  for (auto& g : groups)
    for (auto& s : g) all.push_back(&s);
  const auto lp = CompletionLogprobs(student, all);
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t t = 0; t < lp[i].size(); ++t, ++n) {
      const double d = lp[i][t] - all[i]->teacher_logprobs[t];
      sum += absolute ? std::fabs(d) : d;
    }
  }
  return sum / static_cast<double>(n);
}

TEST(OpdStepTest, StudentMovesTowardsTeacherWithExactLogprobCheck) {
  auto trainer = MakeTrainer(MakeModel(11), /*mbs=*/3, /*lr=*/1e-3);
  auto teacher = MakeModel(12);
  auto groups = WithTeacher(MakeGroups(trainer->policy(), 3, 4, /*version=*/0, 81), *teacher);
  const double before = ReverseKl(trainer->policy(), groups);
  const double gap_before = ReverseKl(trainer->policy(), groups, /*absolute=*/true);
  for (int64_t version = 0; version < 10; ++version) {
    // On-policy, as a job runs it: the behaviour logprobs are the current student's.
    std::vector<const TrainSample*> all;
    for (auto& g : groups)
      for (auto& s : g) all.push_back(&s);
    const auto lp = CompletionLogprobs(trainer->policy(), all);
    size_t k = 0;
    for (auto& g : groups) {
      for (auto& s : g) {
        s.behaviour_logprobs = lp[k++];
        s.versions.assign(s.completion.size(), version);
      }
    }
    auto stats = OpdStep(*trainer, groups, OpdOptions{}, version);
    ASSERT_TRUE(stats.ok()) << stats.status();
    // The step checks every token bit for bit, and reports the batch's sampled reverse KL.
    EXPECT_EQ(stats->check.tokens(), stats->tokens);
    EXPECT_EQ(stats->check.max(), 0.0);
    if (version == 0) {
      EXPECT_NEAR(stats->teacher_kl, before, 1e-6 * std::max(1.0, std::fabs(before)));
    }
  }
  // Each step raises the student's logprob where the teacher's is higher and lowers it where it
  // is lower, so the per-token gap between two random models shrinks; a sign error widens it.
  // Ten on-policy steps at lr 1e-3 close well over half of it.
  const double gap_after = ReverseKl(trainer->policy(), groups, /*absolute=*/true);
  EXPECT_LT(gap_after, 0.5 * gap_before) << "before " << gap_before << " after " << gap_after;
}

TEST(OpdStepTest, MissingTeacherLogprobsChangeNothing) {
  auto trainer = MakeTrainer(MakeModel(13), 2);
  auto groups = WithTeacher(MakeGroups(trainer->policy(), 2, 2, 0, 91), *MakeModel(14));
  const auto w0 = Params(*trainer);
  groups[1][0].teacher_logprobs.pop_back();
  EXPECT_EQ(OpdStep(*trainer, groups, OpdOptions{}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  groups[1][0].teacher_logprobs.clear();
  EXPECT_EQ(OpdStep(*trainer, groups, OpdOptions{}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(SameBits(Params(*trainer), w0));
  EXPECT_EQ(trainer->step(), 0);
}

}  // namespace
}  // namespace flywheel::learner
