// The daemons' Prometheus endpoint: it serves what is registered, reports a taken port as an
// error, and stops promptly (civetweb's listener alone would notice a stop only after its 2 s
// poll, which every daemon paid on SIGTERM and every `flywheel up` paid on Ctrl-C).
#include "common/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"

namespace flywheel::metrics {
namespace {

// GET /metrics over a plain socket; "" when the connection fails.
std::string Scrape(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string body;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) body.append(buf, n);
    }
  }
  close(fd);
  return body;
}

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
    const std::string body = Scrape((*server)->port());
    EXPECT_NE(body.find("flywheel_test_events_total 3"), std::string::npos) << address << body;
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
