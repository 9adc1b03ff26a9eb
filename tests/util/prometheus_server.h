// A real Prometheus (Debian's `prometheus`) run by a test: it gets a config (checked by
// `promtool check config` first), listens on a loopback port of its own, keeps its data and log
// under a test directory, and is stopped (SIGTERM) with the object.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace flywheel::testing {

class PrometheusServer {
 public:
  // Writes `config_yaml` to DIR/prometheus.yml and starts Prometheus on it with its data in
  // DIR/tsdb and its output in DIR/prometheus.log; `extra_flags` go to its command line.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(
      const std::string& dir, const std::string& config_yaml,
      const std::vector<std::string>& extra_flags = {});
  ~PrometheusServer();

  const std::string& address() const { return address_; }  // host:port of its web API
  // The `data.result` of an instant query (`query` as written; this URL-encodes it); empty on
  // an error.
  nlohmann::json Query(const std::string& query) const;
  // Query, repeated every 250 ms until it returns at least `min_series` series or `timeout_s`
  // passes; the last result.
  nlohmann::json QueryUntil(const std::string& query, size_t min_series, double timeout_s) const;

 private:
  PrometheusServer() = default;
  std::string address_;
  pid_t pid_ = -1;
};

// A Prometheus config that scrapes each {job name, host:port} over plain HTTP every 200 ms and
// evaluates rules every second; `sections` (rule_files: ...) go between global and the scrapes.
std::string ScrapeConfig(const std::vector<std::pair<std::string, std::string>>& targets,
                         const std::string& sections = "");

}  // namespace flywheel::testing
