// Reads tokenizer.json and tokenizer_config.json into TokenizerParts. Every field is checked
// before use so that a malformed file yields a Status naming the field, never a crash; the
// nlohmann exception handler at the end is a backstop for shapes the checks did not foresee.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "common/tokenizer/tokenizer.h"
#include "common/tokenizer/utf8.h"
#include "nlohmann/json.hpp"

namespace flywheel::tokenizer {
namespace {

using nlohmann::json;

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path.string()));
  return ss.str();
}

absl::StatusOr<json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), ": not valid JSON: ", e.what()));
  }
}

// A member that may be absent; absent and null both read as null.
const json& Member(const json& obj, const char* key) {
  static const json* const null_json = new json(nullptr);
  auto it = obj.find(key);
  return it == obj.end() ? *null_json : *it;
}

absl::StatusOr<bool> OptionalBool(const json& obj, const char* key, bool fallback,
                                  std::string_view where) {
  const json& v = Member(obj, key);
  if (v.is_null()) return fallback;
  if (!v.is_boolean()) {
    return absl::InvalidArgumentError(
        absl::StrCat(AbslView(where), ".", key, " must be a boolean"));
  }
  return v.get<bool>();
}

absl::StatusOr<std::pair<std::string, std::string>> ParseMerge(const json& m, size_t i) {
  if (m.is_string()) {
    // "a b": exactly one space, since byte-level tokens never contain one.
    const std::string& s = m.get_ref<const std::string&>();
    size_t space = s.find(' ');
    if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("model.merges[", i, "] '", s, "' is not two tokens separated by a space"));
    }
    return std::make_pair(s.substr(0, space), s.substr(space + 1));
  }
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
    return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("model.merges[", i, "] must be \"a b\" or [\"a\", \"b\"]"));
}

absl::StatusOr<std::unique_ptr<BpeModel>> ParseBpeModel(const json& model, bool byte_level) {
  if (!model.is_object()) return absl::InvalidArgumentError("tokenizer.json: missing \"model\"");
  const json& type = Member(model, "type");
  if (!type.is_null() && !type.is_string()) {
    return absl::InvalidArgumentError("model.type must be a string");
  }
  // Older files omit the type; Hugging Face then recognizes BPE by its merges.
  if (type.is_null() ? !model.contains("merges") : type.get<std::string>() != "BPE") {
    return absl::UnimplementedError(
        absl::StrCat("model type '", type.is_null() ? "(none)" : type.get<std::string>(),
                     "' is not supported (flywheel supports BPE)"));
  }
  const json& dropout = Member(model, "dropout");
  if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0.0)) {
    return absl::UnimplementedError("model.dropout: BPE dropout is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json& v = Member(model, key);
    if (!v.is_null() && !(v.is_string() && v.get_ref<const std::string&>().empty())) {
      return absl::UnimplementedError(absl::StrCat("model.", key, " is not supported"));
    }
  }

  const json& vocab_json = Member(model, "vocab");
  if (!vocab_json.is_object()) return absl::InvalidArgumentError("model.vocab must be an object");
  std::vector<std::pair<std::string, int32_t>> vocab;
  vocab.reserve(vocab_json.size());
  for (auto it = vocab_json.begin(); it != vocab_json.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > BpeModel::kMaxId) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model.vocab['", it.key(), "'] must be an integer id in [0, ", BpeModel::kMaxId, "]"));
    }
    vocab.emplace_back(it.key(), static_cast<int32_t>(it.value().get<int64_t>()));
  }

  const json& merges_json = Member(model, "merges");
  if (!merges_json.is_null() && !merges_json.is_array()) {
    return absl::InvalidArgumentError("model.merges must be an array");
  }
  std::vector<std::pair<std::string, std::string>> merges;
  if (merges_json.is_array()) {
    merges.reserve(merges_json.size());
    for (size_t i = 0; i < merges_json.size(); ++i) {
      ASSIGN_OR_RETURN(auto merge, ParseMerge(merges_json[i], i));
      merges.push_back(std::move(merge));
    }
  }

  BpeOptions options;
  options.byte_level = byte_level;
  ASSIGN_OR_RETURN(options.ignore_merges, OptionalBool(model, "ignore_merges", false, "model"));
  ASSIGN_OR_RETURN(options.byte_fallback, OptionalBool(model, "byte_fallback", false, "model"));
  ASSIGN_OR_RETURN(options.fuse_unk, OptionalBool(model, "fuse_unk", false, "model"));
  const json& unk = Member(model, "unk_token");
  if (unk.is_string()) {
    options.unk_token = unk.get<std::string>();
  } else if (!unk.is_null()) {
    return absl::InvalidArgumentError("model.unk_token must be a string or null");
  }
  return BpeModel::Create(vocab, merges, std::move(options));
}

absl::StatusOr<std::vector<AddedToken>> ParseAddedTokens(const json& j) {
  std::vector<AddedToken> out;
  if (j.is_null()) return out;
  if (!j.is_array()) return absl::InvalidArgumentError("added_tokens must be an array");
  for (size_t i = 0; i < j.size(); ++i) {
    const json& t = j[i];
    std::string where = absl::StrCat("added_tokens[", i, "]");
    if (!t.is_object() || !Member(t, "content").is_string() ||
        !Member(t, "id").is_number_integer()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " needs a string \"content\" and an integer \"id\""));
    }
    AddedToken token;
    token.content = t["content"].get<std::string>();
    int64_t id = t["id"].get<int64_t>();
    token.id = id < 0 || id > BpeModel::kMaxId ? -1 : static_cast<int32_t>(id);
    ASSIGN_OR_RETURN(token.special, OptionalBool(t, "special", false, where));
    ASSIGN_OR_RETURN(token.lstrip, OptionalBool(t, "lstrip", false, where));
    ASSIGN_OR_RETURN(token.rstrip, OptionalBool(t, "rstrip", false, where));
    ASSIGN_OR_RETURN(token.single_word, OptionalBool(t, "single_word", false, where));
    // Hugging Face defaults "normalized" to the opposite of "special".
    ASSIGN_OR_RETURN(token.normalized, OptionalBool(t, "normalized", !token.special, where));
    out.push_back(std::move(token));
  }
  return out;
}

// eos_token and friends are a string, an AddedToken-like object with "content", or null.
absl::StatusOr<std::optional<std::string>> TokenName(const json& config, const char* key) {
  const json& v = Member(config, key);
  if (v.is_null()) return std::optional<std::string>();
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object() && Member(v, "content").is_string()) {
    return std::optional<std::string>(v["content"].get<std::string>());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("tokenizer_config.json: ", key, " must be a string or {\"content\": ...}"));
}

absl::Status ParseConfig(std::string_view text, TokenizerParts* parts) {
  ASSIGN_OR_RETURN(json config, ParseJson(text, "tokenizer_config.json"));
  if (!config.is_object()) {
    return absl::InvalidArgumentError("tokenizer_config.json: expected an object");
  }
  ASSIGN_OR_RETURN(parts->chat_template, ChatTemplateSource(config));
  parts->chat_template_special_tokens = ChatTemplateSpecialTokens(config);
  ASSIGN_OR_RETURN(parts->eos_token, TokenName(config, "eos_token"));
  ASSIGN_OR_RETURN(parts->bos_token, TokenName(config, "bos_token"));
  ASSIGN_OR_RETURN(parts->pad_token, TokenName(config, "pad_token"));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Load(std::string_view tokenizer_json,
                                                std::string_view config_json) {
  ASSIGN_OR_RETURN(json j, ParseJson(tokenizer_json, "tokenizer.json"));
  if (!j.is_object()) return absl::InvalidArgumentError("tokenizer.json: expected an object");
  TokenizerParts parts;
  ASSIGN_OR_RETURN(parts.normalizer, NormalizerFromJson(Member(j, "normalizer")));
  ASSIGN_OR_RETURN(parts.pre_tokenizer, PreTokenizerFromJson(Member(j, "pre_tokenizer")));
  ASSIGN_OR_RETURN(parts.decoder, DecoderFromJson(Member(j, "decoder")));
  ASSIGN_OR_RETURN(parts.model, ParseBpeModel(Member(j, "model"), parts.pre_tokenizer.byte_level));
  ASSIGN_OR_RETURN(parts.added_tokens, ParseAddedTokens(Member(j, "added_tokens")));
  for (const AddedToken& t : parts.added_tokens) {
    if (t.id < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("added token '", t.content, "' has an out-of-range id"));
    }
  }
  // post_processor only matters for add_special_tokens (BOS / EOS), which flywheel leaves to
  // chat templates and callers; truncation and padding are likewise the caller's business.
  if (!config_json.empty()) RETURN_IF_ERROR(ParseConfig(config_json, &parts));
  return Tokenizer::FromParts(std::move(parts));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view tokenizer_json,
                                                               std::string_view config_json) {
  try {
    return Load(tokenizer_json, config_json);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("tokenizer.json: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path file = path;
  if (fs::is_directory(file, ec)) file /= "tokenizer.json";
  if (!fs::exists(file, ec)) {
    return absl::NotFoundError(absl::StrCat("no tokenizer.json at ", file.string()));
  }
  ASSIGN_OR_RETURN(std::string tokenizer_json, ReadFile(file));
  fs::path config = file.parent_path() / "tokenizer_config.json";
  std::string config_json;
  if (fs::exists(config, ec)) {
    ASSIGN_OR_RETURN(config_json, ReadFile(config));
  }
  auto tok = FromJson(tokenizer_json, config_json);
  if (!tok.ok()) {
    return absl::Status(tok.status().code(),
                        absl::StrCat(file.string(), ": ", tok.status().message()));
  }
  return tok;
}

}  // namespace flywheel::tokenizer
