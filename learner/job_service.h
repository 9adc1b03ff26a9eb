// JobService over gRPC: validates and queues submitted jobs, runs one job at a time (they share
// the learner's cores), and serves job records and live events. Jobs found RUNNING or QUEUED in
// the store at start-up continue: a running job resumes from its latest checkpoint.
//
// Thread safety: gRPC calls arrive on many threads; all state is behind mu_.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "flywheel/v1/learner.grpc.pb.h"
#include "learner/job_events.h"
#include "learner/job_runner.h"
#include "learner/job_spec_check.h"
#include "learner/job_store.h"

namespace flywheel::learner {

class JobServiceImpl final : public v1::JobService::Service {
 public:
  // env.store / events / pool must outlive the service. auth_token: the bearer token SubmitJob
  // and CancelJob require ("" = none).
  JobServiceImpl(RunnerEnv env, SpecCheckOptions check_options, std::string auth_token = "");
  ~JobServiceImpl() override;

  // Queues the unfinished jobs of the store and starts the scheduler.
  absl::Status Start();
  // Stops the running job where it is (it stays RUNNING in the store, to resume) and ends every
  // WatchJob stream.
  void Shutdown();

  grpc::Status SubmitJob(grpc::ServerContext* context, const v1::SubmitJobRequest* request,
                         v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const v1::GetJobRequest* request,
                      v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const v1::ListJobsRequest* request,
                        v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const v1::CancelJobRequest* request,
                         v1::Job* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const v1::WatchJobRequest* request,
                        grpc::ServerWriter<v1::JobEvent>* writer) override;

 private:
  void ScheduleLoop();
  // The live record: the runner's if the job is running, else the store's.
  absl::StatusOr<v1::Job> Current(const std::string& id);

  RunnerEnv env_;
  const SpecCheckOptions check_options_;
  const std::string auth_token_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool shutting_down_ = false;
  std::vector<std::string> queue_;      // job ids waiting to run, in order
  std::unique_ptr<JobRunner> running_;  // at most one
  std::thread scheduler_;
};

bool IsTerminal(v1::JobState state);

}  // namespace flywheel::learner
