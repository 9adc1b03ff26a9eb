// Bad input never crashes: truncated and malformed tokenizer.json, unsupported types, merges
// outside the vocabulary, invalid UTF-8, and fuzzed bytes all come back as a Status.
#include <random>
#include <string>
#include <vector>

#include "common/tokenizer/byte_level_tokenizer.h"
#include "common/tokenizer/tokenizer.h"
#include "gtest/gtest.h"
#include "tests/tokenizer/small_tokenizer.h"

namespace flywheel::tokenizer {
namespace {

using nlohmann::json;

absl::StatusCode LoadCode(const std::string& text) {
  return Tokenizer::FromJson(text).status().code();
}

bool Mentions(const absl::Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

TEST(BadInputTest, TruncatedFilesAreRejected) {
  const std::string full = testing::SmallTokenizerJson().dump();
  ASSERT_EQ(LoadCode(full), absl::StatusCode::kOk);
  for (size_t len = 0; len < full.size(); len += 7) {
    auto status = Tokenizer::FromJson(full.substr(0, len)).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << "length " << len;
    EXPECT_TRUE(Mentions(status, "not valid JSON")) << status;
  }
}

TEST(BadInputTest, MalformedStructureIsRejected) {
  for (const char* text : {"", "null", "[]", "42", "{}", R"({"model": 5})",
                           R"({"model": {"type": "BPE", "vocab": []}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": "zero"}}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 1e30}}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": "a b"}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b c"]}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": {}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}},
                               "added_tokens": [{"id": 1}]})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}},
                               "added_tokens": [{"id": 0, "content": "b"}]})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "normalizer": 3})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "unk_token": 3}})"}) {
    EXPECT_EQ(LoadCode(text), absl::StatusCode::kInvalidArgument) << text;
  }
}

TEST(BadInputTest, UnsupportedTypesNameThemselves) {
  json j = testing::SmallTokenizerJson();
  j["model"]["type"] = "WordPiece";
  auto status = Tokenizer::FromJson(j.dump()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_TRUE(Mentions(status, "model type 'WordPiece'")) << status;

  j = testing::SmallTokenizerJson();
  j["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_TRUE(Mentions(Tokenizer::FromJson(j.dump()).status(), "'Lowercase'"));
  j = testing::SmallTokenizerJson();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_EQ(LoadCode(j.dump()), absl::StatusCode::kUnimplemented);
  j = testing::SmallTokenizerJson();
  j["model"]["dropout"] = 0.1;
  EXPECT_EQ(LoadCode(j.dump()), absl::StatusCode::kUnimplemented);
}

TEST(BadInputTest, MergesNamingUnknownTokensAreRejected) {
  json j = testing::SmallTokenizerJson();
  j["model"]["merges"].push_back("xyz q");
  auto status = Tokenizer::FromJson(j.dump()).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(status, "'xyz' is not in the vocab")) << status;

  j = testing::SmallTokenizerJson(/*pair_merges=*/true);
  j["model"]["merges"].push_back({"h", "nope"});
  EXPECT_TRUE(Mentions(Tokenizer::FromJson(j.dump()).status(), "'nope' is not in the vocab"));
}

TEST(BadInputTest, InconsistentIdsAreRejected) {
  json j = testing::SmallTokenizerJson();
  j["added_tokens"].push_back(
      {{"id", 300}, {"content", "<other>"}, {"special", true}, {"normalized", false}});
  EXPECT_EQ(LoadCode(j.dump()), absl::StatusCode::kInvalidArgument);
  j = testing::SmallTokenizerJson();
  j["added_tokens"].push_back({{"id", 65}, {"content", "<clash>"}});  // 65 is "A"
  EXPECT_EQ(LoadCode(j.dump()), absl::StatusCode::kInvalidArgument);
}

TEST(BadInputTest, InvalidUtf8IsRejectedByEncode) {
  auto tok = Tokenizer::FromJson(testing::SmallTokenizerJson().dump());
  ASSERT_TRUE(tok.ok());
  for (const char* bad :
       {"\xFF", "hello \xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "<|end|>\x80"}) {
    auto ids = (*tok)->Encode(bad);
    EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_TRUE(Mentions(ids.status(), "invalid UTF-8")) << ids.status();
    EXPECT_FALSE((*tok)->EncodeOrdinary(bad).ok());
  }
}

TEST(BadInputTest, FuzzEncodeWithRandomBytes) {
  std::mt19937 rng(2024);
  auto small = Tokenizer::FromJson(testing::SmallTokenizerJson().dump());
  auto bytes = Tokenizer::FromJson(ByteLevelTokenizerJson());
  ASSERT_TRUE(small.ok() && bytes.ok());
  // Half the inputs are random bytes (nearly always invalid UTF-8); half are strings of whole
  // characters and token fragments (valid), so both the rejecting and accepting paths run.
  const std::vector<std::string> pieces = {"<|end|>",
                                           "<sep>",
                                           "[w]",
                                           "<|",
                                           " ",
                                           "\n",
                                           "\t",
                                           "hello",
                                           "l",
                                           "\xC3\xA9",
                                           "e\xCC\x81",
                                           "\xE4\xB8\xAD",
                                           "\xF0\x9F\x98\x80",
                                           "\r\n",
                                           "'s",
                                           "42"};
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    if (i % 2 == 0) {
      for (int n = rng() % 24; n > 0; --n) text += pieces[rng() % pieces.size()];
    } else {
      text.resize(rng() % 64);
      for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    }
    for (const Tokenizer* tok : {small->get(), bytes->get()}) {
      auto ids = tok->Encode(text);
      if (!ids.ok()) {
        EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
        continue;
      }
      ++accepted;
      auto decoded = tok->Decode(*ids);
      ASSERT_TRUE(decoded.ok());
      if (tok == bytes->get()) {
        EXPECT_EQ(*decoded, text);  // no normalizer there
      }
    }
  }
  EXPECT_GT(accepted, 500);
}

TEST(BadInputTest, FuzzLoaderWithRandomAndMutatedJson) {
  std::mt19937 rng(77);
  const std::string valid = testing::SmallTokenizerJson().dump();
  int loaded = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string text;
    if (i % 3 == 0) {
      text.resize(rng() % 200);
      for (char& c : text) c = static_cast<char>(rng() & 0xFF);
    } else {
      // A few random edits of a valid file: most break it, some keep it loadable.
      text = valid;
      for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0; --edits) {
        size_t pos = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[pos] = "{}[]\",:0123456789 abtnul\\"[rng() % 26];
            break;
          case 1:
            text.erase(pos, 1 + rng() % 8);
            break;
          default:
            text.insert(pos, 1, static_cast<char>(rng() & 0xFF));
            break;
        }
      }
    }
    auto tok = Tokenizer::FromJson(text);
    if (tok.ok()) {
      ++loaded;
      // A mutation may have dropped a byte token: encoding then fails cleanly, naming it.
      auto ids = (*tok)->Encode("hello world <|end|>");
      if (!ids.ok()) {
        EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
      }
    } else {
      EXPECT_FALSE(tok.status().message().empty());
    }
  }
  EXPECT_GT(loaded, 0);  // some mutations (e.g. inside a token string) leave a valid file
}

}  // namespace
}  // namespace flywheel::tokenizer
