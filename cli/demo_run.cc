#include "cli/demo_run.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/arith_files.h"
#include "cli/demo_recipe.h"
#include "cli/job_watch.h"
#include "cli/learner_client.h"
#include "cli/local_cluster.h"
#include "cli/model_init.h"
#include "common/base/status_macros.h"
#include "common/rpc/client.h"

namespace flywheel::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kStages = 6;
constexpr double kSubmitTimeoutSeconds = 120;

void Stage(FILE* log, int n, const std::string& what) {
  std::fprintf(log, "[%d/%d] %s\n", n, kStages, what.c_str());
  std::fflush(log);
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view d : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const fs::path p = fs::path(std::string(d)) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Submits `spec` and follows it to the end; the job's final record, or why it did not succeed.
absl::StatusOr<v1::Job> RunJob(v1::JobService::Stub* stub, const std::string& address,
                               const v1::JobSpec& spec, const DemoRunOptions& o,
                               std::vector<v1::StepMetrics>* metrics) {
  grpc::ClientContext context;
  rpc::SetDeadline(&context, kSubmitTimeoutSeconds);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  v1::Job submitted;
  const grpc::Status st = stub->SubmitJob(&context, request, &submitted);
  if (!st.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("the learner rejected the ", spec.name(),
                                                      " job: ", DescribeRpcError(st, address)));
  }
  std::fprintf(o.log, "      job %s (%s, %d steps)\n", submitted.id().c_str(),
               spec.algorithm().c_str(), spec.steps());
  WatchOptions options;
  options.live = o.live;
  options.out = o.log;
  options.on_metrics = [metrics](const v1::StepMetrics& m) { metrics->push_back(m); };
  auto job = FollowJob(stub, submitted.id(), options);
  if (!job.ok()) {
    return absl::Status(job.status().code(),
                        absl::StrCat("watching the ", spec.name(), " job ", submitted.id(), ": ",
                                     job.status().message()));
  }
  if (job->state() != v1::JOB_STATE_SUCCEEDED) {
    return absl::FailedPreconditionError(absl::StrCat("the ", spec.name(), " job ", job->id(), " ",
                                                      JobStateName(job->state()), " at step ",
                                                      job->step(), ": ", job->error()));
  }
  return job;
}

absl::Status WriteRewardCurve(const std::string& path, const std::vector<v1::StepMetrics>& steps) {
  std::ofstream out(path);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  out << "step,reward_mean,reward_std,pass_rate,eval_accuracy,kl,entropy,clip_frac,grad_norm,loss,"
         "lr,tokens_per_second,completion_tokens,logprob_diff_max,staleness_mean,wait_seconds,"
         "update_seconds,push_seconds,step_seconds\n";
  for (const auto& m : steps) {
    out << absl::StrFormat(
        "%d,%.6g,%.6g,%.6g,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.6g,%.6g,"
        "%.6g,%.6g,%.6g,%.6g\n",
        m.step(), m.reward_mean(), m.reward_std(), m.pass_rate(),
        m.has_eval_accuracy() ? absl::StrFormat("%.6g", m.eval_accuracy()) : "", m.kl(),
        m.entropy(), m.clip_frac(), m.grad_norm(), m.loss(), m.lr(), m.tokens_per_second(),
        m.completion_tokens(), m.logprob_diff_max(), m.staleness_mean(), m.wait_seconds(),
        m.update_seconds(), m.push_seconds(), m.step_seconds());
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Plots the curve with gnuplot; false when it failed (the CSV is still there).
bool PlotRewardCurve(const std::string& gnuplot, const std::string& csv, const std::string& png,
                     const std::string& script_path) {
  std::ofstream script(script_path);
  script << "set datafile separator ','\n"
         << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 900,540 }"
            " else { set terminal png size 900,540 }\n"
         << "set output '" << png << "'\n"
         << "set title 'flywheel demo: GRPO on arithmetic'\n"
         << "set xlabel 'step'\nset yrange [0:1]\nset key bottom right\n"
         << "plot '" << csv << "' using 1:2 with lines title 'reward mean', "
         << "'' using 1:4 with lines title 'pass rate', "
         << "'' using 1:($5 == $5 ? $5 : 1/0) with linespoints title 'held-out accuracy'\n";
  script.close();
  const std::string cmd = absl::StrCat("'", gnuplot, "' '", script_path, "' 2>/dev/null");
  return std::system(cmd.c_str()) == 0 && fs::exists(png);
}

}  // namespace

absl::StatusOr<DemoOutcome> RunDemo(const DemoRunOptions& o) {
  const auto t_start = std::chrono::steady_clock::now();
  DemoOutcome result;
  const fs::path out(o.out_dir);
  const fs::path state_dir = out / "state";
  const fs::path checkpoints = out / "checkpoints";
  std::error_code ec;
  // A previous run's learner state would resume its jobs; start from a clean slate.
  fs::remove_all(state_dir, ec);
  fs::remove_all(checkpoints, ec);
  fs::create_directories(out, ec);
  if (ec)
    return absl::InternalError(absl::StrCat("cannot create ", out.string(), ": ", ec.message()));

  Stage(o.log, 1,
        absl::StrCat("creating a ", kDemoModelPreset, " random model with a byte-level tokenizer"));
  const std::string model_dir = (out / "model").string();
  auto params = WriteRandomModelDir(kDemoModelPreset, kDemoModelSeed, model_dir);
  if (!params.ok()) return params.status();
  std::fprintf(o.log, "      %s (%lld parameters)\n", model_dir.c_str(),
               static_cast<long long>(*params));

  const learner::ArithTaskOptions task = DemoTaskOptions();
  Stage(
      o.log, 2,
      absl::StrFormat("generating the arithmetic task (%d-digit, ops %s)", task.digits, task.ops));
  auto files = WriteArithTaskDir(task, (out / "task").string());
  if (!files.ok()) return files.status();
  std::fprintf(o.log, "      %s (%zu rows), %s (%zu rows)\n", files->train_path.c_str(),
               files->splits.train.size(), files->eval_path.c_str(), files->splits.eval.size());

  Stage(o.log, 3, "starting a local cluster: rollout server, reward server, learner");
  LocalClusterOptions cluster_options;
  cluster_options.model_dir = model_dir;
  cluster_options.state_dir = state_dir.string();
  cluster_options.learner_listen = "127.0.0.1:0";  // never collide with a `flywheel up`
  // The demo's jobs never overlap generation with updates (SFT only evaluates through the rollout
  // server; GRPO runs on-policy), so the rollout server and the learner may each use every core.
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

  DemoJobInputs inputs;
  inputs.model_dir = model_dir;
  inputs.train_path = files->train_path;
  inputs.eval_path = files->eval_path;
  inputs.sft_checkpoint_dir = (checkpoints / "sft").string();
  inputs.grpo_checkpoint_dir = (checkpoints / "grpo").string();
  inputs.rollout_servers = cluster->rollout_addresses();
  inputs.reward_servers = cluster->reward_addresses();
  DemoJobs jobs = BuildDemoJobs(inputs, o.quick);

  Stage(o.log, 4, absl::StrCat("SFT warm start: ", jobs.sft.steps(), " steps"));
  auto t0 = std::chrono::steady_clock::now();
  auto sft = RunJob(stub.get(), address, jobs.sft, o, &result.sft_metrics);
  if (!sft.ok()) return failed(sft.status());
  if (!sft->has_eval_accuracy())
    return failed(absl::InternalError("the SFT job reported no eval accuracy"));
  if (sft->checkpoint().empty())
    return failed(absl::InternalError("the SFT job reported no checkpoint"));
  result.sft_seconds = Since(t0);
  result.sft = *sft;
  result.accuracy_before = sft->eval_accuracy();
  std::fprintf(o.log, "      held-out accuracy after SFT: %.1f%%\n", 100 * result.accuracy_before);

  Stage(o.log, 5, absl::StrCat("GRPO from the SFT checkpoint: ", jobs.grpo.steps(), " steps"));
  jobs.grpo.set_policy_model_dir(sft->checkpoint());
  jobs.grpo.set_reference_model_dir(sft->checkpoint());
  t0 = std::chrono::steady_clock::now();
  auto grpo = RunJob(stub.get(), address, jobs.grpo, o, &result.grpo_metrics);
  if (!grpo.ok()) return failed(grpo.status());
  if (!grpo->has_eval_accuracy())
    return failed(absl::InternalError("the GRPO job reported no eval accuracy"));
  result.grpo_seconds = Since(t0);
  result.grpo = *grpo;
  result.accuracy_after = grpo->eval_accuracy();

  Stage(o.log, 6, "writing the reward curve and stopping the cluster");
  result.csv = (out / "reward_curve.csv").string();
  if (auto st = WriteRewardCurve(result.csv, result.grpo_metrics); !st.ok()) return failed(st);
  if (const std::string gnuplot = FindOnPath("gnuplot"); !gnuplot.empty()) {
    result.png = (out / "reward_curve.png").string();
    if (!PlotRewardCurve(gnuplot, result.csv, result.png, (out / "reward_curve.gp").string())) {
      std::fprintf(o.log, "      gnuplot failed; the CSV is still there\n");
      result.png.clear();
    }
  }
  if (auto st = cluster->Stop(); !st.ok()) {
    std::fprintf(o.log, "      warning while stopping the cluster: %s\n",
                 std::string(st.message()).c_str());
  }
  result.total_seconds = Since(t_start);
  return result;
}

}  // namespace flywheel::cli
