// Bad input never crashes the loader: truncated or oversized safetensors headers, offsets past
// the end of the file, wrong dtype or shape for a named tensor, missing tensors, and configs with
// zero or inconsistent heads each return a clear Status. Also the happy paths: round trip,
// BF16/F16 decoding, sharded checkpoints.
#include "common/model/checkpoint.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/model/parameters.h"
#include "common/model/safetensors.h"
#include "common/model/transformer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

using model::SafetensorsFile;

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file with the given header text and `data_bytes` zero bytes of data.
std::string Safetensors(const std::string& header, size_t data_bytes, uint64_t claimed_len = 0) {
  uint64_t len = claimed_len ? claimed_len : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(len >> (8 * i));
  return out + header + std::string(data_bytes, '\0');
}

void ExpectInvalid(const std::string& path, const std::string& expected_words) {
  auto f = SafetensorsFile::Open(path);
  ASSERT_FALSE(f.ok()) << "opened " << path;
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << f.status();
  EXPECT_NE(f.status().message().find(expected_words), absl::string_view::npos) << f.status();
}

TEST(SafetensorsTest, RejectsMalformedFiles) {
  testing::TempDir dir;
  const std::string p = dir.File("bad.safetensors");
  WriteBytes(p, "abc");
  ExpectInvalid(p, "too short");
  WriteBytes(p, Safetensors("{}", 0, /*claimed_len=*/1000));
  ExpectInvalid(p, "truncated");
  WriteBytes(p, Safetensors("{}", 0, /*claimed_len=*/uint64_t{1} << 40));
  ExpectInvalid(p, "exceeds");
  WriteBytes(p, Safetensors("{not json", 0));
  ExpectInvalid(p, "not a JSON object");
  WriteBytes(p, Safetensors(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8));
  ExpectInvalid(p, "past the end");
  WriteBytes(p, Safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", 16));
  ExpectInvalid(p, "does not match shape");
  WriteBytes(p, Safetensors(R"({"w":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})", 4));
  ExpectInvalid(p, "unsupported dtype");
  WriteBytes(p, Safetensors(R"({"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})", 16));
  ExpectInvalid(p, "non-negative");
  WriteBytes(p, Safetensors(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                            R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                            16));
  ExpectInvalid(p, "overlap");
  WriteBytes(p, Safetensors(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],)"
                            R"("data_offsets":[0,16]}})",
                            16));
  ExpectInvalid(p, "too large");
  EXPECT_EQ(SafetensorsFile::Open(dir.File("missing")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SafetensorsTest, DecodesHalfPrecision) {
  EXPECT_EQ(model::Bf16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(model::Bf16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(model::F16ToFloat(0x3c00), 1.0f);
  EXPECT_EQ(model::F16ToFloat(0xc500), -5.0f);
  EXPECT_EQ(model::F16ToFloat(0x0001), std::ldexp(1.0f, -24));  // Smallest subnormal.
  EXPECT_EQ(model::F16ToFloat(0x7bff), 65504.0f);
  EXPECT_TRUE(std::isinf(model::F16ToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(model::F16ToFloat(0x7e00)));
  testing::TempDir dir;
  // [1.0, -2.0] as BF16 and as F16, read back as float.
  const std::string data("\x80\x3f\x00\xc0\x00\x3c\x00\xc0", 8);
  std::string header = R"({"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},)"
                       R"("h":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})";
  std::string file = Safetensors(header, 0) + data;
  WriteBytes(dir.File("h.safetensors"), file);
  auto f = SafetensorsFile::Open(dir.File("h.safetensors"));
  ASSERT_TRUE(f.ok()) << f.status();
  float out[2];
  ASSERT_TRUE((*f)->ReadFloat("b", {2}, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  ASSERT_TRUE((*f)->ReadFloat("h", {2}, out).ok());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ((*f)->ReadFloat("h", {1, 2}, out).code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckpointTest, RoundTripsAndLoadsShards) {
  testing::TempDir dir;
  auto w = testing::PerturbedModel(testing::TinyConfig(), 1);
  ASSERT_TRUE(model::SaveModelDir(dir.File("m"), w.config, w.params.data()).ok());
  auto back = model::LoadModelDir(dir.File("m"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->params, w.params);

  // Split the tensors over two shard files with an index, as large Hugging Face checkpoints are.
  model::ParameterLayout layout(w.config);
  std::vector<model::NamedTensor> a, b;
  nlohmann::json map;
  for (size_t i = 0; i < layout.tensors().size(); ++i) {
    const auto& t = layout.tensors()[i];
    (i % 2 ? a : b).push_back({t.name, t.shape, w.params.data() + t.offset});
    map[t.name] = i % 2 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  const std::string s = dir.File("s");
  ASSERT_TRUE(model::SaveModelDir(s, w.config, w.params.data()).ok());
  std::remove((s + "/model.safetensors").c_str());
  ASSERT_TRUE(model::WriteSafetensors(s + "/model-00001-of-00002.safetensors", a).ok());
  ASSERT_TRUE(model::WriteSafetensors(s + "/model-00002-of-00002.safetensors", b).ok());
  WriteBytes(s + "/model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());
  auto sharded = model::LoadModelDir(s);
  ASSERT_TRUE(sharded.ok()) << sharded.status();
  EXPECT_EQ(sharded->params, w.params);
}

TEST(CheckpointTest, RejectsMissingAndMisshapenTensors) {
  testing::TempDir dir;
  auto w = testing::PerturbedModel(testing::TinyConfig(), 1);
  model::ParameterLayout layout(w.config);
  const std::string d = dir.File("m");
  ASSERT_TRUE(model::SaveModelDir(d, w.config, w.params.data()).ok());
  // Drop one tensor.
  std::vector<model::NamedTensor> tensors;
  for (const auto& t : layout.tensors()) {
    if (t.name != "model.layers.1.mlp.up_proj.weight")
      tensors.push_back({t.name, t.shape, w.params.data() + t.offset});
  }
  ASSERT_TRUE(model::WriteSafetensors(d + "/model.safetensors", tensors).ok());
  auto missing = model::LoadModelDir(d);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("model.layers.1.mlp.up_proj.weight"),
            absl::string_view::npos);
  // Transpose one tensor's shape.
  tensors.clear();
  for (const auto& t : layout.tensors()) {
    auto shape = t.shape;
    if (t.name == "model.layers.0.self_attn.o_proj.weight") shape = {shape[1], shape[0]};
    if (t.name == "model.layers.0.self_attn.q_proj.weight") shape = {shape[0] / 2, shape[1] * 2};
    tensors.push_back({t.name, shape, w.params.data() + t.offset});
  }
  ASSERT_TRUE(model::WriteSafetensors(d + "/model.safetensors", tensors).ok());
  auto misshapen = model::LoadModelDir(d);
  EXPECT_EQ(misshapen.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(misshapen.status().message().find("has shape"), absl::string_view::npos)
      << misshapen.status();
  // A wrong dtype for a named tensor.
  std::string header =
      R"({"model.embed_tokens.weight":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})";
  WriteBytes(d + "/model.safetensors", Safetensors(header, 4));
  auto dtype = model::LoadModelDir(d);
  EXPECT_EQ(dtype.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(dtype.status().message().find("unsupported dtype I32"), absl::string_view::npos)
      << dtype.status();
  // No weights at all.
  std::remove((d + "/model.safetensors").c_str());
  EXPECT_EQ(model::LoadModelDir(d).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, RejectsBadConfigs) {
  auto parse = [](const std::string& patch) {
    nlohmann::json j = nlohmann::json::parse(model::ConfigToJson(testing::TinyConfig()));
    j.merge_patch(nlohmann::json::parse(patch));
    return model::ParseConfigJson(j.dump());
  };
  EXPECT_TRUE(parse("{}").ok());
  struct Case {
    const char* patch;
    const char* words;
  } cases[] = {
      {R"({"num_attention_heads": 0})", "num_attention_heads must be > 0"},
      {R"({"num_key_value_heads": 0})", "num_key_value_heads must be > 0"},
      {R"({"num_key_value_heads": 3})", "multiple of num_key_value_heads"},
      {R"({"head_dim": null, "hidden_size": 30})", "not divisible"},
      {R"({"head_dim": 7})", "even"},
      {R"({"hidden_size": -5})", "hidden_size must be > 0"},
      {R"({"vocab_size": null})", "missing \"vocab_size\""},
      {R"({"vocab_size": "many"})", "must be an integer"},
      {R"({"model_type": "gpt2"})", "unsupported model_type"},
      {R"({"model_type": 256512})", "\"model_type\" must be a string"},
      {R"({"hidden_act": "gelu"})", "hidden_act"},
      {R"({"rope_scaling": {"type": "yarn"}})", "rope_scaling needs \"factor\""},
      {R"({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}})", "\"dynamic\""},
      {R"({"rope_scaling": {"rope_type": "longrope"}})", "not supported"},
      {R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
           "high_freq_factor": 4.0}})",
       "original_max_position_embeddings"},
      {R"({"rope_scaling": {"rope_type": "linear", "factor": 0.5}})", "factor must be >= 1"},
      {R"({"rope_scaling": {"rope_type": "linear", "factor": "2"}})", "must be a number"},
      {R"({"tie_word_embeddings": 1})", "true or false"},
      {R"({"intermediate_size": 99999999999})", "too large"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.patch);
    ASSERT_FALSE(r.ok()) << c.patch;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.patch;
    EXPECT_NE(r.status().message().find(c.words), absl::string_view::npos)
        << c.patch << " -> " << r.status();
  }
  EXPECT_FALSE(model::ParseConfigJson("[1, 2]").ok());
  EXPECT_FALSE(model::ParseConfigJson("{").ok());
}

TEST(CheckpointTest, ModelRejectsBadSequences) {
  auto tf = model::Transformer::Create(testing::PerturbedModel(testing::TinyConfig(), 1));
  ASSERT_TRUE(tf.ok());
  model::ForwardResult r;
  EXPECT_EQ((*tf)->Forward({{1, 2}, {}}, {}, &r, nullptr, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*tf)->Forward({{1, 61}}, {}, &r, nullptr, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*tf)->Forward({{-1}}, {}, &r, nullptr, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*tf)->Forward({std::vector<int32_t>(129, 1)}, {}, &r, nullptr, nullptr).code(),
            absl::StatusCode::kInvalidArgument);
  model::ModelWeights short_weights = testing::PerturbedModel(testing::TinyConfig(), 1);
  short_weights.params.pop_back();
  EXPECT_EQ(model::Transformer::Create(short_weights).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace flywheel
