// JobService over gRPC's callback API: validates and queues submitted jobs, runs up to
// max_running_jobs of them at once (each with its own trainer, pools and thread; they share the
// learner's compute pool), and serves job records and live events. Jobs found
// RUNNING or QUEUED in the store at start-up continue: a running job resumes from its latest
// checkpoint.
//
// Nothing here polls. Reactions never block: the spec check (which probes servers) and the
// start-up of the next job run on the service's worker thread; a job tells the service when it
// has finished (JobRunner's callback); WatchJob and CancelJob streams are driven by the job's
// events (JobEvents listeners).
//
// Thread safety: gRPC calls arrive on many threads; the scheduling state is behind mu_.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "common/base/task_queue.h"
#include "flywheel/v1/learner.grpc.pb.h"
#include "learner/jobs/job_board.h"
#include "learner/jobs/job_runner.h"
#include "learner/jobs/job_spec_check.h"
#include "learner/jobs/tenants.h"

namespace flywheel::learner {

class JobServiceImpl final : public v1::JobService::CallbackService {
 public:
  // env.board and env.pool must outlive the service. tenants: who may call and which jobs each
  // caller sees (default: no authentication, everyone sees everything; see tenants.h).
  // max_running_jobs >= 1 (1: one at a time, the rest queue).
  JobServiceImpl(RunnerEnv env, SpecCheckOptions check_options, Tenants tenants = {},
                 int max_running_jobs = 1);
  // Shutdown().
  ~JobServiceImpl() override;

  // Queues the unfinished jobs of the store and starts the first.
  absl::Status Start();
  // Stops the running job where it is (it stays RUNNING in the store, to resume), ends every
  // WatchJob stream (UNAVAILABLE) and waits for the worker. Idempotent.
  void Shutdown();

  grpc::ServerUnaryReactor* SubmitJob(grpc::CallbackServerContext* context,
                                      const v1::SubmitJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerUnaryReactor* GetJob(grpc::CallbackServerContext* context,
                                   const v1::GetJobRequest* request, v1::Job* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerUnaryReactor* CancelJob(grpc::CallbackServerContext* context,
                                      const v1::CancelJobRequest* request,
                                      v1::Job* response) override;
  grpc::ServerWriteReactor<v1::JobEvent>* WatchJob(grpc::CallbackServerContext* context,
                                                   const v1::WatchJobRequest* request) override;

 private:
  class CancelReactor;
  class WatchReactor;
  class RefusedWatch;

  // Job `id` as `caller` may see it: NotFound, exactly as for an unknown id, when it belongs to
  // another tenant.
  absl::StatusOr<v1::Job> VisibleJob(const Caller& caller, const std::string& id);
  // OK when the caller of `context` is authenticated and may see job `id`; else why not.
  absl::Status CheckAccess(const grpc::CallbackServerContext& context, const std::string& id);

  // Runs `task` on the worker thread; false (task dropped) once Shutdown has taken the worker.
  bool Post(std::function<void()> task);
  // Starts queued jobs while fewer than the limit run; on the worker thread.
  void Schedule();
  // JobRunner's finish callback (on the job's thread): hand the runner to the worker, which
  // joins it and starts the next job.
  void OnFinished(const std::string& id);
  // Cancels job `id`: a queued one at once (its record becomes CANCELLED), a running one by
  // asking its runner to stop. False when it is neither queued nor running.
  bool CancelQueuedOrRunning(const std::string& id);

  RunnerEnv env_;
  const SpecCheckOptions check_options_;
  const Tenants tenants_;
  const int max_running_;

  std::mutex mu_;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);  // job ids waiting to run, in order
  std::vector<std::unique_ptr<JobRunner>> running_ ABSL_GUARDED_BY(mu_);
  // Blocking work (spec checks with server probes, joining finished runners, starting the next
  // job); null after Shutdown. Its tasks take mu_, so it is destroyed without mu_ held.
  std::unique_ptr<TaskQueue> worker_ ABSL_GUARDED_BY(mu_);
};

}  // namespace flywheel::learner
