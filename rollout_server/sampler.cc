#include "rollout_server/sampler.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/mix.h"
#include "common/kernels/cpu/logprobs.h"

namespace flywheel::rollout {
namespace {

float RawLogprob(const float* logits, int64_t V, int32_t token) {
  float lp;
  kernels::logprobs_forward(&lp, nullptr, nullptr, logits, &token, 1, V, nullptr);
  return lp;
}

}  // namespace

absl::Status ValidateSamplingOptions(const SamplingOptions& o) {
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature)) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be >= 0, got ", o.temperature));
  }
  if (!(o.top_p > 0 && o.top_p <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p must be in (0, 1], got ", o.top_p));
  }
  if (o.top_k < 0)
    return absl::InvalidArgumentError(absl::StrCat("top_k must be >= 0, got ", o.top_k));
  if (!(o.min_p >= 0 && o.min_p < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("min_p must be in [0, 1), got ", o.min_p));
  }
  return absl::OkStatus();
}

double SampleUniform(uint64_t seed, int64_t sample_index, int64_t position) {
  uint64_t h = Mix64(seed);
  h = Mix64(h ^ static_cast<uint64_t>(sample_index));
  h = Mix64(h ^ (static_cast<uint64_t>(position) << 1 | 1));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

SampledToken Sampler::Sample(const float* logits, int64_t V, const SamplingOptions& o,
                             int64_t sample_index, int64_t position) {
  SampledToken out;
  const int64_t full_v = V;
  if (o.vocab_limit > 0 && o.vocab_limit < V) V = o.vocab_limit;
  if (o.temperature == 0) {
    out.token = static_cast<int32_t>(std::max_element(logits, logits + V) - logits);
    out.logprob = RawLogprob(logits, full_v, out.token);
    return out;
  }
  // Processed distribution in double: exp((l - max) / T), normalised below.
  const float mx = *std::max_element(logits, logits + V);
  probs_.resize(V);
  for (int64_t v = 0; v < V; ++v)
    probs_[v] = std::exp((static_cast<double>(logits[v]) - mx) / o.temperature);
  if (o.top_k == 0 && o.top_p >= 1 && o.min_p == 0) {
    // No truncation: walk the ids in index order (a fixed order, so just as reproducible) rather
    // than sorting the vocabulary for every token.
    double total = 0;
    for (int64_t v = 0; v < V; ++v) total += probs_[v];
    const double target = SampleUniform(o.seed, sample_index, position) * total;
    double cum = 0;
    int64_t pick = V - 1;  // Round-off can leave target just above the last cumulative sum.
    for (int64_t v = 0; v < V; ++v) {
      cum += probs_[v];
      if (target < cum) {
        pick = v;
        break;
      }
    }
    out.token = static_cast<int32_t>(pick);
    out.logprob = RawLogprob(logits, full_v, out.token);
    out.sampling_logprob = static_cast<float>(std::log(probs_[pick] / total));
    return out;
  }
  // Candidates in descending probability, ties by id: a total order, so any sort gives the same
  // permutation and sampling is reproducible. Sorting (probability, id) pairs held together is
  // several times faster than sorting ids through an indirection into probs_.
  cand_.resize(V);
  for (int64_t v = 0; v < V; ++v) cand_[v] = {probs_[v], static_cast<int32_t>(v)};
  auto before = [](const Candidate& a, const Candidate& b) {
    return a.p > b.p || (a.p == b.p && a.id < b.id);
  };
  int64_t kept = V;
  if (o.top_k > 0 && o.top_k < V) {
    std::partial_sort(cand_.begin(), cand_.begin() + o.top_k, cand_.end(), before);
    kept = o.top_k;
  } else {
    std::sort(cand_.begin(), cand_.end(), before);
  }
  double total = 0;
  for (int64_t i = 0; i < kept; ++i) total += cand_[i].p;
  if (o.top_p < 1) {
    double cum = 0;
    int64_t i = 0;
    while (i < kept) {
      cum += cand_[i++].p;
      if (cum >= o.top_p * total) break;
    }
    kept = i;
    total = cum;
  }
  if (o.min_p > 0) {
    const double floor = o.min_p * cand_[0].p;
    int64_t i = 1;
    while (i < kept && cand_[i].p >= floor) ++i;
    if (i < kept) {
      kept = i;
      total = 0;
      for (int64_t j = 0; j < kept; ++j) total += cand_[j].p;
    }
  }
  const double target = SampleUniform(o.seed, sample_index, position) * total;
  double cum = 0;
  int64_t pick = kept - 1;  // Round-off can leave target just above the last cumulative sum.
  for (int64_t i = 0; i < kept; ++i) {
    cum += cand_[i].p;
    if (target < cum) {
      pick = i;
      break;
    }
  }
  out.token = cand_[pick].id;
  out.logprob = RawLogprob(logits, full_v, out.token);
  out.sampling_logprob = static_cast<float>(std::log(probs_[out.token] / total));
  return out;
}

}  // namespace flywheel::rollout
