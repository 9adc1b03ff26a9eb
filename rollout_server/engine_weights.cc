// The engine's weight updates: checked and packed on the staging thread, then either applied
// between two steps at once (UpdateWeights) or staged for a later commit (StageWeights,
// CommitWeights, or a request's min_version), which is how a fleet of servers switches together.
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "rollout_server/engine.h"

namespace flywheel::rollout {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

absl::Status Engine::UpdateWeights(std::vector<float> params, int64_t version, WeightsDone done,
                                   int model) {
  return PostWeights(std::move(params), version, model, /*commit=*/true, std::move(done));
}

absl::Status Engine::StageWeights(std::vector<float> params, int64_t version, WeightsDone done,
                                  int model) {
  return PostWeights(std::move(params), version, model, /*commit=*/false, std::move(done));
}

absl::Status Engine::PostWeights(std::vector<float> params, int64_t version, int model, bool commit,
                                 WeightsDone done) {
  if (model < 0 || model >= num_models()) {
    return absl::InvalidArgumentError(absl::StrCat("no model with index ", model));
  }
  Slot* slot = slots_[model].get();
  if (static_cast<int64_t>(params.size()) != slot->num_params) {
    return absl::InvalidArgumentError(
        absl::StrCat("weights have ", params.size(), " values, the model has ", slot->num_params));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("rollout engine is shutting down");
  }
  auto shared = std::make_shared<std::vector<float>>(std::move(params));
  staging_.Post([this, slot, model, commit, shared, version, done = std::move(done)] {
    for (size_t i = 0; i < shared->size(); ++i) {
      if (!std::isfinite((*shared)[i])) {
        return done(absl::InvalidArgumentError(
                        absl::StrCat("weights hold a non-finite value at flat index ", i)),
                    0);
      }
    }
    auto built = model::Transformer::Create(model::ModelWeights{slot->config, std::move(*shared)});
    if (!built.ok()) return done(built.status(), 0);
    (*built)->PackInferenceWeights(nullptr);  // The slow part, here rather than between two steps.
    std::shared_ptr<model::Transformer> weights(std::move(*built));
    std::shared_ptr<model::Transformer> replaced;  // freed after the lock, on this thread
    bool staged = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_ && commit) {
        weight_jobs_.push_back({model, std::move(weights), version, std::move(done)});
        cv_.notify_all();
        return;
      }
      if (!stopping_) {
        replaced = std::move(slot->staged);
        slot->staged = std::move(weights);
        slot->staged_version = version;
        slot->staged_version_seen = version;
        staged = true;
      }
    }
    if (!staged) return done(absl::UnavailableError("rollout engine is shutting down"), 0);
    done(absl::OkStatus(), 0);
  });
  return absl::OkStatus();
}

absl::Status Engine::CommitWeights(int64_t version, WeightsDone done, int model) {
  if (model < 0 || model >= num_models()) {
    return absl::InvalidArgumentError(absl::StrCat("no model with index ", model));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return absl::UnavailableError("rollout engine is shutting down");
    commit_jobs_.push_back({model, version, std::move(done)});
  }
  cv_.notify_all();
  return absl::OkStatus();
}

int Engine::TakeStagedLocked(int model, int64_t min_version, std::deque<WeightJob>* weights) {
  if (model < 0 || model >= num_models()) return -1;
  Slot& slot = *slots_[model];
  if (slot.staged == nullptr || min_version <= slot.version || slot.staged_version < min_version) {
    return -1;
  }
  weights->push_back({model, std::move(slot.staged), slot.staged_version, nullptr});
  slot.staged_version = -1;
  slot.staged_version_seen = -1;
  return static_cast<int>(weights->size()) - 1;
}

double Engine::ApplyWeights(WeightJob& job) {
  const double t0 = Now();
  Slot& slot = *slots_[job.model];
  std::shared_ptr<model::Transformer> old = std::move(slot.model);
  slot.model = std::move(job.weights);
  blocks_.ClearPrefixCache();  // Cached prefixes hold keys/values of the old weights.
  slot.version = job.version;
  slot.served_version = job.version;
  if (job.model == 0) stats_.version = job.version;
  const double pause = Now() - t0;
  stats_.last_swap_pause = pause;
  if (pause > stats_.max_swap_pause) stats_.max_swap_pause = pause;
  // The old model is freed off the engine thread, its parameter buffer kept for the model's next
  // push unless someone else still holds the model.
  staging_.Post([this, model = job.model, old = std::move(old)]() mutable {
    if (old == nullptr || old.use_count() != 1) return;
    std::vector<float> params = std::move(*old).ReleaseParams();
    old.reset();
    std::lock_guard<std::mutex> lock(spare_mu_);
    slots_[model]->spare_params = std::move(params);
  });
  if (job.done) job.done(absl::OkStatus(), pause);
  return pause;
}

std::vector<float> Engine::TakeStagingBuffer(int model) {
  if (model < 0 || model >= num_models()) return {};
  Slot& slot = *slots_[model];
  std::lock_guard<std::mutex> lock(spare_mu_);
  std::vector<float> buffer = std::move(slot.spare_params);
  slot.spare_params.clear();
  if (static_cast<int64_t>(buffer.size()) != slot.num_params) return {};
  return buffer;
}

}  // namespace flywheel::rollout
