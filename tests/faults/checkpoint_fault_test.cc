// Faults around checkpoints, injected from outside the learner: SIGKILL while a checkpoint is
// being written, bytes flipped in the latest checkpoint, and a file-size limit (RLIMIT_FSIZE, set
// on the running learner with prlimit) that makes the disk "full" in the middle of a job.
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "learner/training/checkpoint.h"
#include "learner/training/checksum_manifest.h"
#include "tests/learner_daemon/learner_cluster.h"

namespace flywheel::testing {
namespace {

namespace fs = std::filesystem;

v1::JobSpec Spec(const LearnerCluster& cluster, const std::string& checkpoints) {
  v1::JobSpec spec = cluster.GrpoSpec();
  spec.set_eval_dataset("");
  spec.set_max_async_steps(1);
  spec.set_async_mode("exact");
  spec.set_checkpoint_dir(checkpoints);
  return spec;
}

// True when `dir` has an entry whose name starts with `prefix`.
bool HasEntry(const std::string& dir, const char* prefix) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, prefix)) found = true;
  }
  closedir(d);
  return found;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(CheckpointFaultTest, LearnerKilledWhileWritingACheckpointKeepsTheLatestCompleteOne) {
  LearnerCluster cluster;
  v1::JobSpec spec = Spec(cluster, cluster.dir() + "/reference");
  spec.set_steps(10);
  spec.set_checkpoint_interval(1);
  auto reference = cluster.RunToSuccess(spec);
  ASSERT_TRUE(reference.ok()) << reference.status();

  const std::string root = cluster.dir() + "/killed";
  spec.set_checkpoint_dir(root);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(cluster.WaitForStep(job->id(), 3).ok());
  // Watch for a checkpoint in the making (its temporary directory) and kill the learner then.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool caught = false;
  while (!caught && std::chrono::steady_clock::now() < deadline) {
    caught = HasEntry(root, ".tmp-step-");
  }
  ASSERT_TRUE(caught) << "never saw a checkpoint being written";
  kill(cluster.learner()->pid(), SIGKILL);
  cluster.KillLearner();  // reaps it

  auto latest = learner::LoadLatestCheckpoint(root);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_TRUE(latest->skipped.empty()) << latest->skipped[0];
  EXPECT_TRUE(learner::VerifyChecksumManifest(latest->dir).ok());
  EXPECT_GE(latest->state.step, 2);

  cluster.StartLearner();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_FALSE(HasEntry(root, ".tmp-")) << "the partial checkpoint was left behind";
  EXPECT_TRUE(SameWeights(done->checkpoint(), reference->checkpoint()));
}

TEST(CheckpointFaultTest, CorruptLatestCheckpointIsDetectedAndThePreviousOneUsed) {
  LearnerCluster cluster(LearnerClusterOptions{.learner_log_file = true});
  v1::JobSpec spec = Spec(cluster, cluster.dir() + "/reference");
  spec.set_steps(8);
  spec.set_checkpoint_interval(2);
  auto reference = cluster.RunToSuccess(spec);
  ASSERT_TRUE(reference.ok()) << reference.status();

  const std::string root = cluster.dir() + "/corrupted";
  spec.set_checkpoint_dir(root);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(cluster.WaitForStep(job->id(), 5).ok());
  cluster.KillLearner();
  // Flip bytes in the weights of the latest checkpoint, past the header: the file still parses
  // as safetensors, so only the checksums can tell.
  const std::string latest =
      root + "/" + std::string(absl::StripAsciiWhitespace(ReadAll(root + "/latest")));
  const std::string weights = latest + "/model.safetensors";
  {
    std::fstream f(weights, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::streamoff>(f.tellg());
    for (std::streamoff off : {size / 2, size / 2 + 1, size - 4}) {
      f.seekg(off);
      char c = 0;
      f.read(&c, 1);
      c = static_cast<char>(c ^ 0x5a);
      f.seekp(off);
      f.write(&c, 1);
    }
  }
  auto fallback = learner::LoadLatestCheckpoint(root);  // the previous one, with the reason
  ASSERT_TRUE(fallback.ok()) << fallback.status();
  ASSERT_EQ(fallback->skipped.size(), 1u);
  EXPECT_TRUE(absl::StrContains(fallback->skipped[0], "model.safetensors: checksum mismatch"))
      << fallback->skipped[0];
  EXPECT_NE(fallback->dir, latest);

  cluster.StartLearner();
  auto done = cluster.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  // The user is told (the job's event, also in the learner's log).
  const std::string log = ReadAll(cluster.learner_log());
  EXPECT_TRUE(absl::StrContains(log, absl::StrCat("checkpoint ", latest, " is unusable: ",
                                                  "model.safetensors: checksum mismatch")))
      << log;
  EXPECT_TRUE(SameWeights(done->checkpoint(), reference->checkpoint()));
}

TEST(CheckpointFaultTest, FullDiskDuringACheckpointIsReportedAndTheLastGoodOneKept) {
  LearnerCluster cluster;
  const std::string root = cluster.dir() + "/full";
  v1::JobSpec spec = Spec(cluster, root);
  spec.set_steps(6);
  spec.set_checkpoint_interval(2);
  auto job = cluster.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto events = std::async(std::launch::async, [&] { return cluster.EventsToEnd(job->id()); });
  // Once the checkpoint of step 2 is on disk, cap the learner's file sizes at 1 MiB: the next
  // checkpoint's weights (4 MiB) cannot be written, as on a full disk.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    auto j = cluster.Get(job->id());
    ASSERT_TRUE(j.ok()) << j.status();
    if (!j->checkpoint().empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  rlimit cap{};
  ASSERT_EQ(prlimit(cluster.learner()->pid(), RLIMIT_FSIZE, nullptr, &cap), 0);
  cap.rlim_cur = 1 << 20;
  ASSERT_EQ(prlimit(cluster.learner()->pid(), RLIMIT_FSIZE, &cap, nullptr), 0);

  auto messages = events.get();
  ASSERT_TRUE(messages.ok()) << messages.status();
  auto done = cluster.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  // The final checkpoint could not be written: the job says so and names the last good one.
  ASSERT_EQ(done->state(), v1::JOB_STATE_FAILED);
  EXPECT_TRUE(absl::StrContains(done->error(), "checkpoint of step 6 failed")) << done->error();
  EXPECT_TRUE(absl::StrContains(done->error(), "File too large")) << done->error();
  EXPECT_TRUE(absl::StrContains(done->error(), "last good checkpoint: " + root + "/step-000002"))
      << done->error();
  bool told = false;
  for (const auto& m : *messages) {
    told = told || absl::StrContains(m, "checkpoint of step 4 failed");
  }
  EXPECT_TRUE(told) << "the failed checkpoint of step 4 was not reported";
  // On disk: the last good checkpoint, complete and verified, and nothing half-written.
  auto latest = learner::LoadLatestCheckpoint(root);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->state.step, 2);
  EXPECT_TRUE(latest->skipped.empty());
  EXPECT_FALSE(HasEntry(root, ".tmp-"));
}

}  // namespace
}  // namespace flywheel::testing
