#include "learner/training/sequence_logprobs.h"

#include "absl/strings/str_cat.h"
#include "common/base/status_macros.h"
#include "learner/training/micro_batches.h"

namespace flywheel::learner {

absl::StatusOr<std::vector<std::vector<float>>> SequenceLogprobs(
    const model::Transformer& model, const std::vector<ScoredSpan>& spans, int64_t micro_batch_size,
    ThreadPool* pool) {
  if (micro_batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("SequenceLogprobs: micro_batch_size ", micro_batch_size, " < 1"));
  }
  std::vector<std::vector<int32_t>> seqs;
  seqs.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    const ScoredSpan& s = spans[i];
    if (s.prompt == nullptr || s.prompt->empty() || s.continuation == nullptr ||
        s.continuation->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("SequenceLogprobs: span ", i, " has an empty prompt or continuation"));
    }
    std::vector<int32_t> seq = *s.prompt;
    seq.insert(seq.end(), s.continuation->begin(), s.continuation->end());
    seqs.push_back(std::move(seq));
  }
  RETURN_IF_ERROR(model.ValidateSequences(seqs));
  std::vector<std::vector<float>> out;
  out.reserve(spans.size());
  const MicroBatches mb(seqs.size(), micro_batch_size);
  for (int64_t k = 0; k < mb.count(); ++k) {
    model::ForwardResult res;
    RETURN_IF_ERROR(model.Forward(mb.Slice(seqs, k), {}, &res, nullptr, pool));
    const size_t first = mb.Range(k).first;
    for (size_t j = 0; j < res.logprobs.size(); ++j) {
      const ScoredSpan& s = spans[first + j];
      const auto begin = res.logprobs[j].begin() + static_cast<int64_t>(s.prompt->size() - 1);
      out.emplace_back(begin, begin + static_cast<int64_t>(s.continuation->size()));
    }
  }
  return out;
}

}  // namespace flywheel::learner
