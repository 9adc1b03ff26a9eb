// A training job's checkpoints: everything needed to continue the same run.
//
//   <root>/step-000020/config.json, model.safetensors   the policy, Hugging Face names (loadable
//                                                       by flywheel-rollout --model)
//                     tokenizer.json (+ tokenizer_config.json)   copied from the initial policy
//                     optimizer.safetensors             AdamW moments "adam.m", "adam.v"
//                     trainer_state.json                step, data cursor, seed, evals,
//                                                       self-play's solved targets
//                     async_policies.safetensors        exact asynchronous jobs: the policies of
//                                                       the last steps ("policy.step-000019"),
//                                                       which sample the batches still ahead
//                     checksums.json                    size and CRC-32C of every file above
//   <root>/latest                                       "step-000020"
//
// A checkpoint is written into a temporary directory that is renamed into place, and only then
// named in `latest` (itself replaced by rename), so a crash at any point leaves the previous
// checkpoint intact and `latest` never names a partial one. A write that fails (a full disk, a
// file-size limit) removes its temporary directory and leaves `latest` as it was. Loading checks
// every file against checksums.json; a checkpoint that fails is skipped for the newest older one
// that passes (the caller is told which and why). All randomness of a run derives from the seed
// and the data cursor (sampling seeds, data order), so those two are its RNG state.
//
// Thread safety: functions of their arguments; one writer per root at a time.
#pragma once

#include <cstdint>
#include <map>
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
  // Policies of earlier steps kept for an exact asynchronous job (step -> flat parameters).
  std::map<int64_t, std::vector<float>> earlier_policies;
  // Newer checkpoints passed over because they failed to load, one line each ("checkpoint DIR is
  // unusable: model.safetensors: checksum mismatch ..."), newest first.
  std::vector<std::string> skipped;
};

// Writes a checkpoint of step state.step under root and points `latest` at it; keeps the newest
// `keep` step directories and deletes older ones. tokenizer_dir: where tokenizer files are copied
// from ("" for none). earlier_policies: step -> that step's flat parameters (as many floats as
// `params`), for exact asynchronous jobs. Returns the step directory. ResourceExhausted when the
// disk is full or a file-size limit is hit; nothing of the new checkpoint is left behind then.
absl::StatusOr<std::string> WriteCheckpoint(
    const std::string& root, const model::ModelConfig& config, const float* params,
    const std::vector<float>& adam_m, const std::vector<float>& adam_v, const TrainerState& state,
    const std::string& tokenizer_dir, const std::map<int64_t, const float*>& earlier_policies = {},
    int keep = 3);

// The trainer state of the checkpoint in `dir` (a step directory), without its weights. NotFound
// when there is no trainer_state.json; DataLoss when it is not one.
absl::StatusOr<TrainerState> ReadTrainerState(const std::string& dir);

// The directory `latest` names under `root` (not checked further). NotFound when there is none.
absl::StatusOr<std::string> LatestCheckpointDir(const std::string& root);

// The newest usable checkpoint: the one `latest` names when it loads and passes its checksums,
// else the newest older step directory that does (`skipped` says what was passed over and why).
// NotFound when there is none yet; DataLoss listing every reason when none is usable.
absl::StatusOr<CheckpointContents> LoadLatestCheckpoint(const std::string& root);

}  // namespace flywheel::learner
