// RolloutService over gRPC's callback API: a thin layer that validates and translates requests
// and hands them to the Engine. Reactions never block: results arrive on the engine thread,
// which finishes the RPC.
//
// Thread safety: gRPC calls the methods from its own threads; the service holds no mutable state
// besides what the Engine guards.
#pragma once

#include <memory>
#include <string>

#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "rollout_server/engine.h"
#include "rollout_server/sampling_defaults.h"

namespace flywheel::rollout {

class RolloutService final : public flywheel::v1::RolloutService::CallbackService {
 public:
  // Told of every finished RPC (method name and status), for metrics; called on gRPC's or the
  // engine's threads, so it must be thread-safe and must not block.
  using RpcObserver = std::function<void(const std::string& method, const grpc::Status& status)>;

  // engine must outlive the service; tokenizer may be null (then text prompts, stop strings and
  // completion text are unavailable). An empty auth_token disables authentication. on_rpc_done
  // may be null. `defaults` fill the sampling fields a request leaves unset
  // (MakeSamplingDefaults: the checkpoint's generation_config.json, else flywheel's own); the
  // tokenizer's eos token is added to their eos ids.
  RolloutService(Engine* engine, const tokenizer::Tokenizer* tokenizer, std::string auth_token,
                 RpcObserver on_rpc_done = nullptr, SamplingDefaults defaults = {});

  grpc::ServerUnaryReactor* Generate(grpc::CallbackServerContext* context,
                                     const flywheel::v1::GenerateRequest* request,
                                     flywheel::v1::GenerateResponse* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const flywheel::v1::ScoreRequest* request,
                                  flywheel::v1::ScoreResponse* response) override;
  grpc::ServerReadReactor<flywheel::v1::WeightChunk>* PushWeights(
      grpc::CallbackServerContext* context, flywheel::v1::PushWeightsResponse* response) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const flywheel::v1::GetInfoRequest* request,
                                    flywheel::v1::GetInfoResponse* response) override;

 private:
  class PushReactor;
  // ids if given, else text tokenized (InvalidArgument without a tokenizer); `what` names the
  // field.
  absl::Status Ids(const google::protobuf::RepeatedField<int32_t>& ids, const std::string& text,
                   const std::string& what, std::vector<int32_t>* out) const;
  absl::StatusOr<GenerateParams> ToParams(const flywheel::v1::GenerateRequest& request) const;
  void Done(const std::string& method, grpc::ServerUnaryReactor* reactor,
            const grpc::Status& status);

  Engine* engine_;
  const tokenizer::Tokenizer* tokenizer_;
  std::string auth_token_;
  SamplingDefaults defaults_;
  model::ParameterLayout layout_;
  const std::string tokenizer_fingerprint_;
  const RpcObserver on_rpc_done_;
};

}  // namespace flywheel::rollout
