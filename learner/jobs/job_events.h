// Fan-out of job events to WatchJob streams and other listeners: each listener subscribes to one
// job with a callback that receives every event published for it afterwards, in order. Callbacks
// run on the publisher's thread (the job's, or a gRPC thread) and must only queue work, never
// block: a slow watcher then never holds up the training loop.
//
// Thread safety: all methods are thread-safe. A callback is never called after its subscription
// was cancelled (Cancel waits for a call in progress to return), and callbacks of one
// subscription never run concurrently.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "flywheel/v1/learner.pb.h"

namespace flywheel::learner {

class JobEvents {
 public:
  // Gets each event; std::nullopt once, when the events close (the learner is shutting down).
  using Listener = std::function<void(const std::optional<v1::JobEvent>& event)>;

  class Subscription {
   public:
    ~Subscription() { Cancel(); }
    // Stops the callbacks; returns once none is running. Idempotent. Must not be called from the
    // subscription's own callback.
    void Cancel();

   private:
    friend class JobEvents;
    Subscription(JobEvents* events, uint64_t key) : events_(events), key_(key) {}
    JobEvents* events_;
    uint64_t key_;
  };

  JobEvents() = default;
  JobEvents(const JobEvents&) = delete;
  JobEvents& operator=(const JobEvents&) = delete;

  // Events of job `id` published from now on reach `listener` until the subscription is
  // cancelled or destroyed. After Close, the listener is called at once with nullopt.
  std::unique_ptr<Subscription> Subscribe(const std::string& id, Listener listener);
  void Publish(const v1::JobEvent& event);
  // Tells every listener (nullopt) that no more events will come; later Publish calls do nothing.
  void Close();

 private:
  struct Entry {
    std::string job;
    Listener listener;
  };
  void Remove(uint64_t key);

  // Held while callbacks run, so Remove waits for a call in progress.
  std::recursive_mutex mu_;
  std::map<uint64_t, Entry> listeners_;
  uint64_t next_key_ = 0;
  bool closed_ = false;
};

}  // namespace flywheel::learner
