// Job specs before a job is accepted: the defaults documented in learner.proto, and a check that
// finds every problem with a spec at once (model directories, datasets, hyper-parameters, server
// addresses, and live probes of the rollout and reward servers), so SubmitJob can answer
// INVALID_ARGUMENT with the whole list instead of failing minutes into a run.
//
// Thread safety: free functions with no shared state; any thread may call them.
#pragma once

#include <string>
#include <vector>

#include "flywheel/v1/learner.pb.h"

namespace flywheel::learner {

// Fills every unset field with its documented default (group_size 8, clip 0.2 / 0.2, "mean_std",
// "token-mean", lr 1e-5, betas 0.9 / 0.999, eps 1e-8, grad_clip 1, prompts_per_step 8,
// micro_batch_size 8, max_async_steps 1, eval_interval 10, checkpoint_interval 10, "chatml",
// request_timeout_seconds 120, sft.epochs 1, temperature 1, top_p 1, reference_model_dir =
// policy_model_dir). Fields that are set keep their values; a proto3 scalar without `optional`
// counts as unset when it is 0 or empty.
void ApplyJobDefaults(flywheel::v1::JobSpec* spec);

struct SpecCheckOptions {
  // Ask each rollout server for GetInfo and each reward server for ListVerifiers.
  bool probe_servers = true;
  // Deadline of each probe; the probes run concurrently, so the whole check waits about this long
  // at most however many servers are down.
  double probe_timeout_seconds = 3.0;
  // Sent as "authorization: Bearer ..." on probes (empty: none).
  std::string bearer_token;
};

// Every problem with `spec` after ApplyJobDefaults, one human-readable line each; empty when the
// spec is valid. Reads the model directories (config.json, tokenizer.json, the names of the
// *.safetensors files, not their contents) and both datasets in full.
std::vector<std::string> CheckJobSpec(const flywheel::v1::JobSpec& spec,
                                      const SpecCheckOptions& options);

}  // namespace flywheel::learner
