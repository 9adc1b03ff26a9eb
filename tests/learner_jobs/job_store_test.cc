// JobStore: records and metrics round-trip, survive reopening, ids never repeat, and concurrent
// writers do not lose records.
#include "learner/jobs/job_store.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/model/test_util.h"

namespace flywheel::learner {
namespace {

namespace v1 = ::flywheel::v1;

v1::Job MakeJob(const std::string& id, double created) {
  v1::Job job;
  job.set_id(id);
  job.set_state(v1::JOB_STATE_QUEUED);
  job.set_created_unix(created);
  job.mutable_spec()->set_name("job " + id);
  job.mutable_spec()->set_algorithm("grpo");
  job.mutable_spec()->add_rollout_servers("127.0.0.1:4000");
  job.mutable_spec()->mutable_grpo()->set_clip_eps_high(0.28);
  return job;
}

v1::StepMetrics Step(int64_t step, double loss) {
  v1::StepMetrics m;
  m.set_step(step);
  m.set_loss(loss);
  if (step % 2 == 0) m.set_eval_accuracy(0.5);
  return m;
}

TEST(JobStoreTest, RoundTripAndOrder) {
  testing::TempDir dir;
  auto store = JobStore::Open(dir.File("jobs.db"));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE((*store)->List()->empty());

  v1::Job a = MakeJob("job-1", 100), b = MakeJob("job-2", 200);
  ASSERT_TRUE((*store)->Put(a).ok());
  ASSERT_TRUE((*store)->Put(b).ok());
  // Updating job-1 must not move it behind job-2.
  a.set_state(v1::JOB_STATE_RUNNING);
  a.set_step(7);
  ASSERT_TRUE((*store)->Put(a).ok());

  auto got = (*store)->Get("job-1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), a.SerializeAsString());
  EXPECT_TRUE(got->spec().grpo().has_clip_eps_high());

  auto list = (*store)->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id(), "job-1");
  EXPECT_EQ((*list)[0].state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ((*list)[1].id(), "job-2");

  auto missing = (*store)->Get("job-9");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "no job 'job-9'");
  EXPECT_EQ((*store)->Put(v1::Job()).code(), absl::StatusCode::kInvalidArgument);
}

TEST(JobStoreTest, PersistsAcrossReopenAndIdsNeverRepeat) {
  testing::TempDir dir;
  const std::string path = dir.File("jobs.db");
  {
    auto store = JobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(*(*store)->NewJobId(), "job-1");
    EXPECT_EQ(*(*store)->NewJobId(), "job-2");
    ASSERT_TRUE((*store)->Put(MakeJob("job-2", 1)).ok());
    ASSERT_TRUE((*store)->AppendMetrics("job-2", Step(1, 0.5)).ok());
  }
  auto store = JobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status();
  // job-1 was never stored, yet its id stays taken.
  EXPECT_EQ(*(*store)->NewJobId(), "job-3");
  auto job = (*store)->Get("job-2");
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->spec().name(), "job job-2");
  auto metrics = (*store)->Metrics("job-2");
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 1u);
  EXPECT_EQ((*metrics)[0].loss(), 0.5);
}

TEST(JobStoreTest, MetricsReplaceAndTruncate) {
  testing::TempDir dir;
  auto store = JobStore::Open(dir.File("jobs.db"));
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->Put(MakeJob("job-1", 1)).ok());
  ASSERT_TRUE((*store)->Put(MakeJob("job-2", 2)).ok());
  // Out of order on purpose: Metrics sorts by step.
  for (int64_t s : {3, 1, 2, 4}) ASSERT_TRUE((*store)->AppendMetrics("job-1", Step(s, s)).ok());
  ASSERT_TRUE((*store)->AppendMetrics("job-2", Step(3, 99)).ok());
  EXPECT_EQ((*store)->AppendMetrics("job-7", Step(1, 1)).code(), absl::StatusCode::kNotFound);

  auto m = (*store)->Metrics("job-1");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ((*m)[i].step(), i + 1);
  EXPECT_TRUE((*m)[1].has_eval_accuracy());
  EXPECT_FALSE((*m)[0].has_eval_accuracy());

  // Resume from the step-2 checkpoint: steps 3 and 4 go, and step 3 is redone.
  ASSERT_TRUE((*store)->TruncateMetrics("job-1", 2).ok());
  ASSERT_TRUE((*store)->AppendMetrics("job-1", Step(3, 30)).ok());
  ASSERT_TRUE((*store)->AppendMetrics("job-1", Step(3, 31)).ok());  // a second redo replaces
  m = (*store)->Metrics("job-1");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[2].step(), 3);
  EXPECT_EQ((*m)[2].loss(), 31);
  // Another job's rows are untouched.
  auto other = (*store)->Metrics("job-2");
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].loss(), 99);
  EXPECT_EQ((*store)->Metrics("job-7").status().code(), absl::StatusCode::kNotFound);
}

TEST(JobStoreTest, ConcurrentWriters) {
  testing::TempDir dir;
  auto store = JobStore::Open(dir.File("jobs.db"));
  ASSERT_TRUE(store.ok());
  constexpr int kThreads = 4, kJobsEach = 25;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> ids(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kJobsEach; ++i) {
        auto id = (*store)->NewJobId();
        ASSERT_TRUE(id.ok()) << id.status();
        ids[t].push_back(*id);
        ASSERT_TRUE((*store)->Put(MakeJob(*id, t * 1000 + i)).ok());
        ASSERT_TRUE((*store)->AppendMetrics(*id, Step(1, i)).ok());
        ASSERT_TRUE((*store)->List().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  auto list = (*store)->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), static_cast<size_t>(kThreads * kJobsEach));
  std::set<std::string> unique;
  for (const auto& per_thread : ids) unique.insert(per_thread.begin(), per_thread.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kJobsEach));
  EXPECT_TRUE(unique.contains(absl::StrCat("job-", kThreads * kJobsEach)));
}

}  // namespace
}  // namespace flywheel::learner
