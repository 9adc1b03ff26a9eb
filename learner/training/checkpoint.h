// A training job's checkpoints: everything needed to continue the same run.
//
//   <root>/step-000020/config.json, model.safetensors   the policy, Hugging Face names (loadable
//                                                       by flywheel-rollout --model)
//                     tokenizer.json (+ tokenizer_config.json)   copied from the initial policy
//                     optimizer.safetensors             AdamW moments "adam.m", "adam.v"
//                     trainer_state.json                step, data cursor, seed, evals,
//                                                       self-play's solved targets
//   <root>/latest                                       "step-000020"
//
// A checkpoint is written into a temporary directory that is renamed into place, and only then
// named in `latest` (itself replaced by rename), so a crash at any point leaves the previous
// checkpoint intact and `latest` never names a partial one. All randomness of a run derives from
// the seed and the data cursor (sampling seeds, data order), so those two are its RNG state.
//
// Thread safety: functions of their arguments; one writer per root at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model/checkpoint.h"

namespace flywheel::learner {

struct TrainerState {
  int64_t step = 0;            // job steps completed
  int64_t optimizer_step = 0;  // AdamW updates applied (a step with nothing to learn applies none)
  int64_t data_cursor = 0;     // dataset rows consumed (across epochs)
  uint64_t seed = 0;
  std::optional<double> eval_accuracy;
  std::optional<double> initial_eval_accuracy;
  // Self-play: the dataset lines of the targets solved at least once so far, ascending.
  std::vector<int64_t> solved_targets;
};

struct CheckpointContents {
  std::string dir;  // the step directory
  model::ModelWeights weights;
  std::vector<float> adam_m, adam_v;
  TrainerState state;
};

// Writes a checkpoint of step state.step under root and points `latest` at it; keeps the newest
// `keep` step directories and deletes older ones. tokenizer_dir: where tokenizer files are copied
// from ("" for none). Returns the step directory.
absl::StatusOr<std::string> WriteCheckpoint(const std::string& root,
                                            const model::ModelConfig& config, const float* params,
                                            const std::vector<float>& adam_m,
                                            const std::vector<float>& adam_v,
                                            const TrainerState& state,
                                            const std::string& tokenizer_dir, int keep = 3);

// The trainer state of the checkpoint in `dir` (a step directory), without its weights. NotFound
// when there is no trainer_state.json; DataLoss when it is not one.
absl::StatusOr<TrainerState> ReadTrainerState(const std::string& dir);

// The directory `latest` names under `root` (not checked further). NotFound when there is none.
absl::StatusOr<std::string> LatestCheckpointDir(const std::string& root);

// The checkpoint `latest` names. NotFound when there is none yet; DataLoss when `latest` names a
// directory that is missing or unreadable.
absl::StatusOr<CheckpointContents> LoadLatestCheckpoint(const std::string& root);

}  // namespace flywheel::learner
