#include "common/metrics/metrics_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace flywheel::metrics {

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    const MetricsTls* tls) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->registry_ = std::make_shared<prometheus::Registry>();
  if (tls != nullptr) {
    s->collectables_.push_back(s->registry_);
    auto https = HttpsListener::Start(address, *tls, [p = s.get()] { return p->Scrape(); });
    if (!https.ok()) return https.status();
    s->https_ = std::move(*https);
    s->port_ = s->https_->port();
    return s;
  }
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
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  s->host_ = host;
  return s;
}

namespace {

// One TCP connection to host:port, closed at once; failures are ignored (it is only a wake-up).
void Poke(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

}  // namespace

MetricsServer::~MetricsServer() {
  https_.reset();
  if (exposer_ == nullptr) return;  // HTTPS, or Start failed before the exposer existed
  // The stop flag is set inside the exposer's destructor, so a single early connection could be
  // accepted before it and leave the listener polling again; keep poking until the exposer is gone.
  std::atomic<bool> gone{false};
  std::thread waker([&] {
    while (!gone.load()) {
      Poke(host_, port_);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  gone.store(true);
  waker.join();
}

void MetricsServer::Add(const std::weak_ptr<prometheus::Collectable>& collectable) {
  if (exposer_ != nullptr) {
    exposer_->RegisterCollectable(collectable);
    return;
  }
  std::lock_guard lock(mu_);
  collectables_.push_back(collectable);
}

std::string MetricsServer::Scrape() {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& weak : collectables_) {
      if (auto c = weak.lock()) {
        for (auto& f : c->Collect()) families.push_back(std::move(f));
      }
    }
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace flywheel::metrics
