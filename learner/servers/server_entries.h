// The entries of a job's rollout_servers list: a fixed "host:port", "dns:NAME:PORT" (every
// address NAME resolves to, as a Kubernetes headless Service lists its pods), or "registered"
// (the servers that announced themselves to the learner). Parsing, and resolving the DNS names.
//
// Thread safety: free functions; ResolveAll may block on DNS (call it off gRPC's threads).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::learner {

struct DnsName {
  std::string host;
  int port = 0;
};

struct ServerEntries {
  std::vector<std::string> fixed;  // host:port
  std::vector<DnsName> dns;
  bool registered = false;
  // True when membership can change (a DNS name or "registered").
  bool elastic() const { return registered || !dns.empty(); }
};

// InvalidArgument naming the first entry that is none of the three forms.
absl::StatusOr<ServerEntries> ParseServerEntries(const std::vector<std::string>& entries);

// host:port of every address `name` resolves to now (IPv6 as [addr]:port), sorted; an error
// when the name does not resolve.
absl::StatusOr<std::vector<std::string>> Resolve(const DnsName& name);

}  // namespace flywheel::learner
