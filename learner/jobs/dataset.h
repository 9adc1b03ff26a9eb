// JSONL training and eval datasets: one row per line, {"prompt": "..."} or {"messages": [{"role",
// "content"}, ...]}, with an optional "answer" (the SFT target, and the gold answer of a task spec
// that has none), an optional "task" (the reward service's task spec), an optional "privileged"
// (text only a distillation teacher sees) and an optional "problem" (a self-play target). Loading
// checks every line and reports each bad one with its line number, so a user fixes a file in one
// pass.
//
// Thread safety: LoadDataset is a free function with no shared state; any thread may call it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flywheel::learner {

struct DatasetRow {
  int64_t line = 0;    // 1-based line number in the file
  std::string prompt;  // "prompt" as is, or "messages" rendered with the chat template (with the
                       // generation prompt)
  std::string answer;  // "" if absent
  // The row's task spec as JSON text; "" if absent. When the task has no "gold" and the row has an
  // "answer", the answer is filled in as the gold.
  std::string task_json;
  std::string privileged;  // "" if absent
  std::string problem;     // a self-play target's bare problem; "" if absent
};

// What the caller requires of every row.
struct DatasetNeeds {
  bool task = false;        // GRPO and eval: each row must carry a valid "task"
  bool answer = false;      // SFT: each row must carry an "answer"
  bool privileged = false;  // OPD with teacher "self": each row needs "privileged"
  bool problem = false;     // self-play: each row needs "problem"
  // For "messages" rows: a job spec's chat_template ("auto": the checkpoint's own, else chatml;
  // "checkpoint"; or a named format), resolved against model_dir.
  std::string chat_template = "auto";
  std::string model_dir;
  size_t max_problems = 20;  // bad lines reported one by one; the rest are counted
};

// Reads every non-blank line of `path`. Each bad line appends "PATH:LINE: what is wrong" to
// *problems (after max_problems of them, one final "PATH: N more bad lines"); good rows are
// returned in file order. An unreadable file, or one without any good row, appends a problem
// too. Task specs are validated with the reward library's parser, so an unknown verifier or a
// missing gold is reported with its line. `problems` must not be null.
std::vector<DatasetRow> LoadDataset(const std::string& path, const DatasetNeeds& needs,
                                    std::vector<std::string>* problems);

}  // namespace flywheel::learner
