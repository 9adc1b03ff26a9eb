// /metrics over HTTPS (a daemon's --metrics-tls), served with OpenSSL directly: Debian 12's
// civetweb 1.15, under prometheus-cpp's Exposer, calls an OpenSSL 1.1 symbol that OpenSSL 3 no
// longer exports and crashes on the first HTTPS request, so the TLS endpoint is our own.
//
// It answers GET /metrics (and GET /) with the text the `body` callback returns, anything else
// with 404 or 405, one connection at a time, "Connection: close" (what a Prometheus scrape needs:
// one request every few seconds). A client has 5 s to finish its handshake and request, so a
// stalled one delays the next scrape by at most that. With a client CA, a client must present a
// certificate that CA signed (mutual TLS), as on the daemon's gRPC port.
//
// Thread safety: Start and the destructor are not; `body` runs on the listener's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace flywheel::metrics {

// PEM contents (not paths).
struct MetricsTls {
  std::string cert_chain;
  std::string private_key;
  std::string client_ca;  // "" = no client certificate asked for
};

class HttpsListener {
 public:
  // Binds `address` ("host:port", port 0 picks one). InvalidArgument for unusable PEM data,
  // Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpsListener>> Start(const std::string& address,
                                                              const MetricsTls& tls,
                                                              std::function<std::string()> body);
  ~HttpsListener();  // stops accepting and joins the thread (within the 5 s client limit)

  int port() const { return port_; }

 private:
  HttpsListener() = default;
  void Serve();
  void Answer(int fd);

  struct Context;  // the OpenSSL SSL_CTX
  std::unique_ptr<Context> ctx_;
  std::function<std::string()> body_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace flywheel::metrics
