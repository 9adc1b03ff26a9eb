#include "common/rpc/client.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace flywheel::rpc {

std::chrono::system_clock::time_point DeadlineAfter(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

void SetDeadline(grpc::ClientContext* context, double seconds) {
  context->set_deadline(DeadlineAfter(seconds));
}

absl::StatusOr<ChannelOptions> ChannelOptionsFromFlags(const Flags& flags) {
  auto tls = ClientTlsFromFlags(flags);
  if (!tls.ok()) return tls.status();
  ChannelOptions options;
  options.tls = *std::move(tls);
  return options;
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.private_subchannel) args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  if (!options.tls.enabled()) {
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = options.tls.root_certs;
  ssl.pem_cert_chain = options.tls.cert_chain;
  ssl.pem_private_key = options.tls.private_key;
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

}  // namespace flywheel::rpc
