#include "common/metrics/metrics_server.h"

#include <exception>

#include "absl/strings/str_cat.h"

namespace flywheel::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->registry_ = std::make_shared<prometheus::Registry>();
  try {
    // civetweb reports a bind failure by throwing; turn it into a Status.
    s->exposer_ = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  s->exposer_->RegisterCollectable(s->registry_);
  auto ports = s->exposer_->GetListeningPorts();
  if (ports.empty())
    return absl::UnavailableError(absl::StrCat("metrics server on ", address, " has no port"));
  s->port_ = ports[0];
  return s;
}

void MetricsServer::Add(const std::weak_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

}  // namespace flywheel::metrics
