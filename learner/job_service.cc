#include "learner/job_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/logging.h"
#include "common/rpc/auth.h"
#include "common/rpc/status.h"

namespace flywheel::learner {

bool IsTerminal(v1::JobState state) {
  return state == v1::JOB_STATE_SUCCEEDED || state == v1::JOB_STATE_FAILED ||
         state == v1::JOB_STATE_CANCELLED;
}

JobServiceImpl::JobServiceImpl(RunnerEnv env, SpecCheckOptions check_options,
                               std::string auth_token)
    : env_(std::move(env)),
      check_options_(std::move(check_options)),
      auth_token_(std::move(auth_token)) {}

JobServiceImpl::~JobServiceImpl() { Shutdown(); }

absl::Status JobServiceImpl::Start() {
  auto jobs = env_.store->List();
  if (!jobs.ok()) return jobs.status();
  std::vector<std::string> resume, queued;
  for (const auto& j : *jobs) {
    if (j.state() == v1::JOB_STATE_RUNNING) resume.push_back(j.id());
    if (j.state() == v1::JOB_STATE_QUEUED) queued.push_back(j.id());
    if (env_.metrics != nullptr) env_.metrics->SetJobState(j.id(), j.state());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_ = resume;
    queue_.insert(queue_.end(), queued.begin(), queued.end());
  }
  if (!resume.empty()) {
    FW_LOG(INFO) << "resuming " << absl::StrJoin(resume, ", ") << " from their checkpoints";
  }
  scheduler_ = std::thread([this] { ScheduleLoop(); });
  return absl::OkStatus();
}

void JobServiceImpl::Shutdown() {
  std::unique_ptr<JobRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    runner = std::move(running_);
  }
  cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  runner.reset();  // Stops and joins the job thread; the record stays RUNNING.
}

void JobServiceImpl::ScheduleLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutting_down_) {
    if (running_ && running_->finished()) running_.reset();
    if (!running_ && !queue_.empty()) {
      const std::string id = queue_.front();
      queue_.erase(queue_.begin());
      auto job = env_.store->Get(id);
      if (!job.ok()) {
        FW_LOG(ERROR) << "cannot start " << id << ": " << job.status();
        continue;
      }
      if (IsTerminal(job->state())) continue;  // Cancelled while queued.
      running_ = std::make_unique<JobRunner>(std::move(*job), env_);
      running_->Start();
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

absl::StatusOr<v1::Job> JobServiceImpl::Current(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) {
      v1::Job j = running_->Snapshot();
      if (j.id() == id) return j;
    }
  }
  return env_.store->Get(id);
}

grpc::Status JobServiceImpl::SubmitJob(grpc::ServerContext* context,
                                       const v1::SubmitJobRequest* request, v1::Job* response) {
  if (absl::Status s = rpc::CheckBearer(*context, auth_token_); !s.ok()) return rpc::ToGrpc(s);
  v1::JobSpec spec = request->spec();
  ApplyJobDefaults(&spec);
  std::vector<std::string> problems = CheckJobSpec(spec, check_options_);
  if (!problems.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat(problems.size(), " problem", problems.size() == 1 ? "" : "s",
                                     " with the job spec:\n", absl::StrJoin(problems, "\n")));
  }
  auto id = env_.store->NewJobId();
  if (!id.ok()) return rpc::ToGrpc(id.status());
  v1::Job job;
  job.set_id(*id);
  *job.mutable_spec() = spec;
  job.set_state(v1::JOB_STATE_QUEUED);
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  job.set_created_unix(now);
  job.set_updated_unix(now);
  if (absl::Status s = env_.store->Put(job); !s.ok()) return rpc::ToGrpc(s);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(job.id());
  }
  cv_.notify_all();
  v1::JobEvent event;
  *event.mutable_job() = job;
  event.set_message("queued");
  env_.events->Publish(event);
  if (env_.metrics != nullptr) env_.metrics->SetJobState(job.id(), job.state());
  FW_LOG(INFO) << "job " << job.id() << " (" << spec.algorithm() << ", " << spec.steps()
               << " steps) queued";
  *response = std::move(job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::GetJob(grpc::ServerContext*, const v1::GetJobRequest* request,
                                    v1::Job* response) {
  auto job = Current(request->id());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  *response = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::ListJobs(grpc::ServerContext*, const v1::ListJobsRequest*,
                                      v1::ListJobsResponse* response) {
  auto jobs = env_.store->List();
  if (!jobs.ok()) return rpc::ToGrpc(jobs.status());
  for (auto& j : *jobs) {
    auto live = Current(j.id());
    *response->add_jobs() = live.ok() ? *live : j;
  }
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::CancelJob(grpc::ServerContext* context,
                                       const v1::CancelJobRequest* request, v1::Job* response) {
  if (absl::Status s = rpc::CheckBearer(*context, auth_token_); !s.ok()) return rpc::ToGrpc(s);
  auto job = Current(request->id());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  if (IsTerminal(job->state())) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        absl::StrCat("job ", request->id(), " already ended (",
                                     v1::JobState_Name(job->state()), ")"));
  }
  bool was_running = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_ && running_->Snapshot().id() == request->id()) {
      running_->Cancel();
      was_running = true;
    } else {
      queue_.erase(std::remove(queue_.begin(), queue_.end(), request->id()), queue_.end());
    }
  }
  if (!was_running) {
    job->set_state(v1::JOB_STATE_CANCELLED);
    job->set_updated_unix(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
    if (absl::Status s = env_.store->Put(*job); !s.ok()) return rpc::ToGrpc(s);
    v1::JobEvent event;
    *event.mutable_job() = *job;
    event.set_message("cancelled");
    env_.events->Publish(event);
    if (env_.metrics != nullptr) env_.metrics->SetJobState(job->id(), job->state());
  } else {
    // The runner stops between two requests or steps; give it a moment so the answer says so.
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      job = Current(request->id());
      if (!job.ok() || IsTerminal(job->state())) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!job.ok()) return rpc::ToGrpc(job.status());
  }
  *response = std::move(*job);
  return grpc::Status::OK;
}

grpc::Status JobServiceImpl::WatchJob(grpc::ServerContext* context,
                                      const v1::WatchJobRequest* request,
                                      grpc::ServerWriter<v1::JobEvent>* writer) {
  auto sub = env_.events->Subscribe(request->id());  // Before reading: no event can slip by.
  auto job = Current(request->id());
  if (!job.ok()) return rpc::ToGrpc(job.status());
  v1::JobEvent first;
  *first.mutable_job() = *job;
  if (!writer->Write(first)) return grpc::Status::CANCELLED;
  if (IsTerminal(job->state())) return grpc::Status::OK;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is shutting down");
      }
    }
    if (context->IsCancelled()) return grpc::Status::CANCELLED;
    auto event = sub->Next(std::chrono::milliseconds(250));
    if (!event) continue;
    if (!writer->Write(*event)) return grpc::Status::CANCELLED;
    if (IsTerminal(event->job().state())) return grpc::Status::OK;
  }
}

}  // namespace flywheel::learner
