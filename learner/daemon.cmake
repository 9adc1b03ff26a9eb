# flywheel::learner_runtime: what the flywheel-learner daemon runs: server pools (rollout, reward)
# with retries on other replicas, the job's data order, checkpoints, the training loops, metrics
# and JobService. Included from learner/CMakeLists.txt.
add_library(flywheel_learner_runtime
  ${CMAKE_CURRENT_LIST_DIR}/replica_set.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollout_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/reward_pool.cc
  ${CMAKE_CURRENT_LIST_DIR}/job_data.cc
  ${CMAKE_CURRENT_LIST_DIR}/rollouts.cc
  ${CMAKE_CURRENT_LIST_DIR}/job_checkpoint.cc
  ${CMAKE_CURRENT_LIST_DIR}/job_events.cc
  ${CMAKE_CURRENT_LIST_DIR}/learner_metrics.cc
  ${CMAKE_CURRENT_LIST_DIR}/job_runner.cc
  ${CMAKE_CURRENT_LIST_DIR}/grpo_loop.cc
  ${CMAKE_CURRENT_LIST_DIR}/sft_loop.cc
  ${CMAKE_CURRENT_LIST_DIR}/job_service.cc
)
add_library(flywheel::learner_runtime ALIAS flywheel_learner_runtime)
target_link_libraries(flywheel_learner_runtime
  PUBLIC flywheel::learner_trainer flywheel::learner_jobs flywheel::model flywheel::tokenizer
    flywheel::proto flywheel::rpc flywheel::metrics flywheel::base absl::time
  PRIVATE nlohmann_json::nlohmann_json)

add_executable(flywheel-learner ${CMAKE_CURRENT_LIST_DIR}/main.cc)
target_link_libraries(flywheel-learner PRIVATE flywheel::learner_runtime)
