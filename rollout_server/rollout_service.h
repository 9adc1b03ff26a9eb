// RolloutService over gRPC's callback API: a thin layer that validates and translates requests
// and hands them to the Engine. Reactions never block: results arrive on the engine thread,
// which finishes the RPC. Requests name one of the engine's models ("" = the first); an unknown
// name is NOT_FOUND.
//
// Thread safety: gRPC calls the methods from its own threads; the service holds no mutable state
// besides what the Engine guards.
#pragma once

#include <memory>
#include <string>
#include <vector>

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

  // engine must outlive the service; tokenizers[i] (not owned) is model i's, and may be null
  // (then text prompts, stop strings and completion text are unavailable for it); missing
  // entries are null. An empty auth_token disables authentication of PushWeights and
  // CommitWeights. on_rpc_done may be null. defaults[i] fill the sampling fields a request for
  // model i leaves unset (MakeSamplingDefaults: its checkpoint's generation_config.json, else
  // flywheel's own; missing entries: flywheel's own); the model's tokenizer's eos token is added
  // to their eos ids.
  RolloutService(Engine* engine, std::vector<const tokenizer::Tokenizer*> tokenizers,
                 std::string auth_token, RpcObserver on_rpc_done = nullptr,
                 std::vector<SamplingDefaults> defaults = {});

  grpc::ServerUnaryReactor* Generate(grpc::CallbackServerContext* context,
                                     const flywheel::v1::GenerateRequest* request,
                                     flywheel::v1::GenerateResponse* response) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const flywheel::v1::ScoreRequest* request,
                                  flywheel::v1::ScoreResponse* response) override;
  grpc::ServerReadReactor<flywheel::v1::WeightChunk>* PushWeights(
      grpc::CallbackServerContext* context, flywheel::v1::PushWeightsResponse* response) override;
  grpc::ServerUnaryReactor* CommitWeights(grpc::CallbackServerContext* context,
                                          const flywheel::v1::CommitWeightsRequest* request,
                                          flywheel::v1::CommitWeightsResponse* response) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const flywheel::v1::GetInfoRequest* request,
                                    flywheel::v1::GetInfoResponse* response) override;

 private:
  class PushReactor;
  // What the service knows of one served model.
  struct Served {
    const tokenizer::Tokenizer* tokenizer = nullptr;
    SamplingDefaults defaults;
    model::ParameterLayout layout;
    std::string tokenizer_fingerprint;
  };
  // The engine's index of the model named `name`; NotFound listing the served names.
  absl::StatusOr<int> Model(const std::string& name) const;
  // ids if given, else text tokenized with model `model`'s tokenizer (InvalidArgument without
  // one); `what` names the field.
  absl::Status Ids(int model, const google::protobuf::RepeatedField<int32_t>& ids,
                   const std::string& text, const std::string& what,
                   std::vector<int32_t>* out) const;
  absl::StatusOr<GenerateParams> ToParams(const flywheel::v1::GenerateRequest& request) const;
  void Done(const std::string& method, grpc::ServerUnaryReactor* reactor,
            const grpc::Status& status);

  Engine* engine_;
  std::vector<Served> served_;  // by model index
  std::string auth_token_;
  const RpcObserver on_rpc_done_;
};

}  // namespace flywheel::rollout
