// TLS on a real daemon (flywheel-reward: it starts in milliseconds and needs no model), with
// certificates made by `openssl` at test time. The client side is the one every flywheel client
// uses (rpc::MakeChannel through the server probes) and the CLI's --tls-* flags.
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/probes.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"
#include "tests/util/daemon_process.h"
#include "tests/util/prometheus_server.h"
#include "tests/util/subprocess.h"
#include "tests/util/test_pki.h"

namespace flywheel::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = WriteTestPki(dir_.path());
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  // A reward daemon serving TLS (mutual: client certificates from the test CA required).
  std::unique_ptr<DaemonProcess> StartReward(bool mutual,
                                             const std::vector<std::string>& more = {}) {
    std::vector<std::string> argv = {
        FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        "--threads",         "1"};
    for (const auto& f : pki_.ServerFlags(mutual)) argv.push_back(f);
    argv.insert(argv.end(), more.begin(), more.end());
    auto d = DaemonProcess::Start(argv);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? std::move(*d) : nullptr;
  }

  // ListVerifiers through the client code every flywheel client shares.
  absl::Status Call(const DaemonProcess& d, const rpc::ClientTls& tls) {
    return rpc::ProbeReward(d.address(), 5, "", tls).status();
  }

  TempDir dir_;
  TestPki pki_;
};

TEST_F(TlsTest, RightCaWorks) {
  auto d = StartReward(/*mutual=*/false);
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(Call(*d, pki_.Client(pki_.ca())).ok());
}

TEST_F(TlsTest, PlaintextClientIsRefused) {
  auto d = StartReward(/*mutual=*/false);
  ASSERT_NE(d, nullptr);
  const absl::Status st = Call(*d, rpc::ClientTls{});
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
}

TEST_F(TlsTest, WrongCaIsRefused) {
  auto d = StartReward(/*mutual=*/false);
  ASSERT_NE(d, nullptr);
  const absl::Status st = Call(*d, pki_.Client(pki_.other_ca()));
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
}

TEST_F(TlsTest, TlsClientOfAPlaintextServerIsRefused) {
  auto d = DaemonProcess::Start({FLYWHEEL_REWARD_BIN, "--listen", "127.0.0.1:0", "--metrics-listen",
                                 "127.0.0.1:0", "--threads", "1"});
  ASSERT_TRUE(d.ok()) << d.status();
  const absl::Status st = Call(**d, pki_.Client(pki_.ca()));
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
}

TEST_F(TlsTest, MutualTlsNeedsAClientCertificateFromItsCa) {
  auto d = StartReward(/*mutual=*/true);
  ASSERT_NE(d, nullptr);
  const absl::Status no_cert = Call(*d, pki_.Client(pki_.ca()));
  EXPECT_TRUE(absl::IsUnavailable(no_cert)) << no_cert;
  // A certificate from another CA is no better than none.
  const absl::Status wrong_cert =
      Call(*d, pki_.Client(pki_.ca(), pki_.other_client_cert(), pki_.other_client_key()));
  EXPECT_TRUE(absl::IsUnavailable(wrong_cert)) << wrong_cert;
  EXPECT_TRUE(Call(*d, pki_.MutualClient()).ok());
}

// The CLI's --tls-* flags reach the same channel code: `flywheel reward` over mutual TLS works
// with the full set and fails (exit 1) without the client certificate.
TEST_F(TlsTest, CliTakesTlsFlags) {
  auto d = StartReward(/*mutual=*/true);
  ASSERT_NE(d, nullptr);
  {
    std::ofstream items(dir_.File("items.jsonl"));
    items
        << R"({"prompt": "2+2?", "completion": "\\boxed{4}", "task": {"verifier": "math", "gold": "4"}})"
        << "\n";
  }
  const std::string base = absl::StrCat(FLYWHEEL_CLI, " reward --server ", d->address(), " --file ",
                                        dir_.File("items.jsonl"), " --tls-ca ", pki_.ca());
  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(base, " --tls-cert ", pki_.client_cert(), " --tls-key ",
                                    pki_.client_key()),
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("\"reward\":1"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(RunCommand(base, &out), 1) << out;
  out.clear();
  // A certificate without its key is a usage mistake caught before any connection.
  EXPECT_EQ(RunCommand(absl::StrCat(base, " --tls-cert ", pki_.client_cert()), &out), 1) << out;
  EXPECT_NE(out.find("--tls-cert and --tls-key must be given together"), std::string::npos) << out;
}

// /metrics stays plain HTTP on a daemon that serves gRPC over mutual TLS unless --metrics-tls asks
// for HTTPS, which needs the daemon's certificate.
TEST_F(TlsTest, MetricsStayPlainHttpUnlessAsked) {
  auto plain = StartReward(/*mutual=*/true);
  ASSERT_NE(plain, nullptr);
  auto scraped = HttpGet(plain->metrics_address(), "/metrics");
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_NE(scraped->find("# TYPE "), std::string::npos) << *scraped;

  std::string out;
  EXPECT_EQ(RunCommand(absl::StrCat(FLYWHEEL_REWARD_BIN,
                                    " --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 "
                                    "--metrics-tls"),
                       &out),
            1)
      << out;
  EXPECT_NE(out.find("--metrics-tls serves /metrics with the daemon's certificate"),
            std::string::npos)
      << out;
}

// With --metrics-tls a real Prometheus scrapes /metrics over HTTPS: trusting the test CA it gets
// the daemon's series; with mutual TLS only when it presents a client certificate; a scraper
// trusting another CA gets nothing, and neither does plain HTTP. (Debian's civetweb under
// prometheus-cpp crashed on the first HTTPS request; the daemon serves HTTPS itself now, and
// this test fails if a scrape kills it.)
TEST_F(TlsTest, PrometheusScrapesMetricsOverHttps) {
  auto server_only = StartReward(/*mutual=*/false, {"--metrics-tls"});
  auto mutual = StartReward(/*mutual=*/true, {"--metrics-tls"});
  ASSERT_NE(server_only, nullptr);
  ASSERT_NE(mutual, nullptr);
  EXPECT_FALSE(HttpGet(mutual->metrics_address(), "/metrics").ok()) << "plain HTTP on HTTPS";

  auto job = [](const std::string& name, const std::string& target, const std::string& tls) {
    return absl::StrCat("  - job_name: ", name, "\n    scheme: https\n    tls_config:\n", tls,
                        "    static_configs:\n      - targets: ['", target, "']\n");
  };
  const std::string ca = absl::StrCat("      ca_file: ", pki_.ca(), "\n");
  const std::string client = absl::StrCat("      cert_file: ", pki_.client_cert(),
                                          "\n      key_file: ", pki_.client_key(), "\n");
  const std::string config =
      absl::StrCat("global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\nscrape_configs:\n",
                   job("server-only", server_only->metrics_address(), ca),
                   job("mutual", mutual->metrics_address(), ca + client),
                   job("mutual-without-client-cert", mutual->metrics_address(), ca),
                   job("wrong-ca", server_only->metrics_address(),
                       absl::StrCat("      ca_file: ", pki_.other_ca(), "\n")));
  auto prometheus = PrometheusServer::Start(dir_.path(), config);
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  // Every target has been scraped (up is 0 or 1) ...
  ASSERT_EQ((*prometheus)->QueryUntil("up", 4, 60).size(), 4u);
  // ... and those that should be up stay up for a few more scrapes.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (const char* name : {"server-only", "mutual"}) {
    SCOPED_TRACE(name);
    auto up = (*prometheus)->Query(absl::StrCat("up{job=\"", name, "\"}"));
    ASSERT_EQ(up.size(), 1u) << up.dump();
    EXPECT_EQ(up[0]["value"][1], "1");
    auto series =
        (*prometheus)->Query(absl::StrCat("{job=\"", name, "\",__name__=~\"flywheel_.+\"}"));
    EXPECT_FALSE(series.empty()) << "the daemon's own series came over HTTPS";
  }
  for (const char* name : {"mutual-without-client-cert", "wrong-ca"}) {
    SCOPED_TRACE(name);
    auto up = (*prometheus)->Query(absl::StrCat("up{job=\"", name, "\"}"));
    ASSERT_EQ(up.size(), 1u) << up.dump();
    EXPECT_EQ(up[0]["value"][1], "0");
  }
  // The refused handshakes did not hurt the daemons: both still serve gRPC.
  EXPECT_TRUE(Call(*server_only, pki_.Client(pki_.ca())).ok());
  EXPECT_TRUE(Call(*mutual, pki_.MutualClient()).ok());
}

TEST_F(TlsTest, DaemonRefusesToStartWithBadTlsFiles) {
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", pki_.server_cert()}, "--tls-cert and --tls-key must be given together"},
      {{"--tls-cert", dir_.File("missing.pem"), "--tls-key", pki_.server_key()}, "cannot read"},
      {{"--tls-cert", pki_.server_key(), "--tls-key", pki_.server_key()},
       "holds no PEM CERTIFICATE block"},
      {{"--tls-client-ca", pki_.ca()}, "--tls-client-ca needs --tls-cert and --tls-key"},
  };
  for (const Case& c : cases) {
    std::string cmd =
        absl::StrCat(FLYWHEEL_REWARD_BIN, " --listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0");
    for (const auto& f : c.flags) absl::StrAppend(&cmd, " ", f);
    std::string out;
    EXPECT_EQ(RunCommand(cmd, &out), 1) << cmd << "\n" << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << cmd << "\n" << out;
  }
}

}  // namespace
}  // namespace flywheel::testing
