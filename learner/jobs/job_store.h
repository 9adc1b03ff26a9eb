// The learner's job records: one SQLite database (under --state-dir) holding each job's record
// and its per-step metrics, so jobs and their curves survive a restart. The database runs in WAL
// mode with synchronous=FULL: once a write returns OK it is on disk, and a learner killed with
// SIGKILL right after loses none of it.
//
// Thread safety: every method may be called from any thread; one connection is shared under a
// mutex, so calls are serialised.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "flywheel/v1/learner.pb.h"

struct sqlite3;

namespace flywheel::learner {

class JobStore {
 public:
  // Opens (creating if needed) the database at `path`; its directory must exist. Internal error
  // naming the path if SQLite cannot open it or set it up.
  static absl::StatusOr<std::unique_ptr<JobStore>> Open(const std::string& path);
  ~JobStore();
  JobStore(const JobStore&) = delete;
  JobStore& operator=(const JobStore&) = delete;

  // A fresh id "job-N"; N grows by one per call and is persisted, so ids are never reused, even
  // across restarts.
  absl::StatusOr<std::string> NewJobId();

  // Inserts the record, or replaces the one with the same id (keeping its place in List()).
  // InvalidArgument for an empty id.
  absl::Status Put(const flywheel::v1::Job& job);
  // NotFound("no job 'ID'") when there is none.
  absl::StatusOr<flywheel::v1::Job> Get(const std::string& id);
  // Every job, in the order each was first Put.
  absl::StatusOr<std::vector<flywheel::v1::Job>> List();

  // Stores one step's metrics of job `id`, replacing an earlier row of the same step (a resumed job
  // redoes steps). NotFound if the job does not exist.
  absl::Status AppendMetrics(const std::string& id, const flywheel::v1::StepMetrics& metrics);
  // The job's metrics ordered by step (empty if none). NotFound if the job does not exist.
  absl::StatusOr<std::vector<flywheel::v1::StepMetrics>> Metrics(const std::string& id);
  // Drops the job's metrics of steps > after_step (a job resuming from a checkpoint).
  absl::Status TruncateMetrics(const std::string& id, int64_t after_step);

 private:
  JobStore(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  absl::Status ExistsLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::mutex mu_;
  sqlite3* const db_ ABSL_GUARDED_BY(mu_);
  const std::string path_;
};

}  // namespace flywheel::learner
