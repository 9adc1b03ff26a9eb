// Copies of the last few policies of an asynchronous job, so that samples drawn by older weights
// can still be checked bit for bit: a sample whose tokens were all drawn by the policy of step j
// is recomputed with snapshot j and compared with the logprobs the rollout server reported.
// With max_async_steps A the producer samples with policies up to A steps old, so A + 1
// snapshots suffice; on-policy jobs (A = 0) keep none (their samples are checked by the step).
//
// Thread safety: used by the job's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "common/base/thread_pool.h"
#include "common/model/transformer.h"
#include "learner/algorithms/samples.h"
#include "learner/training/logprob_check.h"

namespace flywheel::learner {

class PolicySnapshots {
 public:
  explicit PolicySnapshots(int64_t max_async_steps) : max_async_steps_(max_async_steps) {}

  // Keeps a copy of `policy` as the policy of `step`, dropping those older than
  // step - max_async_steps.
  absl::Status Keep(int64_t step, const model::Transformer& policy);
  // The same from flat parameters (a checkpoint's earlier policies).
  absl::Status Keep(int64_t step, model::ModelWeights weights);

  // The kept policy of `step`, or null.
  const model::Transformer* Get(int64_t step) const;
  // The flat parameters of every kept policy older than `step` (step -> parameters, owned here),
  // what a checkpoint of `step` keeps for an exact asynchronous job.
  std::map<int64_t, const float*> Before(int64_t step) const;

  // Adds to `check` every sample drawn entirely by one policy other than the current one
  // (version_base + step names step's weights on the servers) for which a snapshot is kept.
  // Samples whose tokens span a weight swap are left out: no single set of weights produced them.
  absl::Status CheckStale(const std::vector<TrainGroup>& groups, int64_t version_base,
                          int64_t current_version, int64_t micro_batch_size, ThreadPool* pool,
                          LogprobCheck* check) const;

 private:
  const int64_t max_async_steps_;
  std::map<int64_t, std::unique_ptr<const model::Transformer>> by_step_;
};

// Staleness of a batch: versions between the weights that drew each sample's oldest token and
// the weights it updates.
struct Staleness {
  int64_t max = 0;
  double mean = 0;
};
Staleness BatchStaleness(const std::vector<TrainGroup>& groups, int64_t current_version);

}  // namespace flywheel::learner
