// Bad input to the learner: a spec with many problems is refused with all of them at once, and a
// job whose update turns non-finite stops with a clear error and keeps its last good checkpoint.
#include <cmath>
#include <fstream>

#include "common/rpc/auth.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

TEST(BadJobTest, SubmitReportsEveryProblemAtOnce) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_policy_model_dir(cluster.dir() + "/no-such-model");
  spec.set_dataset(cluster.dir() + "/no-such-data.jsonl");
  {
    std::ofstream bad(cluster.dir() + "/bad_eval.jsonl");
    bad << "{\"prompt\": \"1+1=\", \"task\": {\"verifier\": \"math\", \"gold\": \"2\"}}\n"
        << "{not json\n"
        << "{\"prompt\": \"2+2=\", \"task\": {\"verifier\": \"telepathy\", \"gold\": \"4\"}}\n";
  }
  spec.set_eval_dataset(cluster.dir() + "/bad_eval.jsonl");
  spec.mutable_grpo()->set_group_size(1);
  spec.add_rollout_servers("127.0.0.1:1");
  spec.add_reward_servers("127.0.0.1:2");
  auto job = cluster.Submit(spec);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(job.status().message());
  for (const char* needle : {"no-such-model", "no-such-data.jsonl", "bad_eval.jsonl:2", "telepathy",
                             "group_size", "127.0.0.1:1", "127.0.0.1:2"}) {
    EXPECT_NE(msg.find(needle), std::string::npos) << needle << " missing from:\n" << msg;
  }
}

TEST(BadJobTest, NonFiniteUpdateStopsTheJobAndKeepsTheLastGoodCheckpoint) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_max_async_steps(0);
  spec.set_steps(20);
  spec.set_checkpoint_interval(1);
  spec.set_eval_dataset("");
  // A learning rate this large sends the weights to ~1e30 after one step; the next forward
  // overflows and the update becomes non-finite.
  spec.mutable_optimizer()->set_lr(1e30);
  spec.mutable_optimizer()->set_grad_clip(0);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_FAILED);
  EXPECT_LT(done->step(), 20);
  EXPECT_NE(done->error().find("non-finite"), std::string::npos) << done->error();
  EXPECT_NE(done->error().find("last good checkpoint"), std::string::npos) << done->error();
  ASSERT_FALSE(done->checkpoint().empty());
  const std::vector<float> w = LoadParams(done->checkpoint());
  ASSERT_FALSE(w.empty());
  for (float x : w) ASSERT_TRUE(std::isfinite(x));
  // The rollout server is still up and serving.
  EXPECT_TRUE(HttpGet(cluster.rollout(0)->metrics_address(), "/metrics").ok());
}

TEST(BadJobTest, EveryRpcNeedsTheBearerTokenWhenOneIsSet) {
  TempDir dir;
  {
    std::ofstream token(dir.File("token"));
    token << "s3cret\n";
  }
  auto learner = DaemonProcess::Start({FLYWHEEL_LEARNER_BIN, "--listen", "127.0.0.1:0",
                                       "--metrics-listen", "127.0.0.1:0", "--state-dir",
                                       dir.File("state"), "--auth-token-file", dir.File("token")});
  ASSERT_TRUE(learner.ok()) << learner.status();
  auto stub = v1::JobService::NewStub(
      grpc::CreateChannel((*learner)->address(), grpc::InsecureChannelCredentials()));
  for (const std::string token : {"", "wrong"}) {
    grpc::ClientContext submit_ctx, cancel_ctx;
    rpc::AddBearer(&submit_ctx, token);
    rpc::AddBearer(&cancel_ctx, token);
    v1::Job job;
    EXPECT_EQ(stub->SubmitJob(&submit_ctx, {}, &job).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    v1::CancelJobRequest cancel;
    cancel.set_id("job-1");
    EXPECT_EQ(stub->CancelJob(&cancel_ctx, cancel, &job).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  // With the token the spec itself is judged (and found empty).
  grpc::ClientContext ok_ctx;
  rpc::AddBearer(&ok_ctx, "s3cret");
  v1::Job job;
  EXPECT_EQ(stub->SubmitJob(&ok_ctx, {}, &job).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Reads need it too: the token says which tenant's jobs the caller may see (a file with one
  // bare token makes it the admin's, who sees all).
  grpc::ClientContext anon_ctx, list_ctx;
  v1::ListJobsResponse list;
  EXPECT_EQ(stub->ListJobs(&anon_ctx, {}, &list).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  rpc::AddBearer(&list_ctx, "s3cret");
  EXPECT_TRUE(stub->ListJobs(&list_ctx, {}, &list).ok());
}

}  // namespace
}  // namespace flywheel::testing
