#include "learner/jobs/selfplay_update.h"

#include <set>

#include "absl/strings/str_format.h"
#include "learner/algorithms/advantages.h"

namespace flywheel::learner {
namespace {

// The weight a generation is trained with: its own, or the length penalty when that is negative.
double WithLengthPenalty(double weight, const RoundSample& s, const SelfPlayConfig& config) {
  const double penalty = LengthPenalty(s.length_fraction, config.rewards.length_penalty_start);
  return penalty < 0 ? penalty : weight;
}

void Add(const RoundSample& s, double weight, std::vector<WeightedSample>* out) {
  if (weight != 0) out->push_back({s.sample, weight});
}

}  // namespace

SelfPlayUpdate PlanSelfPlayUpdate(const RoundResult& round, const SelfPlayConfig& config) {
  SelfPlayUpdate u;
  for (const RoundProblem& p : round.problems) {
    std::vector<double> weights(p.attempts.size(), 0.0);
    if (config.solver_grpo) {
      std::vector<double> rewards;
      for (const auto& a : p.attempts) rewards.push_back(a.sample.reward);
      if (auto adv = GroupAdvantages(rewards, {}); adv.ok()) weights = *adv;
    } else if (TrainSolverOn(p.solve_rate(), config.rewards)) {
      for (size_t i = 0; i < p.attempts.size(); ++i) weights[i] = p.attempts[i].sample.correct;
    }
    for (size_t i = 0; i < p.attempts.size(); ++i) {
      const size_t before = u.samples.size();
      Add(p.attempts[i], WithLengthPenalty(weights[i], p.attempts[i], config), &u.samples);
      u.solver_trained += u.samples.size() > before;
    }
  }
  std::vector<double> rates, guide, length;
  std::vector<const RoundConjecture*> valid;
  for (const RoundConjecture& c : round.conjectures) {
    if (c.valid) {
      valid.push_back(&c);
      rates.push_back(round.problems[c.problem].solve_rate());
      guide.push_back(c.guide);
      length.push_back(c.sample.length_fraction);
    } else {
      // Rejected by the gate: only the length penalty can train it (pushing it down).
      const size_t before = u.samples.size();
      Add(c.sample, config.conjecturer_weight * WithLengthPenalty(0.0, c.sample, config),
          &u.samples);
      u.conjecturer_trained += u.samples.size() > before;
    }
  }
  const std::vector<ConjectureReward> rewards =
      ConjectureRewards(rates, guide, length, config.rewards);
  for (size_t i = 0; i < valid.size(); ++i) {
    const size_t before = u.samples.size();
    Add(valid[i]->sample, config.conjecturer_weight * rewards[i].weight, &u.samples);
    u.conjecturer_trained += u.samples.size() > before;
  }
  return u;
}

void FillSelfPlayMetrics(const RoundResult& round, const SelfPlayUpdate& update, int attempts,
                         v1::StepMetrics* m) {
  int valid = 0;
  std::set<std::string> distinct;
  m->mutable_conjecture_solve_histogram()->Resize(attempts + 1, 0);
  for (const RoundConjecture& c : round.conjectures) {
    if (!c.valid) {
      (*m->mutable_conjecture_rejections())[c.reason] += 1;
      continue;
    }
    ++valid;
    distinct.insert(c.text);
    const int correct = round.problems[c.problem].correct;
    if (correct >= 0 && correct <= attempts)
      m->set_conjecture_solve_histogram(correct, m->conjecture_solve_histogram(correct) + 1);
  }
  const int n = static_cast<int>(round.conjectures.size());
  m->set_conjectures(n);
  m->set_conjecture_valid_rate(n > 0 ? static_cast<double>(valid) / n : 0.0);
  m->set_conjecture_distinct_fraction(valid > 0 ? static_cast<double>(distinct.size()) / valid
                                                : 0.0);
  m->set_solver_trained(update.solver_trained);
  m->set_conjecturer_trained(update.conjecturer_trained);
  double neg_logp = 0, correct = 0;
  int64_t tokens = 0, samples = 0;
  for (const RoundProblem& p : round.problems) {
    for (const RoundSample& a : p.attempts) {
      for (float lp : a.sample.behaviour_logprobs) neg_logp -= lp;
      tokens += static_cast<int64_t>(a.sample.behaviour_logprobs.size());
      correct += a.sample.correct;
      ++samples;
    }
  }
  if (tokens > 0) m->set_entropy(neg_logp / static_cast<double>(tokens));
  if (samples > 0) {
    m->set_pass_rate(correct / static_cast<double>(samples));
    m->set_reward_mean(correct / static_cast<double>(samples));
  }
}

std::optional<std::string> CollapseMonitor::Add(const v1::StepMetrics& m) {
  window_.push_back(m);
  if (static_cast<int>(window_.size()) > config_.collapse_window) window_.pop_front();
  if (static_cast<int>(window_.size()) < config_.collapse_window) return std::nullopt;
  double valid = 0, distinct = 0, entropy = 0;
  for (const auto& w : window_) {
    valid += w.conjecture_valid_rate();
    distinct += w.conjecture_distinct_fraction();
    entropy += w.entropy();
  }
  const double n = static_cast<double>(window_.size());
  valid /= n;
  distinct /= n;
  entropy /= n;
  auto below = [&](const char* what, double mean, double threshold) -> std::optional<std::string> {
    if (threshold <= 0 || mean >= threshold) return std::nullopt;
    return absl::StrFormat(
        "self-play collapse: the mean %s over the last %d rounds is %.3f, below %.3f", what,
        config_.collapse_window, mean, threshold);
  };
  if (auto c = below("gate pass rate", valid, config_.min_valid_rate)) return c;
  if (auto c = below("distinct-conjecture fraction", distinct, config_.min_distinct_fraction))
    return c;
  return below("solver entropy", entropy, config_.min_entropy);
}

}  // namespace flywheel::learner
