// Every number of `flywheel demo` in one place: the model, the arithmetic task, and the SFT
// warm start and GRPO jobs built from them. Tune here; demo_command.cc only runs the stages.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/tokenizer/byte_level_tokenizer.h"
#include "flywheel/v1/learner.pb.h"
#include "learner/arith_task.h"

namespace flywheel::cli {

inline constexpr char kDemoModelPreset[] = "tiny";  // ~1M parameters, byte-level vocabulary
inline constexpr uint64_t kDemoModelSeed = 0;

inline learner::ArithTaskOptions DemoTaskOptions() {
  return learner::ArithTaskOptions{
      .train_count = 2000,
      .eval_count = 200,
      // 1-digit "+" allows only 100 distinct questions, fewer than the two splits need.
      .digits = 2,
      .ops = "+",
      .seed = 0,
  };
}

// Where the demo's jobs read and write, and the cluster they use.
struct DemoJobInputs {
  std::string model_dir;            // the random initial model
  std::string train_path;           // task train.jsonl
  std::string eval_path;            // task eval.jsonl
  std::string sft_checkpoint_dir;   // where the SFT job saves
  std::string grpo_checkpoint_dir;  // where the GRPO job saves
  std::vector<std::string> rollout_servers;
  std::vector<std::string> reward_servers;
};

struct DemoJobs {
  v1::JobSpec sft;
  // policy_model_dir (and reference_model_dir) are left empty: the demo sets them to the SFT
  // job's final checkpoint once it exists.
  v1::JobSpec grpo;
};

// The two jobs. `quick` shortens both (for tests and smoke runs).
inline DemoJobs BuildDemoJobs(const DemoJobInputs& in, bool quick) {
  auto common = [&](v1::JobSpec* s) {
    s->set_dataset(in.train_path);
    s->set_eval_dataset(in.eval_path);
    for (const auto& a : in.rollout_servers) s->add_rollout_servers(a);
    for (const auto& a : in.reward_servers) s->add_reward_servers(a);
    s->set_seed(0);
    // Answers are at most 2 digits; eval decodes greedily with these limits too.
    s->mutable_sampling()->set_max_tokens(6);
    s->mutable_sampling()->add_stop_token_ids(tokenizer::kByteLevelImEnd);
    s->set_eval_limit(quick ? 50 : 200);
  };
  DemoJobs jobs;

  v1::JobSpec& sft = jobs.sft;
  common(&sft);
  sft.set_name("demo-sft");
  sft.set_algorithm("sft");
  sft.set_policy_model_dir(in.model_dir);
  sft.set_checkpoint_dir(in.sft_checkpoint_dir);
  sft.set_steps(quick ? 20 : 60);
  sft.mutable_optimizer()->set_lr(3e-3);
  sft.set_prompts_per_step(16);
  sft.set_micro_batch_size(16);
  sft.set_eval_interval(sft.steps());  // only the evals before the first and after the last step
  sft.set_checkpoint_interval(sft.steps());

  v1::JobSpec& grpo = jobs.grpo;
  common(&grpo);
  grpo.set_name("demo-grpo");
  grpo.set_algorithm("grpo");
  grpo.set_checkpoint_dir(in.grpo_checkpoint_dir);
  grpo.set_steps(quick ? 10 : 40);
  grpo.mutable_optimizer()->set_lr(2e-3);
  grpo.mutable_grpo()->set_group_size(8);
  grpo.set_prompts_per_step(16);
  grpo.set_micro_batch_size(32);
  grpo.mutable_sampling()->set_temperature(1.0f);
  grpo.set_max_async_steps(1);
  grpo.set_eval_interval(quick ? 5 : 10);
  grpo.set_checkpoint_interval(10);
  return jobs;
}

}  // namespace flywheel::cli
