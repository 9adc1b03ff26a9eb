#include "rollout_server/rollout_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/rpc/auth.h"
#include "common/rpc/status.h"
#include "common/tokenizer/fingerprint.h"
#include "rollout_server/weight_stager.h"

namespace flywheel::rollout {

namespace v1 = ::flywheel::v1;

RolloutService::RolloutService(Engine* engine, const tokenizer::Tokenizer* tokenizer,
                               std::string auth_token, RpcObserver on_rpc_done,
                               SamplingDefaults defaults)
    : engine_(engine),
      tokenizer_(tokenizer),
      auth_token_(std::move(auth_token)),
      defaults_(std::move(defaults)),
      layout_(engine->config()),
      tokenizer_fingerprint_(tokenizer != nullptr ? tokenizer::Fingerprint(*tokenizer) : ""),
      on_rpc_done_(std::move(on_rpc_done)) {
  // The tokenizer's eos token always stops generation, after generation_config.json's ids.
  std::vector<int32_t>& eos = defaults_.eos_token_ids;
  if (tokenizer_ != nullptr && tokenizer_->eos_id() &&
      std::find(eos.begin(), eos.end(), *tokenizer_->eos_id()) == eos.end()) {
    eos.push_back(*tokenizer_->eos_id());
  }
}

void RolloutService::Done(const std::string& method, grpc::ServerUnaryReactor* reactor,
                          const grpc::Status& status) {
  if (on_rpc_done_) on_rpc_done_(method, status);
  reactor->Finish(status);
}

absl::Status RolloutService::Ids(const google::protobuf::RepeatedField<int32_t>& ids,
                                 const std::string& text, const std::string& what,
                                 std::vector<int32_t>* out) const {
  if (!ids.empty() || text.empty()) {
    out->assign(ids.begin(), ids.end());
    return absl::OkStatus();
  }
  if (tokenizer_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": this server has no tokenizer; send token ids"));
  }
  auto encoded = tokenizer_->Encode(text);
  if (!encoded.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", encoded.status().message()));
  *out = std::move(*encoded);
  return absl::OkStatus();
}

absl::StatusOr<GenerateParams> RolloutService::ToParams(const v1::GenerateRequest& req) const {
  GenerateParams p;
  if (req.prompt_ids_size() == 0 && req.prompt_text().empty()) {
    return absl::InvalidArgumentError("request has neither prompt_ids nor prompt_text");
  }
  RETURN_IF_ERROR(Ids(req.prompt_ids(), req.prompt_text(), "prompt", &p.prompt));
  p.n = req.n();
  const v1::SamplingParams& s = req.sampling();
  p.sampling.temperature = s.has_temperature() ? s.temperature() : defaults_.temperature;
  p.sampling.top_p = s.has_top_p() ? s.top_p() : defaults_.top_p;
  p.sampling.top_k = s.has_top_k() ? s.top_k() : defaults_.top_k;
  p.sampling.min_p = s.has_min_p() ? s.min_p() : defaults_.min_p;
  p.sampling.seed = s.seed();
  p.max_tokens = s.has_max_tokens() ? s.max_tokens() : defaults_.max_tokens;
  p.stop_token_ids.assign(s.stop_token_ids().begin(), s.stop_token_ids().end());
  if (!s.ignore_eos()) {
    p.stop_token_ids.insert(p.stop_token_ids.end(), defaults_.eos_token_ids.begin(),
                            defaults_.eos_token_ids.end());
  }
  p.stop_strings.assign(s.stop().begin(), s.stop().end());
  if (tokenizer_ != nullptr) {
    p.sampling.vocab_limit =
        std::min<int64_t>(tokenizer_->vocab_size(), engine_->config().vocab_size);
    const tokenizer::Tokenizer* tok = tokenizer_;
    p.token_bytes = [tok](int32_t id) {
      auto bytes = tok->TokenBytes(id);
      return bytes.ok() ? *bytes : std::string_view();
    };
    p.strip_leading_space = tok->strips_leading_space();
  }
  return p;
}

grpc::ServerUnaryReactor* RolloutService::Generate(grpc::CallbackServerContext* context,
                                                   const v1::GenerateRequest* request,
                                                   v1::GenerateResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto params = ToParams(*request);
  if (!params.ok()) {
    Done("Generate", reactor, rpc::ToGrpc(params.status()));
    return reactor;
  }
  response->set_request_id(request->request_id());
  response->mutable_prompt_ids()->Assign(params->prompt.begin(), params->prompt.end());
  const tokenizer::Tokenizer* tok = tokenizer_;
  absl::Status st = engine_->Generate(
      std::move(*params),
      [this, reactor, response, tok](absl::StatusOr<std::vector<SampleOutput>> r) {
        if (!r.ok()) return Done("Generate", reactor, rpc::ToGrpc(r.status()));
        for (size_t i = 0; i < r->size(); ++i) {
          SampleOutput& s = (*r)[i];
          v1::Completion* c = response->add_completions();
          c->set_index(static_cast<int32_t>(i));
          c->mutable_token_ids()->Assign(s.tokens.begin(), s.tokens.end());
          c->mutable_logprobs()->Assign(s.logprobs.begin(), s.logprobs.end());
          c->mutable_sampling_logprobs()->Assign(s.sampling_logprobs.begin(),
                                                 s.sampling_logprobs.end());
          c->mutable_versions()->Assign(s.versions.begin(), s.versions.end());
          c->set_finish_reason(s.finish_reason);
          if (tok != nullptr) {
            auto text = tok->Decode(s.tokens);
            if (text.ok()) c->set_text(*text);
          }
        }
        Done("Generate", reactor, grpc::Status::OK);
      });
  if (!st.ok()) Done("Generate", reactor, rpc::ToGrpc(st));
  return reactor;
}

grpc::ServerUnaryReactor* RolloutService::Score(grpc::CallbackServerContext* context,
                                                const v1::ScoreRequest* request,
                                                v1::ScoreResponse* response) {
  auto* reactor = context->DefaultReactor();
  std::vector<ScoreItem> items;
  for (int i = 0; i < request->items_size(); ++i) {
    const auto& it = request->items(i);
    ScoreItem item;
    absl::Status st =
        Ids(it.prompt_ids(), it.prompt_text(), absl::StrCat("item ", i, " prompt"), &item.prompt);
    if (st.ok()) {
      st = Ids(it.continuation_ids(), it.continuation_text(),
               absl::StrCat("item ", i, " continuation"), &item.continuation);
    }
    if (!st.ok()) {
      Done("Score", reactor, rpc::ToGrpc(st));
      return reactor;
    }
    items.push_back(std::move(item));
  }
  absl::Status st = engine_->Score(
      std::move(items), request->top_k(),
      [this, reactor, response](absl::StatusOr<std::vector<ScoreOutput>> r, int64_t version) {
        if (!r.ok()) return Done("Score", reactor, rpc::ToGrpc(r.status()));
        response->set_version(version);
        for (const ScoreOutput& o : *r) {
          v1::ScoreResult* res = response->add_results();
          res->mutable_logprobs()->Assign(o.logprobs.begin(), o.logprobs.end());
          for (size_t t = 0; t < o.top_ids.size(); ++t) {
            v1::TopLogprobs* top = res->add_top();
            top->mutable_token_ids()->Assign(o.top_ids[t].begin(), o.top_ids[t].end());
            top->mutable_logprobs()->Assign(o.top_logprobs[t].begin(), o.top_logprobs[t].end());
          }
        }
        Done("Score", reactor, grpc::Status::OK);
      });
  if (!st.ok()) Done("Score", reactor, rpc::ToGrpc(st));
  return reactor;
}

grpc::ServerUnaryReactor* RolloutService::GetInfo(grpc::CallbackServerContext* context,
                                                  const v1::GetInfoRequest*,
                                                  v1::GetInfoResponse* response) {
  auto* reactor = context->DefaultReactor();
  const auto& c = engine_->config();
  response->set_model_type(c.model_type);
  response->set_num_params(engine_->num_params());
  response->set_vocab_size(c.vocab_size);
  response->set_max_context(c.max_position_embeddings);
  response->set_version(engine_->stats().version.load());
  response->set_kv_blocks_total(engine_->options().kv_blocks);
  response->set_kv_block_size(engine_->options().block_size);
  response->set_has_tokenizer(tokenizer_ != nullptr);
  response->mutable_eos_token_ids()->Assign(defaults_.eos_token_ids.begin(),
                                            defaults_.eos_token_ids.end());
  response->set_tokenizer_fingerprint(tokenizer_fingerprint_);
  Done("GetInfo", reactor, grpc::Status::OK);
  return reactor;
}

// Reads the chunk stream into a WeightStager; at the end hands the weights to the engine, which
// swaps them in between two steps and then finishes the RPC.
class RolloutService::PushReactor final : public grpc::ServerReadReactor<v1::WeightChunk> {
 public:
  PushReactor(RolloutService* service, grpc::CallbackServerContext* context,
              v1::PushWeightsResponse* response)
      : service_(service),
        response_(response),
        stager_(service->layout_, service->engine_->TakeStagingBuffer()) {
    absl::Status auth = rpc::CheckBearer(*context, service->auth_token_);
    if (!auth.ok()) {
      Finish(rpc::ToGrpc(auth));
      return;
    }
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      absl::Status st = stager_.Add(chunk_.version(), chunk_.tensor(), chunk_.offset(),
                                    chunk_.data(), chunk_.crc32c());
      if (!st.ok()) return Finish(rpc::ToGrpc(st));
      return StartRead(&chunk_);
    }
    // The client finished writing: the push is complete or incomplete, never partly applied.
    auto params = stager_.Finish();
    if (!params.ok()) return Finish(rpc::ToGrpc(params.status()));
    const int64_t version = stager_.version(), bytes = stager_.bytes();
    absl::Status st = service_->engine_->UpdateWeights(
        std::move(*params), version, [this, version, bytes](absl::Status s, double pause) {
          response_->set_version(version);
          response_->set_bytes(bytes);
          response_->set_swap_pause_seconds(pause);
          Finish(rpc::ToGrpc(s));
        });
    if (!st.ok()) Finish(rpc::ToGrpc(st));
  }

  void Finish(const grpc::Status& status) {
    if (service_->on_rpc_done_) service_->on_rpc_done_("PushWeights", status);
    grpc::ServerReadReactor<v1::WeightChunk>::Finish(status);
  }

  void OnDone() override { delete this; }

 private:
  RolloutService* service_;
  v1::PushWeightsResponse* response_;
  WeightStager stager_;
  v1::WeightChunk chunk_;
};

grpc::ServerReadReactor<v1::WeightChunk>* RolloutService::PushWeights(
    grpc::CallbackServerContext* context, v1::PushWeightsResponse* response) {
  return new PushReactor(this, context, response);
}

}  // namespace flywheel::rollout
