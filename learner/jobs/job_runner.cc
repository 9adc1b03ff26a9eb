#include "learner/jobs/job_runner.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/logging.h"
#include "common/base/status_macros.h"
#include "learner/jobs/job_spec.h"
#include "learner/jobs/rollout_batch.h"
#include "learner/training/checkpoint.h"

namespace flywheel::learner {
namespace {

v1::JobSpec WithDefaults(v1::JobSpec spec) {
  ApplyJobDefaults(&spec);
  return spec;
}

// A failed teacher server is tried again after this long, doubling up to 10 s (it has no weights
// to miss).
constexpr double kTeacherRecoverSeconds = 0.5;

}  // namespace

JobRunner::JobRunner(v1::Job job, RunnerEnv env, FinishedFn on_finished)
    : env_(std::move(env)),
      spec_(WithDefaults(job.spec())),
      id_(job.id()),
      resumed_(job.state() == v1::JOB_STATE_RUNNING),
      on_finished_(std::move(on_finished)) {
  checkpoint_root_ =
      spec_.checkpoint_dir().empty()
          ? (std::filesystem::path(env_.state_dir) / "jobs" / id_ / "checkpoints").string()
          : spec_.checkpoint_dir();
}

JobRunner::~JobRunner() {
  Stop();
  if (thread_.joinable()) thread_.join();
}

void JobRunner::Start() {
  thread_ = std::thread([this] { Run(); });
}

void JobRunner::Cancel() {
  cancelled_.store(true);
  abort_.store(true);
}

void JobRunner::Stop() { abort_.store(true); }

void JobRunner::Update(const std::function<void(v1::Job*)>& edit, const std::string& message,
                       const v1::StepMetrics* metrics) {
  if (auto s = env_.board->Update(id_, edit, message, metrics); !s.ok()) {
    FW_LOG(ERROR) << "job " << id_ << ": " << s.status();
  }
}

std::string JobRunner::CheckpointOfRecord() {
  auto job = env_.board->Get(id_);
  return job.ok() ? job->checkpoint() : "";
}

void JobRunner::Run() {
  Update([](v1::Job* j) { j->set_state(v1::JOB_STATE_RUNNING); },
         resumed_ ? "resuming after a learner restart" : "started");
  absl::Status st = Setup();
  if (st.ok()) {
    st = IsRlAlgorithm(spec_.algorithm()) ? RunRl()
         : spec_.algorithm() == kSelfPlay ? RunSelfPlay()
                                          : RunSft();
  }
  if (cancelled_.load()) {
    Update([](v1::Job* j) { j->set_state(v1::JOB_STATE_CANCELLED); }, "cancelled");
  } else if (aborted()) {
    FW_LOG(INFO) << "job " << id_ << ": stopped at step " << step_ << "; resumes on restart";
  } else if (st.ok()) {
    Update([](v1::Job* j) { j->set_state(v1::JOB_STATE_SUCCEEDED); },
           absl::StrCat("finished after step ", step_));
  } else {
    std::string error(st.message());
    if (const std::string ckpt = CheckpointOfRecord(); !ckpt.empty()) {
      absl::StrAppend(&error, " (last good checkpoint: ", ckpt, ")");
    }
    Update(
        [&](v1::Job* j) {
          j->set_state(v1::JOB_STATE_FAILED);
          j->set_error(error);
        },
        absl::StrCat("failed: ", error));
  }
  // Server clients hold threads and channels; release them with the job.
  rollouts_.reset();
  rewards_.reset();
  teachers_.reset();
  if (on_finished_) on_finished_(id_);
}

absl::Status JobRunner::Setup() {
  ASSIGN_OR_RETURN(tokenizer_, tokenizer::Tokenizer::FromFile(spec_.policy_model_dir()));
  const bool rl = IsRlAlgorithm(spec_.algorithm());
  const bool opd = spec_.algorithm() == kOpd;
  const bool selfplay = spec_.algorithm() == kSelfPlay;
  JobDataOptions data;
  data.needs.task =
      spec_.algorithm() == kGrpo || selfplay || (opd && spec_.distill().reward_weight() > 0);
  data.needs.answer = spec_.algorithm() == kSft;
  data.needs.problem = selfplay;
  // Self-play states every problem in its solver template, the held-out targets too.
  if (selfplay) data.prompt_template = spec_.selfplay().solver_template();
  data.needs.privileged = opd && SelfTeacher(spec_);
  data.needs.chat_template = spec_.chat_template();
  data.needs.model_dir = spec_.policy_model_dir();
  data.seed = spec_.seed();
  if (opd) data.privileged_template = spec_.distill().privileged_template();
  ASSIGN_OR_RETURN(data_, JobData::Load(spec_.dataset(), data, *tokenizer_));
  if (!spec_.eval_dataset().empty()) {
    JobDataOptions eval;
    eval.needs.task = true;
    eval.needs.chat_template = spec_.chat_template();
    eval.needs.model_dir = spec_.policy_model_dir();
    eval.needs.problem = selfplay;
    eval.prompt_template = data.prompt_template;
    eval.seed = spec_.seed();
    ASSIGN_OR_RETURN(eval_data_, JobData::Load(spec_.eval_dataset(), eval, *tokenizer_));
  }
  auto on_event = [this](const std::string& m) { Event(m); };
  const double timeout = spec_.request_timeout_seconds();
  if (spec_.rollout_servers_size() > 0) {
    RolloutPoolOptions pool;
    pool.servers.assign(spec_.rollout_servers().begin(), spec_.rollout_servers().end());
    pool.model = spec_.rollout_model();
    pool.bearer_token = env_.server_token;
    pool.tls = env_.server_tls;
    pool.timeout_seconds = timeout;
    pool.on_event = on_event;
    pool.registry = env_.registry;
    rollouts_ = std::make_unique<RolloutPool>(std::move(pool));
  }
  if (spec_.reward_servers_size() > 0) {
    rewards_ = std::make_unique<RewardPool>(
        std::vector<std::string>(spec_.reward_servers().begin(), spec_.reward_servers().end()),
        env_.server_tls, timeout, spec_.max_server_outage_seconds(), on_event);
  }
  if (opd && !SelfTeacher(spec_)) {
    const auto& t = spec_.distill().teacher_servers();
    teachers_ = std::make_unique<RolloutPool>(
        std::vector<std::string>(t.begin(), t.end()),
        /*bearer_token=*/"", env_.server_tls, timeout, on_event,
        ReplicaSet::Options{.kind = "teacher server",
                            .recover_after_seconds = kTeacherRecoverSeconds,
                            .max_outage_seconds = spec_.max_server_outage_seconds()});
  }

  model::ModelWeights weights;
  auto ckpt = LoadLatestCheckpoint(checkpoint_root_);
  if (ckpt.ok()) {
    weights = std::move(ckpt->weights);
  } else if (absl::IsNotFound(ckpt.status())) {
    ASSIGN_OR_RETURN(weights, model::LoadModelDir(spec_.policy_model_dir()));
  } else {
    return ckpt.status();
  }
  ASSIGN_OR_RETURN(auto policy, model::Transformer::Create(std::move(weights)));
  if (spec_.algorithm() == kGrpo && spec_.grpo().kl_coef() > 0) {
    ASSIGN_OR_RETURN(auto ref, model::Transformer::Load(spec_.reference_model_dir()));
    reference_ = std::move(ref);
  }
  ASSIGN_OR_RETURN(OptimizerOptions opt, ToOptimizerOptions(spec_));
  ASSIGN_OR_RETURN(
      trainer_, PolicyTrainer::Create(std::move(policy), opt, spec_.micro_batch_size(), env_.pool));
  if (ckpt.ok()) {
    RETURN_IF_ERROR(trainer_->RestoreState(ckpt->state.optimizer_step, std::move(ckpt->adam_m),
                                           std::move(ckpt->adam_v)));
    step_ = ckpt->state.step;
    eval_accuracy_ = ckpt->state.eval_accuracy;
    initial_eval_accuracy_ = ckpt->state.initial_eval_accuracy;
    restored_policies_ = std::move(ckpt->earlier_policies);
    // A corrupt newer checkpoint is the user's to know about: the run repeats its steps.
    for (const std::string& why : ckpt->skipped) Event(absl::StrCat(why, "; skipped"));
    solved_ =
        std::set<int64_t>(ckpt->state.solved_targets.begin(), ckpt->state.solved_targets.end());
    Event(absl::StrCat("resuming from ", ckpt->dir, " at step ", step_));
  } else {
    step_ = 0;
  }
  RETURN_IF_ERROR(env_.board->store()->TruncateMetrics(id_, step_));
  Update(
      [&](v1::Job* j) {
        j->set_step(step_);
        if (ckpt.ok()) j->set_checkpoint(ckpt->dir);
      },
      "");
  // Number this run's pushes above anything a server has seen, so a version never names two
  // different sets of weights on one server (its prefix cache is keyed by version).
  if (rollouts_) version_base_ = std::max<int64_t>(rollouts_->MaxServerVersion() + 1, 0);
  return absl::OkStatus();
}

absl::StatusOr<double> JobRunner::PushPolicy(int64_t step) {
  return PushWeights(trainer_->policy(), step);
}

absl::StatusOr<double> JobRunner::PushWeights(const model::Transformer& p, int64_t step) {
  if (!rollouts_) return 0.0;
  const auto t0 = std::chrono::steady_clock::now();
  RETURN_IF_ERROR(rollouts_->PushAll(p.layout(), p.params(), version_base_ + step).status());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

absl::Status JobRunner::Evaluate(int64_t step, v1::StepMetrics* metrics) {
  if (!eval_data_) return absl::OkStatus();
  if (!rollouts_ || !rewards_) {
    return absl::FailedPreconditionError("eval needs rollout and reward servers");
  }
  std::vector<const JobRow*> rows;
  const int64_t limit = spec_.eval_limit() > 0
                            ? std::min<int64_t>(spec_.eval_limit(), eval_data_->size())
                            : eval_data_->size();
  for (int64_t i = 0; i < limit; ++i) rows.push_back(&eval_data_->row(i));
  BatchSources sources{rollouts_.get(), rewards_.get(), nullptr, tokenizer_.get()};
  ASSIGN_OR_RETURN(double acc, EvalAccuracy(rows, spec_.sampling(), sources, &abort_));
  eval_accuracy_ = acc;
  if (step == 0 && !initial_eval_accuracy_) initial_eval_accuracy_ = acc;
  if (metrics != nullptr) metrics->set_eval_accuracy(acc);
  if (LearnerMetrics* m = env_.board->metrics(); m != nullptr) m->RecordEval(id_, acc);
  Update(
      [&](v1::Job* j) {
        j->set_eval_accuracy(acc);
        if (initial_eval_accuracy_) j->set_initial_eval_accuracy(*initial_eval_accuracy_);
      },
      absl::StrFormat("eval accuracy %.1f%% at step %d (%d rows)", 100.0 * acc, step, limit));
  return absl::OkStatus();
}

absl::Status JobRunner::Checkpoint(int64_t step, int64_t data_cursor, bool last) {
  TrainerState state;
  state.step = step;
  state.optimizer_step = trainer_->step();
  state.data_cursor = data_cursor;
  state.seed = spec_.seed();
  state.eval_accuracy = eval_accuracy_;
  state.initial_eval_accuracy = initial_eval_accuracy_;
  state.solved_targets.assign(solved_.begin(), solved_.end());
  const model::Transformer& p = trainer_->policy();
  const bool exact = spec_.async_mode() == kAsyncExact && snapshots_ != nullptr;
  auto dir = WriteCheckpoint(checkpoint_root_, p.config(), p.params(), trainer_->adam_m(),
                             trainer_->adam_v(), state, spec_.policy_model_dir(),
                             exact ? snapshots_->Before(step) : std::map<int64_t, const float*>());
  if (!dir.ok()) {
    const std::string failed =
        absl::StrCat("checkpoint of step ", step, " failed: ", dir.status().message());
    if (last) return absl::Status(dir.status().code(), failed);  // Run() names the last good one
    const std::string good = CheckpointOfRecord();
    Event(absl::StrCat(failed, good.empty() ? "; no earlier checkpoint" : "; the last good one is ",
                       good, "; training goes on and tries again at the next checkpoint"));
    return absl::OkStatus();
  }
  Update([&](v1::Job* j) { j->set_checkpoint(*dir); },
         absl::StrCat("checkpoint of step ", step, " written to ", *dir));
  return absl::OkStatus();
}

absl::Status JobRunner::FinishStep(int64_t step, int64_t data_cursor, bool pushed,
                                   v1::StepMetrics* m, bool last) {
  if (eval_data_ && (step % spec_.eval_interval() == 0 || last)) {
    if (!pushed) {
      ASSIGN_OR_RETURN(double push, PushPolicy(step));
      m->set_push_seconds(push);
    }
    RETURN_IF_ERROR(Evaluate(step, m));
  }
  RETURN_IF_ERROR(env_.board->store()->AppendMetrics(id_, *m));
  if (LearnerMetrics* metrics = env_.board->metrics(); metrics != nullptr) {
    metrics->RecordStep(id_, spec_.algorithm(), *m);
    metrics->CountRetries(id_, "request", m->retries() - retries_seen_);
    retries_seen_ = m->retries();
  }
  Update(
      [&](v1::Job* j) {
        j->set_step(step);
        j->set_data_cursor(data_cursor);
        *j->mutable_last_metrics() = *m;
      },
      "", m);
  if (step % spec_.checkpoint_interval() == 0 || last) {
    RETURN_IF_ERROR(Checkpoint(step, data_cursor, last));
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
