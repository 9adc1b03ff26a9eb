#include "learner/jobs/job_board.h"

#include "absl/time/clock.h"
#include "common/base/logging.h"

namespace flywheel::learner {
namespace {

double NowUnix() { return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()); }

}  // namespace

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

JobBoard::JobBoard(JobStore* store, JobEvents* events, LearnerMetrics* metrics)
    : store_(store), events_(events), metrics_(metrics) {}

absl::StatusOr<v1::Job> JobBoard::Create(const v1::JobSpec& spec, const std::string& tenant) {
  std::lock_guard<std::mutex> lock(mu_);
  auto id = store_->NewJobId();
  if (!id.ok()) return id.status();
  v1::Job job;
  job.set_id(*id);
  *job.mutable_spec() = spec;
  job.set_tenant(tenant);
  job.set_state(v1::JOB_STATE_QUEUED);
  job.set_created_unix(NowUnix());
  job.set_updated_unix(job.created_unix());
  if (absl::Status s = store_->Put(job); !s.ok()) return s;
  live_[job.id()] = job;
  if (metrics_ != nullptr) metrics_->SetJobState(job);
  v1::JobEvent event;
  *event.mutable_job() = job;
  event.set_message("queued");
  events_->Publish(event);
  return job;
}

absl::StatusOr<v1::Job> JobBoard::Update(const std::string& id,
                                         const std::function<void(v1::Job*)>& edit,
                                         const std::string& message,
                                         const v1::StepMetrics* metrics) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<v1::Job> job;
  if (auto it = live_.find(id); it != live_.end()) {
    job = it->second;
  } else {
    job = store_->Get(id);
    if (!job.ok()) return job.status();
  }
  edit(&*job);
  job->set_updated_unix(NowUnix());
  if (absl::Status s = store_->Put(*job); !s.ok()) {
    FW_LOG(ERROR) << "job " << id << ": cannot persist the record: " << s;
  }
  live_[id] = *job;
  if (metrics_ != nullptr) metrics_->SetJobState(*job);
  if (!message.empty()) FW_LOG(INFO) << "job " << id << ": " << message;
  v1::JobEvent event;
  *event.mutable_job() = *job;
  if (metrics != nullptr) *event.mutable_metrics() = *metrics;
  event.set_message(message);
  events_->Publish(event);
  return job;
}

absl::StatusOr<v1::Job> JobBoard::Get(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = live_.find(id); it != live_.end()) return it->second;
  }
  return store_->Get(id);
}

absl::StatusOr<std::vector<v1::Job>> JobBoard::List() {
  auto jobs = store_->List();
  if (!jobs.ok()) return jobs;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& j : *jobs) {
    if (auto it = live_.find(j.id()); it != live_.end()) j = it->second;
  }
  return jobs;
}

}  // namespace flywheel::learner
