// JSONL dataset loading; see dataset.h.
#include "learner/jobs/dataset.h"

#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/tokenizer/chat_template.h"
#include "nlohmann/json.hpp"
#include "reward/task_spec.h"

namespace flywheel::learner {
namespace {

using nlohmann::json;

absl::StatusOr<std::string> RenderMessages(
    const json& messages,
    const absl::StatusOr<std::unique_ptr<tokenizer::ChatTemplate>>& chat_template) {
  if (!messages.is_array() || messages.empty()) {
    return absl::InvalidArgumentError("\"messages\" must be a non-empty array");
  }
  std::vector<tokenizer::ChatMessage> chat;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content") ||
        !m["content"].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages[", i, "] must be an object with string \"role\" and \"content\""));
    }
    chat.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  if (!chat_template.ok()) return chat_template.status();
  tokenizer::ChatTemplateOptions options;
  options.add_generation_prompt = true;
  auto text = (*chat_template)->Render(chat, options);
  if (!text.ok())
    return absl::InvalidArgumentError(absl::StrCat("messages: ", text.status().message()));
  return text;
}

// One line to a row, or what is wrong with it.
absl::StatusOr<DatasetRow> ParseRow(
    std::string_view text, const DatasetNeeds& needs,
    const absl::StatusOr<std::unique_ptr<tokenizer::ChatTemplate>>& chat_template) {
  json row = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (row.is_discarded()) return absl::InvalidArgumentError("malformed JSON");
  if (!row.is_object()) return absl::InvalidArgumentError("a row must be a JSON object");

  DatasetRow out;
  if (row.contains("prompt")) {
    if (!row["prompt"].is_string())
      return absl::InvalidArgumentError("\"prompt\" must be a string");
    out.prompt = row["prompt"].get<std::string>();
  } else if (row.contains("messages")) {
    auto rendered = RenderMessages(row["messages"], chat_template);
    if (!rendered.ok()) return rendered.status();
    out.prompt = *std::move(rendered);
  } else {
    return absl::InvalidArgumentError("missing \"prompt\" or \"messages\"");
  }
  if (out.prompt.empty()) return absl::InvalidArgumentError("empty prompt");

  if (row.contains("answer")) {
    if (!row["answer"].is_string())
      return absl::InvalidArgumentError("\"answer\" must be a string");
    out.answer = row["answer"].get<std::string>();
  } else if (needs.answer) {
    return absl::InvalidArgumentError("missing \"answer\"");
  }

  if (row.contains("privileged")) {
    if (!row["privileged"].is_string() || row["privileged"].get<std::string>().empty()) {
      return absl::InvalidArgumentError("\"privileged\" must be a non-empty string");
    }
    out.privileged = row["privileged"].get<std::string>();
  } else if (needs.privileged) {
    return absl::InvalidArgumentError(
        "missing \"privileged\" (distill.teacher \"self\" scores with it in context)");
  }

  if (row.contains("problem")) {
    if (!row["problem"].is_string() || row["problem"].get<std::string>().empty()) {
      return absl::InvalidArgumentError("\"problem\" must be a non-empty string");
    }
    out.problem = row["problem"].get<std::string>();
  } else if (needs.problem) {
    return absl::InvalidArgumentError(
        "missing \"problem\" (self-play writes conjectures for it; see flywheel gen-task expr)");
  }

  if (row.contains("task") && !row["task"].is_null()) {
    json task = row["task"];
    if (task.is_object() && !task.contains("gold") && row.contains("answer")) {
      task["gold"] = out.answer;
    }
    auto spec = reward::ParseTaskSpec(task);
    if (!spec.ok())
      return absl::InvalidArgumentError(absl::StrCat("task: ", spec.status().message()));
    out.task_json = task.dump();
  } else if (needs.task) {
    return absl::InvalidArgumentError("missing \"task\"");
  }
  return out;
}

}  // namespace

std::vector<DatasetRow> LoadDataset(const std::string& path, const DatasetNeeds& needs,
                                    std::vector<std::string>* problems) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    problems->push_back(absl::StrCat(path, ": is a directory, not a JSONL file"));
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems->push_back(absl::StrCat(path, ": cannot read the file"));
    return {};
  }
  // Resolved once; only "messages" rows need it, and they report it if it is bad.
  const absl::StatusOr<std::unique_ptr<tokenizer::ChatTemplate>> chat_template =
      tokenizer::ChatTemplate::ForJobSpec(needs.chat_template, needs.model_dir);

  std::vector<DatasetRow> rows;
  size_t bad = 0;
  int64_t line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    const std::string_view text(stripped.data(), stripped.size());
    if (text.empty()) continue;
    auto row = ParseRow(text, needs, chat_template);
    if (!row.ok()) {
      if (bad < needs.max_problems) {
        problems->push_back(absl::StrCat(path, ":", line_no, ": ", row.status().message()));
      }
      ++bad;
      continue;
    }
    row->line = line_no;
    rows.push_back(*std::move(row));
  }
  if (in.bad()) {
    problems->push_back(absl::StrCat(path, ": read error after line ", line_no));
    return {};
  }
  if (bad > needs.max_problems) {
    problems->push_back(absl::StrCat(path, ": ", bad - needs.max_problems, " more bad lines"));
  }
  if (rows.empty()) problems->push_back(absl::StrCat(path, ": no usable rows"));
  return rows;
}

}  // namespace flywheel::learner
