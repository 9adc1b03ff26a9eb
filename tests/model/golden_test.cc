// The model core against PyTorch (tests/reference/transformer_ref.py): logits, token logprobs,
// entropy, loss, every parameter gradient, and three AdamW steps with gradient clipping, for
// configs covering GQA, QKV bias, QK-norm, tied and untied embeddings.
#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/base/thread_pool.h"
#include "common/kernels/cpu/adamw.h"
#include "common/model/safetensors.h"
#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

using model::ModelConfig;

struct GoldenCase {
  std::string name;
  ModelConfig config;
};

std::vector<GoldenCase> Cases() {
  std::vector<GoldenCase> out;
  ModelConfig qwen2 = testing::TinyConfig();  // GQA 4/2, QKV bias, tied embeddings.
  out.push_back({"qwen2_gqa_bias_tied", qwen2});
  ModelConfig qwen3 = testing::TinyConfig();  // QK-norm, MQA, untied, head_dim != C / H.
  qwen3.model_type = "qwen3";
  qwen3.attention_bias = false;
  qwen3.qk_norm = true;
  qwen3.num_kv_heads = 1;
  qwen3.head_dim = 12;
  qwen3.tie_word_embeddings = false;
  out.push_back({"qwen3_qknorm_mqa_untied", qwen3});
  ModelConfig llama = testing::TinyConfig();  // Plain multi-head attention, no bias, untied.
  llama.model_type = "llama";
  llama.attention_bias = false;
  llama.num_heads = 2;
  llama.num_kv_heads = 2;
  llama.head_dim = 16;
  llama.tie_word_embeddings = false;
  llama.num_layers = 3;
  out.push_back({"llama_mha_untied", llama});
  // Llama 3.1-style checkpoints with RoPE scaling: GQA, 16-dim heads so that the 8 frequencies
  // span all regions of each formula (see TestRopeScaling).
  for (const char* type : {"linear", "llama3", "yarn"}) {
    ModelConfig scaled = llama;
    scaled.num_heads = 4;
    scaled.num_kv_heads = 2;
    scaled.num_layers = 2;
    scaled.rope_scaling = testing::TestRopeScaling(type);
    out.push_back({absl::StrCat("llama_rope_", type), scaled});
  }
  return out;
}

// max |a - b| / max |ref|: the error relative to the tensor's scale. Elementwise relative error
// is meaningless for entries that are sums cancelling to ~0.
double ScaledError(const float* a, const float* ref, int64_t n) {
  double diff = 0, scale = 1e-30;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - ref[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(ref[i])));
  }
  return diff / scale;
}

std::vector<float> ReadTensor(const model::SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors().find(name);
  EXPECT_NE(it, f.tensors().end()) << "reference output lacks " << name;
  if (it == f.tensors().end()) return {};
  std::vector<float> out(it->second.numel);
  EXPECT_TRUE(f.ReadFloat(name, {}, out.data()).ok());
  return out;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, MatchesPyTorch) {
  const GoldenCase& gc = GetParam();
  testing::TempDir dir;
  model::ModelWeights w = testing::PerturbedModel(gc.config, 7);
  ASSERT_TRUE(model::SaveModelDir(dir.File("model"), w.config, w.params.data()).ok());
  const auto seqs = testing::RandomSequences({9, 17, 2, 33, 5}, gc.config.vocab_size, 11);
  {
    std::ofstream f(dir.File("batch.json"));
    f << nlohmann::json(seqs).dump();
  }
  // AdamW settings shared with the reference; a large lr makes the three steps move the weights
  // far beyond round-off, so a wrong update rule cannot hide.
  const kernels::AdamWOptions adam{/*lr=*/1e-2f, /*beta1=*/0.9f, /*beta2=*/0.95f, /*eps=*/1e-8f,
                                   /*weight_decay=*/0.1f};
  const float max_norm = 1.0f;
  const std::string cmd = absl::StrCat(
      testing::ReferencePython(), " ", testing::SourceDir(), "/tests/reference/transformer_ref.py",
      " --model ", dir.File("model"), " --batch ", dir.File("batch.json"), " --out ",
      dir.File("ref.safetensors"), " --adamw-steps 3 --lr ", adam.lr, " --beta1 ", adam.beta1,
      " --beta2 ", adam.beta2, " --eps ", adam.eps, " --weight-decay ", adam.weight_decay,
      " --max-grad-norm ", max_norm);
  std::string out;
  ASSERT_EQ(testing::RunCommand(cmd, &out), 0)
      << cmd << "\n"
      << out << "\n(the reference needs Debian's python3-torch: scripts/install_deps.sh)";
  auto ref_or = model::SafetensorsFile::Open(dir.File("ref.safetensors"));
  ASSERT_TRUE(ref_or.ok()) << ref_or.status();
  const model::SafetensorsFile& ref = **ref_or;

  auto tf_or = model::Transformer::Create(w);
  ASSERT_TRUE(tf_or.ok()) << tf_or.status();
  model::Transformer& tf = **tf_or;
  ThreadPool pool(2);
  model::Activations acts;
  model::ForwardResult res;
  ASSERT_TRUE(tf.Forward(seqs, {.entropy = true, .logits = true}, &res, &acts, &pool).ok());

  // Forward tolerances. fp32 carries ~6e-8 relative round-off per operation; through a few
  // layers of normalised activations the accumulated error of two independent fp32
  // implementations stays within ~1e-6 of the tensor's scale, so 1e-5 leaves a 10x margin while
  // still catching any real formula error (those show up at 1e-3 or more).
  constexpr double kForwardTol = 1e-5;
  std::vector<float> lp, ent;
  int64_t count = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    lp.insert(lp.end(), res.logprobs[s].begin(), res.logprobs[s].end());
    ent.insert(ent.end(), res.entropy[s].begin(), res.entropy[s].end());
    count += static_cast<int64_t>(res.logprobs[s].size());
  }
  auto ref_logits = ReadTensor(ref, "logits");
  ASSERT_EQ(ref_logits.size(), res.logits.size());
  EXPECT_LT(ScaledError(res.logits.data(), ref_logits.data(), ref_logits.size()), kForwardTol);
  if (gc.config.rope_scaling.type != model::RopeScalingType::kNone) {
    // The scaling must matter at these positions: the same weights without it are far off.
    model::ModelWeights unscaled = w;
    unscaled.config.rope_scaling = {};
    auto plain = model::Transformer::Create(unscaled);
    ASSERT_TRUE(plain.ok());
    model::ForwardResult plain_res;
    ASSERT_TRUE((*plain)->Forward(seqs, {.logits = true}, &plain_res, nullptr, &pool).ok());
    EXPECT_GT(ScaledError(plain_res.logits.data(), ref_logits.data(), ref_logits.size()), 1e-3);
  }
  auto ref_lp = ReadTensor(ref, "logprobs");
  ASSERT_EQ(ref_lp.size(), lp.size());
  EXPECT_LT(ScaledError(lp.data(), ref_lp.data(), lp.size()), kForwardTol);
  EXPECT_LT(ScaledError(ent.data(), ReadTensor(ref, "entropy").data(), ent.size()), kForwardTol);
  double loss = 0;
  for (float v : lp) loss -= v;
  loss /= count;
  EXPECT_NEAR(loss, ReadTensor(ref, "loss")[0], kForwardTol * std::fabs(loss));

  // Gradients: the mean loss puts dL/dlogprob = -1/count on every target token.
  std::vector<std::vector<float>> dlp;
  for (const auto& v : res.logprobs) dlp.emplace_back(v.size(), -1.0f / count);
  std::vector<float> grads(tf.num_params(), 0.0f);
  tf.Backward(&acts, dlp, nullptr, grads.data(), &pool);
  // Gradients sum over every token of the batch in an order that differs from PyTorch's, and
  // backward chains twice as many operations as forward: 2e-5 of each tensor's scale.
  constexpr double kGradTol = 2e-5;
  for (const auto& t : tf.layout().tensors()) {
    auto g = ReadTensor(ref, "grad." + t.name);
    ASSERT_EQ(static_cast<int64_t>(g.size()), t.numel) << t.name;
    EXPECT_LT(ScaledError(grads.data() + t.offset, g.data(), t.numel), kGradTol)
        << "grad of " << t.name;
  }

  // Three AdamW steps with clipping, re-running forward and backward each step.
  std::vector<float> m(tf.num_params(), 0.0f), v(tf.num_params(), 0.0f);
  std::vector<float> losses;
  for (int step = 1; step <= 3; ++step) {
    ASSERT_TRUE(tf.Forward(seqs, {}, &res, &acts, &pool).ok());
    double l = 0;
    for (const auto& s : res.logprobs)
      for (float x : s) l -= x;
    losses.push_back(static_cast<float>(l / count));
    std::fill(grads.begin(), grads.end(), 0.0f);
    tf.Backward(&acts, dlp, nullptr, grads.data(), &pool);
    kernels::clip_grad_norm(grads.data(), tf.num_params(), max_norm, &pool);
    kernels::adamw_update(tf.mutable_params(), grads.data(), m.data(), v.data(), tf.num_params(),
                          step, adam, &pool);
  }
  auto ref_losses = ReadTensor(ref, "adamw.loss");
  ASSERT_EQ(ref_losses.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(losses[i], ref_losses[i], kForwardTol * std::fabs(losses[i]));
  // After three steps each weight moved by up to 3 * lr = 3e-2. Adam divides by sqrt(v), so a
  // gradient entry near zero turns round-off into an O(lr) step in either implementation; the
  // bound is therefore on the parameter's scale, 1e-4 of it (≈ 1% of one step's size).
  for (const auto& t : tf.layout().tensors()) {
    auto p = ReadTensor(ref, "adamw." + t.name);
    EXPECT_LT(ScaledError(tf.params() + t.offset, p.data(), t.numel), 1e-4) << "AdamW " << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace flywheel
