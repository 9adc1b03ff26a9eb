#include "learner/jobs/job_events.h"

namespace flywheel::learner {

void JobEvents::Subscription::Cancel() {
  if (events_ == nullptr) return;
  events_->Remove(key_);
  events_ = nullptr;
}

std::unique_ptr<JobEvents::Subscription> JobEvents::Subscribe(const std::string& id,
                                                              Listener listener) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const uint64_t key = next_key_++;
  if (closed_) {
    listener(std::nullopt);
  } else {
    listeners_.emplace(key, Entry{id, std::move(listener)});
  }
  return std::unique_ptr<Subscription>(new Subscription(this, key));
}

void JobEvents::Publish(const v1::JobEvent& event) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (closed_) return;
  const std::optional<v1::JobEvent> e = event;
  for (auto& [key, entry] : listeners_) {
    if (entry.job == event.job().id()) entry.listener(e);
  }
}

void JobEvents::Close() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (closed_) return;
  closed_ = true;
  for (auto& [key, entry] : listeners_) entry.listener(std::nullopt);
  listeners_.clear();
}

void JobEvents::Remove(uint64_t key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  listeners_.erase(key);
}

}  // namespace flywheel::learner
