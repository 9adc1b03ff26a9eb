#include "tests/util/prometheus_server.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/util/daemon_process.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

// A loopback port that was free a moment ago (Prometheus cannot report a port it picked itself).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string ScrapeConfig(const std::vector<std::pair<std::string, std::string>>& targets,
                         const std::string& sections) {
  std::string config = absl::StrCat(
      "global:\n  scrape_interval: 200ms\n  scrape_timeout: 200ms\n  evaluation_interval: 1s\n",
      sections, "scrape_configs:\n");
  for (const auto& [job, target] : targets) {
    absl::StrAppend(&config, "  - job_name: ", job, "\n    static_configs:\n      - targets: ['",
                    target, "']\n");
  }
  return config;
}

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    const std::string& dir, const std::string& config_yaml,
    const std::vector<std::string>& extra_flags) {
  const std::string config = dir + "/prometheus.yml";
  {
    std::ofstream f(config);
    f << config_yaml;
    if (!f) return absl::InternalError("cannot write " + config);
  }
  std::string out;
  if (RunCommand("promtool check config " + config, &out) != 0) {
    return absl::InvalidArgumentError("promtool check config: " + out);
  }
  std::unique_ptr<PrometheusServer> p(new PrometheusServer());
  p->address_ = absl::StrCat("127.0.0.1:", FreePort());
  std::vector<std::string> args = {"prometheus", "--config.file=" + config,
                                   "--storage.tsdb.path=" + dir + "/tsdb",
                                   "--web.listen-address=" + p->address_};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string log = dir + "/prometheus.log";
  p->pid_ = ::fork();
  if (p->pid_ < 0) return absl::InternalError("fork failed");
  if (p->pid_ == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    execvp("prometheus", argv.data());
    _exit(127);
  }
  return p;
}

PrometheusServer::~PrometheusServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::waitpid(pid_, nullptr, 0);
}

nlohmann::json PrometheusServer::Query(const std::string& query) const {
  auto body = HttpGet(address_, "/api/v1/query?query=" + UrlEncode(query));
  if (!body.ok()) return nlohmann::json::array();
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (!j.is_object() || j.value("status", "") != "success") return nlohmann::json::array();
  return j["data"]["result"];
}

nlohmann::json PrometheusServer::QueryUntil(const std::string& query, size_t min_series,
                                            double timeout_s) const {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  nlohmann::json result = Query(query);
  while (result.size() < min_series && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    result = Query(query);
  }
  return result;
}

}  // namespace flywheel::testing
