// A rollout server on Qwen3-0.6B's architecture (random weights, generated at test time by
// `flywheel init-model --preset qwen3-0.6b`): 0.6B parameters, the 151,936-token vocabulary,
// 28 layers of grouped-query attention with q/k norms and head_dim 128, tied embeddings. It must
// start within a memory budget, serve a short generation and a score, and report the logprobs the
// model core computes from the same checkpoint, bit for bit.
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/model/checkpoint.h"
#include "common/model/transformer.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"
#include "tests/util/subprocess.h"

namespace flywheel {
namespace {

namespace v1 = ::flywheel::v1;

bool SameBits(const std::vector<float>& a, const google::protobuf::RepeatedField<float>& b) {
  return static_cast<int>(a.size()) == b.size() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(Qwen3ShapeTest, ServesAGenerationAndAScoreWithTheCoresLogprobs) {
  testing::TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand(absl::StrCat(FLYWHEEL_CLI, " init-model --preset qwen3-0.6b ",
                                             "--seed 3 --out ", dir.File("m")),
                                &out),
            0)
      << out;
  // The budget leaves room for the weights, their packed copy, a push's staging and a small
  // cache; a fixed 4,096-block cache (15 GB at this shape) would not fit.
  auto daemon = testing::DaemonProcess::Start(
      {FLYWHEEL_ROLLOUT_BIN, "--model", dir.File("m"), "--listen", "127.0.0.1:0",
       "--metrics-listen", "127.0.0.1:0", "--threads", "2", "--memory-budget", "12G",
       "--max-running", "4", "--max-tokens-per-step", "256"});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  auto stub = v1::RolloutService::NewStub(
      grpc::CreateChannel((*daemon)->address(), grpc::InsecureChannelCredentials()));

  // Ids from across the vocabulary, the last ones only the real Qwen3 vocabulary has.
  const std::vector<int32_t> prompt = {9707, 11, 1879, 0, 151643, 151935};
  v1::GenerateRequest gen;
  gen.mutable_prompt_ids()->Assign(prompt.begin(), prompt.end());
  gen.set_n(1);
  gen.mutable_sampling()->set_max_tokens(4);
  gen.mutable_sampling()->set_seed(5);
  v1::GenerateResponse generated;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    grpc::Status st = stub->Generate(&ctx, gen, &generated);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(generated.completions_size(), 1);
  const v1::Completion& c = generated.completions(0);
  ASSERT_EQ(c.token_ids_size(), 4);

  v1::ScoreRequest score;
  v1::ScoreItem* item = score.add_items();
  item->mutable_prompt_ids()->Assign(prompt.begin(), prompt.end());
  const std::vector<int32_t> continuation = {151000, 42, 77777};
  item->mutable_continuation_ids()->Assign(continuation.begin(), continuation.end());
  v1::ScoreResponse scored;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(300));
    grpc::Status st = stub->Score(&ctx, score, &scored);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  ASSERT_EQ(scored.results_size(), 1);

  // The model core on the checkpoint the server read: one forward per sequence.
  auto weights = model::LoadModelDir(dir.File("m"));
  ASSERT_TRUE(weights.ok()) << weights.status();
  EXPECT_EQ(weights->config.vocab_size, 151936);
  EXPECT_EQ(weights->config.num_layers, 28);
  auto tf = model::Transformer::Create(std::move(*weights));
  ASSERT_TRUE(tf.ok()) << tf.status();
  auto core_logprobs = [&](std::vector<int32_t> seq, const std::vector<int32_t>& tail) {
    seq.insert(seq.end(), tail.begin(), tail.end());
    model::ForwardResult r;
    EXPECT_TRUE((*tf)->Forward({seq}, {}, &r, nullptr, nullptr).ok());
    return std::vector<float>(r.logprobs[0].begin() + (prompt.size() - 1), r.logprobs[0].end());
  };
  const std::vector<int32_t> sampled(c.token_ids().begin(), c.token_ids().end());
  EXPECT_TRUE(SameBits(core_logprobs(prompt, sampled), c.logprobs()));
  EXPECT_TRUE(SameBits(core_logprobs(prompt, continuation), scored.results(0).logprobs()));
}

}  // namespace
}  // namespace flywheel
