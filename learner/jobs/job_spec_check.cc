// Job-spec validation; see job_spec_check.h.
#include "learner/jobs/job_spec_check.h"

#include <cmath>
#include <filesystem>
#include <future>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "common/model/config.h"
#include "common/model/parameters.h"
#include "common/rpc/probes.h"
#include "common/tokenizer/chat_template.h"
#include "common/tokenizer/fingerprint.h"
#include "common/tokenizer/tokenizer.h"
#include "learner/jobs/dataset.h"
#include "learner/jobs/job_spec.h"
#include "learner/servers/server_entries.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::flywheel::v1;
using Problems = std::vector<std::string>;

// What CheckModelDir learned about a usable directory.
struct ModelInfo {
  model::ModelConfig config;
  int64_t tokenizer_vocab = -1;       // -1 when the tokenizer was not loaded
  std::string tokenizer_fingerprint;  // "" when the tokenizer was not loaded
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
    info = ModelInfo{*config, -1, ""};
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
      info->tokenizer_fingerprint = tokenizer::Fingerprint(**tok);
    }
  }
  if (!has_weights) return std::nullopt;
  return info;
}

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

// Appends each of `found` to `problems` prefixed with `section` ("optimizer.").
void AddAll(const std::string& section, const std::vector<std::string>& found, Problems* problems) {
  for (const auto& p : found) problems->push_back(absl::StrCat(section, p));
}

// Problems found by probing one rollout server that serves the policy (kind "rollout server") or
// the teacher ("teacher server"). policy is null when the policy directory is unusable.
Problems ProbeModelServer(const std::string& kind, const std::string& address,
                          const std::string& model, const ModelInfo* policy,
                          const SpecCheckOptions& options) {
  auto info = rpc::ProbeRollout(address, options.probe_timeout_seconds, options.bearer_token,
                                options.tls, model);
  if (!info.ok()) {
    std::string message(info.status().message());
    // The probe names the server "rollout server"; a teacher is called what it is.
    constexpr absl::string_view kProbeKind = "rollout server";
    if (absl::StartsWith(message, kProbeKind)) {
      message = absl::StrCat(kind, message.substr(kProbeKind.size()));
    }
    return {message};
  }
  Problems problems;
  if (policy == nullptr) return problems;
  if (info->vocab_size() != policy->config.vocab_size) {
    problems.push_back(absl::StrCat(kind, " ", address, " serves vocab_size ", info->vocab_size(),
                                    ", the policy has ", policy->config.vocab_size));
  }
  if (kind == "rollout server") {
    const int64_t num_params = model::ParameterLayout(policy->config).num_params();
    if (info->num_params() != num_params) {
      problems.push_back(absl::StrCat(kind, " ", address, " serves a model with ",
                                      info->num_params(), " parameters, the policy has ",
                                      num_params));
    }
    return problems;
  }
  // A teacher must read the student's token ids as the same text.
  if (!info->has_tokenizer()) {
    problems.push_back(absl::StrCat(
        kind, " ", address,
        " serves no tokenizer, so flywheel cannot check that it shares the policy's; start it "
        "with a model directory that has tokenizer.json"));
  } else if (!policy->tokenizer_fingerprint.empty() &&
             info->tokenizer_fingerprint() != policy->tokenizer_fingerprint) {
    problems.push_back(absl::StrCat(
        kind, " ", address, " uses a different tokenizer than the policy (fingerprint ",
        info->tokenizer_fingerprint(), ", the policy's ", policy->tokenizer_fingerprint,
        "): distillation needs both to share one vocabulary"));
  }
  return problems;
}

Problems ProbeReward(const std::string& address, const std::set<std::string>& needed,
                     const SpecCheckOptions& options) {
  auto resp =
      rpc::ProbeReward(address, options.probe_timeout_seconds, options.bearer_token, options.tls);
  if (!resp.ok()) return {std::string(resp.status().message())};
  const std::set<std::string> offered(resp->verifiers().begin(), resp->verifiers().end());
  Problems problems;
  for (const auto& name : needed) {
    if (!offered.contains(name)) {
      problems.push_back(absl::StrCat("reward server ", address, " has no verifier \"", name,
                                      "\" (it offers: ", absl::StrJoin(offered, ", "), ")"));
    }
  }
  return problems;
}

// Adds the problem of a name that does not parse, and puts `fallback` in its place so that the
// conversion can go on and report the spec's other problems too.
template <typename Parse>
void CheckName(const std::string& section, std::string* name, const char* fallback, Parse parse,
               Problems* p) {
  if (auto parsed = parse(*name); !parsed.ok()) {
    p->push_back(absl::StrCat(section, parsed.status().message()));
    *name = fallback;
  }
}

void CheckSelfPlay(const v1::JobSpec& spec, Problems* p) {
  const v1::SelfPlaySpec& s = spec.selfplay();
  if (auto config = ToSelfPlayConfig(spec); !config.ok()) {
    p->push_back(absl::StrCat("selfplay.", config.status().message()));
  }
  if (s.attempts() < 2) {
    p->push_back(absl::StrCat("selfplay.attempts must be >= 2 (a solve rate needs attempts), got ",
                              s.attempts()));
  }
  if (s.conjectures_per_target() < 1) {
    p->push_back(absl::StrCat("selfplay.conjectures_per_target must be >= 1, got ",
                              s.conjectures_per_target()));
  }
  SelfPlayRewardOptions r;
  r.max_solve_rate = s.max_solve_rate();
  r.too_easy_percentile = s.too_easy_percentile();
  r.length_penalty_start = s.length_penalty_start();
  for (const auto& [name, value] : {std::pair{"max_solve_rate", r.max_solve_rate},
                                    std::pair{"too_easy_percentile", r.too_easy_percentile},
                                    std::pair{"length_penalty_start", r.length_penalty_start}}) {
    if (!(value > 0 && value <= 1)) {
      p->push_back(absl::StrCat("selfplay.", name, " must be in (0, 1], got ", value));
    }
  }
  if (s.solver_template().find("{problem}") == std::string::npos) {
    p->push_back("selfplay.solver_template must contain {problem}");
  }
  if (s.conjecture_template().find("{target}") == std::string::npos) {
    p->push_back("selfplay.conjecture_template must contain {target}");
  }
  if (s.guide() == "rubric") {
    auto rubric = nlohmann::json::parse(s.guide_rubric_json(), nullptr, false);
    if (rubric.is_discarded() || !rubric.is_array() || rubric.empty()) {
      p->push_back("selfplay.guide_rubric_json must be a non-empty JSON list of rubric criteria");
    }
  }
  if (spec.max_async_steps() != 0) {
    p->push_back(
        absl::StrCat("max_async_steps must be 0 for selfplay (its rounds are on-policy), "
                     "got ",
                     spec.max_async_steps()));
  }
  if (s.conjecture_ops().empty() ||
      s.conjecture_ops().find_first_not_of("+-*/") != std::string::npos) {
    p->push_back("selfplay.conjecture_ops must be a non-empty subset of \"+-*/\"");
  }
  if (!(s.conjecture_max_digits() >= 1 && s.conjecture_max_digits() <= 18)) {
    p->push_back("selfplay.conjecture_max_digits must be in 1..18");
  }
  if (s.collapse_window() < 1) p->push_back("selfplay.collapse_window must be >= 1");
}

void CheckAlgorithmOptions(v1::JobSpec spec, Problems* p) {
  if (spec.algorithm() == kGrpo && spec.grpo().group_size() < 2) {
    p->push_back(absl::StrCat(
        "grpo.group_size must be >= 2 (advantages compare completions of a prompt), got ",
        spec.grpo().group_size()));
  }
  if (spec.algorithm() == kOpd && spec.grpo().group_size() < 1) {
    p->push_back(absl::StrCat("grpo.group_size must be >= 1, got ", spec.grpo().group_size()));
  }
  if (spec.algorithm() == kGrpo) {
    v1::GrpoSpec* g = spec.mutable_grpo();
    CheckName("grpo.", g->mutable_advantage_norm(), "mean_std", ParseAdvantageNorm, p);
    CheckName("grpo.", g->mutable_loss_aggregation(), "token-mean", ParseLossAggregation, p);
    CheckName("grpo.", g->mutable_policy_loss(), "ppo", ParsePolicyLoss, p);
    CheckName("grpo.", g->mutable_kl_estimator(), "k3", ParseKlEstimator, p);
    if (auto options = ToGrpoOptions(spec); options.ok()) {
      AddAll("grpo.", GrpoOptionsProblems(*options), p);
    }
  }
  if (spec.algorithm() == kOpd) {
    v1::DistillSpec* d = spec.mutable_distill();
    CheckName("distill.", d->mutable_loss(), "importance_sampling", ParseDistillLoss, p);
    if (auto options = ToOpdOptions(spec); options.ok()) {
      AddAll("distill.", OpdOptionsProblems(*options), p);
    }
    if (d->teacher() != "servers" && d->teacher() != "self") {
      p->push_back(absl::StrCat("distill.teacher must be \"servers\" or \"self\", got \"",
                                d->teacher(), "\""));
    }
    if (d->teacher() == "servers" && d->teacher_servers().empty()) {
      p->push_back(
          "distill.teacher_servers is empty: name the rollout servers that serve the teacher, or "
          "set distill.teacher to \"self\" for the policy with privileged context");
    }
    if (d->teacher() == "self" && !d->teacher_servers().empty()) {
      p->push_back("distill.teacher_servers is set but distill.teacher is \"self\"");
    }
    if (d->reward_std_norm() && spec.grpo().group_size() < 2) {
      p->push_back(
          "distill.reward_std_norm needs grpo.group_size >= 2 (a std of one is undefined)");
    }
    if (d->privileged_template().find("{prompt}") == std::string::npos) {
      p->push_back("distill.privileged_template must contain {prompt}");
    }
  }
  if (spec.algorithm() == kSelfPlay) CheckSelfPlay(spec, p);
  v1::OptimizerSpec* o = spec.mutable_optimizer();
  CheckName(
      "optimizer.", o->mutable_lr_schedule(), "constant",
      [](const std::string& name) -> absl::StatusOr<LrDecay> {
        LrDecay decay;
        RETURN_IF_ERROR(ParseLrDecay(name, &decay));
        return decay;
      },
      p);
  if (auto optimizer = ToOptimizerOptions(spec); optimizer.ok()) {
    AddAll("optimizer.", OptimizerProblems(*optimizer), p);
  }
}

void CheckSampling(const v1::SamplingParams& s, Problems* p) {
  auto finite = [](double x) { return std::isfinite(x); };
  if (s.max_tokens() <= 0) {
    p->push_back(absl::StrCat("sampling.max_tokens must be > 0, got ", s.max_tokens()));
  }
  if (!finite(s.temperature()) || s.temperature() < 0) {
    p->push_back(
        absl::StrCat("sampling.temperature must be finite and >= 0, got ", s.temperature()));
  }
  if (!finite(s.top_p()) || s.top_p() <= 0 || s.top_p() > 1) {
    p->push_back(absl::StrCat("sampling.top_p must be in (0, 1], got ", s.top_p()));
  }
  if (s.top_k() < 0) p->push_back(absl::StrCat("sampling.top_k must be >= 0, got ", s.top_k()));
  if (!finite(s.min_p()) || s.min_p() < 0 || s.min_p() >= 1) {
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
  if (s.async_mode() != kAsyncExact && s.async_mode() != kAsyncInFlight) {
    p->push_back(absl::StrCat("async_mode must be \"", kAsyncExact, "\" or \"", kAsyncInFlight,
                              "\", got \"", s.async_mode(), "\""));
  }
  at_least("eval_interval", s.eval_interval(), 1);
  at_least("eval_limit", s.eval_limit(), 0);
  at_least("checkpoint_interval", s.checkpoint_interval(), 1);
  if (s.algorithm() == kSft) at_least("sft.epochs", s.sft().epochs(), 1);
  for (const auto& [name, value] :
       {std::pair<const char*, double>{"request_timeout_seconds", s.request_timeout_seconds()},
        {"max_server_outage_seconds", s.max_server_outage_seconds()}}) {
    if (!std::isfinite(value) || value <= 0) {
      p->push_back(absl::StrCat(name, " must be finite and > 0, got ", value));
    }
  }
}

}  // namespace

std::vector<std::string> CheckJobSpec(const v1::JobSpec& original,
                                      const SpecCheckOptions& options) {
  v1::JobSpec spec = original;
  ApplyJobDefaults(&spec);
  Problems problems;

  const bool selfplay = spec.algorithm() == kSelfPlay;
  // Algorithms that sample from rollout servers.
  const bool rl = IsRlAlgorithm(spec.algorithm()) || selfplay;
  const bool sft = spec.algorithm() == kSft;
  const bool opd = spec.algorithm() == kOpd;
  if (!rl && !sft) {
    problems.push_back(
        absl::StrCat("algorithm must be \"grpo\", \"opd\", \"selfplay\" or \"sft\", got \"",
                     spec.algorithm(), "\""));
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
  if (policy) {
    auto chat = tokenizer::ChatTemplate::ForJobSpec(spec.chat_template(), spec.policy_model_dir());
    if (!chat.ok()) problems.push_back(absl::StrCat("chat_template: ", chat.status().message()));
  }
  const bool needs_rewards =
      spec.algorithm() == kGrpo || selfplay || (opd && spec.distill().reward_weight() > 0);
  std::set<std::string> verifiers;
  if (spec.dataset().empty()) {
    problems.push_back("dataset is required");
  } else {
    DatasetNeeds needs;
    needs.task = needs_rewards;
    needs.answer = sft;
    needs.privileged = opd && SelfTeacher(spec);
    needs.problem = selfplay;
    needs.chat_template = spec.chat_template();
    needs.model_dir = spec.policy_model_dir();
    CollectVerifiers(LoadDataset(spec.dataset(), needs, &problems), &verifiers);
  }
  if (!spec.eval_dataset().empty()) {
    DatasetNeeds needs;
    needs.task = true;
    needs.problem = selfplay;
    needs.chat_template = spec.chat_template();
    needs.model_dir = spec.policy_model_dir();
    CollectVerifiers(LoadDataset(spec.eval_dataset(), needs, &problems), &verifiers);
  }
  if (selfplay) {
    // Self-play's gate and solver scoring run on the reward servers too.
    verifiers.insert("conjecture");
    if (spec.selfplay().guide() == "rubric") verifiers.insert("rubric");
  }

  // Hyper-parameters.
  CheckAlgorithmOptions(spec, &problems);
  CheckSampling(spec.sampling(), &problems);
  CheckCounts(spec, &problems);

  // Servers.
  const bool has_eval = !spec.eval_dataset().empty();
  if ((rl || has_eval) && spec.rollout_servers().empty()) {
    problems.push_back(absl::StrCat("rollout_servers is empty; ", spec.algorithm(),
                                    rl ? "" : " with an eval_dataset", " needs at least one"));
  }
  if ((needs_rewards || has_eval) && spec.reward_servers().empty()) {
    problems.push_back(absl::StrCat(
        "reward_servers is empty; ", spec.algorithm(),
        needs_rewards ? (opd ? " with distill.reward_weight > 0" : "") : " with an eval_dataset",
        " needs at least one"));
  }
  std::vector<std::future<Problems>> probes;
  const ModelInfo* policy_info = policy ? &*policy : nullptr;
  auto probe_all = [&](const char* kind, const auto& addresses, const std::string& model) {
    for (const auto& address : addresses) {
      if (!ValidAddress(address)) {
        problems.push_back(absl::StrCat(kind, " \"", address, "\" is not host:port"));
      } else if (options.probe_servers) {
        probes.push_back(std::async(std::launch::async, ProbeModelServer, std::string(kind),
                                    address, model, policy_info, std::cref(options)));
      }
    }
  };
  // Rollout servers may also be found through DNS or registration; those come and go, so only
  // the fixed ones are probed.
  std::vector<std::string> fixed;
  for (const auto& entry : spec.rollout_servers()) {
    auto parsed = ParseServerEntries({entry});
    if (!parsed.ok()) {
      problems.push_back(absl::StrCat("rollout server ", parsed.status().message()));
    } else {
      fixed.insert(fixed.end(), parsed->fixed.begin(), parsed->fixed.end());
    }
  }
  probe_all("rollout server", fixed, spec.rollout_model());
  if (opd) probe_all("teacher server", spec.distill().teacher_servers(), std::string());
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
