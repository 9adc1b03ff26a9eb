// Following a job's WatchJob stream for `flywheel watch`, `submit --watch` and `demo`: a live
// one-line progress bar on a terminal (redrawn with \r), or a plain line per step when the output
// is a file or a pipe; event messages (evals, checkpoints, retries) go on lines of their own.
// Not thread-safe: one watch per thread.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/learner_client.h"
#include "flywheel/v1/learner.grpc.pb.h"

namespace flywheel::cli {

struct WatchOptions {
  // true: redraw one progress line in place (for a terminal); false: a line per step.
  bool live = false;
  FILE* out = stdout;
  // Sent as "authorization: Bearer ..." ("" = none): a learner with tenants shows a job only to
  // its tenant and the admin.
  std::string bearer_token;
  // Called for every step's metrics, in stream order (the demo collects them for its CSV).
  std::function<void(const v1::StepMetrics&)> on_metrics;
};

// Follows job `id` until it ends and returns its final record (the caller decides what success
// is). Errors: the RPC failed (NotFound for an unknown id, Unavailable when the learner cannot be
// reached), or the stream closed before the job reached a final state.
absl::StatusOr<v1::Job> FollowJob(v1::JobService::Stub* stub, const std::string& id,
                                  const WatchOptions& options);

// What `flywheel watch` and `submit --watch` do: follows job `id` (a live bar when stdout is a
// terminal) and says how it ended. Returns the exit status: 0 when the job succeeded, 1 when it
// failed or was cancelled (its error on stderr) or the watch itself failed. `program` prefixes
// error lines ("flywheel watch").
int WatchToExitCode(const LearnerConnection& learner, const std::string& id,
                    const std::string& program);

// One progress line: "step 12/40 [#####.....] reward 0.531 acc 41.2% 1234 tok/s ETA 1m23s".
// `bar_width` 0 leaves the bar out; eta_seconds < 0 leaves the ETA out. SFT jobs show their loss
// in place of the reward; distillation jobs add the teacher KL.
std::string ProgressLine(const v1::Job& job, const v1::StepMetrics& last, double eta_seconds,
                         int bar_width);

// "1m23s", "45s", "2h05m".
std::string FormatDuration(double seconds);

}  // namespace flywheel::cli
