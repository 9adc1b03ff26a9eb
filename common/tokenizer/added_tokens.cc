// A byte trie over the added tokens; a 256-entry first-byte table lets the scan skip ordinary
// text quickly (Qwen's 26 added tokens all start with '<').
#include "common/tokenizer/added_tokens.h"

#include <utf8proc.h>

#include <algorithm>

#include "common/tokenizer/utf8.h"

namespace flywheel::tokenizer {
namespace {

// Rust's char::is_alphanumeric (letters and numbers), which decides single_word boundaries.
bool IsWordChar(char32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// Start of the code point that ends at text[end-1].
size_t PreviousCodePointStart(std::string_view text, size_t end) {
  size_t p = end - 1;
  while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  return p;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  nodes_.emplace_back();
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    int32_t node = 0;
    for (unsigned char b : t.content) {
      int32_t child = Child(node, b);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& kids = nodes_[node].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(b, int32_t{0})),
                    {b, child});
      }
      node = child;
    }
    // A content listed twice keeps its first entry.
    if (nodes_[node].token < 0) {
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(t);
      first_byte_[static_cast<unsigned char>(t.content[0])] = true;
    }
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, unsigned char b) const {
  for (const auto& [byte, child] : nodes_[node].children) {
    if (byte == b) return child;
  }
  return -1;
}

int32_t AddedTokenMatcher::LongestAt(std::string_view text, size_t pos, size_t* len) const {
  int32_t node = 0, best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    node = Child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    if (nodes_[node].token >= 0) {
      best = nodes_[node].token;
      *len = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<TextSegment>* out) const {
  size_t emitted = 0;  // text before this offset is already in *out
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = 0;
    int32_t t =
        first_byte_[static_cast<unsigned char>(text[pos])] ? LongestAt(text, pos, &len) : -1;
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[t];
    size_t start = pos, stop = pos + len;
    if (token.single_word) {
      bool word_before = false, word_after = false;
      if (start > 0) {
        size_t p = PreviousCodePointStart(text, start);
        word_before = IsWordChar(NextCodePoint(text, &p));
      }
      if (stop < text.size()) {
        size_t p = stop;
        word_after = IsWordChar(NextCodePoint(text, &p));
      }
      if (word_before || word_after) {
        // Like a non-overlapping match iterator, the search resumes after the rejected match.
        pos = stop;
        continue;
      }
    }
    if (token.lstrip) {
      while (start > emitted) {
        size_t p = PreviousCodePointStart(text, start), q = p;
        if (!IsUnicodeWhitespace(NextCodePoint(text, &q))) break;
        start = p;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!IsUnicodeWhitespace(NextCodePoint(text, &q))) break;
        stop = q;
      }
    }
    if (start > emitted) out->push_back({emitted, start, -1});
    out->push_back({start, stop, token.id});
    emitted = pos = stop;
  }
  if (emitted < text.size()) out->push_back({emitted, text.size(), -1});
}

}  // namespace flywheel::tokenizer
