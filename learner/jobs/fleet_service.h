// FleetService over gRPC's callback API: rollout servers started with --register announce
// themselves here, and jobs whose spec lists "registered" take them up (FleetRegistry,
// RolloutPool). Register and Deregister need the learner's bearer token when it has one.
//
// Thread safety: gRPC calls the methods from its own threads; the registry is thread-safe.
#pragma once

#include <string>

#include "flywheel/v1/fleet.grpc.pb.h"
#include "learner/servers/fleet_registry.h"

namespace flywheel::learner {

class FleetServiceImpl final : public v1::FleetService::CallbackService {
 public:
  // registry must outlive the service. auth_token: "" = none.
  FleetServiceImpl(FleetRegistry* registry, std::string auth_token);

  grpc::ServerUnaryReactor* Register(grpc::CallbackServerContext* context,
                                     const v1::RegisterRolloutRequest* request,
                                     v1::RegisterRolloutResponse* response) override;
  grpc::ServerUnaryReactor* Deregister(grpc::CallbackServerContext* context,
                                       const v1::DeregisterRolloutRequest* request,
                                       v1::DeregisterRolloutResponse* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const v1::ListRolloutRequest* request,
                                 v1::ListRolloutResponse* response) override;

 private:
  FleetRegistry* const registry_;
  const std::string auth_token_;
};

}  // namespace flywheel::learner
