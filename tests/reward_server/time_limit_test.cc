// The reward service's per-item time limit: an item whose scoring outlasts it (here, a judge that
// hangs) is answered with DEADLINE_EXCEEDED on its own, and the rest of the request completes.
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "reward/reward_service.h"

namespace flywheel {
namespace {

namespace v1 = ::flywheel::v1;

// A judge that takes far longer than the time limit.
class HangingJudge : public reward::Judge {
 public:
  absl::StatusOr<std::vector<double>> Score(const std::vector<reward::JudgeQuery>& q) override {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    return std::vector<double>(q.size(), 1.0);
  }
};

TEST(RewardTimeLimitTest, SlowItemFailsAloneWithDeadlineExceeded) {
  HangingJudge judge;
  reward::RewardServiceOptions opt;
  opt.threads = 2;
  opt.item_timeout_seconds = 0.3;
  reward::RewardService service(opt, &judge, nullptr);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  ASSERT_NE(port, 0);
  auto stub = v1::RewardService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  v1::ScoreRewardsRequest req;
  auto* slow = req.add_items();
  slow->set_prompt("q");
  slow->set_completion("a");
  slow->set_task_json(R"({"verifier":"rubric","rubric":[{"title":"t","kind":"judge"}]})");
  auto* fast = req.add_items();
  fast->set_completion("\\boxed{3}");
  fast->set_task_json(R"({"verifier":"math","gold":"3"})");
  grpc::ClientContext ctx;
  v1::ScoreRewardsResponse resp;
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(stub->Score(&ctx, req, &resp).ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(resp.results_size(), 2);
  EXPECT_EQ(resp.results(0).error_code(), static_cast<int>(grpc::StatusCode::DEADLINE_EXCEEDED));
  EXPECT_NE(resp.results(0).error().find("time limit"), std::string::npos)
      << resp.results(0).error();
  EXPECT_TRUE(resp.results(1).error().empty());
  EXPECT_TRUE(resp.results(1).correct());
  // Answered at the limit, not when the judge returns (3 s); the bound leaves room for a slow,
  // shared machine.
  EXPECT_LT(seconds, 2.0);
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace flywheel
