// The one owner of job records. Every change of a job (submitted, started, a step, an eval, a
// checkpoint, finished) goes through Update, which applies it to the live record, persists it in
// the JobStore, sets the Prometheus state gauge and tells the watchers, in that order, so the
// database, the metrics and every WatchJob stream agree on what happened.
//
// Thread safety: all methods are thread-safe. Updates of one job are serialised; a reader sees
// a record either before or after an update, never half of one.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/jobs/job_events.h"
#include "learner/jobs/job_store.h"
#include "learner/jobs/learner_metrics.h"

namespace flywheel::learner {

bool IsTerminal(v1::JobState state);

class JobBoard {
 public:
  // None is owned; all must outlive the board. metrics may be null.
  JobBoard(JobStore* store, JobEvents* events, LearnerMetrics* metrics);
  JobBoard(const JobBoard&) = delete;
  JobBoard& operator=(const JobBoard&) = delete;

  // Records a new QUEUED job with `spec` of `tenant` ("" = none) under a fresh id and announces
  // it ("queued").
  absl::StatusOr<v1::Job> Create(const v1::JobSpec& spec, const std::string& tenant = "");

  // Applies `edit` to job `id`'s record, stamps updated_unix, persists it, sets the state gauge and
  // publishes an event carrying the record, `message` (may be empty) and `metrics` (may be null).
  // Returns the record as updated. NotFound for an unknown id. A record that cannot be persisted
  // is still updated in memory and published (the error is logged): a full disk must not stop a
  // job from reporting, and the next successful write carries the whole record.
  absl::StatusOr<v1::Job> Update(const std::string& id, const std::function<void(v1::Job*)>& edit,
                                 const std::string& message,
                                 const v1::StepMetrics* metrics = nullptr);

  // The live record. NotFound for an unknown id.
  absl::StatusOr<v1::Job> Get(const std::string& id);
  // Every job in submission order.
  absl::StatusOr<std::vector<v1::Job>> List();

  JobStore* store() { return store_; }
  JobEvents* events() { return events_; }
  LearnerMetrics* metrics() { return metrics_; }

 private:
  JobStore* const store_;
  JobEvents* const events_;
  LearnerMetrics* const metrics_;
  std::mutex mu_;  // serialises updates
  // Records changed since start-up, as last updated (the store may lag after a failed write).
  std::map<std::string, v1::Job> live_;  // guarded by mu_
};

}  // namespace flywheel::learner
