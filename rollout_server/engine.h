// The rollout engine: continuous batching of generation requests over one or more named models
// that share one paged KV cache (one block budget: whichever model's sequences need blocks get
// them), group sampling with shared prompt blocks, prefill-only scoring, and in-flight weight
// updates applied between two decode steps, either at once or staged first and committed later
// (so a fleet of servers can switch together).
//
// Threading: one engine thread runs every model step, sampling and weight swap. Public methods
// are thread-safe: they validate, queue, and return at once; completion callbacks run on the
// engine thread and must not block (a gRPC reactor's Finish() is fine).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/task_queue.h"
#include "common/base/thread_pool.h"
#include "common/model/kv_cache.h"
#include "common/model/transformer.h"
#include "rollout_server/block_manager.h"
#include "rollout_server/sampler.h"

namespace flywheel::rollout {

struct EngineOptions {
  int64_t kv_blocks = 1024;            // KV cache size in blocks
  int64_t block_size = 16;             // tokens per block
  int64_t max_tokens_per_step = 2048;  // token budget of one step (prefill chunks + decodes)
  int64_t max_running = 256;           // sequences decoding at once
  int threads = 1;                     // model worker threads
  int64_t max_n = 1024;                // samples per request
  int64_t max_score_tokens = 1 << 16;  // tokens per Score call
  int32_t max_score_top_k = 20;
  // Called on the engine thread after each step with its wall time and the counters as of its
  // end (for a latency histogram or a benchmark's log); may be null. Must not block.
  std::function<void(double seconds, const struct EngineStats& stats)> on_step;
};

struct GenerateParams {
  std::vector<int32_t> prompt;
  int64_t n = 1;
  SamplingOptions sampling;
  int64_t max_tokens = 0;               // 0: up to the context
  std::vector<int32_t> stop_token_ids;  // finish after emitting one of these (kept)
  // Finish once the decoded completion contains one of these; needs token_bytes.
  std::vector<std::string> stop_strings;
  // The bytes a token id stands for, for stop strings (null: stop strings are rejected). The
  // completion's text is its tokens' bytes, less a leading space when strip_leading_space, with
  // invalid UTF-8 replaced (Tokenizer::Decode's text; see stop_strings.h).
  std::function<std::string_view(int32_t)> token_bytes;
  bool strip_leading_space = false;
  int model = 0;            // index of the served model (Engine::ModelIndex)
  int64_t min_version = 0;  // see CommitWeights; 0 = any
};

struct SampleOutput {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;           // raw log-softmax, the learner's value
  std::vector<float> sampling_logprobs;  // under the processed distribution
  std::vector<int64_t> versions;         // weight version that produced each token
  std::string finish_reason;             // "stop" or "length"
};

using GenerateDone = std::function<void(absl::StatusOr<std::vector<SampleOutput>>)>;

struct ScoreItem {
  std::vector<int32_t> prompt;
  std::vector<int32_t> continuation;
};
struct ScoreOutput {
  std::vector<float> logprobs;                // per continuation token
  std::vector<std::vector<int32_t>> top_ids;  // per position, when top_k > 0
  std::vector<std::vector<float>> top_logprobs;
};
using ScoreDone = std::function<void(absl::StatusOr<std::vector<ScoreOutput>>, int64_t version)>;
using WeightsDone = std::function<void(absl::Status, double pause_seconds)>;

// Counters the daemon exports; readable from any thread.
struct EngineStats {
  std::atomic<int64_t> generated_tokens{0};
  std::atomic<int64_t> prefill_tokens{0};
  std::atomic<int64_t> running{0};
  std::atomic<int64_t> waiting{0};
  std::atomic<int64_t> blocks_in_use{0};
  std::atomic<int64_t> peak_blocks_in_use{0};  // since start
  std::atomic<int64_t> blocks_total{0};
  std::atomic<int64_t> preemptions{0};
  std::atomic<int64_t> version{0};
  std::atomic<int64_t> steps{0};
  std::atomic<double> last_swap_pause{0};
  std::atomic<double> max_swap_pause{0};
  // Wall time the engine thread had nothing to run (idle capacity), since start.
  std::atomic<double> idle_seconds{0};
};

// A model to serve and the name requests use for it.
struct NamedModel {
  std::string name;
  std::unique_ptr<model::Transformer> model;
};

class Engine {
 public:
  // Takes the model (served under the name "default"); starts the engine thread.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::unique_ptr<model::Transformer> model,
                                                        const EngineOptions& options);
  // Serves several models under their names (the first is the default). They share the KV
  // cache, so they must agree on its row shape (layers, KV heads, head dim): InvalidArgument
  // otherwise, and for no model, a null one or a repeated name.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::vector<NamedModel> models,
                                                        const EngineOptions& options);
  // Stops the engine: requests still queued or running fail with UNAVAILABLE.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates (InvalidArgument naming the problem, nothing queued) and queues a request; done
  // receives the n samples in index order once all have finished.
  absl::Status Generate(GenerateParams params, GenerateDone done);
  // Validates and queues a prefill-only scoring batch of served model `model`; min_version as in
  // GenerateParams.
  absl::Status Score(std::vector<ScoreItem> items, int32_t top_k, ScoreDone done, int model = 0,
                     int64_t min_version = 0);
  // Queues new weights of model `model` (num_params floats in ParameterLayout order) as
  // `version`. A staging thread checks them (done gets InvalidArgument for a non-finite value)
  // and builds the packed model, so the swap between two steps only exchanges pointers.
  // Sequences in flight keep their KV cache and go on with the new weights; tokens record the
  // version that produced them; the prefix cache is dropped. InvalidArgument at once for a wrong
  // size or model index.
  absl::Status UpdateWeights(std::vector<float> params, int64_t version, WeightsDone done,
                             int model = 0);
  // As UpdateWeights, but the checked and packed weights are only staged (replacing an older
  // staged version of the model); done (pause 0) once they are. They are swapped in by
  // CommitWeights, or before the first request whose min_version asks for them (a request with
  // a min_version above both the served and the staged version fails with UNAVAILABLE).
  absl::Status StageWeights(std::vector<float> params, int64_t version, WeightsDone done,
                            int model = 0);
  // Swaps in the staged `version` of model `model` between two steps; done gets OK with the
  // pause, OK with pause 0 when that version is already served, FailedPrecondition when it is
  // neither staged nor served.
  absl::Status CommitWeights(int64_t version, WeightsDone done, int model = 0);
  // The parameter buffer of model `model`'s weights that the last swap replaced (num_params
  // floats, already resident, contents stale), or an empty vector when there is none (or no such
  // model): a push received into it skips the page faults of a fresh allocation of the model's
  // size. Any thread.
  std::vector<float> TakeStagingBuffer(int model = 0);
  // Fails queued and running work with UNAVAILABLE, then stops the thread. Idempotent.
  void Shutdown();

  int num_models() const { return static_cast<int>(slots_.size()); }
  // The index of the model named `name` ("" = the first); -1 when none has that name.
  int ModelIndex(const std::string& name) const;
  const std::string& model_name(int model) const { return slots_[model]->name; }
  const model::ModelConfig& config(int model = 0) const { return slots_[model]->config; }
  int64_t num_params(int model = 0) const { return slots_[model]->num_params; }
  // The served and the staged (-1: none) weight version of a model; any thread.
  int64_t version(int model) const { return slots_[model]->served_version.load(); }
  int64_t staged_version(int model) const { return slots_[model]->staged_version_seen.load(); }
  const EngineOptions& options() const { return options_; }
  // Counters over all models; stats().version is the first model's version.
  EngineStats& stats() { return stats_; }

 private:
  struct Group;
  struct Seq;
  // One served model.
  struct Slot {
    std::string name;
    std::shared_ptr<model::Transformer> model;  // engine thread
    model::ModelConfig config;
    int64_t num_params = 0;
    int64_t version = 0;  // engine thread
    std::atomic<int64_t> served_version{0};
    std::atomic<int64_t> staged_version_seen{-1};
    // Staged weights awaiting a commit; guarded by mu_.
    std::shared_ptr<model::Transformer> staged;
    int64_t staged_version = -1;
    // The replaced weights' parameter buffer, kept for the next push (TakeStagingBuffer);
    // guarded by spare_mu_.
    std::vector<float> spare_params;
  };
  struct ScoreJob {
    std::vector<ScoreItem> items;
    int32_t top_k;
    ScoreDone done;
    int model = 0;
    int64_t min_version = 0;
  };
  struct WeightJob {
    int model = 0;
    std::shared_ptr<model::Transformer> weights;  // Built and packed by the staging thread.
    int64_t version;
    WeightsDone done;  // may be null (a commit a request asked for)
  };
  struct CommitJob {
    int model = 0;
    int64_t version;
    WeightsDone done;
  };

  Engine(std::vector<NamedModel> models, const EngineOptions& options);
  void Loop();
  // One scheduling + model step; false when there was nothing to run.
  bool Step();
  void TakeInbox();
  // Under mu_: moves model `model`'s staged weights into `weights` when they reach min_version
  // and are newer than the served ones; their index in `weights`, or -1.
  int TakeStagedLocked(int model, int64_t min_version, std::deque<WeightJob>* weights);
  // Checks, builds and packs weights on the staging thread; then queues them to be applied
  // (commit) or stages them.
  absl::Status PostWeights(std::vector<float> params, int64_t version, int model, bool commit,
                           WeightsDone done);
  // Swaps the weights in (engine thread); the decode pause in seconds.
  double ApplyWeights(WeightJob& job);
  // The KV prefix-cache hash chain of a sequence starts from its model, so two models never
  // share a cached block.
  uint64_t PrefixSalt(const Seq* seq) const;
  void RunScore(ScoreJob& job);
  // Block bookkeeping (engine thread).
  bool EnsureBlocks(Seq* seq, int64_t new_tokens);
  void Preempt(Seq* seq);
  void ReleaseSeq(Seq* seq);
  void AdmitPrefix(Seq* seq);
  void PublishPromptBlocks(Seq* seq);
  void AfterLogits(Seq* seq, const float* logits);
  // Draws the next token of every decoding sequence batch[i] (sample[i]) from its logits row
  // logits[i] (its model's vocabulary), spread over the pool (each thread its own Sampler);
  // entries of other sequences are left as they are.
  void SampleDecodes(const std::vector<Seq*>& batch, const std::vector<bool>& sample,
                     const std::vector<const float*>& logits, std::vector<SampledToken>* out);
  void Append(Seq* seq, const SampledToken& tok);
  void FinishSeq(Seq* seq, const std::string& reason);
  void FailAll(const absl::Status& status);
  void UpdateGauges();

  const EngineOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;  // fixed at construction
  ThreadPool pool_;
  model::KvCache cache_;
  BlockManager blocks_;
  Sampler sampler_;
  std::vector<Sampler> samplers_;  // One per pool thread, for SampleDecodes.
  // Reused by every step so that a step allocates nothing once the batch shape has been seen.
  model::Activations step_acts_;                        // shared by the models' forwards
  std::vector<model::IncrementalResult> step_results_;  // one per model
  EngineStats stats_;

  // Engine-thread state.
  std::deque<Seq*> waiting_;   // FIFO; preempted sequences go back to the front
  std::vector<Seq*> running_;  // admission order
  std::vector<std::unique_ptr<Seq>> seqs_;
  std::vector<std::unique_ptr<Group>> groups_;

  // Inbox, guarded by mu_.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Group>> new_groups_;
  std::deque<ScoreJob> score_jobs_;
  std::deque<WeightJob> weight_jobs_;
  std::deque<CommitJob> commit_jobs_;
  bool stopping_ = false;
  std::thread thread_;
  // Guards each Slot's spare_params.
  std::mutex spare_mu_;
  // Prepares pushed weights off the engine thread, and frees replaced models there too. Last, so
  // that its thread stops before the members its tasks use are destroyed.
  TaskQueue staging_{1};
};

}  // namespace flywheel::rollout
