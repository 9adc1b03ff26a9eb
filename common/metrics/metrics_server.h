// The one object per daemon that serves Prometheus text on /metrics: plain HTTP through
// prometheus-cpp's Exposer, or HTTPS through HttpsListener (https_listener.h) when given TLS.
// Daemons add their families to registry() or register extra collectables that compute values
// at scrape time.
//
// Thread safety: prometheus-cpp registries and metrics are thread-safe, and so is Add; Start is
// not.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics/https_listener.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace flywheel::metrics {

class MetricsServer {
 public:
  // Binds `address` ("host:port"; port 0 picks a free one). Unavailable if it cannot bind. With
  // `tls`, serves HTTPS (mutual TLS when tls->client_ca is set); InvalidArgument for bad PEM data.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              const MetricsTls* tls = nullptr);

  prometheus::Registry& registry() { return *registry_; }
  // Serves another collectable (kept alive by the caller's shared_ptr).
  void Add(const std::weak_ptr<prometheus::Collectable>& collectable);
  int port() const { return port_; }

  // Stops serving. Returns within milliseconds: civetweb's listener only notices a stop when its
  // 2 s poll times out or a connection arrives, so the destructor connects to wake it.
  ~MetricsServer();

 private:
  MetricsServer() = default;
  std::string Scrape();  // the text of every collectable (HTTPS mode)

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // plain HTTP
  std::unique_ptr<HttpsListener> https_;          // or HTTPS
  std::mutex mu_;
  std::vector<std::weak_ptr<prometheus::Collectable>> collectables_;  // HTTPS mode; mu_
  std::string host_;  // where the destructor connects: the bound host, or loopback for a wildcard
  int port_ = 0;
};

}  // namespace flywheel::metrics
