#include "common/rpc/tls.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace flywheel::rpc {

const char kClientTlsUsage[] =
    "  --tls-ca FILE        CA certificate (PEM) that verifies the server: use TLS\n"
    "  --tls-cert FILE      client certificate (PEM) for mutual TLS, with --tls-key\n"
    "  --tls-key FILE       its private key (PEM)\n";

absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& kind,
                                    const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  // "PRIVATE KEY-----" also ends "RSA PRIVATE KEY-----" and "EC PRIVATE KEY-----" blocks.
  const bool found = kind == "CERTIFICATE"
                         ? text.find("-----BEGIN CERTIFICATE-----") != std::string::npos
                         : text.find(kind + "-----") != std::string::npos &&
                               text.find("-----BEGIN ") != std::string::npos;
  if (!found) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", path, " holds no PEM ", kind, " block"));
  }
  return text;
}

void AddClientTlsFlags(std::set<std::string>* valued) {
  valued->insert({"tls-ca", "tls-cert", "tls-key"});
}

void AddServerTlsFlags(std::set<std::string>* valued) {
  valued->insert({"tls-cert", "tls-key", "tls-client-ca"});
}

namespace {

// Reads --tls-cert and --tls-key, which must come together; (empty, empty) when neither is given.
absl::Status ReadIdentity(const Flags& flags, std::string* cert, std::string* key) {
  const auto cert_file = flags.Get("tls-cert");
  const auto key_file = flags.Get("tls-key");
  if (cert_file.has_value() != key_file.has_value()) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key must be given together");
  }
  if (!cert_file) return absl::OkStatus();
  auto c = ReadPem(*cert_file, "CERTIFICATE", "tls-cert");
  if (!c.ok()) return c.status();
  auto k = ReadPem(*key_file, "PRIVATE KEY", "tls-key");
  if (!k.ok()) return k.status();
  *cert = std::move(*c);
  *key = std::move(*k);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientTls> ClientTlsFromFlags(const Flags& flags) {
  ClientTls tls;
  if (absl::Status s = ReadIdentity(flags, &tls.cert_chain, &tls.private_key); !s.ok()) return s;
  const auto ca = flags.Get("tls-ca");
  if (!ca) {
    if (!tls.cert_chain.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert needs --tls-ca (the CA that verifies the server)");
    }
    return tls;
  }
  auto roots = ReadPem(*ca, "CERTIFICATE", "tls-ca");
  if (!roots.ok()) return roots.status();
  tls.root_certs = std::move(*roots);
  return tls;
}

absl::StatusOr<ServerTls> ServerTlsFromFlags(const Flags& flags) {
  ServerTls tls;
  if (absl::Status s = ReadIdentity(flags, &tls.cert_chain, &tls.private_key); !s.ok()) return s;
  if (const auto ca = flags.Get("tls-client-ca")) {
    if (tls.cert_chain.empty()) {
      return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
    }
    auto roots = ReadPem(*ca, "CERTIFICATE", "tls-client-ca");
    if (!roots.ok()) return roots.status();
    tls.client_ca = std::move(*roots);
  }
  return tls;
}

}  // namespace flywheel::rpc
