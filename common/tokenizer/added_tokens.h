// Added tokens (tokenizer.json's "added_tokens"): strings such as <|im_start|> that are cut out
// of the text before normalization and pre-tokenization and map straight to their id. Matching
// is leftmost-longest, as Hugging Face's Aho-Corasick pass; lstrip / rstrip let a token absorb
// neighbouring whitespace and single_word rejects matches inside a word.
//
// Thread safety: immutable after construction; any thread may call Split.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flywheel::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;      // control token (skipped by Decode when asked to skip specials)
  bool lstrip = false;       // absorbs whitespace on its left
  bool rstrip = false;       // absorbs whitespace on its right
  bool single_word = false;  // only matches between non-word characters
  bool normalized = false;   // matched in normalized text rather than in the raw input
};

// One piece of a split: plain text, or an added token (id >= 0) with the text it consumed.
struct TextSegment {
  size_t begin, end;
  int32_t id;  // -1 for plain text
};

class AddedTokenMatcher {
 public:
  // Builds a matcher for `tokens` (empty contents are ignored).
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  bool empty() const { return nodes_.size() <= 1; }

  // Splits valid UTF-8 `text` into plain-text segments and token matches, covering `text` in
  // order. Appends to *out.
  void Split(std::string_view text, std::vector<TextSegment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;  // index into tokens_ when a token ends here
  };
  int32_t Child(int32_t node, unsigned char b) const;
  // Longest token starting at text[pos], or -1.
  int32_t LongestAt(std::string_view text, size_t pos, size_t* len) const;

  std::vector<AddedToken> tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace flywheel::tokenizer
