// On-policy distillation jobs on real daemons: the student samples on its rollout server, a teacher
// (another model on two rollout servers of its own, or the policy itself with privileged text in
// its prompt) scores the same tokens. The student-teacher KL falls; the teacher logprobs the
// learner trained with equal, bit for bit, what `flywheel logprobs` computes for the teacher model
// on the same tokens; killing one of two teacher servers loses nothing; bad specs report every
// problem at once.
#include <signal.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/logging.h"
#include "common/model/checkpoint.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/learner_daemon/learner_cluster.h"
#include "tests/util/subprocess.h"

namespace flywheel::testing {
namespace {

namespace fs = std::filesystem;

// A model directory with the byte-level tokenizer: preset `preset`, random weights from `seed`
// with standard deviation init_std.
std::string WriteModel(const std::string& dir, const std::string& preset, uint64_t seed,
                       float init_std = 0.02f) {
  auto config = model::PresetConfig(preset);
  FW_CHECK(config.ok());
  auto w = model::RandomModel(*config, seed, init_std);
  FW_CHECK(model::SaveModelDir(dir, w.config, w.params.data()).ok());
  FW_CHECK(tokenizer::WriteByteLevelTokenizer(dir).ok());
  return dir;
}

std::unique_ptr<DaemonProcess> StartRollout(const std::string& model_dir) {
  auto r = DaemonProcess::Start({FLYWHEEL_ROLLOUT_BIN, "--model", model_dir, "--listen",
                                 "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--threads", "1",
                                 "--kv-blocks", "512"});
  FW_CHECK(r.ok()) << r.status();
  return std::move(*r);
}

class DistillJobTest : public ::testing::Test {
 protected:
  DistillJobTest()
      // Weights 7x the student's scale: the teacher's next-token distributions are peaked where
      // the random student's are nearly uniform, so the two start well apart.
      : teacher_dir_(WriteModel(cluster_.dir() + "/teacher", "tiny", 8, 0.15f)),
        dump_dir_(cluster_.dir() + "/samples") {
    for (int i = 0; i < 2; ++i) teachers_.push_back(StartRollout(teacher_dir_));
  }

  // Distillation from the teacher servers: 8 on-policy steps of 4 prompts x 4, every batch
  // dumped, and the digits task's rewards fetched for the pass-rate metrics.
  v1::JobSpec OpdSpec() const {
    v1::JobSpec s = cluster_.GrpoSpec();
    s.set_prompts_per_step(4);
    s.mutable_grpo()->set_group_size(4);
    s.set_name("test-opd");
    s.set_algorithm("opd");
    s.set_steps(8);
    s.set_max_async_steps(0);
    s.clear_eval_dataset();
    s.mutable_optimizer()->set_lr(2e-3);
    for (const auto& t : teachers_) s.mutable_distill()->add_teacher_servers(t->address());
    s.set_sample_dump_dir(dump_dir_);
    return s;
  }

  // The lines of the dump of `step`.
  std::vector<nlohmann::json> Dump(int64_t step) const {
    std::ifstream in(absl::StrFormat("%s/step-%06d.jsonl", dump_dir_, step));
    std::vector<nlohmann::json> lines;
    std::string line;
    while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

  // Checks that each line's teacher_logprobs are, bit for bit, `flywheel logprobs --model
  // model_dir` of [teacher prompt (or prompt), completion].
  void ExpectTeacherLogprobsExact(const std::vector<nlohmann::json>& lines,
                                  const std::string& model_dir) {
    const std::string in_path = cluster_.dir() + "/score_in.jsonl";
    {
      std::ofstream in(in_path);
      for (const auto& l : lines) {
        const auto& prompt =
            l.contains("teacher_prompt_ids") ? l["teacher_prompt_ids"] : l["prompt_ids"];
        in << nlohmann::json{{"prompt", prompt}, {"completion", l["completion_ids"]}}.dump()
           << "\n";
      }
    }
    std::string out;
    ASSERT_EQ(RunCommand(absl::StrCat(FLYWHEEL_CLI, " logprobs --model ", model_dir,
                                      " --threads 1 < ", in_path),
                         &out),
              0)
        << out;
    std::istringstream scored(out);
    std::string row;
    size_t i = 0;
    for (; std::getline(scored, row) && i < lines.size(); ++i) {
      const std::vector<float> want = nlohmann::json::parse(row)["logprobs"];
      const std::vector<float> got = lines[i]["teacher_logprobs"];
      ASSERT_EQ(got.size(), want.size()) << "line " << i;
      EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0)
          << "line " << i << ": the teacher logprobs the learner used are not the model's";
    }
    EXPECT_EQ(i, lines.size());
  }

  LearnerCluster cluster_;
  const std::string teacher_dir_;
  const std::string dump_dir_;
  std::vector<std::unique_ptr<DaemonProcess>> teachers_;
};

TEST_F(DistillJobTest, TeacherKlFallsWithExactTeacherLogprobs) {
  // The same four prompts every step, so that the KL of successive steps is measured on the same
  // contexts (across different prompts it varies by +-20%, more than a few steps change it).
  const std::string four = cluster_.dir() + "/four.jsonl";
  {
    std::ifstream in(cluster_.digits_path());
    std::ofstream out(four);
    std::string line;
    for (int i = 0; i < 4 && std::getline(in, line); ++i) out << line << "\n";
  }
  v1::JobSpec spec = OpdSpec();
  spec.set_dataset(four);
  spec.set_steps(30);
  spec.mutable_grpo()->set_group_size(8);
  spec.mutable_optimizer()->set_lr(2e-3);
  auto job = cluster_.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto metrics = cluster_.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster_.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  ASSERT_EQ(metrics->size(), 30u);
  for (const auto& m : *metrics) {
    SCOPED_TRACE(m.step());
    EXPECT_EQ(m.groups(), 4);
    EXPECT_EQ(m.logprob_diff_max(), 0.0);  // the student's own logprobs, as for GRPO
    EXPECT_GT(m.logprob_tokens_checked(), 0);
    EXPECT_GT(m.teacher_seconds(), 0.0);
    EXPECT_GE(m.pass_rate(), 0.0);
  }
  // The student starts about 1.4 nats per token from the peaked teacher; 30 steps at lr 2e-3 on
  // the same four prompts bring it near 0. The one-sample estimate of each step is noisy (+-0.3),
  // so compare the means of the first and last five steps; a third is a loose bar that a sign
  // error or a stale teacher fails.
  auto window = [&](size_t begin) {
    double sum = 0;
    for (size_t i = begin; i < begin + 5; ++i) sum += (*metrics)[i].teacher_kl();
    return sum / 5;
  };
  const double first = window(0), last = window(metrics->size() - 5);
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, first / 3) << "teacher KL " << first << " -> " << last;
  for (int64_t step : {1, 30}) {
    SCOPED_TRACE(step);
    const auto lines = Dump(step);
    ASSERT_EQ(lines.size(), 32u);
    ExpectTeacherLogprobsExact(lines, teacher_dir_);
  }
}

TEST_F(DistillJobTest, KillingOneOfTwoTeacherServersLosesNothing) {
  v1::JobSpec spec = OpdSpec();
  spec.set_steps(10);
  auto job = cluster_.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  ASSERT_TRUE(cluster_.WaitForStep(job->id(), 2).ok());
  ASSERT_TRUE(teachers_[0]->Stop(SIGKILL).ok());
  auto metrics = cluster_.WatchToEnd(job->id());
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto done = cluster_.Get(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  EXPECT_EQ(done->step(), 10);
  EXPECT_EQ(done->data_cursor(), 10 * 4);
  // The watch began after step 2: every later step once, in order, each on whole batches.
  ASSERT_FALSE(metrics->empty());
  for (size_t i = 0; i < metrics->size(); ++i) {
    EXPECT_EQ((*metrics)[i].step(), metrics->back().step() - int64_t(metrics->size() - 1 - i));
    EXPECT_EQ((*metrics)[i].groups(), 4) << "step " << (*metrics)[i].step();
  }
  EXPECT_EQ(metrics->back().step(), 10);
  // The dead server's requests failed and ran again on the other one.
  EXPECT_GT(done->last_metrics().retries(), 0);
  // After the kill every batch is whole and its teacher logprobs are still exactly the teacher's.
  for (int64_t step = 3; step <= 10; ++step) ASSERT_EQ(Dump(step).size(), 16u) << step;
  ExpectTeacherLogprobsExact(Dump(10), teacher_dir_);
}

TEST_F(DistillJobTest, SelfTeacherScoresThePrivilegedPromptWithTheCurrentPolicy) {
  // OPSD: the policy itself, with the gold answer in its prompt, is the teacher; the digits
  // task's reward is mixed in.
  const std::string data = cluster_.dir() + "/privileged.jsonl";
  {
    std::ifstream in(cluster_.train_path());
    std::ofstream out(data);
    std::string line;
    while (std::getline(in, line)) {
      auto row = nlohmann::json::parse(line);
      row["privileged"] = absl::StrCat("answer ", row["answer"].get<std::string>());
      out << row.dump() << "\n";
    }
  }
  v1::JobSpec spec = OpdSpec();
  spec.set_dataset(data);
  spec.set_steps(3);
  spec.set_checkpoint_interval(1);
  spec.mutable_distill()->clear_teacher_servers();
  spec.mutable_distill()->set_teacher("self");
  spec.mutable_distill()->set_reward_weight(0.5);
  spec.mutable_distill()->set_privileged_template("{privileged}|{prompt}");
  auto job = cluster_.Submit(spec);
  ASSERT_TRUE(job.ok()) << job.status();
  auto done = cluster_.Wait(job->id());
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_EQ(done->state(), v1::JOB_STATE_SUCCEEDED) << done->error();
  // On-policy, step s's batch was scored by the weights after step s - 1: the initial model for
  // step 1, then each step's checkpoint.
  const fs::path checkpoints = fs::path(cluster_.state_dir()) / "jobs" / job->id() / "checkpoints";
  for (int64_t step = 1; step <= 3; ++step) {
    SCOPED_TRACE(step);
    const auto lines = Dump(step);
    ASSERT_EQ(lines.size(), 16u);
    for (const auto& l : lines) ASSERT_TRUE(l.contains("teacher_prompt_ids"));
    // The privileged prompt starts with the privileged text, then the student's prompt.
    const std::vector<int32_t> teacher_prompt = lines[0]["teacher_prompt_ids"];
    const std::vector<int32_t> prompt = lines[0]["prompt_ids"];
    ASSERT_GT(teacher_prompt.size(), prompt.size());
    EXPECT_TRUE(std::equal(prompt.rbegin(), prompt.rend(), teacher_prompt.rbegin()));
    const std::string scorer =
        step == 1 ? cluster_.model_dir()
                  : (checkpoints / absl::StrFormat("step-%06d", step - 1)).string();
    ExpectTeacherLogprobsExact(lines, scorer);
  }
}

TEST_F(DistillJobTest, BadDistillSpecsReportEveryProblemAtOnce) {
  // A teacher with another vocabulary, one with the same vocabulary size but other token
  // meanings, and one that is not there.
  auto other_vocab = StartRollout(WriteModel(cluster_.dir() + "/small", "small", 9));
  const std::string swapped_dir = WriteModel(cluster_.dir() + "/swapped", "tiny", 10);
  {
    const std::string path = swapped_dir + "/tokenizer.json";
    auto tok = nlohmann::json::parse(std::ifstream(path));
    auto& vocab = tok["model"]["vocab"];
    std::swap(vocab["a"], vocab["b"]);  // same size, two ids mean other bytes
    std::ofstream(path) << tok.dump();
  }
  auto swapped = StartRollout(swapped_dir);
  v1::JobSpec spec = OpdSpec();
  spec.mutable_distill()->clear_teacher_servers();
  spec.mutable_distill()->add_teacher_servers(other_vocab->address());
  spec.mutable_distill()->add_teacher_servers(swapped->address());
  spec.mutable_distill()->add_teacher_servers("127.0.0.1:1");
  spec.mutable_distill()->set_kl_discount(2.0);
  auto job = cluster_.Submit(spec);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(job.status().message());
  for (const std::string& want :
       {absl::StrCat("teacher server ", other_vocab->address(), " serves vocab_size 2048"),
        absl::StrCat("teacher server ", swapped->address(), " uses a different tokenizer"),
        std::string("teacher server 127.0.0.1:1 unreachable"),
        std::string("distill.kl_discount must be in [0, 1], got 2")}) {
    EXPECT_NE(message.find(want), std::string::npos) << want << "\nin:\n" << message;
  }

  // teacher "self" on rows without privileged text, no teacher servers for teacher "servers".
  v1::JobSpec self = OpdSpec();
  self.mutable_distill()->clear_teacher_servers();
  self.mutable_distill()->set_teacher("self");
  v1::JobSpec none = OpdSpec();
  none.mutable_distill()->clear_teacher_servers();
  auto a = cluster_.Submit(self);
  auto b = cluster_.Submit(none);
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_NE(a.status().message().find("missing \"privileged\""), std::string::npos) << a.status();
  EXPECT_NE(b.status().message().find("distill.teacher_servers is empty"), std::string::npos)
      << b.status();
}

}  // namespace
}  // namespace flywheel::testing
