#include "learner/training/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/base/status_macros.h"
#include "common/model/safetensors.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace fs = std::filesystem;
namespace {

constexpr char kStepPrefix[] = "step-";

absl::Status WriteFileAtomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    out.flush();
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Flushes a directory's entries (the renames in it) to disk.
void SyncDir(const fs::path& dir) {
  FILE* f = std::fopen(dir.c_str(), "r");
  if (f == nullptr) return;
  ::fsync(fileno(f));
  std::fclose(f);
}

std::string StateJson(const TrainerState& s) {
  nlohmann::json j = {{"step", s.step},
                      {"optimizer_step", s.optimizer_step},
                      {"data_cursor", s.data_cursor},
                      {"seed", s.seed}};
  if (s.eval_accuracy) j["eval_accuracy"] = *s.eval_accuracy;
  if (s.initial_eval_accuracy) j["initial_eval_accuracy"] = *s.initial_eval_accuracy;
  if (!s.solved_targets.empty()) j["solved_targets"] = s.solved_targets;
  return j.dump(2) + "\n";
}

absl::StatusOr<TrainerState> ParseState(const std::string& text, const std::string& where) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j["step"].is_number_integer() || !j["data_cursor"].is_number_integer() ||
      !j["optimizer_step"].is_number_integer() || !j["seed"].is_number_unsigned()) {
    return absl::DataLossError(absl::StrCat(where, ": not a trainer state"));
  }
  TrainerState s;
  s.step = j["step"].get<int64_t>();
  s.data_cursor = j["data_cursor"].get<int64_t>();
  s.optimizer_step = j["optimizer_step"].get<int64_t>();
  s.seed = j["seed"].get<uint64_t>();
  if (j.contains("eval_accuracy")) s.eval_accuracy = j["eval_accuracy"].get<double>();
  if (j.contains("initial_eval_accuracy")) {
    s.initial_eval_accuracy = j["initial_eval_accuracy"].get<double>();
  }
  if (j.contains("solved_targets")) {
    if (!j["solved_targets"].is_array()) {
      return absl::DataLossError(absl::StrCat(where, ": solved_targets is not a list"));
    }
    for (const auto& line : j["solved_targets"]) {
      if (!line.is_number_integer()) {
        return absl::DataLossError(absl::StrCat(where, ": solved_targets holds a non-integer"));
      }
      s.solved_targets.push_back(line.get<int64_t>());
    }
  }
  return s;
}

// Deletes step directories other than the newest `keep` (and stale temporaries).
void Prune(const fs::path& root, int keep) {
  std::vector<std::string> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::StartsWith(name, kStepPrefix) && e.is_directory()) steps.push_back(name);
    if (absl::StartsWith(name, ".tmp-")) fs::remove_all(e.path(), ec);
  }
  std::sort(steps.begin(), steps.end());  // Zero-padded, so this is step order.
  for (size_t i = 0; i + keep < steps.size(); ++i) fs::remove_all(root / steps[i], ec);
}

}  // namespace

absl::StatusOr<std::string> WriteCheckpoint(const std::string& root,
                                            const model::ModelConfig& config, const float* params,
                                            const std::vector<float>& adam_m,
                                            const std::vector<float>& adam_v,
                                            const TrainerState& state,
                                            const std::string& tokenizer_dir, int keep) {
  const fs::path root_path(root);
  std::error_code ec;
  fs::create_directories(root_path, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", root, ": ", ec.message()));
  const std::string name = absl::StrFormat("%s%06d", kStepPrefix, state.step);
  const fs::path tmp = root_path / absl::StrCat(".tmp-", name, "-", ::getpid());
  fs::remove_all(tmp, ec);
  RETURN_IF_ERROR(model::SaveModelDir(tmp.string(), config, params));
  const std::vector<int64_t> shape = {static_cast<int64_t>(adam_m.size())};
  RETURN_IF_ERROR(model::WriteSafetensors(
      (tmp / "optimizer.safetensors").string(),
      {{"adam.m", shape, adam_m.data()}, {"adam.v", shape, adam_v.data()}}));
  if (!tokenizer_dir.empty()) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
      const fs::path src = fs::path(tokenizer_dir) / f;
      if (!fs::exists(src)) continue;
      fs::copy_file(src, tmp / f, fs::copy_options::overwrite_existing, ec);
      if (ec)
        return absl::InternalError(absl::StrCat("cannot copy ", src.string(), ": ", ec.message()));
    }
  }
  RETURN_IF_ERROR(WriteFileAtomic(tmp / "trainer_state.json", StateJson(state)));
  SyncDir(tmp);
  const fs::path final_dir = root_path / name;
  if (fs::exists(final_dir)) {
    // A resumed run redoing this step: the old directory goes once the new one is complete.
    const fs::path old = root_path / absl::StrCat(".tmp-old-", name, "-", ::getpid());
    fs::rename(final_dir, old, ec);
    if (ec)
      return absl::InternalError(
          absl::StrCat("cannot move ", final_dir.string(), ": ", ec.message()));
    fs::remove_all(old, ec);
  }
  fs::rename(tmp, final_dir, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  SyncDir(root_path);
  RETURN_IF_ERROR(WriteFileAtomic(root_path / "latest", name + "\n"));
  SyncDir(root_path);
  Prune(root_path, std::max(keep, 1));
  return final_dir.string();
}

absl::StatusOr<TrainerState> ReadTrainerState(const std::string& dir) {
  auto text = ReadFile(fs::path(dir) / "trainer_state.json");
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("no trainer_state.json in ", dir));
  return ParseState(*text, dir);
}

absl::StatusOr<std::string> LatestCheckpointDir(const std::string& root) {
  const fs::path root_path(root);
  auto latest = ReadFile(root_path / "latest");
  if (!latest.ok()) return absl::NotFoundError(absl::StrCat("no checkpoint under ", root));
  return (root_path / std::string(absl::StripAsciiWhitespace(*latest))).string();
}

absl::StatusOr<CheckpointContents> LoadLatestCheckpoint(const std::string& root) {
  CheckpointContents c;
  ASSIGN_OR_RETURN(c.dir, LatestCheckpointDir(root));
  auto bad = [&](const absl::Status& s) {
    return absl::DataLossError(absl::StrCat("checkpoint ", c.dir, ": ", s.message()));
  };
  auto weights = model::LoadModelDir(c.dir);
  if (!weights.ok()) return bad(weights.status());
  c.weights = std::move(*weights);
  auto opt = model::SafetensorsFile::Open((fs::path(c.dir) / "optimizer.safetensors").string());
  if (!opt.ok()) return bad(opt.status());
  const std::vector<int64_t> shape = {static_cast<int64_t>(c.weights.params.size())};
  c.adam_m.resize(c.weights.params.size());
  c.adam_v.resize(c.weights.params.size());
  if (auto s = (*opt)->ReadFloat("adam.m", shape, c.adam_m.data()); !s.ok()) return bad(s);
  if (auto s = (*opt)->ReadFloat("adam.v", shape, c.adam_v.data()); !s.ok()) return bad(s);
  auto state = ReadTrainerState(c.dir);
  if (!state.ok()) return absl::IsNotFound(state.status()) ? bad(state.status()) : state.status();
  c.state = *state;
  return c;
}

}  // namespace flywheel::learner
