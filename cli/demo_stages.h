// The pieces every `flywheel demo` recipe is made of: numbered stage lines, a job submitted and
// followed to its end, the reward curve written (and plotted when gnuplot is installed), the
// arithmetic task's privileged files.
//
// Thread safety: one demo per output directory at a time.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "learner/tasks/arith_task.h"

namespace flywheel::cli {

// Prints "[n/total] what" and flushes.
void DemoStage(FILE* log, int n, int total, const std::string& what);

struct DemoJobRun {
  v1::Job job;                           // the final record
  std::vector<v1::StepMetrics> metrics;  // every step's, in order
  double seconds = 0;                    // wall time from submission to the end
};

// Submits `spec` to the learner at `address` and follows it to the end with a progress bar
// (`live`) or lines; the job's final record and metrics, or why it did not succeed.
absl::StatusOr<DemoJobRun> RunDemoJob(v1::JobService::Stub* stub, const std::string& address,
                                      const v1::JobSpec& spec, bool live, FILE* log);

// The latest held-out accuracy of a run at or before `step` (eval steps carry it); nullopt when
// no eval ran by then.
std::optional<double> EvalAccuracyAt(const std::vector<v1::StepMetrics>& metrics, int64_t step);

// Writes the reward curve CSV (one line per step) at `csv_path`; with gnuplot on $PATH also a
// PNG beside it (returned; "" without gnuplot or when it failed). `title` heads the plot.
absl::StatusOr<std::string> WriteRewardCurve(const std::string& csv_path,
                                             const std::vector<v1::StepMetrics>& steps,
                                             const std::string& title);

// OPSD's data, from the task's train split and the privileged template: `rl_path` holds each row
// with "privileged" (its answer); `sft_path` each row twice, as is and with its privileged prompt
// (the template applied), so that the warm start learns to read the privileged form.
absl::Status WritePrivilegedArithFiles(const std::vector<learner::ArithRow>& train,
                                       const std::string& privileged_template,
                                       const std::string& rl_path, const std::string& sft_path);

}  // namespace flywheel::cli
