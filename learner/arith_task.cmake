# flywheel::arith_task: the built-in arithmetic task (`flywheel gen-task arith`, the demo's data).
# Kept out of learner/CMakeLists.txt so it builds without the training libraries; included from
# there.
add_library(flywheel_arith_task ${CMAKE_CURRENT_LIST_DIR}/arith_task.cc)
add_library(flywheel::arith_task ALIAS flywheel_arith_task)
target_link_libraries(flywheel_arith_task
  PUBLIC flywheel::base absl::status absl::statusor absl::strings nlohmann_json::nlohmann_json)
