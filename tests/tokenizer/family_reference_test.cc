// Real tokenizers of four more model families against the JavaScript reference
// (@lenml/tokenizers, a port of transformers.js), on the same corpus as Qwen3's test:
//   gemma3, llama2       SentencePiece-style BPE: Replace / Prepend normalizers, U+2581 word
//                        marker, byte fallback, and the Replace/ByteFallback/Fuse/Strip decoder
//   llama3_1, deepseek_v3  byte-level BPE with their own split regexes
// Ids must agree exactly, and decoding must give the text back. These tests FAIL when the
// reference is not installed; tests/tokenizer/install_js_reference.sh BUILD_DIR installs it.
#include <memory>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/test_data.h"

namespace flywheel::tokenizer {
namespace {

using testing::Escaped;

class FamilyReferenceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::CheckJsReference(GetParam()).ok())
        << testing::CheckJsReference(GetParam());
    auto tok = Tokenizer::FromFile(testing::TokenizerDir(GetParam()));
    ASSERT_TRUE(tok.ok()) << tok.status();
    tokenizer_ = *std::move(tok);
    auto corpus = testing::ReadCorpus("corpus.jsonl");
    ASSERT_TRUE(corpus.ok()) << corpus.status();
    corpus_ = *std::move(corpus);
  }

  // Compares flywheel's ids with the reference's for every text; reports up to 10 mismatches.
  void ExpectSameIds(const std::vector<std::string>& texts) {
    auto js = testing::JsEncode(texts, GetParam());
    ASSERT_TRUE(js.ok()) << js.status();
    ASSERT_EQ(js->size(), texts.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto ids = tokenizer_->Encode(texts[i]);
      ASSERT_TRUE(ids.ok()) << "line " << i + 1 << ": " << ids.status();
      if (*ids != (*js)[i] && ++mismatches <= 10) {
        ADD_FAILURE() << "line " << i + 1 << " " << Escaped(texts[i])
                      << "\n  flywheel: " << ::testing::PrintToString(*ids)
                      << "\n  js:       " << ::testing::PrintToString((*js)[i]);
      }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << texts.size() << " lines";
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  std::vector<std::string> corpus_;
};

TEST_P(FamilyReferenceTest, CorpusMatchesJavaScript) {
  ASSERT_GE(corpus_.size(), 2000u);
  ExpectSameIds(corpus_);
}

TEST_P(FamilyReferenceTest, NonNfcAndRandomTextMatchJavaScript) {
  auto norm = testing::ReadCorpus("normalization.jsonl");
  ASSERT_TRUE(norm.ok()) << norm.status();
  std::vector<std::string> texts = testing::RandomTexts(1000, 2718);
  texts.insert(texts.end(), norm->begin(), norm->end());
  ExpectSameIds(texts);
}

// The corpus is NFC and holds none of these tokenizers' added tokens, so decoding must give
// each line back exactly, also streamed one id at a time.
TEST_P(FamilyReferenceTest, DecodeInvertsEncode) {
  size_t byte_tokens = 0;  // ids decoding to a single byte: byte fallback must be exercised
  for (const std::string& text : corpus_) {
    auto ids = tokenizer_->Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    auto decoded = tokenizer_->Decode(*ids);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, text) << Escaped(text);
    IncrementalDecoder stream(*tokenizer_);
    std::string streamed;
    for (int32_t id : *ids) {
      streamed += *stream.Push(id);
      byte_tokens += tokenizer_->TokenBytes(id)->size() == 1;
    }
    streamed += stream.Flush();
    EXPECT_EQ(streamed, text) << Escaped(text);
  }
  EXPECT_GT(byte_tokens, 0u);
}

INSTANTIATE_TEST_SUITE_P(Families, FamilyReferenceTest,
                         ::testing::Values("gemma3", "llama2", "llama3_1", "deepseek_v3"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace flywheel::tokenizer
