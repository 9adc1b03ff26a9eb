// Pre-tokenizers: delimiter behaviours, the split regexes real checkpoints use, and the
// whitespace rewrite that makes PCRE2 agree with Oniguruma (and so with Hugging Face).
#include "common/tokenizer/pre_tokenizer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

using Pieces = std::vector<std::string>;

// Qwen2/Qwen3's split pattern, as their tokenizer.json gives it.
constexpr char kQwenPattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Llama 3's: digits in runs of up to three.
constexpr char kLlama3Pattern[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

Pieces PreTokenize(const nlohmann::json& config, const std::string& text) {
  auto spec = PreTokenizerFromJson(config);
  EXPECT_TRUE(spec.ok()) << spec.status();
  if (!spec.ok()) return {};
  PreTokenized pt;
  pt.pieces.push_back(text);
  EXPECT_TRUE(spec->pre_tokenizer->Split(&pt).ok());
  return Pieces(pt.pieces.begin(), pt.pieces.end());
}

nlohmann::json SplitConfig(const std::string& regex, const char* behavior, bool invert = false) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", regex}}},
          {"behavior", behavior},
          {"invert", invert}};
}

TEST(SplitPreTokenizerTest, DelimiterBehaviours) {
  // The examples of Hugging Face's SplitDelimiterBehavior documentation.
  const std::string text = "the-final--countdown";
  EXPECT_EQ(PreTokenize(SplitConfig("-", "Removed"), text), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(PreTokenize(SplitConfig("-", "Isolated"), text),
            (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(PreTokenize(SplitConfig("-", "MergedWithPrevious"), text),
            (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(PreTokenize(SplitConfig("-", "MergedWithNext"), text),
            (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(PreTokenize(SplitConfig("-", "Contiguous"), text),
            (Pieces{"the", "-", "final", "--", "countdown"}));
  EXPECT_EQ(PreTokenize(SplitConfig("-", "Removed", /*invert=*/true), text),
            (Pieces{"-", "-", "-"}));
}

TEST(SplitPreTokenizerTest, LiteralPatternIsNotARegex) {
  nlohmann::json config = {
      {"type", "Split"}, {"pattern", {{"String", "."}}}, {"behavior", "Removed"}};
  EXPECT_EQ(PreTokenize(config, "a.b.c"), (Pieces{"a", "b", "c"}));
  EXPECT_EQ(PreTokenize(config, "abc"), (Pieces{"abc"}));
}

TEST(SplitPreTokenizerTest, QwenPattern) {
  auto config = SplitConfig(kQwenPattern, "Isolated");
  EXPECT_EQ(
      PreTokenize(config, "Hello world's 2024 tests!!\n\n  x"),
      (Pieces{"Hello", " world", "'s", " ", "2", "0", "2", "4", " tests", "!!\n\n", " ", " x"}));
  EXPECT_EQ(PreTokenize(config, "I'LL    go"), (Pieces{"I", "'LL", "   ", " go"}));
  EXPECT_EQ(PreTokenize(config, "\t\tfoo();  \n"), (Pieces{"\t", "\tfoo", "();", "  \n"}));
  EXPECT_EQ(PreTokenize(config, "中文字 テスト"), (Pieces{"中文字", " テスト"}));
}

TEST(SplitPreTokenizerTest, Llama3GroupsDigitsInThrees) {
  EXPECT_EQ(PreTokenize(SplitConfig(kLlama3Pattern, "Isolated"), "1234567 x"),
            (Pieces{"123", "456", "7", " x"}));
}

TEST(SplitPreTokenizerTest, WhitespaceMatchesOniguruma) {
  // Oniguruma's \s (Hugging Face) includes U+0085 (NEL) and excludes U+FEFF (BOM); JavaScript's
  // \s does the opposite, so these cases are checked here rather than against the JS reference.
  auto config = SplitConfig(kQwenPattern, "Isolated");
  EXPECT_EQ(PreTokenize(config, "a\u0085\u0085b"), (Pieces{"a", "\u0085", "\u0085b"}));
  EXPECT_EQ(PreTokenize(config, "\uFEFF\uFEFFa"), (Pieces{"\uFEFF\uFEFF", "a"}));
  EXPECT_EQ(RewriteWhitespaceClasses(R"(\s+(?!\S)|[^\s\p{L}]|\\s|[]\s])"),
            R"([\s\x{85}]+(?![^\s\x{85}])|[^\s\x{85}\p{L}]|\\s|[]\s\x{85}])");
}

TEST(ByteLevelPreTokenizerTest, Gpt2RegexAndPrefixSpace) {
  nlohmann::json config = {{"type", "ByteLevel"}, {"add_prefix_space", true}};
  EXPECT_EQ(PreTokenize(config, "Hello  world's"), (Pieces{" Hello", " ", " world", "'s"}));
  config["add_prefix_space"] = false;
  config["use_regex"] = false;
  EXPECT_EQ(PreTokenize(config, "Hello  world"), (Pieces{"Hello  world"}));
}

TEST(PreTokenizerTest, SequenceAndDigits) {
  nlohmann::json config = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", true}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto spec = PreTokenizerFromJson(config);
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->byte_level);
  EXPECT_EQ(PreTokenize(config, "ab12c"), (Pieces{"ab", "1", "2", "c"}));
}

TEST(PreTokenizerTest, RejectsUnsupportedOrMalformedConfigs) {
  EXPECT_EQ(PreTokenizerFromJson({{"type", "Whitespace"}}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(PreTokenizerFromJson({{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreTokenizerFromJson({{"type", "Split"}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreTokenizerFromJson(SplitConfig("(", "Isolated")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PreTokenizerFromJson(SplitConfig("a", "Sideways")).status().code(),
            absl::StatusCode::kInvalidArgument);
  nlohmann::json byte_level_first = {
      {"type", "Sequence"},
      {"pretokenizers", {{{"type", "ByteLevel"}}, SplitConfig("a", "Isolated")}}};
  EXPECT_EQ(PreTokenizerFromJson(byte_level_first).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(PreTokenizerFromJson(nullptr).ok());
}

// Hugging Face's Metaspace: spaces become U+2581, one is prepended (always, or only to the piece
// that starts the text) unless present, and with split each marker starts a piece.
TEST(PreTokenizerTest, Metaspace) {
  const nlohmann::json always = {
      {"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "always"}};
  EXPECT_EQ(PreTokenize(always, "Hey  you"), (Pieces{"\u2581Hey", "\u2581", "\u2581you"}));
  EXPECT_EQ(PreTokenize(always, " Hey"), (Pieces{"\u2581Hey"}));
  nlohmann::json unsplit = always;
  unsplit["split"] = false;
  EXPECT_EQ(PreTokenize(unsplit, "Hey you"), (Pieces{"\u2581Hey\u2581you"}));
  nlohmann::json never = always;
  never["prepend_scheme"] = "never";
  EXPECT_EQ(PreTokenize(never, "Hey you"), (Pieces{"Hey", "\u2581you"}));
  // Legacy files: add_prefix_space false means never.
  EXPECT_EQ(PreTokenize({{"type", "Metaspace"}, {"add_prefix_space", false}}, "a b"),
            (Pieces{"a", "\u2581b"}));

  nlohmann::json first = always;
  first["prepend_scheme"] = "first";
  auto spec = PreTokenizerFromJson(first);
  ASSERT_TRUE(spec.ok());
  for (bool at_start : {true, false}) {
    PreTokenized pt;
    pt.at_text_start = at_start;
    pt.pieces = {"a", "b"};
    ASSERT_TRUE(spec->pre_tokenizer->Split(&pt).ok());
    EXPECT_EQ(Pieces(pt.pieces.begin(), pt.pieces.end()),
              at_start ? (Pieces{"\u2581a", "b"}) : (Pieces{"a", "b"}));
  }
}

TEST(PreTokenizerTest, LongWhitespaceRunsDoNotExhaustTheRegexEngine) {
  auto config = SplitConfig(kQwenPattern, "Isolated");
  std::string text = "a" + std::string(200000, ' ') + "b" + std::string(100000, '\n');
  Pieces pieces = PreTokenize(config, text);
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace flywheel::tokenizer
