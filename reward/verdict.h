// What a verifier concludes about one completion: every verifier (math, exact, regex, choice, and
// the conjecture gate) returns one, and the reward combiner turns it into the `correct` term.
#pragma once

#include <string>

namespace flywheel::reward {

// `answer` and `reason` are for logs and for the per-item breakdown a user inspects when a reward
// looks wrong.
struct Verdict {
  bool correct = false;
  std::string answer;  // the final answer as read (the first one when there are several)
  std::string reason;  // why it is wrong; empty when correct
};

}  // namespace flywheel::reward
