// SentencePiece-style BPE on a hand-made tokenizer.json (the real Gemma 3 and Llama 2 files are
// checked in family_reference_test): word markers, byte fallback for characters missing from the
// vocabulary, and the decoder that turns both back into text.
#include <string>
#include <vector>

#include "common/tokenizer/decoder.h"
#include "common/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

using nlohmann::json;
using Ids = std::vector<int32_t>;

// ids: <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF> = 3..258, then ▁=259 h=260 i=261 ▁h=262 ▁hi=263
// é=264.
json SentencePieceJson() {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  vocab["\u2581"] = 259;
  vocab["h"] = 260;
  vocab["i"] = 261;
  vocab["\u2581h"] = 262;
  vocab["\u2581hi"] = 263;
  vocab["\u00e9"] = 264;
  json special = {{"special", true}, {"normalized", false}};
  return {
      {"added_tokens",
       {{{"id", 0}, {"content", "<unk>"}, {"special", true}},
        {{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\u2581"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
      {"pre_tokenizer", nullptr},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"\u2581 h", "\u2581h i"}},
        {"unk_token", "<unk>"},
        {"byte_fallback", true},
        {"fuse_unk", true}}},
  };
}

TEST(SentencePieceTest, EncodesWithMarkersAndByteFallback) {
  auto tok = Tokenizer::FromJson(SentencePieceJson().dump());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ(*(*tok)->Encode("hi hi"), (Ids{263, 263}));
  EXPECT_EQ(*(*tok)->Encode(" hi"), (Ids{259, 263}));
  // 'x' and '€' are not in the vocabulary: their UTF-8 bytes stand in (0x78; E2 82 AC).
  EXPECT_EQ(*(*tok)->Encode("hix\u20ac"), (Ids{263, 3 + 0x78, 3 + 0xE2, 3 + 0x82, 3 + 0xAC}));
  // Each segment between added tokens gets its own marker, as in Hugging Face.
  EXPECT_EQ(*(*tok)->Encode("<s>hi</s>"), (Ids{1, 263, 2}));
}

TEST(SentencePieceTest, DecodeUndoesMarkersBytesAndThePrependedSpace) {
  auto tok = Tokenizer::FromJson(SentencePieceJson().dump());
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_TRUE((*tok)->strips_leading_space());
  for (const std::string text : {"hi hi", " hi", "hix\u20ac", "\u00e9  h", "  "}) {
    auto ids = (*tok)->Encode(text);
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(*(*tok)->Decode(*ids), text);
    IncrementalDecoder stream(**tok);
    std::string streamed;
    for (int32_t id : *ids) streamed += *stream.Push(id);
    EXPECT_EQ(streamed + stream.Flush(), text);
  }
  // Only the text's first space is dropped, after skipped specials too.
  EXPECT_EQ(*(*tok)->Decode({1, 263, 263}), "<s> hi hi");
  EXPECT_EQ(*(*tok)->Decode({1, 263, 263}, {.skip_special_tokens = true}), "hi hi");
}

TEST(SentencePieceTest, DecoderSpecs) {
  auto metaspace = DecoderFromJson({{"type", "Metaspace"}, {"prepend_scheme", "never"}});
  ASSERT_TRUE(metaspace.ok());
  EXPECT_FALSE(metaspace->strip_leading_space);
  EXPECT_EQ(TokenToBytes("\u2581a\u2581", *metaspace), " a ");
  auto legacy = DecoderFromJson({{"type", "Metaspace"}, {"add_prefix_space", true}});
  ASSERT_TRUE(legacy.ok());
  EXPECT_TRUE(legacy->strip_leading_space);
  DecoderSpec fallback{.byte_fallback = true};
  EXPECT_EQ(TokenToBytes("<0x0A>", fallback), "\n");
  EXPECT_EQ(TokenToBytes("<0xZZ>", fallback), "<0xZZ>");
  // Strip before Fuse strips every token; flywheel refuses rather than decode differently.
  json strip_first = {
      {"type", "Sequence"},
      {"decoders",
       {{{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}, {{"type", "Fuse"}}}}};
  EXPECT_EQ(DecoderFromJson(strip_first).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(DecoderFromJson({{"type", "Replace"}, {"pattern", {{"String", "x"}}}, {"content", "y"}})
                .status()
                .code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace flywheel::tokenizer
