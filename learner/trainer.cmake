# flywheel::learner_trainer: the policy update (SFT and GRPO steps, micro-batches, AdamW) on the
# model core. Included from learner/CMakeLists.txt.
add_library(flywheel_learner_trainer ${CMAKE_CURRENT_LIST_DIR}/policy_trainer.cc)
add_library(flywheel::learner_trainer ALIAS flywheel_learner_trainer)
target_link_libraries(flywheel_learner_trainer
  PUBLIC flywheel::learner_algos flywheel::model flywheel::base absl::status absl::statusor
  absl::strings)

# The demo recipe search: SFT warm start, then GRPO with the real rollout engine and reward
# library on the arithmetic task. Built only on request (`ninja flywheel_demo_tune`).
add_executable(flywheel_demo_tune EXCLUDE_FROM_ALL
  ${CMAKE_CURRENT_LIST_DIR}/experiments/demo_tune.cc)
target_link_libraries(flywheel_demo_tune PRIVATE flywheel::learner_trainer
  flywheel::rollout_engine flywheel::reward flywheel::arith_task flywheel::tokenizer)
