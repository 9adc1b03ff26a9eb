#include "learner/jobs/fleet_service.h"

#include "common/base/logging.h"
#include "common/rpc/status.h"

namespace flywheel::learner {

FleetServiceImpl::FleetServiceImpl(FleetRegistry* registry, Tenants tenants)
    : registry_(registry), tenants_(std::move(tenants)) {}

grpc::Status FleetServiceImpl::CheckAdmin(const grpc::CallbackServerContext& context) const {
  auto caller = tenants_.Authenticate(context);
  if (!caller.ok()) return rpc::ToGrpc(caller.status());
  if (!caller->admin) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "only the admin's token may register or deregister rollout servers");
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* FleetServiceImpl::Register(grpc::CallbackServerContext* context,
                                                     const v1::RegisterRolloutRequest* request,
                                                     v1::RegisterRolloutResponse* response) {
  auto* reactor = context->DefaultReactor();
  if (grpc::Status s = CheckAdmin(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  if (request->address().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "address is empty"));
    return reactor;
  }
  RegisteredServer server{request->address(), {request->models().begin(), request->models().end()}};
  if (registry_->Register(server)) {
    FW_LOG(INFO) << "rollout server " << server.address << " registered";
  }
  response->set_heartbeat_seconds(registry_->heartbeat_seconds());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FleetServiceImpl::Deregister(grpc::CallbackServerContext* context,
                                                       const v1::DeregisterRolloutRequest* request,
                                                       v1::DeregisterRolloutResponse*) {
  auto* reactor = context->DefaultReactor();
  if (grpc::Status s = CheckAdmin(*context); !s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  if (registry_->Deregister(request->address())) {
    FW_LOG(INFO) << "rollout server " << request->address() << " deregistered";
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* FleetServiceImpl::List(grpc::CallbackServerContext* context,
                                                 const v1::ListRolloutRequest*,
                                                 v1::ListRolloutResponse* response) {
  auto* reactor = context->DefaultReactor();
  for (const auto& s : registry_->List()) {
    auto* out = response->add_servers();
    out->set_address(s.address);
    for (const auto& m : s.models) out->add_models(m);
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace flywheel::learner
