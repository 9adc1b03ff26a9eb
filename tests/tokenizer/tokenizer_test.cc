// The Tokenizer end to end on small files: a hand-made BPE, and the byte-level tokenizer that
// flywheel writes for its tiny models.
#include "common/tokenizer/tokenizer.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/tokenizer/byte_level_tokenizer.h"
#include "common/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/small_tokenizer.h"

namespace flywheel::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

std::unique_ptr<Tokenizer> Small(bool pair_merges = false) {
  auto tok = Tokenizer::FromJson(testing::SmallTokenizerJson(pair_merges).dump());
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? *std::move(tok) : nullptr;
}

Ids Encode(const Tokenizer& tok, const std::string& text) {
  auto ids = tok.Encode(text);
  EXPECT_TRUE(ids.ok()) << ids.status();
  return ids.ok() ? *ids : Ids{};
}

TEST(TokenizerTest, MergesInBothFormsGiveTheSameIds) {
  auto a = Small(false), b = Small(true);
  for (const char* text : {"hello world", "hello, worlds!", "hellohello  world\n"}) {
    EXPECT_EQ(Encode(*a, text), Encode(*b, text)) << text;
  }
  EXPECT_EQ(Encode(*a, "hello world"), (Ids{259, 264}));
  EXPECT_EQ(Encode(*a, "hell"), (Ids{256, 257}));
}

TEST(TokenizerTest, AddedTokensAreMatchedBeforePreTokenization) {
  auto tok = Small();
  EXPECT_EQ(Encode(*tok, "hello<|end|>world"), (Ids{259, 300, 'w', 261, 263}));
  // Leftmost wins; a broken marker is plain text.
  EXPECT_EQ(Encode(*tok, "<|end|"), (Ids{'<', '|', 'e', 'n', 'd', '|'}));
  // lstrip / rstrip absorb the spaces around <sep>.
  EXPECT_EQ(Encode(*tok, "hello  <sep>  world"), (Ids{259, 301, 'w', 261, 263}));
  // single_word: "[w]" only matches between non-word characters.
  EXPECT_EQ(Encode(*tok, "a [w] b"), (Ids{'a', ' ', 302, ' ', 'b'}));
  EXPECT_EQ(Encode(*tok, "a[w]b"), (Ids{'a', '[', 'w', ']', 'b'}));
}

TEST(TokenizerTest, DecodeAndSpecials) {
  auto tok = Small();
  Ids ids = Encode(*tok, "hello<|end|> world<sep>");
  EXPECT_EQ(*tok->Decode(ids), "hello<|end|> world<sep>");
  EXPECT_EQ(*tok->Decode(ids, {.skip_special_tokens = true}), "hello world<sep>");
  EXPECT_TRUE(tok->IsSpecial(300));
  EXPECT_FALSE(tok->IsSpecial(301));
  EXPECT_EQ(tok->TokenToId("Ġworld"), 264);
  EXPECT_EQ(tok->TokenToId("<sep>"), 301);
  EXPECT_EQ(tok->vocab_size(), 303);
  // Ids 265..299 are holes in this vocabulary.
  EXPECT_EQ(tok->Decode(Ids{270}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode(Ids{-1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(tok->Decode(Ids{303}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerTest, NormalizesToNfcBeforeSplitting) {
  auto tok = Small();
  EXPECT_EQ(Encode(*tok, "e\u0301"), Encode(*tok, "\u00e9"));
  EXPECT_EQ(*tok->Decode(Encode(*tok, "e\u0301")), "\u00e9");
}

TEST(TokenizerTest, IncrementalDecoderHoldsBackPartialCharacters) {
  auto tok = Small();
  Ids ids = Encode(*tok, "a😀");  // a, then four byte tokens
  ASSERT_EQ(ids.size(), 5u);
  IncrementalDecoder dec(*tok);
  EXPECT_EQ(*dec.Push(ids[0]), "a");
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(*dec.Push(ids[i]), "");
    EXPECT_EQ(dec.pending_bytes(), static_cast<size_t>(i));
  }
  EXPECT_EQ(*dec.Push(ids[4]), "😀");
  // A sequence cut short comes out as U+FFFD at Flush; one broken by a new start, at once.
  EXPECT_EQ(*dec.Push(ids[1]), "");
  EXPECT_EQ(dec.Flush(), "\uFFFD");
  EXPECT_EQ(*dec.Push(ids[1]), "");
  EXPECT_EQ(*dec.Push('a'), "\uFFFDa");
  EXPECT_EQ(dec.Push(99999).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TokenizerTest, IncrementalDecoderMatchesBatchDecodeOnRandomIds) {
  auto tok = Small();
  std::mt19937 rng(99);
  for (int trial = 0; trial < 500; ++trial) {
    Ids ids(rng() % 30);
    for (int32_t& id : ids) id = static_cast<int32_t>(rng() % 265);  // bytes and merges
    IncrementalDecoder dec(*tok);
    std::string streamed;
    for (int32_t id : ids) {
      auto piece = dec.Push(id);
      ASSERT_TRUE(piece.ok());
      ASSERT_TRUE(ValidateUtf8(*piece).ok());
      streamed += *piece;
    }
    streamed += dec.Flush();
    EXPECT_EQ(streamed, *tok->Decode(ids));
  }
}

TEST(ByteLevelTokenizerTest, WrittenFilesLoadThroughTheSameCode) {
  auto dir = std::filesystem::temp_directory_path() / ("fw_bytelevel_" + std::to_string(getpid()));
  ASSERT_TRUE(WriteByteLevelTokenizer(dir.string()).ok());
  auto tok = Tokenizer::FromFile(dir.string());
  ASSERT_TRUE(tok.ok()) << tok.status();
  std::filesystem::remove_all(dir);

  EXPECT_EQ((*tok)->vocab_size(), kByteLevelVocabSize);
  EXPECT_EQ((*tok)->eos_id(), kByteLevelImEnd);
  EXPECT_EQ((*tok)->pad_id(), kByteLevelEndOfText);
  EXPECT_EQ((*tok)->TokenToId("<|im_start|>"), kByteLevelImStart);
  EXPECT_EQ((*tok)->chat_format(), ChatFormat::kChatML);
  // id b is byte b, for every byte, including those that are not valid UTF-8 on their own.
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(*(*tok)->TokenBytes(b), std::string(1, static_cast<char>(b)));
  }
  EXPECT_EQ(Encode(**tok, "hé\n"), (Ids{'h', 0xC3, 0xA9, '\n'}));
  auto chat = (*tok)->ApplyChatTemplate({{"user", "hi"}});
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(Encode(**tok, *chat), (Ids{kByteLevelImStart,
                                       'u',
                                       's',
                                       'e',
                                       'r',
                                       '\n',
                                       'h',
                                       'i',
                                       kByteLevelImEnd,
                                       '\n',
                                       kByteLevelImStart,
                                       'a',
                                       's',
                                       's',
                                       'i',
                                       's',
                                       't',
                                       'a',
                                       'n',
                                       't',
                                       '\n'}));
}

TEST(ByteLevelTokenizerTest, FileIsAValidHuggingFaceTokenizerJson) {
  auto j = nlohmann::json::parse(ByteLevelTokenizerJson());
  EXPECT_EQ(j["model"]["type"], "BPE");
  EXPECT_EQ(j["model"]["vocab"].size(), 256u);
  EXPECT_EQ(j["model"]["vocab"]["Ġ"], 32);
  EXPECT_TRUE(j["model"]["merges"].empty());
  EXPECT_EQ(j["added_tokens"].size(), 3u);
  auto config = nlohmann::json::parse(ByteLevelTokenizerConfigJson());
  EXPECT_EQ(config["eos_token"], "<|im_end|>");
}

TEST(TokenizerTest, FromFileAcceptsTheFileOrItsDirectory) {
  auto dir = std::filesystem::temp_directory_path() / ("fw_small_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << testing::SmallTokenizerJson().dump();
  EXPECT_TRUE(Tokenizer::FromFile(dir.string()).ok());
  EXPECT_TRUE(Tokenizer::FromFile((dir / "tokenizer.json").string()).ok());
  // A config naming an eos token that does not exist is an error, not a silent "no eos".
  std::ofstream(dir / "tokenizer_config.json") << R"({"eos_token": "<nope>"})";
  EXPECT_EQ(Tokenizer::FromFile(dir.string()).status().code(), absl::StatusCode::kInvalidArgument);
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"eos_token": {"content": "<|end|>"}, "chat_template": [{"name": "default",
            "template": "<|start_header_id|>"}]})";
  auto tok = Tokenizer::FromFile(dir.string());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->eos_id(), 300);
  EXPECT_EQ((*tok)->chat_format(), ChatFormat::kLlama3);
  std::filesystem::remove_all(dir);
  EXPECT_EQ(Tokenizer::FromFile(dir.string()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace flywheel::tokenizer
