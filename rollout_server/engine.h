// The rollout engine: continuous batching of generation requests over one model with a paged
// KV cache, group sampling with shared prompt blocks, prefill-only scoring, and in-flight weight
// updates applied between two decode steps.
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
};

class Engine {
 public:
  // Takes the model; starts the engine thread.
  static absl::StatusOr<std::unique_ptr<Engine>> Create(std::unique_ptr<model::Transformer> model,
                                                        const EngineOptions& options);
  // Stops the engine: requests still queued or running fail with UNAVAILABLE.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates (InvalidArgument naming the problem, nothing queued) and queues a request; done
  // receives the n samples in index order once all have finished.
  absl::Status Generate(GenerateParams params, GenerateDone done);
  // Validates and queues a prefill-only scoring batch.
  absl::Status Score(std::vector<ScoreItem> items, int32_t top_k, ScoreDone done);
  // Queues new weights (num_params floats in ParameterLayout order) as `version`. A staging
  // thread checks them (done gets InvalidArgument for a non-finite value) and builds the packed
  // model, so the swap between two steps only exchanges pointers. Sequences in flight keep their
  // KV cache and go on with the new weights; tokens record the version that produced them; the
  // prefix cache is dropped. InvalidArgument at once for a wrong size.
  absl::Status UpdateWeights(std::vector<float> params, int64_t version, WeightsDone done);
  // The parameter buffer of the weights the last update replaced (num_params floats, already
  // resident, contents stale), or an empty vector when there is none: a push received into it
  // skips the page faults of a fresh allocation of the model's size. Any thread.
  std::vector<float> TakeStagingBuffer();
  // Fails queued and running work with UNAVAILABLE, then stops the thread. Idempotent.
  void Shutdown();

  const model::ModelConfig& config() const { return config_; }
  int64_t num_params() const { return num_params_; }
  const EngineOptions& options() const { return options_; }
  EngineStats& stats() { return stats_; }

 private:
  struct Group;
  struct Seq;
  struct ScoreJob {
    std::vector<ScoreItem> items;
    int32_t top_k;
    ScoreDone done;
  };
  struct WeightJob {
    std::shared_ptr<model::Transformer> model;  // Built and packed by the staging thread.
    int64_t version;
    WeightsDone done;
  };

  Engine(std::unique_ptr<model::Transformer> model, const EngineOptions& options);
  void Loop();
  // One scheduling + model step; false when there was nothing to run.
  bool Step();
  void TakeInbox();
  void ApplyWeights(WeightJob& job);
  void RunScore(ScoreJob& job);
  // Block bookkeeping (engine thread).
  bool EnsureBlocks(Seq* seq, int64_t new_tokens);
  void Preempt(Seq* seq);
  void ReleaseSeq(Seq* seq);
  void AdmitPrefix(Seq* seq);
  void PublishPromptBlocks(Seq* seq);
  void AfterLogits(Seq* seq, const float* logits);
  // Draws the next token of every decoding sequence batch[i] whose logits are row i of logits,
  // spread over the pool (each thread its own Sampler); entries of other sequences are left as
  // they are.
  void SampleDecodes(const std::vector<Seq*>& batch, const std::vector<bool>& sample,
                     const float* logits, std::vector<SampledToken>* out);
  void Append(Seq* seq, const SampledToken& tok);
  void FinishSeq(Seq* seq, const std::string& reason);
  void FailAll(const absl::Status& status);
  void UpdateGauges();

  const EngineOptions options_;
  std::shared_ptr<model::Transformer> model_;
  const model::ModelConfig config_;
  const int64_t num_params_;
  ThreadPool pool_;
  model::KvCache cache_;
  BlockManager blocks_;
  Sampler sampler_;
  std::vector<Sampler> samplers_;  // One per pool thread, for SampleDecodes.
  // Reused by every step so that a step allocates nothing once the batch shape has been seen.
  model::Activations step_acts_;
  model::IncrementalResult step_result_;
  EngineStats stats_;
  int64_t version_ = 0;

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
  bool stopping_ = false;
  std::thread thread_;
  // The replaced weights' parameter buffer, kept for the next push (TakeStagingBuffer).
  std::mutex spare_mu_;
  std::vector<float> spare_params_;
  // Prepares pushed weights off the engine thread, and frees replaced models there too. Last, so
  // that its thread stops before the members its tasks use are destroyed.
  TaskQueue staging_{1};
};

}  // namespace flywheel::rollout
