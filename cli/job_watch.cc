#include "cli/job_watch.h"

#include <unistd.h>

#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/learner_client.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"

namespace flywheel::cli {
namespace {

// A watch stream lives as long as the job: the deadline only guards against a learner that
// vanished without closing the connection.
constexpr double kWatchDeadlineSeconds = 7 * 24 * 3600.0;
constexpr int kBarWidth = 24;

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Estimates the time left from the steps seen so far: the mean of the reported step times, or
// the wall clock between step events when the learner reports none.
class EtaEstimator {
 public:
  void OnStep(const v1::StepMetrics& m) {
    const double now = Now();
    if (m.step_seconds() > 0) {
      reported_sum_ += m.step_seconds();
      ++reported_count_;
    }
    if (first_time_ < 0) {
      first_time_ = now;
      first_step_ = m.step();
    }
    last_time_ = now;
    last_step_ = m.step();
  }
  double Eta(int64_t steps_left) const {
    if (steps_left <= 0) return 0;
    if (reported_count_ > 0) return steps_left * reported_sum_ / reported_count_;
    if (last_step_ > first_step_) {
      return steps_left * (last_time_ - first_time_) /
             static_cast<double>(last_step_ - first_step_);
    }
    return -1;
  }

 private:
  double reported_sum_ = 0;
  int64_t reported_count_ = 0;
  double first_time_ = -1, last_time_ = -1;
  int64_t first_step_ = 0, last_step_ = 0;
};

}  // namespace

std::string FormatDuration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%dh%02dm", s / 3600, (s % 3600) / 60);
}

std::string ProgressLine(const v1::Job& job, const v1::StepMetrics& last, double eta_seconds,
                         int bar_width) {
  const int64_t steps = job.spec().steps();
  const int64_t step = std::max(job.step(), last.step());
  std::string line = absl::StrCat("step ", step, "/", steps);
  if (bar_width > 0 && steps > 0) {
    const int filled = static_cast<int>(
        std::min<int64_t>(bar_width, step * bar_width / std::max<int64_t>(1, steps)));
    absl::StrAppend(&line, " [", std::string(filled, '#'), std::string(bar_width - filled, '.'),
                    "]");
  }
  if (step > 0) {
    if (job.spec().algorithm() == "sft") {
      absl::StrAppend(&line, absl::StrFormat(" loss %.4f", last.loss()));
    } else {
      absl::StrAppend(&line, absl::StrFormat(" reward %.3f pass %.0f%%", last.reward_mean(),
                                             100 * last.pass_rate()));
      if (job.spec().algorithm() == "opd") {
        absl::StrAppend(&line, absl::StrFormat(" teacher-kl %.3f", last.teacher_kl()));
      }
      if (job.spec().algorithm() == "selfplay") {
        absl::StrAppend(&line,
                        absl::StrFormat(" solved %.0f%% valid %.0f%%", 100 * last.targets_solved(),
                                        100 * last.conjecture_valid_rate()));
      }
    }
  }
  if (last.has_eval_accuracy()) {
    absl::StrAppend(&line, absl::StrFormat(" acc %.1f%%", 100 * last.eval_accuracy()));
  } else if (job.has_eval_accuracy()) {
    absl::StrAppend(&line, absl::StrFormat(" acc %.1f%%", 100 * job.eval_accuracy()));
  }
  if (last.tokens_per_second() > 0) {
    absl::StrAppend(&line, absl::StrFormat(" %.0f tok/s", last.tokens_per_second()));
  }
  if (eta_seconds >= 0 && step < steps)
    absl::StrAppend(&line, " ETA ", FormatDuration(eta_seconds));
  return line;
}

absl::StatusOr<v1::Job> FollowJob(v1::JobService::Stub* stub, const std::string& id,
                                  const WatchOptions& options) {
  grpc::ClientContext context;
  rpc::SetDeadline(&context, kWatchDeadlineSeconds);
  rpc::AddBearer(&context, options.bearer_token);
  v1::WatchJobRequest request;
  request.set_id(id);
  auto reader = stub->WatchJob(&context, request);

  v1::Job job;
  bool have_job = false;
  v1::StepMetrics last;  // the latest step's metrics (eval accuracy carried forward)
  EtaEstimator eta;
  bool bar_drawn = false;
  auto clear_bar = [&] {
    if (bar_drawn) std::fputs("\r\033[K", options.out);
    bar_drawn = false;
  };
  v1::JobEvent event;
  while (reader->Read(&event)) {
    if (event.has_job()) {
      job = event.job();
      if (!have_job && job.has_last_metrics()) last = job.last_metrics();
      have_job = true;
    }
    bool new_step = false;
    if (event.has_metrics()) {
      const bool had_eval = last.has_eval_accuracy();
      const double eval = last.eval_accuracy();
      last = event.metrics();
      if (!last.has_eval_accuracy() && had_eval) last.set_eval_accuracy(eval);
      eta.OnStep(event.metrics());
      if (options.on_metrics) options.on_metrics(event.metrics());
      new_step = true;
    }
    if (!event.message().empty()) {
      clear_bar();
      std::fprintf(options.out, "%s\n", event.message().c_str());
    }
    if (!have_job) continue;
    const std::string line = ProgressLine(job, last, eta.Eta(job.spec().steps() - job.step()),
                                          options.live ? kBarWidth : 0);
    if (options.live) {
      std::fprintf(options.out, "\r\033[K%s", line.c_str());
      bar_drawn = true;
    } else if (new_step) {
      std::fprintf(options.out, "%s\n", line.c_str());
    }
    std::fflush(options.out);
    if (IsTerminal(job.state())) break;
  }
  if (bar_drawn) std::fputs("\n", options.out);
  std::fflush(options.out);
  if (have_job && IsTerminal(job.state())) {
    context.TryCancel();  // the job is over; do not wait for the server to close the stream
    reader->Finish();
    return job;
  }
  const grpc::Status st = reader->Finish();
  if (!st.ok()) return rpc::FromGrpc(st);
  return absl::UnavailableError(
      absl::StrCat("the learner closed the watch stream of job ", id, " before the job ended"));
}

int WatchToExitCode(const LearnerConnection& learner, const std::string& id,
                    const std::string& program) {
  WatchOptions options;
  options.live = isatty(STDOUT_FILENO) != 0;
  options.bearer_token = learner.token;
  const std::string& address = learner.address;
  auto job = FollowJob(learner.stub.get(), id, options);
  if (!job.ok()) {
    if (absl::IsUnavailable(job.status())) {
      std::fprintf(stderr, "%s: %s\n", program.c_str(),
                   DescribeRpcError(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                 std::string(job.status().message())),
                                    address)
                       .c_str());
    } else {
      std::fprintf(stderr, "%s: %s\n", program.c_str(), job.status().ToString().c_str());
    }
    return 1;
  }
  const std::string state = JobStateName(job->state());
  if (job->state() == v1::JOB_STATE_SUCCEEDED) {
    std::printf("job %s succeeded after %lld steps", job->id().c_str(),
                static_cast<long long>(job->step()));
    if (job->has_eval_accuracy()) std::printf(", eval accuracy %.1f%%", 100 * job->eval_accuracy());
    if (!job->checkpoint().empty()) std::printf("; checkpoint %s", job->checkpoint().c_str());
    std::printf("\n");
    return 0;
  }
  std::fprintf(stderr, "%s: job %s %s at step %lld%s%s\n", program.c_str(), job->id().c_str(),
               state.c_str(), static_cast<long long>(job->step()), job->error().empty() ? "" : ": ",
               job->error().c_str());
  return 1;
}

}  // namespace flywheel::cli
