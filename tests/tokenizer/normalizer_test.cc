// Normalizers, and the NFC quick check that lets most text skip utf8proc: checked exhaustively
// against utf8proc itself, so a wrong shortcut cannot silently change token ids.
#include "common/tokenizer/normalizer.h"

#include <string>

#include "common/tokenizer/utf8.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

TEST(NormalizerTest, NormalForms) {
  const std::string decomposed = "e\u0301 \u212B \uFB01";  // e+acute, Angstrom sign, fi ligature
  std::string out;
  ASSERT_TRUE(UnicodeNormalizer(NormalForm::kNFC).Normalize(decomposed, &out).ok());
  EXPECT_EQ(out, "\u00E9 \u00C5 \uFB01");
  ASSERT_TRUE(UnicodeNormalizer(NormalForm::kNFKC).Normalize(decomposed, &out).ok());
  EXPECT_EQ(out, "\u00E9 \u00C5 fi");
  ASSERT_TRUE(UnicodeNormalizer(NormalForm::kNFD).Normalize("\u00E9", &out).ok());
  EXPECT_EQ(out, "e\u0301");
  ASSERT_TRUE(UnicodeNormalizer(NormalForm::kNFKD).Normalize("\u00A0", &out).ok());
  EXPECT_EQ(out, " ");
}

TEST(NormalizerTest, FromJson) {
  auto none = NormalizerFromJson(nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
  auto seq = NormalizerFromJson(
      {{"type", "Sequence"}, {"normalizers", {{{"type", "NFD"}}, {{"type", "NFC"}}}}});
  ASSERT_TRUE(seq.ok());
  std::string out;
  ASSERT_TRUE((*seq)->Normalize("a\u0302\u0323", &out).ok());
  EXPECT_EQ(out, "\u1EAD");  // reordered, then composed
  EXPECT_EQ(NormalizerFromJson({{"type", "Lowercase"}}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(NormalizerFromJson({{"type", "Sequence"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NormalizerTest, SentencePieceReplaceAndPrepend) {
  // Llama 2's normalizer: a word marker before the text, every space made a marker.
  auto llama2 = NormalizerFromJson(
      {{"type", "Sequence"},
       {"normalizers",
        {{{"type", "Prepend"}, {"prepend", "\u2581"}},
         {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}});
  ASSERT_TRUE(llama2.ok()) << llama2.status();
  std::string out;
  ASSERT_TRUE((*llama2)->Normalize("Hi  there", &out).ok());
  EXPECT_EQ(out, "\u2581Hi\u2581\u2581there");
  ASSERT_TRUE((*llama2)->Normalize("", &out).ok());
  EXPECT_EQ(out, "");  // Prepend leaves empty text alone
  // A regex pattern, and a literal one holding regex syntax.
  auto digits = NormalizerFromJson(
      {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", "#"}});
  ASSERT_TRUE(digits.ok());
  ASSERT_TRUE((*digits)->Normalize("a12b3", &out).ok());
  EXPECT_EQ(out, "a#b#");
  auto literal =
      NormalizerFromJson({{"type", "Replace"}, {"pattern", {{"String", ".*"}}}, {"content", "-"}});
  ASSERT_TRUE(literal.ok());
  ASSERT_TRUE((*literal)->Normalize("a.*b", &out).ok());
  EXPECT_EQ(out, "a-b");
  EXPECT_EQ(NormalizerFromJson({{"type", "Replace"}, {"content", "x"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NormalizerFromJson({{"type", "Prepend"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NormalizerTest, NfcInertCodePointsNeverChangeNorCombine) {
  UnicodeNormalizer nfc(NormalForm::kNFC);
  // Starters that compose with many second elements: Latin, a Hangul LV syllable and L jamo,
  // Bengali and Oriya vowels (two-part vowel signs), Kannada.
  const char* const kBefore[] = {"a", "\uAC00", "\u1100", "\u0995", "\u0B47", "\u0CBF"};
  int inert = 0;
  std::string text, out;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (!IsNfcInert(cp)) continue;
    ++inert;
    for (const char* before : kBefore) {
      text = before;
      AppendUtf8(cp, &text);
      ASSERT_TRUE(nfc.Normalize(text, &out).ok());
      // Normalize may take the quick path for the whole string, so compare with utf8proc
      // through a form of the text the quick check rejects: a leading combining mark.
      std::string forced = "\u0301" + text, forced_out;
      ASSERT_TRUE(nfc.Normalize(forced, &forced_out).ok());
      ASSERT_EQ(forced_out, forced)
          << "U+" << std::hex << static_cast<uint32_t>(cp) << " after " << before;
    }
  }
  EXPECT_GT(inert, 250000);          // most assigned code points, CJK and Hangul syllables included
  EXPECT_FALSE(IsNfcInert(0x0301));  // combining acute
  EXPECT_FALSE(IsNfcInert(0x212B));  // Angstrom sign: a singleton decomposition
  EXPECT_FALSE(IsNfcInert(0x11A8));  // Hangul trailing consonant
  EXPECT_FALSE(IsNfcInert(0x0BBE));  // Tamil vowel sign that composes with a preceding vowel
  EXPECT_TRUE(IsNfcQuick("plain, 中文, 😀, \u00E9"));
  EXPECT_FALSE(IsNfcQuick("e\u0301"));
}

}  // namespace
}  // namespace flywheel::tokenizer
