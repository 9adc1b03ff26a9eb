#include "learner/jobs/batch_producer.h"

#include <algorithm>
#include <chrono>

namespace flywheel::learner {

BatchProducer::BatchProducer(int64_t first, int64_t last, int64_t max_async_steps,
                             int64_t pushed_step, ProduceFn produce)
    : max_async_steps_(max_async_steps),
      last_(last),
      produce_(std::move(produce)),
      pushed_step_(pushed_step),
      produced_through_(first - 1) {
  thread_ = std::thread([this, first, last] { Run(first, last); });
}

BatchProducer::~BatchProducer() { Stop(); }

void BatchProducer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cancel_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void BatchProducer::Pushed(int64_t step) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    pushed_step_ = std::max(pushed_step_, step);
  }
  cv_.notify_all();
}

absl::StatusOr<Batch> BatchProducer::Take(int64_t step, const std::atomic<bool>* abort) {
  std::unique_lock<std::mutex> lock(mu_);
  while (!ready_.count(step)) {
    if (abort != nullptr && abort->load()) return absl::CancelledError("the job is stopping");
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return std::move(ready_.extract(step).mapped());
}

absl::Status BatchProducer::WaitProduced(int64_t step, const std::atomic<bool>* abort) {
  std::unique_lock<std::mutex> lock(mu_);
  while (produced_through_ < std::min(step, last_) && !ended_) {
    if (abort != nullptr && abort->load()) return absl::CancelledError("the job is stopping");
    cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  return absl::OkStatus();
}

void BatchProducer::Run(int64_t first, int64_t last) {
  for (int64_t s = first; s <= last; ++s) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || pushed_step_ >= s - 1 - max_async_steps_; });
      if (stop_) break;
    }
    absl::StatusOr<Batch> batch = produce_(s, &cancel_);
    const bool failed = !batch.ok();
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(s, std::move(batch));
      produced_through_ = s;
    }
    cv_.notify_all();
    if (failed) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
  }
  cv_.notify_all();
}

}  // namespace flywheel::learner
