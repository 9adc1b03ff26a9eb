// FleetService over gRPC's callback API: rollout servers started with --register announce
// themselves here, and jobs whose spec lists "registered" take them up (FleetRegistry,
// RolloutPool). With tenants (the learner's --auth-token-file), Register and Deregister need the
// admin's token: registered servers serve every tenant's "registered" jobs.
//
// Thread safety: gRPC calls the methods from its own threads; the registry is thread-safe.
#pragma once

#include <string>

#include "flywheel/v1/fleet.grpc.pb.h"
#include "learner/jobs/tenants.h"
#include "learner/servers/fleet_registry.h"

namespace flywheel::learner {

class FleetServiceImpl final : public v1::FleetService::CallbackService {
 public:
  // registry must outlive the service. tenants: who may call (default: no authentication).
  FleetServiceImpl(FleetRegistry* registry, Tenants tenants = {});

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
  // OK for the admin; Unauthenticated or PermissionDenied otherwise.
  grpc::Status CheckAdmin(const grpc::CallbackServerContext& context) const;

  FleetRegistry* const registry_;
  const Tenants tenants_;
};

}  // namespace flywheel::learner
