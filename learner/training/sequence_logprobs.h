// Logprobs of given continuations under a model, without training: the reference model's
// logprobs for the KL term, and the recomputation that checks a rollout server's logprobs against
// a snapshot of the weights that drew them.
//
// Thread safety: a function of its arguments; `model` is only read, so several calls may share
// it.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/thread_pool.h"
#include "common/model/transformer.h"

namespace flywheel::learner {

// A prompt and the tokens that follow it, both non-empty.
struct ScoredSpan {
  const std::vector<int32_t>* prompt = nullptr;
  const std::vector<int32_t>* continuation = nullptr;
};

// Raw logprobs (log-softmax of the logits) of each span's continuation tokens under `model`,
// forwarded in micro-batches of micro_batch_size sequences: entry t of result i is
// log p(continuation[t] | prompt, continuation[<t]). InvalidArgument for an empty prompt or
// continuation, a bad id or micro_batch_size < 1.
absl::StatusOr<std::vector<std::vector<float>>> SequenceLogprobs(
    const model::Transformer& model, const std::vector<ScoredSpan>& spans, int64_t micro_batch_size,
    ThreadPool* pool);

}  // namespace flywheel::learner
