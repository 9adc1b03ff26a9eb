// What every flywheel gRPC client does the same way: deadlines, and channels whose message limits
// fit weight chunks and batched scoring. The learner's server pools, its job-spec probes, the
// reward daemon's judge client and the CLI all build their channels here, so a transport setting
// (message sizes, subchannel sharing, TLS) is decided in one place.
//
// Thread safety: free functions of their arguments; a returned channel is thread-safe (gRPC).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/base/flags.h"
#include "common/rpc/tls.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace flywheel::rpc {

// The wall-clock deadline `seconds` from now (sub-microsecond parts are dropped).
std::chrono::system_clock::time_point DeadlineAfter(double seconds);

// Sets a deadline `seconds` from now on `context`.
void SetDeadline(grpc::ClientContext* context, double seconds);

struct ChannelOptions {
  // Largest message either way. Score and Generate responses of a big batch and whole weight
  // tensors can exceed gRPC's 4 MiB default.
  int max_message_bytes = 256 << 20;
  // A subchannel of its own instead of the process-wide shared pool: a probe of a dead server
  // then cannot delay another probe of the same address through shared reconnect backoff.
  bool private_subchannel = false;
  // TLS (with a client certificate for mutual TLS) when tls.enabled(); plaintext otherwise.
  ClientTls tls;
};

// Channel options with the TLS of a command's --tls-ca / --tls-cert / --tls-key (see
// ClientTlsFromFlags); errors as it.
absl::StatusOr<ChannelOptions> ChannelOptionsFromFlags(const Flags& flags);

// A channel to `address` ("host:port"), TLS or plaintext as options.tls says; it connects
// lazily, on the first call. A TLS channel verifies the server's certificate against
// tls.root_certs and the host part of `address` (an IP address must be in the certificate's
// subjectAltName); a failed handshake fails calls with UNAVAILABLE.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options = {});

}  // namespace flywheel::rpc
