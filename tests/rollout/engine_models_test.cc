// Named models sharing one engine, and staged weight commits: each model samples exactly what it
// samples served alone (bit for bit, while the other model's requests run in the same steps);
// both draw on one KV block budget; staged weights are not used until committed, are committed
// by a request whose min_version asks for them, and a commit of a version that was never staged
// fails; models whose KV rows differ are refused.
#include <future>

#include "gtest/gtest.h"
#include "rollout_server/engine.h"
#include "tests/rollout/engine_test_util.h"

namespace flywheel::testing {
namespace {

using rollout::NamedModel;

std::unique_ptr<Engine> TwoModels(EngineOptions opt = {}) {
  std::vector<NamedModel> models;
  models.push_back({"a", MakeModel(5)});
  models.push_back({"b", MakeModel(6)});
  auto e = Engine::Create(std::move(models), opt);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

std::vector<float> Flat(const model::Transformer& m) {
  return std::vector<float>(m.params(), m.params() + m.num_params());
}

absl::Status Wait(std::function<absl::Status(rollout::WeightsDone)> call, double* pause = nullptr) {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  auto fut = promise->get_future();
  absl::Status st = call([promise, pause](absl::Status s, double p) {
    if (pause != nullptr) *pause = p;
    promise->set_value(s);
  });
  if (!st.ok()) return st;
  return fut.get();
}

TEST(EngineModelsTest, EachModelSamplesWhatItSamplesAlone) {
  EngineOptions opt;
  opt.threads = 2;
  opt.kv_blocks = 64;  // Small enough that the two models' requests compete for blocks.
  auto both = TwoModels(opt);
  auto alone_a = MakeEngine(opt, 5);
  auto alone_b = MakeEngine(opt, 6);
  std::vector<std::future<absl::StatusOr<std::vector<SampleOutput>>>> shared, a, b;
  for (int i = 0; i < 6; ++i) {
    auto p = testing::Params(Prompt(9 + 5 * i, 300 + i), 3, 1.0f, 30, 40 + i);
    p.model = i % 2;
    shared.push_back(Submit(*both, p));
    p.model = 0;
    (i % 2 == 0 ? a : b).push_back(Submit(i % 2 == 0 ? *alone_a : *alone_b, p));
  }
  size_t ia = 0, ib = 0;
  for (int i = 0; i < 6; ++i) {
    auto got = shared[i].get();
    auto want = (i % 2 == 0 ? a[ia++] : b[ib++]).get();
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_TRUE(SameSamples(*got, *want)) << "request " << i;
  }
  // Two different models: the same request samples different tokens.
  auto pa = testing::Params(Prompt(12, 1), 1, 0.0f, 20);
  auto pb = pa;
  pb.model = 1;
  EXPECT_NE(RunToEnd(*both, pa)[0].tokens, RunToEnd(*both, pb)[0].tokens);
  EXPECT_EQ(both->ModelIndex("b"), 1);
  EXPECT_EQ(both->ModelIndex(""), 0);
  EXPECT_EQ(both->ModelIndex("c"), -1);
  EXPECT_GT(both->stats().peak_blocks_in_use.load(), 0);
  EXPECT_LE(both->stats().peak_blocks_in_use.load(), 64);
}

TEST(EngineModelsTest, StagedWeightsWaitForTheirCommit) {
  auto engine = TwoModels();
  auto next = MakeModel(9);
  ASSERT_TRUE(Wait([&](auto done) {
                return engine->StageWeights(Flat(*next), 3, std::move(done), /*model=*/1);
              }).ok());
  EXPECT_EQ(engine->staged_version(1), 3);
  EXPECT_EQ(engine->version(1), 0);
  // Without min_version the served (old) weights answer, at version 0.
  auto p = testing::Params(Prompt(10, 2), 1, 1.0f, 5);
  p.model = 1;
  auto old = RunToEnd(*engine, p);
  ASSERT_EQ(old.size(), 1u);
  for (int64_t v : old[0].versions) EXPECT_EQ(v, 0);
  // A commit of a version that was never staged fails and changes nothing.
  EXPECT_EQ(Wait([&](auto done) { return engine->CommitWeights(4, std::move(done), 1); }).code(),
            absl::StatusCode::kFailedPrecondition);
  // A request asking for version 3 commits it first; the other model is untouched.
  p.min_version = 3;
  auto fresh = RunToEnd(*engine, p);
  ASSERT_EQ(fresh.size(), 1u);
  for (int64_t v : fresh[0].versions) EXPECT_EQ(v, 3);
  EXPECT_EQ(engine->version(1), 3);
  EXPECT_EQ(engine->staged_version(1), -1);
  EXPECT_EQ(engine->version(0), 0);
  // The commit that follows finds the version served: OK, nothing swapped.
  double pause = -1;
  EXPECT_TRUE(
      Wait([&](auto done) { return engine->CommitWeights(3, std::move(done), 1); }, &pause).ok());
  EXPECT_EQ(pause, 0.0);
  // The new weights are the pushed ones: greedy decoding equals a fresh engine of `next`.
  auto reference = MakeEngine({}, 9);
  auto g = testing::Params(Prompt(10, 3), 1, 0.0f, 12);
  auto want = RunToEnd(*reference, g);
  g.model = 1;
  g.min_version = 3;
  EXPECT_EQ(RunToEnd(*engine, g)[0].tokens, want[0].tokens);
  // A request for a version neither served nor staged fails as unavailable (retry elsewhere).
  g.min_version = 5;
  auto r = Submit(*engine, g).get();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(EngineModelsTest, ExplicitCommitSwapsBetweenSteps) {
  auto engine = MakeEngine();
  auto next = MakeModel(11);
  ASSERT_TRUE(
      Wait([&](auto done) { return engine->StageWeights(Flat(*next), 1, std::move(done)); }).ok());
  EXPECT_EQ(engine->version(0), 0);
  ASSERT_TRUE(Wait([&](auto done) { return engine->CommitWeights(1, std::move(done)); }).ok());
  EXPECT_EQ(engine->version(0), 1);
  EXPECT_EQ(engine->stats().version.load(), 1);
  auto out = RunToEnd(*engine, testing::Params(Prompt(8, 4), 1, 1.0f, 4));
  for (int64_t v : out[0].versions) EXPECT_EQ(v, 1);
}

TEST(EngineModelsTest, RefusesModelsWithDifferentKvRows) {
  model::ModelConfig other = EngineTestConfig();
  other.num_kv_heads = 4;
  auto tf = model::Transformer::Create(PerturbedModel(other, 1));
  ASSERT_TRUE(tf.ok());
  std::vector<NamedModel> models;
  models.push_back({"a", MakeModel(5)});
  models.push_back({"wide", std::move(*tf)});
  auto e = Engine::Create(std::move(models), {});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  std::vector<NamedModel> twins;
  twins.push_back({"a", MakeModel(5)});
  twins.push_back({"a", MakeModel(6)});
  EXPECT_EQ(Engine::Create(std::move(twins), {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel::testing
