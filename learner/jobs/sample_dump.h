// The sample dump of a job (JobSpec.sample_dump_dir): each step's batch as JSONL, one line per
// completion, so a user can audit exactly what the learner trained on (and a test can recompute
// the rollout server's and the teacher's logprobs independently):
//   {"step": 3, "group": 0, "index": 1, "prompt_ids": [...], "completion_ids": [...],
//    "logprobs": [...], "versions": [...], "reward": 1.0, "correct": true,
//    "teacher_logprobs": [...], "teacher_prompt_ids": [...]}
// (teacher_logprobs: distillation; teacher_prompt_ids: when the teacher saw a privileged prompt).
// Floats are written with max_digits10 digits, so they read back bit for bit.
//
// Thread safety: a function of its arguments; one writer per directory.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "learner/jobs/rollout_batch.h"

namespace flywheel::learner {

// Writes <dir>/step-NNNNNN.jsonl (created with its directory; replaced if it exists, as a resumed
// job redoes steps). InternalError naming the file on an I/O failure.
absl::Status WriteSampleDump(const std::string& dir, int64_t step, const Batch& batch);

}  // namespace flywheel::learner
