#include "cli/demo_stages.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/job_watch.h"
#include "cli/learner_client.h"
#include "common/rpc/client.h"
#include "learner/jobs/job_spec.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

namespace fs = std::filesystem;

constexpr double kSubmitTimeoutSeconds = 120;

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  for (absl::string_view d : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    const fs::path p = fs::path(std::string(d)) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Plots the curve with gnuplot; false when it failed (the CSV is still there).
bool PlotRewardCurve(const std::string& gnuplot, const std::string& csv, const std::string& png,
                     const std::string& script_path, const std::string& title) {
  std::ofstream script(script_path);
  script << "set datafile separator ','\n"
         << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) { set terminal pngcairo size 900,540 }"
            " else { set terminal png size 900,540 }\n"
         << "set output '" << png << "'\n"
         << "set title '" << title << "'\n"
         << "set xlabel 'step'\nset yrange [0:1]\nset key bottom right\n"
         << "plot '" << csv << "' using 1:2 with lines title 'reward mean', "
         << "'' using 1:4 with lines title 'pass rate', "
         << "'' using 1:($5 == $5 ? $5 : 1/0) with linespoints title 'held-out accuracy'\n";
  script.close();
  const std::string cmd = absl::StrCat("'", gnuplot, "' '", script_path, "' 2>/dev/null");
  return std::system(cmd.c_str()) == 0 && fs::exists(png);
}

absl::Status WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

void DemoStage(FILE* log, int n, int total, const std::string& what) {
  std::fprintf(log, "[%d/%d] %s\n", n, total, what.c_str());
  std::fflush(log);
}

absl::StatusOr<DemoJobRun> RunDemoJob(v1::JobService::Stub* stub, const std::string& address,
                                      const v1::JobSpec& spec, bool live, FILE* log) {
  const auto t0 = std::chrono::steady_clock::now();
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
  std::fprintf(log, "      job %s (%s, %d steps)\n", submitted.id().c_str(),
               spec.algorithm().c_str(), spec.steps());
  DemoJobRun run;
  WatchOptions options;
  options.live = live;
  options.out = log;
  options.on_metrics = [&run](const v1::StepMetrics& m) { run.metrics.push_back(m); };
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
  run.job = *std::move(job);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return run;
}

std::optional<double> EvalAccuracyAt(const std::vector<v1::StepMetrics>& metrics, int64_t step) {
  std::optional<double> acc;
  for (const auto& m : metrics) {
    if (m.step() <= step && m.has_eval_accuracy()) acc = m.eval_accuracy();
  }
  return acc;
}

absl::StatusOr<std::string> WriteRewardCurve(const std::string& csv_path,
                                             const std::vector<v1::StepMetrics>& steps,
                                             const std::string& title) {
  std::ofstream out(csv_path);
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", csv_path));
  out << "step,reward_mean,reward_std,pass_rate,eval_accuracy,kl,entropy,clip_frac,grad_norm,loss,"
         "lr,tokens_per_second,completion_tokens,logprob_diff_max,staleness_mean,wait_seconds,"
         "update_seconds,push_seconds,step_seconds,teacher_kl,teacher_seconds\n";
  for (const auto& m : steps) {
    out << absl::StrFormat(
        "%d,%.6g,%.6g,%.6g,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%d,%.6g,%.6g,"
        "%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n",
        m.step(), m.reward_mean(), m.reward_std(), m.pass_rate(),
        m.has_eval_accuracy() ? absl::StrFormat("%.6g", m.eval_accuracy()) : "", m.kl(),
        m.entropy(), m.clip_frac(), m.grad_norm(), m.loss(), m.lr(), m.tokens_per_second(),
        m.completion_tokens(), m.logprob_diff_max(), m.staleness_mean(), m.wait_seconds(),
        m.update_seconds(), m.push_seconds(), m.step_seconds(), m.teacher_kl(),
        m.teacher_seconds());
  }
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", csv_path));
  const std::string gnuplot = FindOnPath("gnuplot");
  if (gnuplot.empty()) return std::string();
  const fs::path base = fs::path(csv_path).replace_extension();
  const std::string png = base.string() + ".png";
  if (!PlotRewardCurve(gnuplot, csv_path, png, base.string() + ".gp", title)) return std::string();
  return png;
}

absl::Status WritePrivilegedArithFiles(const std::vector<learner::ArithRow>& train,
                                       const std::string& privileged_template,
                                       const std::string& rl_path, const std::string& sft_path) {
  std::vector<std::string> rl, sft;
  for (const learner::ArithRow& row : train) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(learner::ArithRowJson(row));
    sft.push_back(j.dump());
    j["privileged"] = row.answer;
    rl.push_back(j.dump());
    nlohmann::ordered_json p = {
        {"prompt", learner::PrivilegedPrompt(privileged_template, row.answer, row.prompt)},
        {"answer", row.answer}};
    sft.push_back(p.dump());
  }
  if (absl::Status s = WriteLines(rl_path, rl); !s.ok()) return s;
  return WriteLines(sft_path, sft);
}

}  // namespace flywheel::cli
