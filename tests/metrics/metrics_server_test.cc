// The daemons' Prometheus endpoint: it serves what is registered, reports a taken port as an
// error, and stops promptly (civetweb's listener alone would notice a stop only after its 2 s
// poll, which every daemon paid on SIGTERM and every `flywheel up` paid on Ctrl-C).
#include "common/metrics/metrics_server.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "tests/util/daemon_process.h"

namespace flywheel::metrics {
namespace {

double SecondsToDestroy(std::unique_ptr<MetricsServer> server) {
  const auto t0 = std::chrono::steady_clock::now();
  server.reset();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Without the wake-up each stop took 2.0 s here (the listener's poll timeout); with it, a few tens
// of ms. 1 s leaves room for a loaded machine.
constexpr double kMaxStopSeconds = 1.0;

TEST(MetricsServer, ServesRegisteredFamiliesAndStopsPromptly) {
  for (const char* address : {"127.0.0.1:0", "0.0.0.0:0", "localhost:0"}) {
    auto server = MetricsServer::Start(address);
    ASSERT_TRUE(server.ok()) << address << ": " << server.status();
    auto& family = prometheus::BuildCounter()
                       .Name("flywheel_test_events_total")
                       .Help("events")
                       .Register((*server)->registry());
    family.Add({}).Increment(3);
    auto body = testing::HttpGet(absl::StrCat("127.0.0.1:", (*server)->port()), "/metrics");
    ASSERT_TRUE(body.ok()) << address << ": " << body.status();
    EXPECT_NE(body->find("flywheel_test_events_total 3"), std::string::npos) << address << *body;
    EXPECT_LT(SecondsToDestroy(std::move(*server)), kMaxStopSeconds) << address;
  }
}

TEST(MetricsServer, TakenPortIsUnavailable) {
  auto first = MetricsServer::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::Start(absl::StrCat("127.0.0.1:", (*first)->port()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable) << second.status();
}

}  // namespace
}  // namespace flywheel::metrics
