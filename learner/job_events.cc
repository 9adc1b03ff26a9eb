#include "learner/job_events.h"

namespace flywheel::learner {

std::optional<v1::JobEvent> JobEvents::Subscription::Next(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); })) return std::nullopt;
  v1::JobEvent e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

std::shared_ptr<JobEvents::Subscription> JobEvents::Subscribe(const std::string& id) {
  auto sub = std::make_shared<Subscription>();
  std::lock_guard<std::mutex> lock(mu_);
  subscribers_.emplace(id, sub);
  return sub;
}

void JobEvents::Publish(const v1::JobEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = subscribers_.equal_range(event.job().id());
  for (auto it = begin; it != end;) {
    auto sub = it->second.lock();
    if (!sub) {
      it = subscribers_.erase(it);
      continue;
    }
    {
      std::lock_guard<std::mutex> l(sub->mu_);
      sub->queue_.push_back(event);
    }
    sub->cv_.notify_all();
    ++it;
  }
}

}  // namespace flywheel::learner
