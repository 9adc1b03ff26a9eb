// Tenants on a real learner: bearer tokens map to tenants (--auth-token-file with `TENANT TOKEN`
// lines); each tenant lists, gets, watches and cancels only its own jobs (another tenant's job is
// NOT_FOUND, exactly like a missing one), the admin sees everything, a call without a known token
// is UNAUTHENTICATED, the learner's metrics carry the tenant label, and only the admin registers
// rollout servers.
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "flywheel/v1/fleet.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

// JobService calls as one tenant.
class As {
 public:
  As(const std::string& address, std::string token)
      : stub_(v1::JobService::NewStub(rpc::MakeChannel(address))), token_(std::move(token)) {}

  grpc::StatusCode List(std::vector<std::string>* ids,
                        std::vector<std::string>* tenants = nullptr) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    v1::ListJobsResponse resp;
    const grpc::Status st = stub_->ListJobs(&ctx, {}, &resp);
    for (const auto& j : resp.jobs()) {
      ids->push_back(j.id());
      if (tenants != nullptr) tenants->push_back(j.tenant());
    }
    return st.error_code();
  }
  grpc::StatusCode Get(const std::string& id) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    v1::GetJobRequest req;
    req.set_id(id);
    v1::Job job;
    return stub_->GetJob(&ctx, req, &job).error_code();
  }
  grpc::StatusCode Watch(const std::string& id) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    v1::WatchJobRequest req;
    req.set_id(id);
    auto reader = stub_->WatchJob(&ctx, req);
    v1::JobEvent e;
    if (!reader->Read(&e)) return reader->Finish().error_code();
    ctx.TryCancel();  // the first event (the job's record) is all this test needs
    reader->Finish();
    return grpc::StatusCode::OK;
  }
  grpc::StatusCode Cancel(const std::string& id, v1::Job* job) {
    grpc::ClientContext ctx;
    Prepare(&ctx);
    v1::CancelJobRequest req;
    req.set_id(id);
    return stub_->CancelJob(&ctx, req, job).error_code();
  }

 private:
  void Prepare(grpc::ClientContext* ctx) {
    rpc::SetDeadline(ctx, 60);
    rpc::AddBearer(ctx, token_);
  }
  std::unique_ptr<v1::JobService::Stub> stub_;
  const std::string token_;
};

TEST(TenantTest, TenantsSeeOnlyTheirOwnJobsAndTheAdminSeesAll) {
  TempDir dir;
  {
    std::ofstream tokens(dir.File("tokens"));
    tokens << "# tenant token\nalice a-s3cret\nbob b-s3cret\nadmin root-s3cret\n";
  }
  LearnerClusterOptions options;
  options.learner_args = {"--auth-token-file", dir.File("tokens")};
  options.token = "a-s3cret";  // the fixture's Submit/Get/Wait act as alice
  LearnerCluster cluster(options);
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(200);  // runs while the test looks at it; cancelled at the end
  spec.set_eval_dataset("");
  auto alice_job = cluster.Submit(spec);
  ASSERT_TRUE(alice_job.ok()) << alice_job.status();
  EXPECT_EQ(alice_job->tenant(), "alice");

  const std::string addr = cluster.learner()->address();
  As alice(addr, "a-s3cret"), bob(addr, "b-s3cret"), admin(addr, "root-s3cret"), nobody(addr, ""),
      forger(addr, "a-s3cre");
  v1::JobSpec bob_spec = spec;
  bob_spec.set_name("bob's");
  std::string bob_id;
  {
    grpc::ClientContext ctx;
    rpc::SetDeadline(&ctx, 60);
    rpc::AddBearer(&ctx, "b-s3cret");
    v1::SubmitJobRequest req;
    *req.mutable_spec() = bob_spec;
    v1::Job job;
    ASSERT_TRUE(v1::JobService::NewStub(rpc::MakeChannel(addr))->SubmitJob(&ctx, req, &job).ok());
    EXPECT_EQ(job.tenant(), "bob");
    bob_id = job.id();
  }

  std::vector<std::string> ids, tenants;
  ASSERT_EQ(alice.List(&ids), grpc::StatusCode::OK);
  EXPECT_EQ(ids, std::vector<std::string>{alice_job->id()});
  ids.clear();
  ASSERT_EQ(bob.List(&ids), grpc::StatusCode::OK);
  EXPECT_EQ(ids, std::vector<std::string>{bob_id});
  ids.clear();
  ASSERT_EQ(admin.List(&ids, &tenants), grpc::StatusCode::OK);
  EXPECT_EQ(ids, (std::vector<std::string>{alice_job->id(), bob_id}));
  EXPECT_EQ(tenants, (std::vector<std::string>{"alice", "bob"}));

  // Bob cannot see, watch or cancel alice's job: it looks like no job at all.
  EXPECT_EQ(bob.Get(alice_job->id()), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(bob.Get("job-999"), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(bob.Watch(alice_job->id()), grpc::StatusCode::NOT_FOUND);
  v1::Job job;
  EXPECT_EQ(bob.Cancel(alice_job->id(), &job), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(alice.Get(alice_job->id()), grpc::StatusCode::OK);
  EXPECT_EQ(alice.Watch(alice_job->id()), grpc::StatusCode::OK);
  EXPECT_EQ(admin.Get(bob_id), grpc::StatusCode::OK);
  EXPECT_EQ(admin.Watch(bob_id), grpc::StatusCode::OK);
  for (As* stranger : {&nobody, &forger}) {
    ids.clear();
    EXPECT_EQ(stranger->List(&ids), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(stranger->Get(alice_job->id()), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_EQ(stranger->Watch(alice_job->id()), grpc::StatusCode::UNAUTHENTICATED);
  }

  // Metrics carry the tenant of each job.
  ASSERT_TRUE(cluster.WaitForStep(alice_job->id(), 1, 120).ok());
  auto text = HttpGet(cluster.learner()->metrics_address(), "/metrics");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find(absl::StrCat("flywheel_learner_steps_total{job_id=\"", alice_job->id(),
                                    "\",tenant=\"alice\"}")),
            std::string::npos)
      << *text;
  EXPECT_NE(
      text->find(absl::StrCat("job_id=\"", bob_id, "\",state=\"JOB_STATE_QUEUED\",tenant=\"bob\"")),
      std::string::npos)
      << *text;

  // The admin may cancel anyone's job; alice cancels her own.
  EXPECT_EQ(admin.Cancel(bob_id, &job), grpc::StatusCode::OK);
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(alice.Cancel(alice_job->id(), &job), grpc::StatusCode::OK);
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
}

// Registered rollout servers serve every tenant's "registered" jobs, so only the admin may add
// or remove one; another tenant's token is refused (PERMISSION_DENIED), and no token is
// UNAUTHENTICATED.
TEST(TenantTest, OnlyTheAdminRegistersRolloutServers) {
  TempDir dir;
  {
    std::ofstream tokens(dir.File("tokens"));
    tokens << "alice a-s3cret\nadmin root-s3cret\n";
  }
  LearnerCluster cluster(LearnerClusterOptions{
      .rollout_servers = 0, .learner_args = {"--auth-token-file", dir.File("tokens")}});
  auto fleet = v1::FleetService::NewStub(rpc::MakeChannel(cluster.learner()->address()));
  auto call = [&](const std::string& token, bool deregister) {
    grpc::ClientContext ctx;
    rpc::SetDeadline(&ctx, 30);
    rpc::AddBearer(&ctx, token);
    if (deregister) {
      v1::DeregisterRolloutRequest req;
      req.set_address("127.0.0.1:1");
      v1::DeregisterRolloutResponse resp;
      return fleet->Deregister(&ctx, req, &resp).error_code();
    }
    v1::RegisterRolloutRequest req;
    req.set_address("127.0.0.1:1");
    v1::RegisterRolloutResponse resp;
    return fleet->Register(&ctx, req, &resp).error_code();
  };
  auto listed = [&] {
    grpc::ClientContext ctx;
    rpc::SetDeadline(&ctx, 30);
    v1::ListRolloutResponse resp;
    EXPECT_TRUE(fleet->List(&ctx, {}, &resp).ok());
    return resp.servers_size();
  };
  EXPECT_EQ(call("a-s3cret", false), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(call("", false), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(listed(), 0);
  EXPECT_EQ(call("root-s3cret", false), grpc::StatusCode::OK);
  EXPECT_EQ(listed(), 1);
  EXPECT_EQ(call("a-s3cret", true), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(listed(), 1);
  EXPECT_EQ(call("root-s3cret", true), grpc::StatusCode::OK);
  EXPECT_EQ(listed(), 0);
}

}  // namespace
}  // namespace flywheel::testing
