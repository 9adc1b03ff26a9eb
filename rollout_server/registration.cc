#include "rollout_server/registration.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "flywheel/v1/fleet.grpc.pb.h"

namespace flywheel::rollout {
namespace {

// Deadline of one Register or Deregister call.
constexpr double kCallSeconds = 3.0;
// Wait before trying again after a failed registration.
constexpr double kRetrySeconds = 1.0;

}  // namespace

Registration::Registration(RegistrationOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

Registration::~Registration() { Stop(); }

void Registration::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Registration::Run() {
  rpc::ChannelOptions channel;
  channel.tls = options_.tls;
  auto stub = v1::FleetService::NewStub(rpc::MakeChannel(options_.learner, channel));
  v1::RegisterRolloutRequest request;
  request.set_address(options_.address);
  for (const auto& m : options_.models) request.add_models(m);
  bool registered = false;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    grpc::ClientContext ctx;
    rpc::AddBearer(&ctx, options_.bearer_token);
    rpc::SetDeadline(&ctx, kCallSeconds);
    v1::RegisterRolloutResponse response;
    const grpc::Status st = stub->Register(&ctx, request, &response);
    double wait = kRetrySeconds;
    if (st.ok()) {
      if (!registered) {
        FW_LOG(INFO) << "registered " << options_.address << " with learner " << options_.learner;
      }
      registered = true;
      wait = options_.heartbeat_seconds;
      if (response.heartbeat_seconds() > 0) wait = std::min(wait, response.heartbeat_seconds());
    } else if (registered || st.error_code() != grpc::StatusCode::UNAVAILABLE) {
      // Said once per outage: a learner that is not up yet is the normal case at start-up.
      FW_LOG(WARNING) << "registering with learner " << options_.learner
                      << " failed: " << st.error_message() << "; retrying";
      registered = false;
    }
    lock.lock();
    cv_.wait_for(lock, std::chrono::duration<double>(wait), [&] { return stop_; });
  }
  lock.unlock();
  grpc::ClientContext ctx;
  rpc::AddBearer(&ctx, options_.bearer_token);
  rpc::SetDeadline(&ctx, kCallSeconds);
  v1::DeregisterRolloutRequest request_out;
  request_out.set_address(options_.address);
  v1::DeregisterRolloutResponse response_out;
  const grpc::Status st = stub->Deregister(&ctx, request_out, &response_out);
  if (!st.ok()) FW_LOG(WARNING) << "deregistering failed: " << st.error_message();
}

std::string AdvertisedAddress(const std::string& advertise, const std::string& listen, int port) {
  if (!advertise.empty()) return advertise;
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    host = gethostname(name, sizeof(name) - 1) == 0 ? name : "localhost";
  }
  return absl::StrCat(host, ":", port);
}

}  // namespace flywheel::rollout
