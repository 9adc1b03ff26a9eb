#include "learner/training/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/base/status_macros.h"
#include "common/model/safetensors.h"
#include "learner/training/checksum_manifest.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace fs = std::filesystem;
namespace {

constexpr char kStepPrefix[] = "step-";
constexpr char kAsyncPoliciesFile[] = "async_policies.safetensors";

// Writes `text` to path + ".tmp", fsyncs it and renames it over `path`. ResourceExhausted for a
// full disk or a file-size limit.
absl::Status WriteFileAtomic(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  FILE* out = std::fopen(tmp.c_str(), "wb");
  int err = out == nullptr ? errno : 0;
  if (out != nullptr) {
    if (std::fwrite(text.data(), 1, text.size(), out) != text.size() || std::fflush(out) != 0 ||
        ::fsync(fileno(out)) != 0) {
      err = errno;
    }
    if (std::fclose(out) != 0 && err == 0) err = errno;
  }
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    std::remove(tmp.c_str());
    const std::string why = absl::StrCat("cannot write ", path.string(), ": ", std::strerror(err));
    if (err == ENOSPC || err == EFBIG || err == EDQUOT) return absl::ResourceExhaustedError(why);
    return absl::InternalError(why);
  }
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

// The step directories under root ("step-000020"), oldest first (the names are zero-padded).
std::vector<std::string> StepDirs(const fs::path& root) {
  std::vector<std::string> steps;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    const std::string name = e.path().filename().string();
    if (absl::StartsWith(name, kStepPrefix) && e.is_directory()) steps.push_back(name);
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

// Deletes step directories other than the newest `keep` (and stale temporaries).
void Prune(const fs::path& root, int keep) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec)) {
    if (absl::StartsWith(e.path().filename().string(), ".tmp-")) fs::remove_all(e.path(), ec);
  }
  const std::vector<std::string> steps = StepDirs(root);
  for (size_t i = 0; i + keep < steps.size(); ++i) fs::remove_all(root / steps[i], ec);
}

std::string PolicyTensorName(int64_t step) { return absl::StrFormat("policy.step-%06d", step); }

// Every file of a checkpoint into `dir`, the checksum manifest last.
absl::Status WriteStepDir(const fs::path& dir, const model::ModelConfig& config,
                          const float* params, const std::vector<float>& adam_m,
                          const std::vector<float>& adam_v, const TrainerState& state,
                          const std::string& tokenizer_dir,
                          const std::map<int64_t, const float*>& earlier_policies) {
  RETURN_IF_ERROR(model::SaveModelDir(dir.string(), config, params));
  std::vector<std::string> files = {"config.json", "model.safetensors", "optimizer.safetensors",
                                    "trainer_state.json"};
  const std::vector<int64_t> shape = {static_cast<int64_t>(adam_m.size())};
  RETURN_IF_ERROR(model::WriteSafetensors(
      (dir / "optimizer.safetensors").string(),
      {{"adam.m", shape, adam_m.data()}, {"adam.v", shape, adam_v.data()}}));
  if (!earlier_policies.empty()) {
    std::vector<model::NamedTensor> tensors;
    for (const auto& [step, p] : earlier_policies)
      tensors.push_back({PolicyTensorName(step), shape, p});
    RETURN_IF_ERROR(model::WriteSafetensors((dir / kAsyncPoliciesFile).string(), tensors));
    files.push_back(kAsyncPoliciesFile);
  }
  if (!tokenizer_dir.empty()) {
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
      const fs::path src = fs::path(tokenizer_dir) / f;
      if (!fs::exists(src)) continue;
      std::error_code ec;
      fs::copy_file(src, dir / f, fs::copy_options::overwrite_existing, ec);
      if (ec)
        return absl::InternalError(absl::StrCat("cannot copy ", src.string(), ": ", ec.message()));
      files.push_back(f);
    }
  }
  RETURN_IF_ERROR(WriteFileAtomic(dir / "trainer_state.json", StateJson(state)));
  RETURN_IF_ERROR(WriteChecksumManifest(dir.string(), files));
  SyncDir(dir);
  return absl::OkStatus();
}

// One checkpoint directory, its checksums verified first (a directory without a manifest is an
// older checkpoint and loads unverified).
absl::StatusOr<CheckpointContents> LoadStepDir(const fs::path& dir) {
  if (absl::Status s = VerifyChecksumManifest(dir.string()); !s.ok() && !absl::IsNotFound(s)) {
    return s;
  }
  CheckpointContents c;
  c.dir = dir.string();
  ASSIGN_OR_RETURN(c.weights, model::LoadModelDir(c.dir));
  ASSIGN_OR_RETURN(auto opt,
                   model::SafetensorsFile::Open((dir / "optimizer.safetensors").string()));
  const std::vector<int64_t> shape = {static_cast<int64_t>(c.weights.params.size())};
  c.adam_m.resize(c.weights.params.size());
  c.adam_v.resize(c.weights.params.size());
  RETURN_IF_ERROR(opt->ReadFloat("adam.m", shape, c.adam_m.data()));
  RETURN_IF_ERROR(opt->ReadFloat("adam.v", shape, c.adam_v.data()));
  ASSIGN_OR_RETURN(c.state, ReadTrainerState(c.dir));
  if (fs::exists(dir / kAsyncPoliciesFile)) {
    ASSIGN_OR_RETURN(auto policies,
                     model::SafetensorsFile::Open((dir / kAsyncPoliciesFile).string()));
    for (const auto& [tensor, entry] : policies->tensors()) {
      int64_t step = -1;
      if (!absl::SimpleAtoi(absl::StripPrefix(tensor, "policy.step-"), &step) ||
          tensor != PolicyTensorName(step)) {
        return absl::DataLossError(
            absl::StrCat(kAsyncPoliciesFile, ": unexpected tensor ", tensor));
      }
      std::vector<float>& p = c.earlier_policies[step];
      p.resize(c.weights.params.size());
      RETURN_IF_ERROR(policies->ReadFloat(tensor, shape, p.data()));
    }
  }
  return c;
}

}  // namespace

absl::StatusOr<std::string> WriteCheckpoint(
    const std::string& root, const model::ModelConfig& config, const float* params,
    const std::vector<float>& adam_m, const std::vector<float>& adam_v, const TrainerState& state,
    const std::string& tokenizer_dir, const std::map<int64_t, const float*>& earlier_policies,
    int keep) {
  const fs::path root_path(root);
  std::error_code ec;
  fs::create_directories(root_path, ec);
  if (ec)
    return absl::PermissionDeniedError(absl::StrCat("cannot create ", root, ": ", ec.message()));
  const std::string name = absl::StrFormat("%s%06d", kStepPrefix, state.step);
  const fs::path tmp = root_path / absl::StrCat(".tmp-", name, "-", ::getpid());
  fs::remove_all(tmp, ec);
  // Whatever fails below, a partial directory must not stay behind to fill a full disk further.
  absl::Status written =
      WriteStepDir(tmp, config, params, adam_m, adam_v, state, tokenizer_dir, earlier_policies);
  if (!written.ok()) {
    fs::remove_all(tmp, ec);
    return written;
  }
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
  const fs::path root_path(root);
  // `latest` first, then every older step directory, newest first.
  std::vector<std::string> candidates;
  std::string newest;
  if (auto latest = ReadFile(root_path / "latest"); latest.ok()) {
    newest = std::string(absl::StripAsciiWhitespace(*latest));
    candidates.push_back(newest);
  }
  std::vector<std::string> steps = StepDirs(root_path);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (newest.empty() || *it < newest) candidates.push_back(*it);
  }
  if (candidates.empty()) return absl::NotFoundError(absl::StrCat("no checkpoint under ", root));
  std::vector<std::string> skipped;
  for (const std::string& name : candidates) {
    const fs::path dir = root_path / name;
    auto c = LoadStepDir(dir);
    if (c.ok()) {
      c->skipped = std::move(skipped);
      return c;
    }
    skipped.push_back(
        absl::StrCat("checkpoint ", dir.string(), " is unusable: ", c.status().message()));
  }
  return absl::DataLossError(absl::StrJoin(skipped, "; "));
}

}  // namespace flywheel::learner
