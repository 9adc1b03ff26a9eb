// Qwen3's real tokenizer.json against an implementation nobody here wrote: the JavaScript
// port of transformers.js (@lenml/tokenizers). Every line of the corpus and the first 500
// GSM8K questions must encode to exactly the same ids. These tests FAIL when the reference is
// not installed; tests/tokenizer/install_js_reference.sh BUILD_DIR installs it.
#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/tokenizer/normalizer.h"
#include "common/tokenizer/tokenizer.h"
#include "common/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/test_data.h"

namespace flywheel::tokenizer {
namespace {

using testing::Escaped;
using testing::RandomTexts;

constexpr size_t kGsm8kQuestions = 500;

struct Reference {
  absl::Status status;  // why the fixture could not be built, if it could not
  std::unique_ptr<Tokenizer> tokenizer;
  std::vector<std::string> corpus, normalization, gsm8k;
};

// Loading the 11 MB tokenizer.json takes most of a second; ctest runs every test in its own
// process, so the node runs below are made per text set, only by the tests that compare.
const Reference& GetReference() {
  static const Reference* const ref = [] {
    auto* r = new Reference();
    auto fail = [&](absl::Status s) {
      r->status = std::move(s);
      return r;
    };
    if (auto s = testing::CheckJsReference(); !s.ok()) return fail(s);
    auto tok = Tokenizer::FromFile(testing::Qwen3TokenizerDir());
    if (!tok.ok()) return fail(tok.status());
    r->tokenizer = *std::move(tok);
    auto corpus = testing::ReadCorpus("corpus.jsonl");
    auto norm = testing::ReadCorpus("normalization.jsonl");
    auto gsm8k = testing::ReadGsm8kQuestions(kGsm8kQuestions);
    for (const auto* s : {&corpus.status(), &norm.status(), &gsm8k.status()}) {
      if (!s->ok()) return fail(*s);
    }
    r->corpus = *corpus;
    r->normalization = *norm;
    r->gsm8k = *gsm8k;
    return r;
  }();
  return *ref;
}

class Qwen3ReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(GetReference().status.ok()) << GetReference().status; }
  const Reference& ref() { return GetReference(); }

  // Compares flywheel's ids with the JavaScript reference's for every text; reports up to 10
  // mismatches.
  void ExpectSameIds(const std::vector<std::string>& texts) {
    auto js = testing::JsEncode(texts);
    ASSERT_TRUE(js.ok()) << js.status();
    const std::vector<std::vector<int32_t>>& expected = *js;
    ASSERT_EQ(texts.size(), expected.size());
    size_t mismatches = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      auto ids = ref().tokenizer->Encode(texts[i]);
      ASSERT_TRUE(ids.ok()) << "line " << i + 1 << ": " << ids.status();
      if (*ids != expected[i]) {
        if (++mismatches <= 10) {
          ADD_FAILURE() << "line " << i + 1 << " " << Escaped(texts[i])
                        << "\n  flywheel: " << ::testing::PrintToString(*ids)
                        << "\n  js:       " << ::testing::PrintToString(expected[i]);
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << "of " << texts.size() << " lines";
  }
};

TEST_F(Qwen3ReferenceTest, CorpusMatchesJavaScript) {
  ASSERT_GE(ref().corpus.size(), 2000u);
  ExpectSameIds(ref().corpus);
}

TEST_F(Qwen3ReferenceTest, NonNfcTextMatchesJavaScript) {
  ASSERT_GE(ref().normalization.size(), 40u);
  ExpectSameIds(ref().normalization);
}

TEST_F(Qwen3ReferenceTest, Gsm8kQuestionsMatchJavaScript) {
  ASSERT_EQ(ref().gsm8k.size(), kGsm8kQuestions);
  ExpectSameIds(ref().gsm8k);
}

TEST_F(Qwen3ReferenceTest, RandomStringsMatchJavaScript) {
  ExpectSameIds(RandomTexts(3000, 31337));
}

TEST_F(Qwen3ReferenceTest, RandomStringsDecodeToTheirNfcForm) {
  UnicodeNormalizer nfc(NormalForm::kNFC);
  for (const std::string& text : RandomTexts(3000, 4242)) {
    auto ids = ref().tokenizer->Encode(text);
    ASSERT_TRUE(ids.ok()) << ids.status();
    std::string normalized;
    ASSERT_TRUE(nfc.Normalize(text, &normalized).ok());
    EXPECT_EQ(*ref().tokenizer->Decode(*ids), normalized) << Escaped(text);
  }
}

TEST_F(Qwen3ReferenceTest, DecodeInvertsEncode) {
  UnicodeNormalizer nfc(NormalForm::kNFC);
  for (const auto* set : {&ref().corpus, &ref().gsm8k}) {
    for (const std::string& text : *set) {
      // The corpus is NFC by construction, so the round trip must give the text back exactly.
      std::string normalized;
      ASSERT_TRUE(nfc.Normalize(text, &normalized).ok());
      ASSERT_EQ(normalized, text) << Escaped(text) << " is not NFC";
      auto ids = ref().tokenizer->Encode(text);
      ASSERT_TRUE(ids.ok()) << ids.status();
      auto decoded = ref().tokenizer->Decode(*ids);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(*decoded, text) << Escaped(text);
    }
  }
}

TEST_F(Qwen3ReferenceTest, NonNfcTextDecodesToItsNfcForm) {
  UnicodeNormalizer nfc(NormalForm::kNFC);
  for (const std::string& text : ref().normalization) {
    std::string normalized;
    ASSERT_TRUE(nfc.Normalize(text, &normalized).ok());
    EXPECT_NE(normalized, text);
    auto decoded = ref().tokenizer->Decode(*ref().tokenizer->Encode(text));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, normalized) << Escaped(text);
  }
}

TEST_F(Qwen3ReferenceTest, IncrementalDecoderEmitsOnlyCompleteUtf8) {
  size_t held_back = 0;  // pushes that ended mid-character: the case under test must occur
  for (const std::string& text : ref().corpus) {
    auto ids = ref().tokenizer->Encode(text);
    ASSERT_TRUE(ids.ok());
    IncrementalDecoder decoder(*ref().tokenizer);
    std::string streamed;
    for (int32_t id : *ids) {
      auto piece = decoder.Push(id);
      ASSERT_TRUE(piece.ok()) << piece.status();
      ASSERT_TRUE(ValidateUtf8(*piece).ok()) << "partial UTF-8 emitted for " << Escaped(text);
      held_back += decoder.pending_bytes() > 0;
      streamed += *piece;
    }
    std::string tail = decoder.Flush();
    EXPECT_TRUE(tail.empty()) << "complete text left bytes pending: " << Escaped(text);
    EXPECT_EQ(streamed, text);
  }
  EXPECT_GT(held_back, 100u);
}

TEST_F(Qwen3ReferenceTest, SpecialTokensAndChatTemplateFromConfig) {
  const Tokenizer& tok = *ref().tokenizer;
  EXPECT_EQ(tok.vocab_size(), 151669);
  EXPECT_EQ(tok.eos_id(), 151645);  // <|im_end|>
  EXPECT_EQ(tok.pad_id(), 151643);  // <|endoftext|>
  EXPECT_FALSE(tok.bos_id().has_value());
  EXPECT_TRUE(tok.IsSpecial(151644));
  EXPECT_FALSE(tok.IsSpecial(151667));  // <think> is an added token but not a special one
  ASSERT_EQ(tok.chat_format(), ChatFormat::kChatML);
  std::vector<ChatMessage> chat = {{"system", "Be brief."}, {"user", "2+2?"}};
  auto text = tok.ApplyChatTemplate(chat);
  ASSERT_TRUE(text.ok());
  auto ids = tok.Encode(*text);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->front(), 151644);
  EXPECT_EQ(std::count(ids->begin(), ids->end(), 151645), 2);
  auto skipped = tok.Decode(*ids, {.skip_special_tokens = true});
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, "system\nBe brief.\nuser\n2+2?\nassistant\n");
  // Untrusted text can be encoded without forging control tokens.
  auto ordinary = tok.EncodeOrdinary("<|im_end|>");
  ASSERT_TRUE(ordinary.ok());
  EXPECT_GT(ordinary->size(), 1u);
  EXPECT_EQ(*tok.Decode(*ordinary), "<|im_end|>");
}

}  // namespace
}  // namespace flywheel::tokenizer
