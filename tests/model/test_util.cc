#include "tests/model/test_util.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "common/model/parameters.h"

namespace flywheel::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base ? base : "/tmp") + "/flywheel-test-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) std::abort();
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

model::ModelConfig TinyConfig() {
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 61;
  c.hidden_size = 32;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.intermediate_size = 48;
  c.max_position_embeddings = 128;
  c.rope_theta = 10000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  return c;
}

model::RopeScaling TestRopeScaling(const std::string& type) {
  model::RopeScaling s;
  s.factor = 4.0;
  s.original_max_position_embeddings = 32;
  if (type == "linear") {
    s.type = model::RopeScalingType::kLinear;
  } else if (type == "llama3") {
    s.type = model::RopeScalingType::kLlama3;
    s.low_freq_factor = 1.0;
    s.high_freq_factor = 4.0;
  } else if (type == "yarn") {
    s.type = model::RopeScalingType::kYarn;
  } else {
    std::abort();  // a test asked for a type this helper does not know
  }
  return s;
}

model::ModelWeights PerturbedModel(const model::ModelConfig& config, uint64_t seed) {
  model::ModelWeights w = model::RandomModel(config, seed, /*init_std=*/0.15f);
  model::ParameterLayout layout(config);
  std::mt19937_64 rng(seed ^ 0x5eed);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (const auto& t : layout.tensors()) {
    if (absl::EndsWith(t.name, "norm.weight") || absl::EndsWith(t.name, ".bias")) {
      for (int64_t i = 0; i < t.numel; ++i) w.params[t.offset + i] += u(rng);
    }
  }
  return w;
}

std::vector<std::vector<int32_t>> RandomSequences(const std::vector<int>& lengths, int64_t vocab,
                                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(vocab - 1));
  std::vector<std::vector<int32_t>> out;
  for (int len : lengths) {
    std::vector<int32_t> s(len);
    for (auto& t : s) t = tok(rng);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace flywheel::testing
