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

RolloutService::RolloutService(Engine* engine, std::vector<const tokenizer::Tokenizer*> tokenizers,
                               std::string auth_token, RpcObserver on_rpc_done,
                               std::vector<SamplingDefaults> defaults)
    : engine_(engine), auth_token_(std::move(auth_token)), on_rpc_done_(std::move(on_rpc_done)) {
  for (int m = 0; m < engine->num_models(); ++m) {
    const tokenizer::Tokenizer* tok =
        m < static_cast<int>(tokenizers.size()) ? tokenizers[m] : nullptr;
    Served served{tok, m < static_cast<int>(defaults.size()) ? defaults[m] : SamplingDefaults(),
                  model::ParameterLayout(engine->config(m)),
                  tok != nullptr ? tokenizer::Fingerprint(*tok) : std::string()};
    // The tokenizer's eos token always stops generation, after generation_config.json's ids.
    std::vector<int32_t>& eos = served.defaults.eos_token_ids;
    if (tok != nullptr && tok->eos_id() &&
        std::find(eos.begin(), eos.end(), *tok->eos_id()) == eos.end()) {
      eos.push_back(*tok->eos_id());
    }
    served_.push_back(std::move(served));
  }
}

absl::StatusOr<int> RolloutService::Model(const std::string& name) const {
  const int m = engine_->ModelIndex(name);
  if (m >= 0) return m;
  std::string names;
  for (int i = 0; i < engine_->num_models(); ++i) {
    absl::StrAppend(&names, i == 0 ? "" : ", ", engine_->model_name(i));
  }
  return absl::NotFoundError(
      absl::StrCat("no model named \"", name, "\" on this server (it serves ", names, ")"));
}

void RolloutService::Done(const std::string& method, grpc::ServerUnaryReactor* reactor,
                          const grpc::Status& status) {
  if (on_rpc_done_) on_rpc_done_(method, status);
  reactor->Finish(status);
}

absl::Status RolloutService::Ids(int model, const google::protobuf::RepeatedField<int32_t>& ids,
                                 const std::string& text, const std::string& what,
                                 std::vector<int32_t>* out) const {
  if (!ids.empty() || text.empty()) {
    out->assign(ids.begin(), ids.end());
    return absl::OkStatus();
  }
  const tokenizer::Tokenizer* tok = served_[model].tokenizer;
  if (tok == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": this server has no tokenizer; send token ids"));
  }
  auto encoded = tok->Encode(text);
  if (!encoded.ok())
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", encoded.status().message()));
  *out = std::move(*encoded);
  return absl::OkStatus();
}

absl::StatusOr<GenerateParams> RolloutService::ToParams(const v1::GenerateRequest& req) const {
  GenerateParams p;
  ASSIGN_OR_RETURN(p.model, Model(req.model()));
  p.min_version = req.min_version();
  const tokenizer::Tokenizer* tok = served_[p.model].tokenizer;
  if (req.prompt_ids_size() == 0 && req.prompt_text().empty()) {
    return absl::InvalidArgumentError("request has neither prompt_ids nor prompt_text");
  }
  RETURN_IF_ERROR(Ids(p.model, req.prompt_ids(), req.prompt_text(), "prompt", &p.prompt));
  p.n = req.n();
  const v1::SamplingParams& s = req.sampling();
  const SamplingDefaults& defaults = served_[p.model].defaults;
  p.sampling.temperature = s.has_temperature() ? s.temperature() : defaults.temperature;
  p.sampling.top_p = s.has_top_p() ? s.top_p() : defaults.top_p;
  p.sampling.top_k = s.has_top_k() ? s.top_k() : defaults.top_k;
  p.sampling.min_p = s.has_min_p() ? s.min_p() : defaults.min_p;
  p.sampling.seed = s.seed();
  p.max_tokens = s.has_max_tokens() ? s.max_tokens() : defaults.max_tokens;
  p.stop_token_ids.assign(s.stop_token_ids().begin(), s.stop_token_ids().end());
  if (!s.ignore_eos()) {
    p.stop_token_ids.insert(p.stop_token_ids.end(), defaults.eos_token_ids.begin(),
                            defaults.eos_token_ids.end());
  }
  p.stop_strings.assign(s.stop().begin(), s.stop().end());
  if (tok != nullptr) {
    p.sampling.vocab_limit =
        std::min<int64_t>(tok->vocab_size(), engine_->config(p.model).vocab_size);
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
  const tokenizer::Tokenizer* tok = served_[params->model].tokenizer;
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
  auto model = Model(request->model());
  if (!model.ok()) {
    Done("Score", reactor, rpc::ToGrpc(model.status()));
    return reactor;
  }
  std::vector<ScoreItem> items;
  for (int i = 0; i < request->items_size(); ++i) {
    const auto& it = request->items(i);
    ScoreItem item;
    absl::Status st = Ids(*model, it.prompt_ids(), it.prompt_text(),
                          absl::StrCat("item ", i, " prompt"), &item.prompt);
    if (st.ok()) {
      st = Ids(*model, it.continuation_ids(), it.continuation_text(),
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
      },
      *model, request->min_version());
  if (!st.ok()) Done("Score", reactor, rpc::ToGrpc(st));
  return reactor;
}

grpc::ServerUnaryReactor* RolloutService::GetInfo(grpc::CallbackServerContext* context,
                                                  const v1::GetInfoRequest* request,
                                                  v1::GetInfoResponse* response) {
  auto* reactor = context->DefaultReactor();
  auto model = Model(request->model());
  if (!model.ok()) {
    Done("GetInfo", reactor, rpc::ToGrpc(model.status()));
    return reactor;
  }
  const int m = *model;
  const auto& c = engine_->config(m);
  const tokenizer::Tokenizer* tok = served_[m].tokenizer;
  response->set_model_type(c.model_type);
  response->set_num_params(engine_->num_params(m));
  response->set_vocab_size(c.vocab_size);
  response->set_max_context(c.max_position_embeddings);
  response->set_version(engine_->version(m));
  response->set_staged_version(engine_->staged_version(m));
  response->set_kv_blocks_total(engine_->options().kv_blocks);
  response->set_kv_block_size(engine_->options().block_size);
  response->set_has_tokenizer(tok != nullptr);
  const std::vector<int32_t>& eos = served_[m].defaults.eos_token_ids;
  response->mutable_eos_token_ids()->Assign(eos.begin(), eos.end());
  response->set_tokenizer_fingerprint(served_[m].tokenizer_fingerprint);
  response->set_model(engine_->model_name(m));
  for (int i = 0; i < engine_->num_models(); ++i) response->add_models(engine_->model_name(i));
  Done("GetInfo", reactor, grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RolloutService::CommitWeights(grpc::CallbackServerContext* context,
                                                        const v1::CommitWeightsRequest* request,
                                                        v1::CommitWeightsResponse* response) {
  auto* reactor = context->DefaultReactor();
  absl::Status st = rpc::CheckBearer(*context, auth_token_);
  absl::StatusOr<int> model = st.ok() ? Model(request->model()) : st;
  if (!model.ok()) {
    Done("CommitWeights", reactor, rpc::ToGrpc(model.status()));
    return reactor;
  }
  const int64_t version = request->version();
  st = engine_->CommitWeights(
      version,
      [this, reactor, response, version](absl::Status s, double pause) {
        response->set_version(version);
        response->set_swap_pause_seconds(pause);
        Done("CommitWeights", reactor, rpc::ToGrpc(s));
      },
      *model);
  if (!st.ok()) Done("CommitWeights", reactor, rpc::ToGrpc(st));
  return reactor;
}

// Reads the chunk stream into a WeightStager (made for the model the first chunk names, into the
// buffer of that model's replaced weights when there is one); at the end hands the weights to the
// engine, which swaps them in between two steps (or only stages them) and then finishes the RPC.
class RolloutService::PushReactor final : public grpc::ServerReadReactor<v1::WeightChunk> {
 public:
  PushReactor(RolloutService* service, grpc::CallbackServerContext* context,
              v1::PushWeightsResponse* response)
      : service_(service), response_(response) {
    absl::Status auth = rpc::CheckBearer(*context, service->auth_token_);
    if (!auth.ok()) {
      Finish(rpc::ToGrpc(auth));
      return;
    }
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (stager_ == nullptr) {
        auto model = service_->Model(chunk_.model());
        if (!model.ok()) return Finish(rpc::ToGrpc(model.status()));
        model_ = *model;
        model_name_ = chunk_.model();
        stage_only_ = chunk_.stage_only();
        stager_ = std::make_unique<WeightStager>(service_->served_[model_].layout,
                                                 service_->engine_->TakeStagingBuffer(model_));
      } else if (chunk_.model() != model_name_) {
        return Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                   absl::StrCat("chunk for model \"", chunk_.model(),
                                                "\" inside a push for \"", model_name_, "\"")));
      }
      absl::Status st = stager_->Add(chunk_.version(), chunk_.tensor(), chunk_.offset(),
                                     chunk_.data(), chunk_.crc32c());
      if (!st.ok()) return Finish(rpc::ToGrpc(st));
      return StartRead(&chunk_);
    }
    // The client finished writing: the push is complete or incomplete, never partly applied.
    if (stager_ == nullptr) {
      return Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "push has no chunks"));
    }
    auto params = stager_->Finish();
    if (!params.ok()) return Finish(rpc::ToGrpc(params.status()));
    const int64_t version = stager_->version(), bytes = stager_->bytes();
    const bool staged = stage_only_;
    auto done = [this, version, bytes, staged](absl::Status s, double pause) {
      response_->set_version(version);
      response_->set_bytes(bytes);
      response_->set_swap_pause_seconds(pause);
      response_->set_staged(staged);
      Finish(rpc::ToGrpc(s));
    };
    Engine* engine = service_->engine_;
    absl::Status st =
        staged ? engine->StageWeights(std::move(*params), version, std::move(done), model_)
               : engine->UpdateWeights(std::move(*params), version, std::move(done), model_);
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
  std::unique_ptr<WeightStager> stager_;
  int model_ = 0;
  std::string model_name_;
  bool stage_only_ = false;
  v1::WeightChunk chunk_;
};

grpc::ServerReadReactor<v1::WeightChunk>* RolloutService::PushWeights(
    grpc::CallbackServerContext* context, v1::PushWeightsResponse* response) {
  return new PushReactor(this, context, response);
}

}  // namespace flywheel::rollout
