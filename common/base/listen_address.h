// The addresses behind a server's listen address "HOST:PORT" ("[::1]:PORT" for IPv6; an empty
// HOST is every interface), resolved for binding, as the daemons' /metrics and start-up checks
// need them.
//
// Thread safety: a free function (getaddrinfo may block on DNS).
#pragma once

#include <netdb.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace flywheel {

struct AddrinfoDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};
using Addrinfo = std::unique_ptr<addrinfo, AddrinfoDeleter>;

// The list getaddrinfo gives for binding (AI_PASSIVE, TCP). InvalidArgument "expected HOST:PORT"
// without a port; Unavailable "cannot resolve LISTEN: why" when it fails.
absl::StatusOr<Addrinfo> ResolveListen(const std::string& listen);

}  // namespace flywheel
