// Fan-out of job events to WatchJob streams: each watcher subscribes to one job and drains its own
// queue, so a slow watcher never blocks the training loop (its queue grows instead; it holds a
// few small messages per step).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "flywheel/v1/learner.pb.h"

namespace flywheel::learner {

class JobEvents {
 public:
  class Subscription {
   public:
    // The next event, or nullopt after `timeout` without one.
    std::optional<v1::JobEvent> Next(std::chrono::milliseconds timeout);

   private:
    friend class JobEvents;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<v1::JobEvent> queue_;
  };

  // Events of job `id` published from now on reach the subscription until it is destroyed.
  std::shared_ptr<Subscription> Subscribe(const std::string& id);
  void Publish(const v1::JobEvent& event);

 private:
  std::mutex mu_;
  std::multimap<std::string, std::weak_ptr<Subscription>> subscribers_;
};

}  // namespace flywheel::learner
