// A fixed set of worker threads running posted tasks in FIFO order, for work that may block or
// run long (reward scoring, judge calls). The numeric kernels use ThreadPool instead: its spin
// barrier suits many tiny fork-join steps, this suits independent jobs.
//
// Thread safety: Post may be called from any thread. The destructor runs the tasks already posted,
// then joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flywheel {

class TaskQueue {
 public:
  explicit TaskQueue(int threads);
  ~TaskQueue();
  TaskQueue(const TaskQueue&) = delete;
  TaskQueue& operator=(const TaskQueue&) = delete;

  void Post(std::function<void()> task);
  int threads() const { return static_cast<int>(workers_.size()); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;  // Guarded by mu_.
  bool stopping_ = false;                    // Guarded by mu_.
  std::vector<std::thread> workers_;
};

}  // namespace flywheel
