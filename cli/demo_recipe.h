// Every number of `flywheel demo` in one place: the model, the arithmetic task, and the jobs of
// each recipe (grpo, opd, opsd). Tune here; demo_run.cc only runs the stages. The demo is
// deterministic (seeded sampling, batch-invariant kernels), so the figures quoted in the comments
// repeat exactly on any machine; only the times vary.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/tasks/arith_task.h"

namespace flywheel::cli {

// What the demo shows:
//   grpo  SFT warm start, then GRPO on the task's reward (the default).
//   opd   on-policy distillation of a stronger teacher into the SFT warm start: the teacher is
//         the GRPO recipe's final checkpoint when an earlier `--recipe grpo` left one in --out,
//         else a longer SFT run of the same recipe.
//   opsd  on-policy self-distillation: the policy with the gold answer in its prompt (privileged
//         information) is the teacher of its unprivileged self, mixed with the task's reward.
enum class DemoRecipe { kGrpo, kOpd, kOpsd };

absl::StatusOr<DemoRecipe> ParseDemoRecipe(absl::string_view name);
const char* DemoRecipeName(DemoRecipe recipe);

inline constexpr char kDemoModelPreset[] = "tiny";  // ~1M parameters, byte-level vocabulary
inline constexpr uint64_t kDemoModelSeed = 0;

inline learner::ArithTaskOptions DemoTaskOptions() {
  return learner::ArithTaskOptions{
      .train_count = 2000,
      .eval_count = 200,
      // 1-digit "+" allows only 100 distinct questions, fewer than the two splits need. Both
      // splits together stay within a quarter of the 10^4 two-digit questions, so the generator
      // keeps its ladder of operand lengths (many 1+1 and 1+2 digit sums); a uniform sample would
      // be ~80% 2+2 digit sums, which the tiny model does not learn within the demo's time.
      .digits = 2,
      .ops = "+",
      .seed = 0,
  };
}

// How OPSD's teacher sees a question: the gold answer, a bar, then the question ("19|12+7=").
// The warm start learns to read it (DemoJobs::sft trains on both forms for opsd).
inline constexpr char kDemoPrivilegedTemplate[] = "{privileged}|{prompt}";

// Where the demo's jobs read and write, and the cluster they use.
struct DemoJobInputs {
  std::string model_dir;   // the random initial model
  std::string train_path;  // task train.jsonl
  std::string eval_path;   // task eval.jsonl
  // opsd: the train rows with "privileged" (the answer), and the warm start's data (each train
  // row twice: as is, and with its privileged prompt).
  std::string privileged_train_path;
  std::string privileged_sft_path;
  std::string checkpoints;  // the root; each job saves in <checkpoints>/<job>
  std::vector<std::string> rollout_servers;
  std::vector<std::string> reward_servers;
  std::vector<std::string> teacher_servers;  // opd, once the teacher is served
};

// The SFT warm start's length, and the longer SFT that trains opd's teacher when no GRPO
// checkpoint is at hand (the same run continued: the student is its checkpoint at
// kDemoSftSteps, see DemoJobs::sft).
inline constexpr int kDemoSftSteps = 1700;
inline constexpr int kDemoTeacherSftSteps = 3000;

struct DemoJobs {
  v1::JobSpec sft;
  // policy_model_dir (and reference_model_dir) of the RL job are left empty: the demo sets them
  // to the warm start's checkpoint once it exists.
  v1::JobSpec rl;
};

// The jobs of `recipe`. `quick` shortens the RL job (for tests and smoke runs). For opd,
// train_teacher makes the SFT job the teacher's (kDemoTeacherSftSteps, with a checkpoint at the
// student's kDemoSftSteps). For opsd, `baseline` makes the RL job GRPO with the same steps from
// the same warm start (what flywheel-bench compares OPSD with).
DemoJobs BuildDemoJobs(DemoRecipe recipe, const DemoJobInputs& in, bool quick,
                       bool train_teacher = false, bool baseline = false);

}  // namespace flywheel::cli
