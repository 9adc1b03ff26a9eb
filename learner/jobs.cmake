# flywheel::learner_jobs: what the learner needs before and around a job's training loop: job-spec
# defaults and validation (including live probes of the rollout and reward servers), JSONL dataset
# loading, and the SQLite database of job records and per-step metrics.
find_package(SQLite3 REQUIRED)

add_library(flywheel_learner_jobs
  dataset.cc
  job_spec_check.cc
  job_store.cc
)
add_library(flywheel::learner_jobs ALIAS flywheel_learner_jobs)
target_link_libraries(flywheel_learner_jobs
  PUBLIC flywheel::base flywheel::proto absl::status absl::statusor absl::strings
  PRIVATE flywheel::learner_algos flywheel::reward flywheel::model flywheel::tokenizer flywheel::rpc
    nlohmann_json::nlohmann_json SQLite::SQLite3)
