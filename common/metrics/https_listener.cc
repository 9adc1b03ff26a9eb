#include "common/metrics/https_listener.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/base/listen_address.h"

namespace flywheel::metrics {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kClientLimit = std::chrono::seconds(5);  // handshake + request
constexpr size_t kMaxRequestBytes = 8192;

std::string SslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no detail from OpenSSL";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM text, in order; calls `use` with each (owned by the caller of use:
// it must take or free it). InvalidArgument when there is none.
template <typename Use>
absl::Status ForEachCert(const std::string& pem, const std::string& what, Use use) {
  BioPtr bio = MemBio(pem);
  int n = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    ++n;
    if (absl::Status s = use(cert); !s.ok()) return s;
  }
  ERR_clear_error();  // the read past the last certificate
  if (n == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": no PEM certificate"));
  return absl::OkStatus();
}

}  // namespace

struct HttpsListener::Context {
  SSL_CTX* ctx = nullptr;
  ~Context() { SSL_CTX_free(ctx); }
};

absl::StatusOr<std::unique_ptr<HttpsListener>> HttpsListener::Start(
    const std::string& address, const MetricsTls& tls, std::function<std::string()> body) {
  std::unique_ptr<HttpsListener> l(new HttpsListener());
  l->body_ = std::move(body);
  l->ctx_ = std::make_unique<Context>();
  SSL_CTX* ctx = l->ctx_->ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new: " + SslError());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  bool leaf = true;
  absl::Status chain = ForEachCert(tls.cert_chain, "metrics TLS certificate", [&](X509* cert) {
    const int ok = leaf ? SSL_CTX_use_certificate(ctx, cert) : SSL_CTX_add0_chain_cert(ctx, cert);
    if (leaf) X509_free(cert);  // use_certificate takes a reference of its own; add0 takes ours
    if (ok != 1) {
      if (!leaf) X509_free(cert);
      return absl::InvalidArgumentError("metrics TLS certificate: " + SslError());
    }
    leaf = false;
    return absl::OkStatus();
  });
  if (!chain.ok()) return chain;
  {
    BioPtr bio = MemBio(tls.private_key);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) return absl::InvalidArgumentError("metrics TLS key: " + SslError());
    const int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
      return absl::InvalidArgumentError("metrics TLS key does not match the certificate: " +
                                        SslError());
    }
  }
  if (!tls.client_ca.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    absl::Status cas = ForEachCert(tls.client_ca, "metrics TLS client CA", [&](X509* cert) {
      const bool ok =
          X509_STORE_add_cert(store, cert) == 1 && SSL_CTX_add_client_CA(ctx, cert) == 1;
      X509_free(cert);
      return ok ? absl::OkStatus()
                : absl::InvalidArgumentError("metrics TLS client CA: " + SslError());
    });
    if (!cas.ok()) return cas;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  auto found = ResolveListen(address);
  if (!found.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address, ": ", found.status().message()));
  }
  std::string problem = "no address";
  for (addrinfo* a = found->get(); a != nullptr && l->listen_fd_ < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 16) == 0) {
      l->listen_fd_ = fd;
    } else {
      problem = std::strerror(errno);
      close(fd);
    }
  }
  if (l->listen_fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", problem));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(l->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                               : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  // A scraper that hangs up mid-answer must not kill the daemon: OpenSSL writes with write(2),
  // which raises SIGPIPE on a closed connection.
  signal(SIGPIPE, SIG_IGN);
  l->thread_ = std::thread([p = l.get()] { p->Serve(); });
  return l;
}

HttpsListener::~HttpsListener() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

void HttpsListener::Serve() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;  // wakes every 100 ms to see stop_
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    // Each read or write waits at most 1 s; Answer bounds the whole exchange.
    timeval t{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof(t));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof(t));
    Answer(fd);
    close(fd);
  }
}

void HttpsListener::Answer(int fd) {
  const auto deadline = Clock::now() + kClientLimit;
  SSL* ssl = SSL_new(ctx_->ctx);
  if (ssl == nullptr) return;
  SSL_set_fd(ssl, fd);
  auto retry = [&](int rc) {  // a timed-out read or write is retried until the deadline
    const int e = SSL_get_error(ssl, rc);
    return (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ||
            (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EINTR))) &&
           Clock::now() < deadline && !stop_.load();
  };
  int rc;
  while ((rc = SSL_accept(ssl)) != 1 && retry(rc)) {
  }
  std::string request;
  if (rc == 1) {
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
      const int n = SSL_read(ssl, buf, sizeof(buf));
      if (n > 0) {
        request.append(buf, n);
      } else if (!retry(n)) {
        break;
      }
    }
  }
  if (request.find("\r\n\r\n") != std::string::npos) {
    const std::string line = request.substr(0, request.find("\r\n"));
    const size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
    const std::string method = line.substr(0, sp1);
    std::string target =
        sp1 == std::string::npos
            ? ""
            : line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    std::string status = "200 OK", content;
    if (method != "GET") {
      status = "405 Method Not Allowed";
    } else if (target != "/metrics" && target != "/") {
      status = "404 Not Found";
    } else {
      content = body_();
    }
    const std::string response = absl::StrCat(
        "HTTP/1.1 ", status, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n",
        "Content-Length: ", content.size(), "\r\nConnection: close\r\n\r\n", content);
    size_t sent = 0;
    while (sent < response.size()) {
      const int n =
          SSL_write(ssl, response.data() + sent, static_cast<int>(response.size() - sent));
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (!retry(n)) {
        break;
      }
    }
    SSL_shutdown(ssl);
  }
  SSL_free(ssl);
  ERR_clear_error();
}

}  // namespace flywheel::metrics
