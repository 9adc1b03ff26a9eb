// Writes the byte-level tokenizer files.
#include "common/tokenizer/byte_level_tokenizer.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/byte_level.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

using nlohmann::json;

json AddedTokenJson(int32_t id, const char* content) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

absl::Status WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path.string()));
  return absl::OkStatus();
}

}  // namespace

std::string ByteLevelTokenizerJson() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) {
    vocab[BytesToByteLevel(std::string(1, static_cast<char>(b)))] = b;
  }
  json byte_level = {{"type", "ByteLevel"},
                     {"add_prefix_space", false},
                     {"trim_offsets", false},
                     {"use_regex", false}};
  json j = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       {AddedTokenJson(kByteLevelEndOfText, "<|endoftext|>"),
        AddedTokenJson(kByteLevelImStart, "<|im_start|>"),
        AddedTokenJson(kByteLevelImEnd, "<|im_end|>")}},
      {"normalizer", nullptr},
      // With no merges every byte is its own token, so no regex split is needed.
      {"pre_tokenizer", byte_level},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", json::array()}}},
  };
  return j.dump(2);
}

std::string ByteLevelTokenizerConfigJson() {
  json j = {
      {"tokenizer_class", "PreTrainedTokenizerFast"},
      {"bos_token", nullptr},
      {"eos_token", "<|im_end|>"},
      {"pad_token", "<|endoftext|>"},
      {"unk_token", nullptr},
      {"add_bos_token", false},
      {"clean_up_tokenization_spaces", false},
      {"model_max_length", 1 << 20},
      {"chat_template",
       "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
       "message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt "
       "%}{{ '<|im_start|>assistant\\n' }}{% endif %}"},
  };
  return j.dump(2);
}

absl::Status WriteByteLevelTokenizer(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  std::filesystem::path d(dir);
  RETURN_IF_ERROR(WriteFile(d / "tokenizer.json", ByteLevelTokenizerJson() + "\n"));
  return WriteFile(d / "tokenizer_config.json", ByteLevelTokenizerConfigJson() + "\n");
}

}  // namespace flywheel::tokenizer
