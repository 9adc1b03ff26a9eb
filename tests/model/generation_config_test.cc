// generation_config.json as real checkpoints write it.
#include "common/model/generation_config.h"

#include "gtest/gtest.h"
#include "tests/model/test_util.h"

namespace flywheel {
namespace {

TEST(GenerationConfigTest, ParsesRealFiles) {
  // Llama 3.1 8B Instruct's: three end-of-sequence ids and its recommended sampling.
  auto llama = model::ParseGenerationConfig(R"({"bos_token_id": 128000, "do_sample": true,
      "eos_token_id": [128001, 128008, 128009], "temperature": 0.6, "top_p": 0.9,
      "transformers_version": "4.42.3"})");
  ASSERT_TRUE(llama.ok()) << llama.status();
  EXPECT_EQ(llama->eos_token_ids, (std::vector<int32_t>{128001, 128008, 128009}));
  EXPECT_TRUE(llama->do_sample);
  EXPECT_EQ(llama->temperature, 0.6f);
  EXPECT_EQ(llama->top_p, 0.9f);
  EXPECT_FALSE(llama->top_k.has_value());
  // A single id, and no do_sample (greedy in transformers).
  auto single = model::ParseGenerationConfig(R"({"eos_token_id": 2, "max_new_tokens": 64})");
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(single->eos_token_ids, (std::vector<int32_t>{2}));
  EXPECT_FALSE(single->do_sample);
  EXPECT_EQ(single->max_new_tokens, 64);
}

TEST(GenerationConfigTest, RejectsBadValuesNamingTheField) {
  struct Case {
    const char* text;
    const char* field;
  } cases[] = {
      {R"({"eos_token_id": "x"})", "eos_token_id"},
      {R"({"eos_token_id": [1, -2]})", "eos_token_id"},
      {R"({"temperature": -1})", "temperature"},
      {R"({"top_p": 0})", "top_p"},
      {R"({"min_p": 1})", "min_p"},
      {R"({"top_k": 2.5})", "top_k"},
      {R"({"do_sample": "yes"})", "do_sample"},
      {R"([1])", "not a JSON object"},
  };
  for (const Case& c : cases) {
    auto g = model::ParseGenerationConfig(c.text);
    ASSERT_FALSE(g.ok()) << c.text;
    EXPECT_NE(g.status().message().find(c.field), absl::string_view::npos) << g.status();
  }
}

TEST(GenerationConfigTest, AbsentFileIsNoConfig) {
  testing::TempDir dir;
  auto g = model::ReadGenerationConfig(dir.path());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_FALSE(g->has_value());
}

}  // namespace
}  // namespace flywheel
