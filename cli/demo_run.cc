#include "cli/demo_run.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/task_files.h"
#include "cli/demo_stages.h"
#include "cli/learner_client.h"
#include "cli/local_cluster.h"
#include "cli/model_init.h"
#include "common/base/status_macros.h"
#include "learner/training/checkpoint.h"

namespace flywheel::cli {
namespace {

namespace fs = std::filesystem;

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The opd teacher an earlier `--recipe grpo` run left in `checkpoints`: its final checkpoint and
// held-out accuracy, when the run finished the recipe's `steps`.
struct Teacher {
  std::string dir;
  double accuracy = 0;
};
std::optional<Teacher> FinishedGrpoRun(const fs::path& checkpoints, int64_t steps) {
  auto dir = learner::LatestCheckpointDir((checkpoints / "grpo").string());
  if (!dir.ok()) return std::nullopt;
  auto state = learner::ReadTrainerState(*dir);
  if (!state.ok() || state->step != steps || !state->eval_accuracy) return std::nullopt;
  return Teacher{*dir, *state->eval_accuracy};
}

// The jobs' checkpoint directories of this recipe: replaced, while those of other recipes stay
// (opd reuses grpo's).
void ClearCheckpoints(const DemoJobs& jobs) {
  std::error_code ec;
  fs::remove_all(jobs.sft.checkpoint_dir(), ec);
  fs::remove_all(jobs.rl.checkpoint_dir(), ec);
}

}  // namespace

std::string DemoSummaryLine(const DemoOutcome& r) {
  std::string line = absl::StrFormat("held-out accuracy: %.1f%% -> %.1f%%", 100 * r.accuracy_before,
                                     100 * r.accuracy_after);
  if (r.teacher_accuracy)
    absl::StrAppendFormat(&line, " (teacher %.1f%%)", 100 * *r.teacher_accuracy);
  return line;
}

absl::StatusOr<DemoOutcome> RunDemo(const DemoRunOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  const DemoRecipe recipe = o.recipe;
  const bool opd = recipe == DemoRecipe::kOpd;
  const int stages = opd ? 7 : 6;
  DemoOutcome result;
  const fs::path out(o.out_dir);
  const fs::path state_dir = out / "state";
  const fs::path checkpoints = out / "checkpoints";
  std::error_code ec;
  // A previous run's learner state would resume its jobs; start from a clean slate.
  fs::remove_all(state_dir, ec);
  fs::create_directories(out, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", out.string(), ": ", ec.message()));
  }

  int stage = 0;
  DemoStage(
      o.log, ++stage, stages,
      absl::StrCat("creating a ", kDemoModelPreset, " random model with a byte-level tokenizer"));
  const std::string model_dir = (out / "model").string();
  ASSIGN_OR_RETURN(int64_t params,
                   WriteRandomModelDir(kDemoModelPreset, kDemoModelSeed, model_dir));
  std::fprintf(o.log, "      %s (%lld parameters)\n", model_dir.c_str(),
               static_cast<long long>(params));

  const learner::ArithTaskOptions task = DemoTaskOptions();
  DemoStage(
      o.log, ++stage, stages,
      absl::StrFormat("generating the arithmetic task (%d-digit, ops %s)", task.digits, task.ops));
  ASSIGN_OR_RETURN(ArithTaskFiles files, WriteArithTaskDir(task, (out / "task").string()));
  std::fprintf(o.log, "      %s (%zu rows), %s (%zu rows)\n", files.train_path.c_str(),
               files.splits.train.size(), files.eval_path.c_str(), files.splits.eval.size());
  DemoJobInputs inputs;
  inputs.model_dir = model_dir;
  inputs.train_path = files.train_path;
  inputs.eval_path = files.eval_path;
  inputs.checkpoints = checkpoints.string();
  if (recipe == DemoRecipe::kOpsd) {
    inputs.privileged_train_path = (out / "task" / "train_privileged.jsonl").string();
    inputs.privileged_sft_path = (out / "task" / "sft_privileged.jsonl").string();
    RETURN_IF_ERROR(WritePrivilegedArithFiles(files.splits.train, kDemoPrivilegedTemplate,
                                              inputs.privileged_train_path,
                                              inputs.privileged_sft_path));
    std::fprintf(o.log, "      %s: each question with its answer as privileged text\n",
                 inputs.privileged_train_path.c_str());
  }

  DemoStage(o.log, ++stage, stages,
            "starting a local cluster: rollout server, reward server, learner");
  LocalClusterOptions cluster_options;
  cluster_options.model_dir = model_dir;
  cluster_options.state_dir = state_dir.string();
  cluster_options.learner_listen = "127.0.0.1:0";  // never collide with a `flywheel up`
  // The demo's jobs never overlap generation with updates (SFT only evaluates through the rollout
  // server; the RL jobs run on-policy, and a teacher scores between the two), so every daemon may
  // use every core.
  const int cores = ResolveCores(o.threads);
  cluster_options.rollout_threads = cores;
  cluster_options.learner_threads = cores;
  cluster_options.reward_threads = 1;
  ASSIGN_OR_RETURN(auto cluster, LocalCluster::Start(cluster_options));
  for (const auto& d : cluster->daemons()) {
    std::fprintf(o.log, "      %-10s %s\n", d.name.c_str(), d.address.c_str());
  }
  const std::string address = cluster->learner_address();
  auto stub = ConnectLearner(address);
  result.logs = (state_dir / "logs").string();
  auto failed = [&](const absl::Status& why) {
    (void)cluster->Stop();
    return absl::Status(why.code(),
                        absl::StrCat(why.message(), " (daemon logs in ", result.logs, ")"));
  };
  inputs.rollout_servers = cluster->rollout_addresses();
  inputs.reward_servers = cluster->reward_addresses();

  // opd's teacher: a finished GRPO run of this directory, else a longer SFT run.
  std::optional<Teacher> teacher;
  if (opd)
    teacher =
        FinishedGrpoRun(checkpoints, BuildDemoJobs(DemoRecipe::kGrpo, inputs, o.quick).rl.steps());
  DemoJobs jobs =
      BuildDemoJobs(recipe, inputs, o.quick, /*train_teacher=*/opd && !teacher, o.baseline);
  ClearCheckpoints(jobs);

  const bool sft_trains_teacher = opd && !teacher;
  DemoStage(o.log, ++stage, stages,
            sft_trains_teacher
                ? absl::StrCat("SFT: ", jobs.sft.steps(), " steps, the student at step ",
                               kDemoSftSteps, " and the teacher at the end")
                : absl::StrCat("SFT warm start: ", jobs.sft.steps(), " steps"));
  auto sft = RunDemoJob(stub.get(), address, jobs.sft, o.live, o.log);
  if (!sft.ok()) return failed(sft.status());
  result.sft = sft->job;
  result.sft_metrics = sft->metrics;
  result.sft_seconds = sft->seconds;
  const auto student_accuracy = EvalAccuracyAt(sft->metrics, kDemoSftSteps);
  if (!student_accuracy || sft->job.checkpoint().empty()) {
    return failed(absl::InternalError("the SFT job reported no eval accuracy or checkpoint"));
  }
  result.accuracy_before = *student_accuracy;
  const std::string student_dir =
      (fs::path(jobs.sft.checkpoint_dir()) / absl::StrFormat("step-%06d", kDemoSftSteps)).string();
  std::fprintf(o.log, "      held-out accuracy after %d SFT steps: %.1f%%\n", kDemoSftSteps,
               100 * result.accuracy_before);

  if (opd) {
    if (!teacher) teacher = Teacher{sft->job.checkpoint(), sft->job.eval_accuracy()};
    DemoStage(o.log, ++stage, stages,
              absl::StrFormat("serving the teacher (%.1f%% held-out): %s", 100 * teacher->accuracy,
                              teacher->dir));
    auto served = cluster->AddRolloutServer("teacher-0", teacher->dir, cores);
    if (!served.ok()) return failed(served.status());
    jobs.rl.mutable_distill()->clear_teacher_servers();
    jobs.rl.mutable_distill()->add_teacher_servers(served->address);
    result.teacher_accuracy = teacher->accuracy;
    result.teacher_dir = teacher->dir;
  }

  const char* rl_name = o.baseline                    ? "GRPO (the OPSD baseline)"
                        : recipe == DemoRecipe::kGrpo ? "GRPO"
                        : opd                         ? "on-policy distillation"
                                                      : "on-policy self-distillation (OPSD)";
  DemoStage(o.log, ++stage, stages,
            absl::StrCat(rl_name, " from the SFT checkpoint: ", jobs.rl.steps(), " steps"));
  jobs.rl.set_policy_model_dir(student_dir);
  jobs.rl.set_reference_model_dir(student_dir);
  auto rl = RunDemoJob(stub.get(), address, jobs.rl, o.live, o.log);
  if (!rl.ok()) return failed(rl.status());
  if (!rl->job.has_eval_accuracy()) {
    return failed(absl::InternalError("the RL job reported no eval accuracy"));
  }
  result.rl = rl->job;
  result.rl_metrics = rl->metrics;
  result.rl_seconds = rl->seconds;
  result.accuracy_after = rl->job.eval_accuracy();

  DemoStage(o.log, ++stage, stages, "writing the reward curve and stopping the cluster");
  result.csv = (out / absl::StrCat("reward_curve_", DemoRecipeName(recipe), ".csv")).string();
  auto png = WriteRewardCurve(result.csv, result.rl_metrics,
                              absl::StrCat("flywheel demo: ", rl_name, " on arithmetic"));
  if (!png.ok()) return failed(png.status());
  result.png = *png;
  if (auto st = cluster->Stop(); !st.ok()) {
    std::fprintf(o.log, "      warning while stopping the cluster: %s\n",
                 std::string(st.message()).c_str());
  }
  result.total_seconds = Since(t_start);
  return result;
}

}  // namespace flywheel::cli
