// TLS material of flywheel's gRPC servers and clients, read once from PEM files at start-up.
//
// Servers take --tls-cert FILE --tls-key FILE (their identity) and, for mutual TLS,
// --tls-client-ca FILE (the CA that must have signed every client's certificate). Clients take
// --tls-ca FILE (the CA that must have signed the server's certificate) and, for mutual TLS,
// --tls-cert / --tls-key (their own identity). A daemon that is both (the learner, the reward
// daemon's judge client) uses one --tls-cert / --tls-key pair both ways.
//
// Without these flags everything stays plaintext, as before; the two never mix on one channel or
// port (a plaintext client of a TLS server fails its handshake, and the reverse).
//
// Thread safety: plain values and free functions.
#pragma once

#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "common/base/flags.h"

namespace flywheel::rpc {

// A client's TLS settings: PEM text, not file names.
struct ClientTls {
  std::string root_certs;   // CA certificates that verify the server; "" = plaintext
  std::string cert_chain;   // the client's certificate for mutual TLS ("" = none)
  std::string private_key;  // its key (set exactly when cert_chain is)
  bool enabled() const { return !root_certs.empty(); }
};

// A server's TLS settings: PEM text.
struct ServerTls {
  std::string cert_chain;   // the server's certificate (chain); "" = plaintext
  std::string private_key;  // its key
  std::string client_ca;    // when set, clients must present a certificate this CA signed
  bool enabled() const { return !cert_chain.empty(); }
};

// The contents of a PEM file that must hold a block "-----BEGIN <kind>" (kind "CERTIFICATE", or
// "PRIVATE KEY" which also matches "RSA PRIVATE KEY" and "EC PRIVATE KEY"). NotFound when the
// file cannot be read, InvalidArgument naming `flag` and the file when it holds no such block.
absl::StatusOr<std::string> ReadPem(const std::string& path, const std::string& kind,
                                    const std::string& flag);

// --tls-ca, --tls-cert and --tls-key (all optional): a cert needs a key and a CA; a key needs a
// cert. Plaintext (all empty) when none is given.
absl::StatusOr<ClientTls> ClientTlsFromFlags(const Flags& flags);

// --tls-cert, --tls-key and --tls-client-ca: the cert and key come together; a client CA needs
// them. Plaintext when none is given.
absl::StatusOr<ServerTls> ServerTlsFromFlags(const Flags& flags);

// Adds the flags each reads to a command's set of valued flags.
void AddClientTlsFlags(std::set<std::string>* valued);
void AddServerTlsFlags(std::set<std::string>* valued);

// Usage lines of the client flags, for a command's --help (ends with a newline).
extern const char kClientTlsUsage[];

}  // namespace flywheel::rpc
