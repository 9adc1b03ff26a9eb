#include "reward/judge.h"

#include <cmath>

#include "reward/text_util.h"

namespace flywheel::reward {

std::string RenderJudgePrompt(std::string_view question, std::string_view response,
                              std::string_view statement) {
  return Cat(
      "You are grading a response to a question against one criterion.\n\n"
      "[Question]\n",
      question,
      "\n[End of question]\n\n"
      "[Response]\n",
      response,
      "\n[End of response]\n\n"
      "[Criterion]\n",
      statement,
      "\n[End of criterion]\n\n"
      "Is the criterion true of the response? Answer with one word, yes or no.\n"
      "Answer:");
}

double YesProbability(double logprob_yes, double logprob_no) {
  double d = logprob_yes - logprob_no;
  if (std::isnan(d)) {
    // Both -inf (neither continuation possible): no evidence either way.
    return 0.5;
  }
  // Numerically stable logistic: exp never sees a large positive argument.
  if (d >= 0) return 1.0 / (1.0 + std::exp(-d));
  double e = std::exp(d);
  return e / (1.0 + e);
}

}  // namespace flywheel::reward
