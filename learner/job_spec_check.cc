// Job-spec defaults and validation; see job_spec_check.h.
#include "learner/job_spec_check.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <future>
#include <optional>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/config.h"
#include "common/model/parameters.h"
#include "common/rpc/auth.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/tokenizer.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "learner/dataset.h"
#include "learner/lr_schedule.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flywheel::v1;
using Problems = std::vector<std::string>;

// What CheckModelDir learned about a usable directory.
struct ModelInfo {
  model::ModelConfig config;
  int64_t tokenizer_vocab = -1;  // -1 when the tokenizer was not loaded
};

// Checks `dir` as a model directory; `what` names it in problems. The policy needs tokenizer.json
// (the learner tokenizes prompts and targets); the reference model only needs weights.
std::optional<ModelInfo> CheckModelDir(const std::string& what, const std::string& dir,
                                       bool need_tokenizer, Problems* problems) {
  if (dir.empty()) {
    problems->push_back(absl::StrCat(what, " is required"));
    return std::nullopt;
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    problems->push_back(absl::StrCat(what, " ", dir, " is not a directory"));
    return std::nullopt;
  }
  std::optional<ModelInfo> info;
  auto config = model::ReadConfigFile((fs::path(dir) / "config.json").string());
  if (!config.ok()) {
    problems->push_back(absl::StrCat(what, " ", dir, ": config.json: ", config.status().message()));
  } else {
    info = ModelInfo{*config};
  }
  bool has_weights = false;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    if (it->path().extension() == ".safetensors") has_weights = true;
  }
  if (!has_weights) problems->push_back(absl::StrCat(what, " ", dir, " has no *.safetensors file"));
  if (need_tokenizer) {
    const std::string tok_path = (fs::path(dir) / "tokenizer.json").string();
    if (!fs::exists(tok_path, ec)) {
      problems->push_back(
          absl::StrCat(what, " ", dir, " has no tokenizer.json (the learner tokenizes prompts)"));
    } else if (auto tok = tokenizer::Tokenizer::FromFile(tok_path); !tok.ok()) {
      problems->push_back(absl::StrCat(what, " ", dir, ": tokenizer: ", tok.status().message()));
    } else if (info) {
      info->tokenizer_vocab = (*tok)->vocab_size();
    }
  }
  if (!has_weights) return std::nullopt;
  return info;
}

bool Finite(double x) { return std::isfinite(x); }

// "host:port" with a non-empty host (IPv6 in brackets) and a port in 1..65535.
bool ValidAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string host = address.substr(0, colon);
  if (host.find_first_of(" /") != std::string::npos) return false;
  if (host.front() == '[' ? host.back() != ']' || host.size() < 3
                          : host.find(':') != std::string::npos) {
    return false;
  }
  const std::string port = address.substr(colon + 1);
  int value = 0;
  return !port.empty() && port.find_first_not_of("0123456789") == std::string::npos &&
         absl::SimpleAtoi(port, &value) && value >= 1 && value <= 65535;
}

// The verifier names a dataset's tasks use.
void CollectVerifiers(const std::vector<DatasetRow>& rows, std::set<std::string>* out) {
  for (const auto& row : rows) {
    if (row.task_json.empty()) continue;
    auto task = nlohmann::json::parse(row.task_json, nullptr, false);
    if (task.is_object() && task.contains("verifier") && task["verifier"].is_string()) {
      out->insert(task["verifier"].get<std::string>());
    }
  }
}

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
}

std::shared_ptr<grpc::Channel> Channel(const std::string& address) {
  // A channel per probe: shared subchannels would let one probe's backoff delay another's.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// Problems found by probing one rollout server; `policy` is null when the policy config is unknown.
Problems ProbeRollout(const std::string& address, const model::ModelConfig* policy,
                      const SpecCheckOptions& options) {
  auto stub = v1::RolloutService::NewStub(Channel(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(options.probe_timeout_seconds));
  rpc::AddBearer(&ctx, options.bearer_token);
  v1::GetInfoResponse info;
  const grpc::Status status = stub->GetInfo(&ctx, v1::GetInfoRequest(), &info);
  if (!status.ok()) {
    return {absl::StrCat("rollout server ", address, " unreachable: ", status.error_message())};
  }
  Problems problems;
  if (policy != nullptr) {
    if (info.vocab_size() != policy->vocab_size) {
      problems.push_back(absl::StrCat("rollout server ", address, " serves vocab_size ",
                                      info.vocab_size(), ", the policy has ", policy->vocab_size));
    }
    const int64_t num_params = model::ParameterLayout(*policy).num_params();
    if (info.num_params() != num_params) {
      problems.push_back(absl::StrCat("rollout server ", address, " serves a model with ",
                                      info.num_params(), " parameters, the policy has ",
                                      num_params));
    }
  }
  return problems;
}

Problems ProbeReward(const std::string& address, const std::set<std::string>& needed,
                     const SpecCheckOptions& options) {
  auto stub = v1::RewardService::NewStub(Channel(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(Deadline(options.probe_timeout_seconds));
  rpc::AddBearer(&ctx, options.bearer_token);
  v1::ListVerifiersResponse resp;
  const grpc::Status status = stub->ListVerifiers(&ctx, v1::ListVerifiersRequest(), &resp);
  if (!status.ok()) {
    return {absl::StrCat("reward server ", address, " unreachable: ", status.error_message())};
  }
  const std::set<std::string> offered(resp.verifiers().begin(), resp.verifiers().end());
  Problems problems;
  for (const auto& name : needed) {
    if (!offered.contains(name)) {
      problems.push_back(absl::StrCat("reward server ", address, " has no verifier \"", name,
                                      "\" (it offers: ", absl::StrJoin(offered, ", "), ")"));
    }
  }
  return problems;
}

void CheckGrpo(const v1::GrpoSpec& g, Problems* p) {
  if (g.group_size() < 2) {
    p->push_back(
        absl::StrCat("grpo.group_size must be >= 2 (advantages compare completions of a "
                     "prompt), got ",
                     g.group_size()));
  }
  if (!Finite(g.clip_eps_low()) || g.clip_eps_low() < 0 || g.clip_eps_low() >= 1) {
    p->push_back(absl::StrCat("grpo.clip_eps_low must be in [0, 1), got ", g.clip_eps_low()));
  }
  if (!Finite(g.clip_eps_high()) || g.clip_eps_high() < 0) {
    p->push_back(
        absl::StrCat("grpo.clip_eps_high must be finite and >= 0, got ", g.clip_eps_high()));
  }
  if (g.advantage_norm() != "mean_std" && g.advantage_norm() != "mean") {
    p->push_back(absl::StrCat("grpo.advantage_norm must be \"mean_std\" or \"mean\", got \"",
                              g.advantage_norm(), "\""));
  }
  if (g.loss_aggregation() != "token-mean" && g.loss_aggregation() != "seq-mean-token-mean" &&
      g.loss_aggregation() != "constant") {
    p->push_back(
        absl::StrCat("grpo.loss_aggregation must be \"token-mean\", "
                     "\"seq-mean-token-mean\" or \"constant\", got \"",
                     g.loss_aggregation(), "\""));
  }
  if (!Finite(g.kl_coef()) || g.kl_coef() < 0) {
    p->push_back(absl::StrCat("grpo.kl_coef must be finite and >= 0, got ", g.kl_coef()));
  }
  if (!Finite(g.tis_cap()) || g.tis_cap() < 0) {
    p->push_back(absl::StrCat("grpo.tis_cap must be finite and >= 0, got ", g.tis_cap()));
  }
}

void CheckOptimizer(const v1::OptimizerSpec& o, Problems* p) {
  if (!Finite(o.lr()) || o.lr() <= 0) {
    p->push_back(absl::StrCat("optimizer.lr must be finite and > 0, got ", o.lr()));
  }
  if (!Finite(o.beta1()) || o.beta1() < 0 || o.beta1() >= 1) {
    p->push_back(absl::StrCat("optimizer.beta1 must be in [0, 1), got ", o.beta1()));
  }
  if (!Finite(o.beta2()) || o.beta2() < 0 || o.beta2() >= 1) {
    p->push_back(absl::StrCat("optimizer.beta2 must be in [0, 1), got ", o.beta2()));
  }
  if (!Finite(o.eps()) || o.eps() <= 0) {
    p->push_back(absl::StrCat("optimizer.eps must be finite and > 0, got ", o.eps()));
  }
  if (!Finite(o.weight_decay()) || o.weight_decay() < 0) {
    p->push_back(
        absl::StrCat("optimizer.weight_decay must be finite and >= 0, got ", o.weight_decay()));
  }
  if (o.warmup_steps() < 0) {
    p->push_back(absl::StrCat("optimizer.warmup_steps must be >= 0, got ", o.warmup_steps()));
  }
  if (!Finite(o.grad_clip()) || o.grad_clip() < 0) {
    p->push_back(absl::StrCat("optimizer.grad_clip must be finite and >= 0, got ", o.grad_clip()));
  }
  LrDecay decay;
  if (absl::Status st = ParseLrDecay(o.lr_schedule(), &decay); !st.ok()) {
    p->push_back(absl::StrCat("optimizer.", st.message()));
  }
  if (!Finite(o.min_lr_ratio()) || o.min_lr_ratio() < 0 || o.min_lr_ratio() > 1) {
    p->push_back(absl::StrCat("optimizer.min_lr_ratio must be in [0, 1], got ", o.min_lr_ratio()));
  }
}

void CheckSampling(const v1::SamplingParams& s, Problems* p) {
  if (s.max_tokens() <= 0) {
    p->push_back(absl::StrCat("sampling.max_tokens must be > 0, got ", s.max_tokens()));
  }
  if (!Finite(s.temperature()) || s.temperature() < 0) {
    p->push_back(
        absl::StrCat("sampling.temperature must be finite and >= 0, got ", s.temperature()));
  }
  if (!Finite(s.top_p()) || s.top_p() <= 0 || s.top_p() > 1) {
    p->push_back(absl::StrCat("sampling.top_p must be in (0, 1], got ", s.top_p()));
  }
  if (s.top_k() < 0) p->push_back(absl::StrCat("sampling.top_k must be >= 0, got ", s.top_k()));
  if (!Finite(s.min_p()) || s.min_p() < 0 || s.min_p() >= 1) {
    p->push_back(absl::StrCat("sampling.min_p must be in [0, 1), got ", s.min_p()));
  }
}

void CheckCounts(const v1::JobSpec& s, Problems* p) {
  auto at_least = [p](const char* name, int64_t value, int64_t min) {
    if (value < min) p->push_back(absl::StrCat(name, " must be >= ", min, ", got ", value));
  };
  at_least("prompts_per_step", s.prompts_per_step(), 1);
  at_least("micro_batch_size", s.micro_batch_size(), 1);
  at_least("steps", s.steps(), 1);
  at_least("max_async_steps", s.max_async_steps(), 0);
  at_least("eval_interval", s.eval_interval(), 1);
  at_least("eval_limit", s.eval_limit(), 0);
  at_least("checkpoint_interval", s.checkpoint_interval(), 1);
  if (s.algorithm() == "sft") at_least("sft.epochs", s.sft().epochs(), 1);
  if (!Finite(s.request_timeout_seconds()) || s.request_timeout_seconds() <= 0) {
    p->push_back(absl::StrCat("request_timeout_seconds must be finite and > 0, got ",
                              s.request_timeout_seconds()));
  }
}

}  // namespace

void ApplyJobDefaults(v1::JobSpec* spec) {
  v1::GrpoSpec* g = spec->mutable_grpo();
  if (g->group_size() == 0) g->set_group_size(8);
  if (!g->has_clip_eps_low()) g->set_clip_eps_low(0.2);
  if (!g->has_clip_eps_high()) g->set_clip_eps_high(0.2);
  if (g->advantage_norm().empty()) g->set_advantage_norm("mean_std");
  if (g->loss_aggregation().empty()) g->set_loss_aggregation("token-mean");
  if (spec->sft().epochs() == 0) spec->mutable_sft()->set_epochs(1);
  v1::OptimizerSpec* o = spec->mutable_optimizer();
  if (!o->has_lr()) o->set_lr(1e-5);
  if (!o->has_beta1()) o->set_beta1(0.9);
  if (!o->has_beta2()) o->set_beta2(0.999);
  if (!o->has_eps()) o->set_eps(1e-8);
  if (!o->has_grad_clip()) o->set_grad_clip(1.0);
  if (o->lr_schedule().empty()) o->set_lr_schedule("constant");
  if (spec->prompts_per_step() == 0) spec->set_prompts_per_step(8);
  if (spec->micro_batch_size() == 0) spec->set_micro_batch_size(8);
  if (!spec->has_max_async_steps()) spec->set_max_async_steps(1);
  if (spec->eval_interval() == 0) spec->set_eval_interval(10);
  if (spec->checkpoint_interval() == 0) spec->set_checkpoint_interval(10);
  if (spec->chat_template().empty()) spec->set_chat_template("chatml");
  if (spec->request_timeout_seconds() == 0) spec->set_request_timeout_seconds(120);
  v1::SamplingParams* s = spec->mutable_sampling();
  if (!s->has_temperature()) s->set_temperature(1.0f);
  if (!s->has_top_p()) s->set_top_p(1.0f);
  if (spec->reference_model_dir().empty()) spec->set_reference_model_dir(spec->policy_model_dir());
}

std::vector<std::string> CheckJobSpec(const v1::JobSpec& original,
                                      const SpecCheckOptions& options) {
  v1::JobSpec spec = original;
  ApplyJobDefaults(&spec);
  Problems problems;

  const bool grpo = spec.algorithm() == "grpo";
  const bool sft = spec.algorithm() == "sft";
  if (!grpo && !sft) {
    problems.push_back(
        absl::StrCat("algorithm must be \"grpo\" or \"sft\", got \"", spec.algorithm(), "\""));
  }

  // Models.
  std::optional<ModelInfo> policy =
      CheckModelDir("policy_model_dir", spec.policy_model_dir(), true, &problems);
  std::optional<ModelInfo> reference;
  if (spec.reference_model_dir() == spec.policy_model_dir()) {
    reference = policy;
  } else {
    reference = CheckModelDir("reference_model_dir", spec.reference_model_dir(), false, &problems);
  }
  if (policy && policy->tokenizer_vocab > policy->config.vocab_size) {
    problems.push_back(absl::StrCat("policy tokenizer has ", policy->tokenizer_vocab,
                                    " tokens, more than the model's vocab_size ",
                                    policy->config.vocab_size));
  }
  if (policy && reference && policy->config.vocab_size != reference->config.vocab_size) {
    problems.push_back(absl::StrCat("reference model vocab_size ", reference->config.vocab_size,
                                    " differs from the policy's ", policy->config.vocab_size,
                                    " (the KL term compares their token distributions)"));
  }

  // Datasets.
  if (auto format = tokenizer::ChatFormatFromName(spec.chat_template()); !format.ok()) {
    problems.push_back(absl::StrCat("chat_template: ", format.status().message()));
  }
  std::set<std::string> verifiers;
  if (spec.dataset().empty()) {
    problems.push_back("dataset is required");
  } else {
    DatasetNeeds needs;
    needs.task = !sft;
    needs.answer = sft;
    needs.chat_template = spec.chat_template();
    CollectVerifiers(LoadDataset(spec.dataset(), needs, &problems), &verifiers);
  }
  if (!spec.eval_dataset().empty()) {
    DatasetNeeds needs;
    needs.task = true;
    needs.chat_template = spec.chat_template();
    CollectVerifiers(LoadDataset(spec.eval_dataset(), needs, &problems), &verifiers);
  }

  // Hyper-parameters.
  if (grpo) CheckGrpo(spec.grpo(), &problems);
  CheckOptimizer(spec.optimizer(), &problems);
  CheckSampling(spec.sampling(), &problems);
  CheckCounts(spec, &problems);

  // Servers.
  const bool need_servers = grpo || (sft && !spec.eval_dataset().empty());
  if (need_servers && spec.rollout_servers().empty()) {
    problems.push_back(absl::StrCat("rollout_servers is empty; ", spec.algorithm(),
                                    grpo ? "" : " with an eval_dataset", " needs at least one"));
  }
  if (need_servers && spec.reward_servers().empty()) {
    problems.push_back(absl::StrCat("reward_servers is empty; ", spec.algorithm(),
                                    grpo ? "" : " with an eval_dataset", " needs at least one"));
  }
  std::vector<std::future<Problems>> probes;
  const model::ModelConfig* policy_config = policy ? &policy->config : nullptr;
  for (const auto& address : spec.rollout_servers()) {
    if (!ValidAddress(address)) {
      problems.push_back(absl::StrCat("rollout server \"", address, "\" is not host:port"));
    } else if (options.probe_servers) {
      probes.push_back(
          std::async(std::launch::async, ProbeRollout, address, policy_config, std::cref(options)));
    }
  }
  for (const auto& address : spec.reward_servers()) {
    if (!ValidAddress(address)) {
      problems.push_back(absl::StrCat("reward server \"", address, "\" is not host:port"));
    } else if (options.probe_servers) {
      probes.push_back(std::async(std::launch::async, ProbeReward, address, std::cref(verifiers),
                                  std::cref(options)));
    }
  }
  for (auto& probe : probes) {
    for (auto& p : probe.get()) problems.push_back(std::move(p));
  }
  return problems;
}

}  // namespace flywheel::learner
