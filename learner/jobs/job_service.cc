#include "learner/jobs/job_service.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/logging.h"
#include "common/rpc/status.h"
#include "learner/jobs/job_spec.h"

namespace flywheel::learner {

// WatchJob: the current record first, then every event of the job until it ends (the last event
// carries its final state), the client goes away, or the learner shuts down. Events queue here
// while a write is in flight, so a slow client never holds up the job.
class JobServiceImpl::WatchReactor final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  WatchReactor(JobBoard* board, const std::string& id) {
    // Subscribe before reading the record, so that no event can slip in between.
    subscription_ = board->events()->Subscribe(
        id, [this](const std::optional<v1::JobEvent>& e) { OnEvent(e); });
    auto job = board->Get(id);
    std::lock_guard<std::mutex> lock(mu_);
    if (!job.ok()) {
      FinishLocked(rpc::ToGrpc(job.status()));
      return;
    }
    v1::JobEvent first;
    *first.mutable_job() = *std::move(job);
    queue_.push_front(std::move(first));
    WriteNextLocked();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status::CANCELLED);
    } else if (pending_) {
      FinishLocked(*pending_);
    } else if (wrote_last_) {
      FinishLocked(grpc::Status::OK);
    } else {
      WriteNextLocked();
    }
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    subscription_->Cancel();  // not under mu_: a listener call in progress may be waiting for it
    delete this;
  }

 private:
  void OnEvent(const std::optional<v1::JobEvent>& event) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!event) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is shutting down"));
      return;
    }
    queue_.push_back(*event);
    WriteNextLocked();
  }

  void WriteNextLocked() {
    if (writing_ || finishing_ || pending_ || wrote_last_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    wrote_last_ = IsTerminal(current_.job().state());
    writing_ = true;
    StartWrite(&current_);
  }

  // Finishes now, or once the write in flight is done (one operation at a time); an error
  // status wins over OK.
  void FinishLocked(const grpc::Status& status) {
    if (finishing_) return;
    if (writing_) {
      if (!pending_ || (pending_->ok() && !status.ok())) pending_ = status;
      return;
    }
    finishing_ = true;
    Finish(status);
  }

  std::unique_ptr<JobEvents::Subscription> subscription_;
  std::mutex mu_;
  std::deque<v1::JobEvent> queue_;
  v1::JobEvent current_;
  bool writing_ = false, wrote_last_ = false, finishing_ = false;
  std::optional<grpc::Status> pending_;
};

// CancelJob of a running job: asks the runner to stop and answers once the job's record says it
// has ended (the runner stops between two requests or steps), or when the client's deadline
// passes, with the record as it then is.
class JobServiceImpl::CancelReactor final : public grpc::ServerUnaryReactor {
 public:
  CancelReactor(JobServiceImpl* service, const std::string& id, v1::Job* response)
      : board_(service->env_.board), id_(id), response_(response) {
    subscription_ = board_->events()->Subscribe(id, [this](const std::optional<v1::JobEvent>& e) {
      if (!e) {
        FinishWith(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is shutting down"),
                   std::nullopt);
      } else if (IsTerminal(e->job().state())) {
        FinishWith(grpc::Status::OK, e->job());
      }
    });
    auto job = board_->Get(id);
    if (!job.ok()) {
      FinishWith(rpc::ToGrpc(job.status()), std::nullopt);
      return;
    }
    if (IsTerminal(job->state())) {
      FinishWith(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                              absl::StrCat("job ", id, " already ended (",
                                           v1::JobState_Name(job->state()), ")")),
                 std::nullopt);
      return;
    }
    if (service->CancelQueuedOrRunning(id)) return;  // the terminal event finishes the call
    // Neither queued nor running: the job ended just now, and its event has finished the call.
  }

  void OnCancel() override {
    auto job = board_->Get(id_);
    FinishWith(grpc::Status::OK, job.ok() ? std::optional<v1::Job>(*job) : std::nullopt);
  }

  void OnDone() override {
    subscription_->Cancel();
    delete this;
  }

 private:
  void FinishWith(const grpc::Status& status, const std::optional<v1::Job>& job) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (job) *response_ = *job;
    Finish(status);
  }

  JobBoard* const board_;
  const std::string id_;
  v1::Job* const response_;
  std::unique_ptr<JobEvents::Subscription> subscription_;
  std::mutex mu_;
  bool finished_ = false;
};

// WatchJob refused before it starts (unauthenticated, or another tenant's job).
class JobServiceImpl::RefusedWatch final : public grpc::ServerWriteReactor<v1::JobEvent> {
 public:
  explicit RefusedWatch(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

JobServiceImpl::JobServiceImpl(RunnerEnv env, SpecCheckOptions check_options, Tenants tenants,
                               int max_running_jobs)
    : env_(std::move(env)),
      check_options_(std::move(check_options)),
      tenants_(std::move(tenants)),
      max_running_(std::max(1, max_running_jobs)),
      worker_(std::make_unique<TaskQueue>(1)) {}

JobServiceImpl::~JobServiceImpl() { Shutdown(); }

absl::Status JobServiceImpl::Start() {
  auto jobs = env_.board->List();
  if (!jobs.ok()) return jobs.status();
  std::vector<std::string> resume, queued;
  for (const auto& j : *jobs) {
    if (j.state() == v1::JOB_STATE_RUNNING) resume.push_back(j.id());
    if (j.state() == v1::JOB_STATE_QUEUED) queued.push_back(j.id());
    if (LearnerMetrics* m = env_.board->metrics(); m != nullptr) m->SetJobState(j);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.assign(resume.begin(), resume.end());
    queue_.insert(queue_.end(), queued.begin(), queued.end());
  }
  if (!resume.empty()) {
    FW_LOG(INFO) << "resuming " << absl::StrJoin(resume, ", ") << " from their checkpoints";
  }
  Post([this] { Schedule(); });
  return absl::OkStatus();
}

void JobServiceImpl::Shutdown() {
  std::vector<std::unique_ptr<JobRunner>> runners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shutting_down_) return;
    shutting_down_ = true;
    runners = std::move(running_);
  }
  // Each stops where it is and joins; its record stays RUNNING, to resume. (Their finish
  // callbacks post to the worker, which is still there.)
  for (auto& r : runners) r->Stop();
  runners.clear();
  std::unique_ptr<TaskQueue> worker;
  {
    std::lock_guard<std::mutex> lock(mu_);
    worker = std::move(worker_);
  }
  worker.reset();  // runs what was posted (nothing starts any more), then joins
  env_.board->events()->Close();
}

bool JobServiceImpl::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (worker_ == nullptr) return false;
  worker_->Post(std::move(task));
  return true;
}

void JobServiceImpl::Schedule() {
  std::lock_guard<std::mutex> lock(mu_);
  while (!shutting_down_ && static_cast<int>(running_.size()) < max_running_ && !queue_.empty()) {
    const std::string id = queue_.front();
    queue_.pop_front();
    auto job = env_.board->Get(id);
    if (!job.ok()) {
      FW_LOG(ERROR) << "cannot start " << id << ": " << job.status();
      continue;
    }
    if (IsTerminal(job->state())) continue;
    auto runner = std::make_unique<JobRunner>(
        *std::move(job), env_, [this](const std::string& done) { OnFinished(done); });
    runner->Start();
    running_.push_back(std::move(runner));
  }
}

void JobServiceImpl::OnFinished(const std::string& id) {
  Post([this, id] {
    std::unique_ptr<JobRunner> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = std::find_if(running_.begin(), running_.end(),
                             [&](const auto& r) { return r->id() == id; });
      if (it == running_.end()) return;  // Shutdown took it
      done = std::move(*it);
      running_.erase(it);
    }
    done.reset();  // joins the job's thread, which has just returned from this callback
    Schedule();
  });
}

bool JobServiceImpl::CancelQueuedOrRunning(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& r : running_) {
      if (r->id() == id) {
        r->Cancel();
        return true;
      }
    }
    auto it = std::find(queue_.begin(), queue_.end(), id);
    if (it == queue_.end()) return false;
    queue_.erase(it);
  }
  // Queued: it ends here. The board's event reaches the CancelJob call that asked.
  auto job = env_.board->Update(
      id, [](v1::Job* j) { j->set_state(v1::JOB_STATE_CANCELLED); }, "cancelled");
  if (!job.ok()) FW_LOG(ERROR) << "cancelling " << id << ": " << job.status();
  return true;
}

grpc::ServerUnaryReactor* JobServiceImpl::SubmitJob(grpc::CallbackServerContext* context,
                                                    const v1::SubmitJobRequest* request,
                                                    v1::Job* response) {
  auto* reactor = context->DefaultReactor();
  auto caller = tenants_.Authenticate(*context);
  if (!caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  // The check probes servers (seconds when one is down): off gRPC's thread.
  const bool posted = Post([this, reactor, request, response, tenant = caller->tenant] {
    v1::JobSpec spec = request->spec();
    ApplyJobDefaults(&spec);
    std::vector<std::string> problems = CheckJobSpec(spec, check_options_);
    if (!problems.empty()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                       absl::StrCat(problems.size(), " problem", problems.size() == 1 ? "" : "s",
                                    " with the job spec:\n", absl::StrJoin(problems, "\n"))));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shutting_down_) {
        reactor->Finish(
            grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is shutting down"));
        return;
      }
    }
    auto job = env_.board->Create(spec, tenant);
    if (!job.ok()) {
      reactor->Finish(rpc::ToGrpc(job.status()));
      return;
    }
    FW_LOG(INFO) << "job " << job->id() << " (" << spec.algorithm() << ", " << spec.steps()
                 << " steps) queued";
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(job->id());
    }
    *response = *std::move(job);
    reactor->Finish(grpc::Status::OK);
    Schedule();
  });
  if (!posted) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the learner is shutting down"));
  }
  return reactor;
}

absl::StatusOr<v1::Job> JobServiceImpl::VisibleJob(const Caller& caller, const std::string& id) {
  auto job = env_.board->Get(id);
  if (job.ok() && !caller.MaySee(*job)) {
    return absl::NotFoundError(absl::StrCat("no job '", id, "'"));  // as the store says it
  }
  return job;
}

absl::Status JobServiceImpl::CheckAccess(const grpc::CallbackServerContext& context,
                                         const std::string& id) {
  auto caller = tenants_.Authenticate(context);
  if (!caller.ok()) return caller.status();
  return VisibleJob(*caller, id).status();
}

grpc::ServerUnaryReactor* JobServiceImpl::GetJob(grpc::CallbackServerContext* context,
                                                 const v1::GetJobRequest* request,
                                                 v1::Job* response) {
  auto* reactor = context->DefaultReactor();
  auto caller = tenants_.Authenticate(*context);
  absl::StatusOr<v1::Job> job = caller.ok() ? VisibleJob(*caller, request->id()) : caller.status();
  if (job.ok()) *response = *std::move(job);
  reactor->Finish(rpc::ToGrpc(job.status()));
  return reactor;
}

grpc::ServerUnaryReactor* JobServiceImpl::ListJobs(grpc::CallbackServerContext* context,
                                                   const v1::ListJobsRequest*,
                                                   v1::ListJobsResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto caller = tenants_.Authenticate(*context);
  if (!caller.ok()) {
    reactor->Finish(rpc::ToGrpc(caller.status()));
    return reactor;
  }
  auto jobs = env_.board->List();
  if (jobs.ok()) {
    for (auto& j : *jobs) {
      if (caller->MaySee(j)) *response->add_jobs() = std::move(j);
    }
  }
  reactor->Finish(rpc::ToGrpc(jobs.status()));
  return reactor;
}

grpc::ServerUnaryReactor* JobServiceImpl::CancelJob(grpc::CallbackServerContext* context,
                                                    const v1::CancelJobRequest* request,
                                                    v1::Job* response) {
  if (absl::Status refused = CheckAccess(*context, request->id()); !refused.ok()) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(rpc::ToGrpc(refused));
    return reactor;
  }
  return new CancelReactor(this, request->id(), response);
}

grpc::ServerWriteReactor<v1::JobEvent>* JobServiceImpl::WatchJob(
    grpc::CallbackServerContext* context, const v1::WatchJobRequest* request) {
  if (absl::Status refused = CheckAccess(*context, request->id()); !refused.ok()) {
    return new RefusedWatch(rpc::ToGrpc(refused));
  }
  return new WatchReactor(env_.board, request->id());
}

}  // namespace flywheel::learner
