// Watchers that hang up, on a real learner: clients open WatchJob on a running job and go away
// after its first event, before reading anything, or by letting a short deadline expire, from
// several threads while the job keeps sending events. The learner must keep serving: the job
// finishes and a later watch still gets its whole history. Under ThreadSanitizer
// (scripts/sanitize.sh tsan) this is the test that drives a stream's cancellation against its
// writes.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/rpc/client.h"
#include "gtest/gtest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kWatchesPerThread = 24;

enum class HangUp { kAfterFirstEvent, kBeforeReading, kByDeadline };

HangUp HangUpOf(int watch) { return static_cast<HangUp>(watch % 3); }

TEST(WatchHangupTest, ClientsThatHangUpMidStreamLeaveTheLearnerServing) {
  LearnerCluster cluster;
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_steps(10);  // events keep coming while the watchers come and go
  spec.set_eval_dataset("");
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();

  const std::string address = cluster.learner()->address();
  std::atomic<int> first_events{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::JobService::NewStub(rpc::MakeChannel(address));
      for (int i = 0; i < kWatchesPerThread; ++i) {
        const HangUp how = HangUpOf(t * kWatchesPerThread + i);
        grpc::ClientContext ctx;
        // The deadline watchers give up after 5-28 ms, mid-stream or before the first write.
        const auto wait = how == HangUp::kByDeadline ? std::chrono::milliseconds(5 + i)
                                                     : std::chrono::milliseconds(60000);
        ctx.set_deadline(std::chrono::system_clock::now() + wait);
        v1::WatchJobRequest request;
        request.set_id(job->id());
        auto reader = stub->WatchJob(&ctx, request);
        v1::JobEvent event;
        switch (how) {
          case HangUp::kAfterFirstEvent:
            if (reader->Read(&event) && event.job().id() == job->id()) ++first_events;
            ctx.TryCancel();
            break;
          case HangUp::kBeforeReading:
            ctx.TryCancel();
            break;
          case HangUp::kByDeadline:
            while (reader->Read(&event)) {
            }
            break;
        }
        reader->Finish();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  int after_first_event = 0;
  for (int w = 0; w < kThreads * kWatchesPerThread; ++w)
    after_first_event += HangUpOf(w) == HangUp::kAfterFirstEvent;
  // Every watcher that waited for it got the job's record first.
  EXPECT_EQ(first_events.load(), after_first_event);

  auto done = cluster.Wait(job->id(), 600);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  auto events = cluster.WatchEvents(job->id());
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->front().job().id(), job->id());
  EXPECT_EQ(events->back().job().state(), v1::JOB_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace flywheel::testing
