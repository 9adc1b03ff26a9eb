// Certificates for TLS tests, made with the `openssl` command at test time (nothing is checked
// in): a CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a second,
// unrelated CA with its own client certificate (what a wrong CA looks like).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/tls.h"

namespace flywheel::testing {

// Files written under a directory by WriteTestPki.
struct TestPki {
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string server_cert() const { return dir + "/server.pem"; }  // also usable as a client
  std::string server_key() const { return dir + "/server.key"; }
  std::string client_cert() const { return dir + "/client.pem"; }
  std::string client_key() const { return dir + "/client.key"; }
  std::string other_ca() const { return dir + "/other_ca.pem"; }
  std::string other_client_cert() const { return dir + "/other_client.pem"; }
  std::string other_client_key() const { return dir + "/other_client.key"; }

  // The daemon flags of TLS with the server certificate; with mutual TLS, clients must present a
  // certificate from ca().
  std::vector<std::string> ServerFlags(bool mutual) const;
  // A client's TLS settings: verify the server with `ca_file`; present `cert_file` (with
  // `key_file`) when given.
  rpc::ClientTls Client(const std::string& ca_file, const std::string& cert_file = "",
                        const std::string& key_file = "") const;
  // Verified by ca(), presenting client.pem.
  rpc::ClientTls MutualClient() const { return Client(ca(), client_cert(), client_key()); }
};

// Writes the files into `dir` (which must exist). Internal error with openssl's output when a
// command fails.
absl::StatusOr<TestPki> WriteTestPki(const std::string& dir);

}  // namespace flywheel::testing
