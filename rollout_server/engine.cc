#include "rollout_server/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "common/kernels/cpu/logprobs.h"
#include "rollout_server/stop_strings.h"

namespace flywheel::rollout {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

// One Generate request: n samples of a prompt.
struct Engine::Group {
  GenerateParams params;
  GenerateDone done;
  int64_t max_new = 0;  // Tokens each sample may generate.
  std::vector<SampleOutput> outputs;
  int64_t remaining = 0;
  bool finished = false;
};

// A sequence the scheduler runs. A group starts as one leader (index -1) that prefills the
// prompt; its logits fork the n samples, which share the prompt's blocks.
struct Engine::Seq {
  Group* group = nullptr;
  int64_t index = -1;
  std::vector<int32_t> tokens;  // prompt + generated
  int64_t prompt_len = 0;
  std::vector<int32_t> blocks;  // block table
  int64_t computed = 0;         // tokens whose keys/values are in the cache
  bool running = false;         // in running_
  bool done = false;
  std::unique_ptr<StopStringScanner> stop;  // when the request has stop strings
};

Engine::Engine(std::vector<NamedModel> models, const EngineOptions& options)
    : options_(options),
      pool_(options.threads),
      cache_(models[0].model->config(), options.kv_blocks, options.block_size),
      blocks_(options.kv_blocks, options.block_size),
      samplers_(pool_.num_threads()),
      step_results_(models.size()) {
  for (auto& m : models) {
    auto slot = std::make_unique<Slot>();
    slot->name = std::move(m.name);
    slot->config = m.model->config();
    slot->num_params = m.model->num_params();
    if (!m.model->has_packed_weights()) m.model->PackInferenceWeights(&pool_);
    slot->model = std::move(m.model);
    slots_.push_back(std::move(slot));
  }
  stats_.blocks_total = options.kv_blocks;
  thread_ = std::thread([this] { Loop(); });
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::unique_ptr<model::Transformer> model,
                                                       const EngineOptions& options) {
  std::vector<NamedModel> models;
  models.push_back({"default", std::move(model)});
  return Create(std::move(models), options);
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(std::vector<NamedModel> models,
                                                       const EngineOptions& options) {
  if (models.empty()) return absl::InvalidArgumentError("no model");
  for (size_t i = 0; i < models.size(); ++i) {
    if (models[i].model == nullptr) return absl::InvalidArgumentError("no model");
    for (size_t j = 0; j < i; ++j) {
      if (models[j].name == models[i].name) {
        return absl::InvalidArgumentError(
            absl::StrCat("two models are named \"", models[i].name, "\""));
      }
    }
    const model::ModelConfig& a = models[0].model->config();
    const model::ModelConfig& b = models[i].model->config();
    if (a.num_layers != b.num_layers || a.kv_dim() != b.kv_dim()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model \"", models[i].name, "\" has KV rows of ", b.num_layers, " layers x ",
                       b.kv_dim(), " floats, model \"", models[0].name, "\" ", a.num_layers, " x ",
                       a.kv_dim(), ": the models of one server share its KV cache and must agree"));
    }
  }
  if (options.kv_blocks < 1 || options.block_size < 1 || options.max_tokens_per_step < 1 ||
      options.max_running < 1 || options.threads < 1) {
    return absl::InvalidArgumentError("engine options must be positive");
  }
  return std::unique_ptr<Engine>(new Engine(std::move(models), options));
}

int Engine::ModelIndex(const std::string& name) const {
  if (name.empty()) return 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->name == name) return static_cast<int>(i);
  }
  return -1;
}

uint64_t Engine::PrefixSalt(const Seq* seq) const {
  return static_cast<uint64_t>(seq->group->params.model);
}

Engine::~Engine() { Shutdown(); }

void Engine::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

absl::Status Engine::Generate(GenerateParams params, GenerateDone done) {
  if (params.model < 0 || params.model >= num_models()) {
    return absl::InvalidArgumentError(absl::StrCat("no model with index ", params.model));
  }
  const model::ModelConfig& config = slots_[params.model]->config;
  const int64_t ctx = config.max_position_embeddings;
  const int64_t P = static_cast<int64_t>(params.prompt.size());
  if (P == 0) return absl::InvalidArgumentError("prompt is empty");
  if (P >= ctx) {
    return absl::InvalidArgumentError(
        absl::StrCat("prompt of ", P, " tokens leaves no room in the context of ", ctx));
  }
  RETURN_IF_ERROR(model::ValidateTokens(config, params.prompt, 0, "prompt"));
  if (params.n < 1 || params.n > options_.max_n) {
    return absl::InvalidArgumentError(
        absl::StrCat("n must be in [1, ", options_.max_n, "], got ", params.n));
  }
  RETURN_IF_ERROR(ValidateSamplingOptions(params.sampling));
  if (params.sampling.vocab_limit < 0 || params.sampling.vocab_limit > config.vocab_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("vocab_limit must be in [0, ", config.vocab_size, "]"));
  }
  if (params.max_tokens < 0) return absl::InvalidArgumentError("max_tokens must be >= 0");
  if (params.max_tokens > ctx - P) {
    return absl::InvalidArgumentError(absl::StrCat("max_tokens ", params.max_tokens,
                                                   " with a prompt of ", P,
                                                   " tokens exceeds the context of ", ctx));
  }
  for (int32_t t : params.stop_token_ids) {
    if (t < 0 || t >= config.vocab_size)
      return absl::InvalidArgumentError(
          absl::StrCat("stop token id ", t, " is outside the vocabulary"));
  }
  if (!params.stop_strings.empty() && !params.token_bytes) {
    return absl::InvalidArgumentError("stop strings need a tokenizer, and this server has none");
  }
  for (const auto& s : params.stop_strings) {
    if (s.empty()) return absl::InvalidArgumentError("stop strings must not be empty");
  }
  auto group = std::make_unique<Group>();
  group->max_new = params.max_tokens > 0 ? params.max_tokens : ctx - P;
  // One sample must fit in the whole cache (plus one block of copy-on-write), or it could never
  // run.
  const int64_t need = (P + group->max_new + options_.block_size - 1) / options_.block_size + 1;
  if (need > options_.kv_blocks) {
    return absl::InvalidArgumentError(
        absl::StrCat("a sample of up to ", P + group->max_new, " tokens needs ", need,
                     " KV blocks; the cache has ", options_.kv_blocks, " (lower max_tokens)"));
  }
  group->params = std::move(params);
  group->done = std::move(done);
  group->outputs.resize(group->params.n);
  group->remaining = group->params.n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("rollout engine is shutting down");
    new_groups_.push_back(std::move(group));
  }
  cv_.notify_all();
  return absl::OkStatus();
}

absl::Status Engine::Score(std::vector<ScoreItem> items, int32_t top_k, ScoreDone done, int model,
                           int64_t min_version) {
  if (model < 0 || model >= num_models()) {
    return absl::InvalidArgumentError(absl::StrCat("no model with index ", model));
  }
  const model::ModelConfig& config = slots_[model]->config;
  if (items.empty()) return absl::InvalidArgumentError("no items to score");
  if (top_k < 0 || top_k > options_.max_score_top_k) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k must be in [0, ", options_.max_score_top_k, "]"));
  }
  int64_t total = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    std::vector<int32_t> seq = items[i].prompt;
    if (seq.empty())
      return absl::InvalidArgumentError(absl::StrCat("item ", i, ": prompt is empty"));
    seq.insert(seq.end(), items[i].continuation.begin(), items[i].continuation.end());
    RETURN_IF_ERROR(model::ValidateTokens(config, seq, 0, absl::StrCat("item ", i)));
    total += static_cast<int64_t>(seq.size());
  }
  if (total > options_.max_score_tokens) {
    return absl::InvalidArgumentError(absl::StrCat(
        "score request holds ", total, " tokens; the limit is ", options_.max_score_tokens));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("rollout engine is shutting down");
    score_jobs_.push_back({std::move(items), top_k, std::move(done), model, min_version});
  }
  cv_.notify_all();
  return absl::OkStatus();
}

void Engine::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool busy = !running_.empty() || !waiting_.empty();
      auto ready = [&] {
        return stopping_ || busy || !new_groups_.empty() || !score_jobs_.empty() ||
               !weight_jobs_.empty() || !commit_jobs_.empty();
      };
      if (!ready()) {
        const double t0 = Now();
        cv_.wait(lock, ready);
        stats_.idle_seconds = stats_.idle_seconds.load() + (Now() - t0);
      }
      if (stopping_) break;
    }
    Step();
  }
  FailAll(absl::UnavailableError("rollout server is shutting down"));
}

void Engine::TakeInbox() {
  std::vector<std::unique_ptr<Group>> groups;
  std::deque<ScoreJob> scores;
  std::deque<WeightJob> weights;
  std::deque<CommitJob> commits;
  std::vector<int> taken;  // per commit: its weights' index in `weights`, or -1
  {
    std::lock_guard<std::mutex> lock(mu_);
    groups.swap(new_groups_);
    scores.swap(score_jobs_);
    weights.swap(weight_jobs_);
    commits.swap(commit_jobs_);
    // Staged weights that a commit or a new request's min_version asks for are swapped in now,
    // before that request is admitted.
    for (const auto& c : commits) {
      // A commit names its version exactly; a newer staged version waits for its own commit.
      const bool match = slots_[c.model]->staged_version == c.version;
      taken.push_back(match ? TakeStagedLocked(c.model, c.version, &weights) : -1);
    }
    for (const auto& g : groups) TakeStagedLocked(g->params.model, g->params.min_version, &weights);
    for (const auto& sj : scores) TakeStagedLocked(sj.model, sj.min_version, &weights);
  }
  // Weights first: a push that arrived before a request applies to it.
  std::vector<double> pauses;
  for (auto& w : weights) pauses.push_back(ApplyWeights(w));
  for (size_t i = 0; i < commits.size(); ++i) {
    CommitJob& c = commits[i];
    const Slot& slot = *slots_[c.model];
    if (slot.version == c.version) {
      c.done(absl::OkStatus(), taken[i] >= 0 ? pauses[taken[i]] : 0.0);
    } else {
      c.done(absl::FailedPreconditionError(absl::StrCat("model \"", slot.name,
                                                        "\" has no staged version ", c.version,
                                                        " to commit (serving ", slot.version, ")")),
             0);
    }
  }
  auto too_old = [&](int model, int64_t min_version) -> absl::Status {
    const Slot& slot = *slots_[model];
    if (min_version <= slot.version) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat("model \"", slot.name, "\" is at version ",
                                               slot.version, "; the request needs ", min_version));
  };
  for (auto& s : scores) {
    if (absl::Status st = too_old(s.model, s.min_version); !st.ok()) {
      s.done(st, slots_[s.model]->version);
      continue;
    }
    RunScore(s);
  }
  for (auto& g : groups) {
    if (absl::Status st = too_old(g->params.model, g->params.min_version); !st.ok()) {
      g->done(st);
      continue;
    }
    auto leader = std::make_unique<Seq>();
    leader->group = g.get();
    leader->tokens = g->params.prompt;
    leader->prompt_len = static_cast<int64_t>(leader->tokens.size());
    waiting_.push_back(leader.get());
    seqs_.push_back(std::move(leader));
    groups_.push_back(std::move(g));
  }
}

void Engine::RunScore(ScoreJob& job) {
  const Slot& slot = *slots_[job.model];
  const model::ModelConfig& config = slot.config;
  const int64_t version = slot.version;
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& it : job.items) {
    seqs.push_back(it.prompt);
    seqs.back().insert(seqs.back().end(), it.continuation.begin(), it.continuation.end());
  }
  model::ForwardResult r;
  absl::Status st = slot.model->Forward(seqs, {.logits = job.top_k > 0}, &r, nullptr, &pool_);
  if (!st.ok()) {
    job.done(st, version);
    return;
  }
  const int64_t V = config.vocab_size;
  std::vector<ScoreOutput> out(job.items.size());
  int64_t row0 = 0;
  std::vector<int32_t> order(V);
  for (size_t i = 0; i < job.items.size(); ++i) {
    const int64_t P = static_cast<int64_t>(job.items[i].prompt.size());
    const int64_t T = static_cast<int64_t>(seqs[i].size());
    out[i].logprobs.assign(r.logprobs[i].begin() + (P - 1), r.logprobs[i].end());
    for (int64_t t = P - 1; job.top_k > 0 && t < T - 1; ++t) {
      const float* row = r.logits.data() + (row0 + t) * V;
      float lp, lse;
      const int32_t tok = seqs[i][t + 1];
      kernels::logprobs_forward(&lp, nullptr, &lse, row, &tok, 1, V, nullptr);
      std::iota(order.begin(), order.end(), 0);
      const int64_t k = std::min<int64_t>(job.top_k, V);
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
        return row[a] > row[b] || (row[a] == row[b] && a < b);
      });
      out[i].top_ids.emplace_back(order.begin(), order.begin() + k);
      out[i].top_logprobs.emplace_back();
      for (int64_t j = 0; j < k; ++j) out[i].top_logprobs.back().push_back(row[order[j]] - lse);
    }
    row0 += T;
  }
  job.done(std::move(out), version);
}

bool Engine::EnsureBlocks(Seq* s, int64_t n) {
  const int64_t bs = options_.block_size;
  const int64_t end = s->computed + n;
  std::vector<int32_t> fresh;
  // Copy-on-write: the block that receives position `computed` may be shared with siblings.
  const int64_t first = s->computed / bs;
  int32_t cow_old = -1;
  if (s->computed % bs != 0 && first < static_cast<int64_t>(s->blocks.size()) &&
      blocks_.ref_count(s->blocks[first]) > 1) {
    const int32_t b = blocks_.Allocate();
    if (b < 0) return false;
    fresh.push_back(b);
    cow_old = s->blocks[first];
  }
  while (static_cast<int64_t>(s->blocks.size() + fresh.size() - (cow_old >= 0 ? 1 : 0)) * bs <
         end) {
    const int32_t b = blocks_.Allocate();
    if (b < 0) {
      blocks_.UnrefAll(fresh);  // Roll back: all or nothing.
      return false;
    }
    fresh.push_back(b);
  }
  size_t next = 0;
  if (cow_old >= 0) {
    cache_.CopyBlock(cow_old, fresh[0]);
    s->blocks[first] = fresh[next++];
    blocks_.Unref(cow_old);
  }
  for (; next < fresh.size(); ++next) s->blocks.push_back(fresh[next]);
  return true;
}

void Engine::ReleaseSeq(Seq* s) {
  blocks_.UnrefAll(s->blocks);
  s->blocks.clear();
  s->computed = 0;
  if (s->running) {
    running_.erase(std::find(running_.begin(), running_.end(), s));
    s->running = false;
  }
}

void Engine::Preempt(Seq* s) {
  ReleaseSeq(s);  // Recompute later: bitwise the same keys/values, so the same samples.
  waiting_.push_front(s);
  ++stats_.preemptions;
}

void Engine::AdmitPrefix(Seq* s) {
  const int64_t bs = options_.block_size;
  const int64_t version = slots_[s->group->params.model]->version;
  uint64_t h = PrefixSalt(s);
  // Leave at least one token to compute: its logits are what the step is for.
  for (int64_t b = 0; (b + 1) * bs <= static_cast<int64_t>(s->tokens.size()) - 1; ++b) {
    h = BlockManager::BlockHash(h, absl::MakeConstSpan(s->tokens).subspan(b * bs, bs), version);
    const int32_t blk = blocks_.Lookup(h);
    if (blk < 0) break;
    s->blocks.push_back(blk);
    s->computed = (b + 1) * bs;
  }
}

void Engine::PublishPromptBlocks(Seq* s) {
  const int64_t bs = options_.block_size;
  const int64_t version = slots_[s->group->params.model]->version;
  uint64_t h = PrefixSalt(s);
  for (int64_t b = 0; (b + 1) * bs <= s->prompt_len; ++b) {
    h = BlockManager::BlockHash(h, absl::MakeConstSpan(s->tokens).subspan(b * bs, bs), version);
    blocks_.Publish(s->blocks[b], h);
  }
}

void Engine::Append(Seq* s, const SampledToken& tok) {
  Group* g = s->group;
  SampleOutput& out = g->outputs[s->index];
  s->tokens.push_back(tok.token);
  out.tokens.push_back(tok.token);
  out.logprobs.push_back(tok.logprob);
  out.sampling_logprobs.push_back(tok.sampling_logprob);
  out.versions.push_back(slots_[g->params.model]->version);
  ++stats_.generated_tokens;
  const auto& p = g->params;
  if (std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), tok.token) !=
      p.stop_token_ids.end()) {
    return FinishSeq(s, "stop");
  }
  if (s->stop != nullptr && s->stop->Append(p.token_bytes(tok.token))) {
    return FinishSeq(s, "stop");
  }
  if (static_cast<int64_t>(out.tokens.size()) >= g->max_new) return FinishSeq(s, "length");
  if (!s->running) {
    running_.push_back(s);
    s->running = true;
  }
}

void Engine::FinishSeq(Seq* s, const std::string& reason) {
  Group* g = s->group;
  g->outputs[s->index].finish_reason = reason;
  ReleaseSeq(s);
  s->done = true;
  if (--g->remaining == 0) {
    g->finished = true;
    g->done(std::move(g->outputs));
  }
}

void Engine::AfterLogits(Seq* s, const float* logits) {
  Group* g = s->group;
  const model::ModelConfig& config = slots_[g->params.model]->config;
  const SamplingOptions& opt = g->params.sampling;
  if (s->index >= 0) {
    Append(s, sampler_.Sample(logits, config.vocab_size, opt, s->index,
                              static_cast<int64_t>(s->tokens.size())));
    return;
  }
  // The leader finished the prompt: publish its blocks and fork the n samples onto them.
  PublishPromptBlocks(s);
  for (int64_t i = 0; i < g->params.n; ++i) {
    auto child = std::make_unique<Seq>();
    child->group = g;
    child->index = i;
    child->tokens = s->tokens;
    child->prompt_len = s->prompt_len;
    child->blocks = s->blocks;
    for (int32_t b : child->blocks) blocks_.Ref(b);
    child->computed = s->computed;
    if (!g->params.stop_strings.empty()) {
      child->stop = std::make_unique<StopStringScanner>(&g->params.stop_strings,
                                                        g->params.strip_leading_space);
    }
    Seq* c = child.get();
    seqs_.push_back(std::move(child));
    Append(c, sampler_.Sample(logits, config.vocab_size, opt, i, c->prompt_len));
  }
  ReleaseSeq(s);
  s->done = true;
}

void Engine::SampleDecodes(const std::vector<Seq*>& batch, const std::vector<bool>& sample,
                           const std::vector<const float*>& logits,
                           std::vector<SampledToken>* out) {
  std::vector<size_t> todo;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (sample[i]) todo.push_back(i);
  }
  // A draw reads the whole vocabulary's logits (exp in double, then a walk or a sort): for a
  // batch of many sequences that is worth splitting. Draws depend only on (seed, sample,
  // position), so which thread makes one never changes it.
  auto draw = [&](Sampler& sampler, size_t k) {
    const size_t i = todo[k];
    const Seq* s = batch[i];
    const int64_t V = slots_[s->group->params.model]->config.vocab_size;
    (*out)[i] = sampler.Sample(logits[i], V, s->group->params.sampling, s->index,
                               static_cast<int64_t>(s->tokens.size()));
  };
  const int T = pool_.num_threads();
  if (T == 1 || todo.size() < 2) {
    for (size_t k = 0; k < todo.size(); ++k) draw(sampler_, k);
    return;
  }
  pool_.Run([&](int t) {
    for (size_t k = t; k < todo.size(); k += T) draw(samplers_[t], k);
  });
}

bool Engine::Step() {
  TakeInbox();
  if (running_.empty() && waiting_.empty()) return false;
  const double t0 = Now();
  int64_t budget = options_.max_tokens_per_step;
  std::vector<Seq*> batch;
  std::vector<int64_t> counts;
  // Decode steps of running sequences, oldest first; when blocks run out, the youngest running
  // sequences are preempted (their blocks freed, recomputed later).
  for (size_t i = 0; i < running_.size() && budget > 0; ++i) {
    Seq* s = running_[i];
    bool ok = EnsureBlocks(s, 1);
    while (!ok) {
      Seq* victim = running_.back();
      Preempt(victim);
      if (victim == s) break;
      ok = EnsureBlocks(s, 1);
    }
    if (!ok) break;
    batch.push_back(s);
    counts.push_back(1);
    --budget;
  }
  // Then prefills (new prompts, chunked to the budget; preempted sequences recomputing).
  int64_t admitted = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    while (!waiting_.empty() && budget > 0 &&
           static_cast<int64_t>(running_.size()) + admitted < options_.max_running) {
      Seq* s = waiting_.front();
      if (s->computed == 0 && s->blocks.empty()) AdmitPrefix(s);
      const int64_t n =
          std::min<int64_t>(static_cast<int64_t>(s->tokens.size()) - s->computed, budget);
      if (!EnsureBlocks(s, n)) break;
      waiting_.pop_front();
      batch.push_back(s);
      counts.push_back(n);
      budget -= n;
      ++admitted;
    }
    if (!batch.empty() || waiting_.empty()) break;
    // Nothing fits: partially prefilled sequences behind the front hold the blocks. Release them.
    for (size_t i = 1; i < waiting_.size(); ++i) {
      if (!waiting_[i]->blocks.empty()) ReleaseSeq(waiting_[i]);
    }
  }
  if (batch.empty()) return false;

  // One forward per served model over the shared cache (the kernels are batch-invariant, so
  // splitting the step by model changes no bit).
  int64_t prefill = 0;
  std::vector<const float*> logits(batch.size(), nullptr);
  absl::Status st;
  for (size_t m = 0; m < slots_.size() && st.ok(); ++m) {
    std::vector<model::SeqStep> steps;
    std::vector<size_t> rows;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i]->group->params.model != static_cast<int>(m)) continue;
      steps.push_back({absl::MakeConstSpan(batch[i]->tokens).subspan(batch[i]->computed, counts[i]),
                       batch[i]->computed, batch[i]->blocks});
      rows.push_back(i);
      if (!batch[i]->running) prefill += counts[i];
    }
    if (steps.empty()) continue;
    model::IncrementalResult& r = step_results_[m];
    st = slots_[m]->model->ForwardIncremental(steps, /*all_logits=*/false, &cache_, &r, &pool_,
                                              &step_acts_);
    const int64_t V = slots_[m]->config.vocab_size;
    for (size_t j = 0; j < rows.size() && st.ok(); ++j) logits[rows[j]] = r.logits.data() + j * V;
  }

  if (!st.ok()) {
    // Requests were validated on entry, so this is a bug; fail the groups involved, keep serving.
    FW_LOG(ERROR) << "model step failed: " << st;
    for (Seq* s : batch) {
      if (!s->group->finished) {
        s->group->finished = true;
        s->group->done(absl::InternalError(absl::StrCat("model step failed: ", st.message())));
      }
    }
    for (auto& s : seqs_) {
      if (s->group->finished && !s->done) {
        ReleaseSeq(s.get());
        s->done = true;
      }
    }
    waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), [](Seq* s) { return s->done; }),
                   waiting_.end());
  } else {
    stats_.prefill_tokens += prefill;
    std::vector<Seq*> partial;
    std::vector<bool> complete(batch.size(), false), decode(batch.size(), false);
    for (size_t i = 0; i < batch.size(); ++i) {
      Seq* s = batch[i];
      s->computed += counts[i];
      complete[i] = s->computed == static_cast<int64_t>(s->tokens.size());
      decode[i] = complete[i] && s->index >= 0;
    }
    std::vector<SampledToken> drawn(batch.size());
    SampleDecodes(batch, decode, logits, &drawn);
    for (size_t i = 0; i < batch.size(); ++i) {
      Seq* s = batch[i];
      if (!complete[i]) {
        partial.push_back(s);  // A chunked prefill continues next step, ahead of newer work.
      } else if (decode[i]) {
        Append(s, drawn[i]);
      } else {
        AfterLogits(s, logits[i]);
      }
    }
    for (auto it = partial.rbegin(); it != partial.rend(); ++it) waiting_.push_front(*it);
  }
  // Drop finished sequences and groups.
  seqs_.erase(std::remove_if(seqs_.begin(), seqs_.end(), [](const auto& s) { return s->done; }),
              seqs_.end());
  groups_.erase(std::remove_if(groups_.begin(), groups_.end(),
                               [&](const auto& g) {
                                 if (!g->finished) return false;
                                 for (const auto& s : seqs_)
                                   if (s->group == g.get()) return false;
                                 return true;
                               }),
                groups_.end());
  ++stats_.steps;
  UpdateGauges();
  if (options_.on_step) options_.on_step(Now() - t0, stats_);
  return true;
}

void Engine::UpdateGauges() {
  stats_.running = static_cast<int64_t>(running_.size());
  stats_.waiting = static_cast<int64_t>(waiting_.size());
  stats_.blocks_in_use = blocks_.num_in_use();
  if (stats_.blocks_in_use > stats_.peak_blocks_in_use)
    stats_.peak_blocks_in_use = stats_.blocks_in_use.load();
}

void Engine::FailAll(const absl::Status& status) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& g : new_groups_) g->done(status);
    new_groups_.clear();
    for (auto& s : score_jobs_) s.done(status, slots_[s.model]->version);
    score_jobs_.clear();
    for (auto& w : weight_jobs_) {
      if (w.done) w.done(status, 0);
    }
    weight_jobs_.clear();
    for (auto& c : commit_jobs_) c.done(status, 0);
    commit_jobs_.clear();
  }
  for (auto& g : groups_) {
    if (!g->finished) {
      g->finished = true;
      g->done(status);
    }
  }
  for (auto& s : seqs_) blocks_.UnrefAll(s->blocks), s->blocks.clear();
  seqs_.clear();
  groups_.clear();
  running_.clear();
  waiting_.clear();
  UpdateGauges();
}

}  // namespace flywheel::rollout
