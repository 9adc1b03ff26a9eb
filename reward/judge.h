// The judge interface for rubric criteria that rules cannot check. A judge model served by a
// rollout server answers a fixed yes/no question per (prompt, response, criterion); flywheel takes
// P(yes) / (P(yes) + P(no)) from the server's prefill-only Score of the two continuations, so the
// score is a calibrated probability rather than a parsed string. The gRPC-backed Judge comes with
// the reward daemon; tests inject fakes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace flywheel::reward {

struct JudgeQuery {
  std::string prompt;  // rendered by RenderJudgePrompt; plain text, before any chat template
  // The two continuations whose probabilities are compared. A leading space because the prompt
  // ends with "Answer:" and BPE vocabularies merge the space into the word.
  std::string yes = " yes";
  std::string no = " no";
};

// Thread safety: Score may be called from several threads at once; implementations must allow
// it (the gRPC one does, a test fake may lock).
class Judge {
 public:
  virtual ~Judge() = default;
  // One score in [0, 1] per query, in order: P(yes) / (P(yes) + P(no)). All queries of a batch
  // go to the server together. An error fails every item of the batch that had judged criteria.
  virtual absl::StatusOr<std::vector<double>> Score(const std::vector<JudgeQuery>& queries) = 0;
};

// The fixed judging prompt. `statement` is the criterion's description (its title when the
// description is empty). Pitfall criteria are phrased as the bad behaviour and judged the same
// way: "yes" means the statement holds, and the negative weight turns that into a penalty.
std::string RenderJudgePrompt(std::string_view question, std::string_view response,
                              std::string_view statement);

// P(yes) / (P(yes) + P(no)) from the two log-probabilities, computed as a logistic of their
// difference so that very negative log-probabilities do not underflow to 0/0.
double YesProbability(double logprob_yes, double logprob_no);

}  // namespace flywheel::reward
