// A whole GRPO job over mutual TLS: the rollout and reward servers and the learner each require a
// client certificate from the test CA (made by `openssl` at test time); the learner reaches the
// servers with its own certificate (--tls-ca, --tls-cert/--tls-key), and the test reaches the
// learner with the client certificate. The CLI's job commands take the same flags, and a
// plaintext CLI is refused.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/test_pki.h"

namespace flywheel::testing {
namespace {

TEST(TlsJobTest, WholeJobRunsOverMutualTls) {
  TempDir dir;
  auto pki = WriteTestPki(dir.path());
  ASSERT_TRUE(pki.ok()) << pki.status();
  LearnerClusterOptions options;
  options.server_args = pki->ServerFlags(/*mutual=*/true);
  options.learner_args = pki->ServerFlags(/*mutual=*/true);
  options.learner_args.insert(options.learner_args.end(), {"--tls-ca", pki->ca()});
  options.client_tls = pki->MutualClient();
  LearnerCluster cluster(options);

  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(3);
  spec.set_eval_interval(3);
  auto job = cluster.Submit(spec);  // the spec check probes both servers over mutual TLS
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->step(), 3);
  EXPECT_EQ(done->last_metrics().logprob_diff_max(), 0.0);
  EXPECT_TRUE(done->has_eval_accuracy());  // eval went through rollout and reward over TLS too

  const std::string learner = cluster.learner()->address();
  std::string out;
  EXPECT_EQ(
      RunCommand(absl::StrCat(FLYWHEEL_CLI, " jobs --learner ", learner, " --tls-ca ", pki->ca(),
                              " --tls-cert ", pki->client_cert(), " --tls-key ", pki->client_key()),
                 &out),
      0)
      << out;
  EXPECT_NE(out.find(job->id()), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCommand(absl::StrCat(FLYWHEEL_CLI, " jobs --learner ", learner), &out), 1) << out;
  EXPECT_NE(out.find("cannot reach the learner"), std::string::npos) << out;
}

}  // namespace
}  // namespace flywheel::testing
