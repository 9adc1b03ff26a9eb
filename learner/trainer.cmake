# flywheel::learner_trainer: the policy update (SFT and GRPO steps, micro-batches, AdamW) on the
# model core. Included from learner/CMakeLists.txt.
add_library(flywheel_learner_trainer ${CMAKE_CURRENT_LIST_DIR}/policy_trainer.cc)
add_library(flywheel::learner_trainer ALIAS flywheel_learner_trainer)
target_link_libraries(flywheel_learner_trainer
  PUBLIC flywheel::learner_algos flywheel::model flywheel::base absl::status absl::statusor
  absl::strings)

