#include "tests/util/test_pki.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

// P-256 keys: quick to make, and every TLS stack here accepts them.
constexpr char kScript[] = R"(set -e
cd "$DIR"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { key "$1.key"; openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2"; }
leaf() {  # leaf NAME CA SUBJECT EXTENSIONS
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3"
  printf '%b' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" \
    -days 2 -extfile "$1.ext"
}
ca ca "flywheel test CA"
ca other_ca "some other CA"
leaf server ca localhost \
  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
leaf client ca "flywheel test client" "extendedKeyUsage=clientAuth\n"
leaf other_client other_ca "stranger" "extendedKeyUsage=clientAuth\n"
)";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::vector<std::string> TestPki::ServerFlags(bool mutual) const {
  std::vector<std::string> flags = {"--tls-cert", server_cert(), "--tls-key", server_key()};
  if (mutual) flags.insert(flags.end(), {"--tls-client-ca", ca()});
  return flags;
}

rpc::ClientTls TestPki::Client(const std::string& ca_file, const std::string& cert_file,
                               const std::string& key_file) const {
  rpc::ClientTls tls;
  tls.root_certs = Slurp(ca_file);
  if (!cert_file.empty()) {
    tls.cert_chain = Slurp(cert_file);
    tls.private_key = Slurp(key_file);
  }
  return tls;
}

absl::StatusOr<TestPki> WriteTestPki(const std::string& dir) {
  const std::string script_path = dir + "/make_pki.sh";
  {
    std::ofstream out(script_path);
    out << kScript;
  }
  std::string output;
  const int rc = RunCommand(absl::StrCat("DIR='", dir, "' bash '", script_path, "'"), &output);
  if (rc != 0) return absl::InternalError(absl::StrCat("openssl failed (", rc, "): ", output));
  return TestPki{dir};
}

}  // namespace flywheel::testing
