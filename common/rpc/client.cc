#include "common/rpc/client.h"

#include "flywheel/v1/rollout.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace flywheel::rpc {
namespace {

// gRPC 1.51 (Debian 12) runs callback-API calls on one shared "alternative" completion queue
// polled by its own threads, taken up by each channel on its first callback call and torn down
// when the last such channel goes. A channel taking it up while another's release tears it down
// races that teardown, and the process aborts ("assertion failed: prior > 0" in the queue's
// reference count): pools that drop and re-create channels as servers come and go hit it. One
// channel kept for the life of the process, with one callback call made on it, holds the queue,
// so it is never torn down.
void HoldCallbackQueue() {
  // Never destroyed: it holds the queue until exit. Kept in a static so that it stays reachable
  // (LeakSanitizer counted the first version, a pointer held nowhere, as a leak at every exit).
  static std::shared_ptr<grpc::Channel>* const channel = new std::shared_ptr<grpc::Channel>(
      grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
  static const bool held = [] {
    // The call fails at once (its deadline has passed; nothing listens on port 1); only its
    // having been made matters.
    auto stub = v1::RolloutService::NewStub(*channel);
    auto context = std::make_shared<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now());
    auto request = std::make_shared<v1::GetInfoRequest>();
    auto response = std::make_shared<v1::GetInfoResponse>();
    stub->async()->GetInfo(context.get(), request.get(), response.get(),
                           [context, request, response](const grpc::Status&) {});
    return true;
  }();
  (void)held;
}

}  // namespace

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
  HoldCallbackQueue();
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
