// flywheel-bench train: training tokens/s (forward + backward + grad clipping + AdamW) of the
// 4M-parameter model (hidden 256, 4 layers, 8 heads, 4 kv heads, intermediate 704, vocab 2048,
// QKV bias; batch 16 x 128 tokens) against the same model in PyTorch (bench/train_torch.py),
// on the same thread count in the same run.
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "bench/python_anchor.h"
#include "common/kernels/cpu/adamw.h"
#include "common/model/checkpoint.h"
#include "common/model/transformer.h"

namespace flywheel::bench {
namespace {

constexpr int kBatch = 16;
constexpr int kSeq = 128;

std::vector<BenchResult> RunTrainBench(const BenchContext& ctx) {
  auto config = model::PresetConfig("small");
  auto tf = model::Transformer::Create(model::RandomModel(*config, 0));
  if (!tf.ok()) {
    std::fprintf(stderr, "train bench: %s\n", std::string(tf.status().message()).c_str());
    return {};
  }
  std::mt19937 rng(0);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(config->vocab_size - 1));
  // Sequences of kSeq + 1 tokens give kSeq predicted tokens each, as in the PyTorch anchor.
  std::vector<std::vector<int32_t>> seqs(kBatch, std::vector<int32_t>(kSeq + 1));
  for (auto& s : seqs)
    for (auto& t : s) t = tok(rng);
  std::vector<std::vector<float>> dlp(kBatch, std::vector<float>(kSeq, -1.0f / (kBatch * kSeq)));

  ThreadPool pool(ctx.threads);
  model::Activations acts;
  model::ForwardResult res;
  const int64_t n = (*tf)->num_params();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  int64_t step = 0;
  kernels::AdamWOptions adam;
  adam.lr = 1e-4f;
  adam.weight_decay = 0.1f;
  const double seconds = BestSeconds(ctx.quick ? 1 : 5, [&] {
    std::fill(grads.begin(), grads.end(), 0.0f);
    if (!(*tf)->Forward(seqs, {}, &res, &acts, &pool).ok()) std::abort();
    (*tf)->Backward(&acts, dlp, nullptr, grads.data(), &pool);
    kernels::clip_grad_norm(grads.data(), n, 1.0f, &pool);
    kernels::adamw_update((*tf)->mutable_params(), grads.data(), m.data(), v.data(), n, ++step,
                          adam, &pool);
  });
  const double ours = kBatch * kSeq / seconds;

  const std::string cmd =
      absl::StrCat(ctx.python, " ", ctx.source_dir, "/bench/train_torch.py --threads ", ctx.threads,
                   " --steps ", ctx.quick ? 1 : 5);
  std::string core;
  const double torch = PythonAnchor(cmd, "tokens_per_s", &core);
  return {MakeResult(absl::StrCat("train_4M_b16x128_", (*tf)->num_params() / 1000, "k_params"),
                     ours, "tokens/s", "pytorch_eager_" + core, torch)};
}

}  // namespace

FW_REGISTER_BENCH("train", "training tokens/s of the 4M model vs PyTorch", RunTrainBench);

}  // namespace flywheel::bench
