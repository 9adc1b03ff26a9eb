#include "common/rpc/probes.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"

namespace flywheel::rpc {
namespace {

// Runs one unary call `call(stub, context, request, response)` against a fresh private channel.
template <typename Service, typename Response, typename Request, typename Call>
absl::StatusOr<Response> Probe(const char* kind, const std::string& address, double timeout_seconds,
                               const std::string& bearer_token, const ClientTls& tls,
                               const Request& request, Call call) {
  ChannelOptions options;
  options.private_subchannel = true;
  options.tls = tls;
  auto stub = Service::NewStub(MakeChannel(address, options));
  grpc::ClientContext context;
  SetDeadline(&context, timeout_seconds);
  AddBearer(&context, bearer_token);
  Response response;
  const grpc::Status status = call(stub.get(), &context, request, &response);
  if (status.ok()) return response;
  const absl::Status s = FromGrpc(status);
  const bool unreachable =
      s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDeadlineExceeded;
  return absl::Status(s.code(), absl::StrCat(kind, " ", address,
                                             unreachable ? " unreachable: " : ": ", s.message()));
}

}  // namespace

absl::StatusOr<v1::GetInfoResponse> ProbeRollout(const std::string& address, double timeout_seconds,
                                                 const std::string& bearer_token,
                                                 const ClientTls& tls, const std::string& model) {
  v1::GetInfoRequest request;
  request.set_model(model);
  return Probe<v1::RolloutService, v1::GetInfoResponse, v1::GetInfoRequest>(
      "rollout server", address, timeout_seconds, bearer_token, tls, request,
      [](auto* stub, grpc::ClientContext* c, const v1::GetInfoRequest& req,
         v1::GetInfoResponse* resp) { return stub->GetInfo(c, req, resp); });
}

absl::StatusOr<v1::ListVerifiersResponse> ProbeReward(const std::string& address,
                                                      double timeout_seconds,
                                                      const std::string& bearer_token,
                                                      const ClientTls& tls) {
  return Probe<v1::RewardService, v1::ListVerifiersResponse, v1::ListVerifiersRequest>(
      "reward server", address, timeout_seconds, bearer_token, tls, v1::ListVerifiersRequest(),
      [](auto* stub, grpc::ClientContext* c, const v1::ListVerifiersRequest& req,
         v1::ListVerifiersResponse* resp) { return stub->ListVerifiers(c, req, resp); });
}

}  // namespace flywheel::rpc
