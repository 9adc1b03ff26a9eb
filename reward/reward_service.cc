#include "reward/reward_service.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace flywheel::reward {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Fill(const RewardResult& r, v1::RewardResult* out) {
  out->set_total(r.total);
  for (const RewardTerm& t : r.terms) {
    v1::RewardTerm* term = out->add_terms();
    term->set_name(t.name);
    term->set_value(t.value);
    term->set_weight(t.weight);
  }
  out->set_correct(r.correct);
  out->set_answer(r.answer);
  out->set_reason(!r.reason.empty() ? r.reason : r.format_reason);
  for (const CriterionResult& c : r.criteria) {
    v1::CriterionScore* cs = out->add_criteria();
    cs->set_title(c.title);
    cs->set_weight(c.weight);
    cs->set_score(c.score);
    cs->set_judged(c.judged);
  }
}

}  // namespace

// One Score RPC in flight: its items' results arrive from workers or from the watcher.
struct RewardService::Batch {
  std::mutex mu;
  grpc::ServerUnaryReactor* reactor;
  v1::ScoreRewardsResponse* response;
  std::vector<TaskSpec> specs;
  // Copies of the texts: a timed-out item's task outlives the RPC, and with it gRPC's request.
  std::vector<std::string> prompts, completions;
  std::vector<int64_t> completion_tokens;
  std::vector<bool> duplicate;  // conjectures repeating an earlier one of the request
  std::vector<bool> done;
  std::vector<double> started;  // When a worker took the item; 0 = queued.
  std::vector<std::string> verifier;
  int remaining;
  RewardMetrics* metrics;

  // Records item i's outcome once; finishes the RPC with the last one.
  void Complete(int i, const absl::StatusOr<RewardResult>& r) {
    std::lock_guard<std::mutex> lock(mu);
    if (done[i]) return;
    done[i] = true;
    v1::RewardResult* out = response->mutable_results(i);
    if (r.ok()) {
      Fill(*r, out);
    } else {
      out->set_error(std::string(r.status().message()));
      out->set_error_code(static_cast<int>(r.status().code()));
    }
    if (metrics != nullptr) {
      metrics->CountItem(verifier[i],
                         !r.ok()      ? "error"
                         : r->correct ? "correct"
                                      : "wrong",
                         started[i] > 0 ? Now() - started[i] : 0);
    }
    if (--remaining == 0) reactor->Finish(grpc::Status::OK);
  }

  void Start(int i) {
    std::lock_guard<std::mutex> lock(mu);
    started[i] = Now();
  }
};

RewardService::RewardService(const RewardServiceOptions& options, Judge* judge,
                             RewardMetrics* metrics)
    : options_(options), judge_(judge), metrics_(metrics), workers_(options.threads) {
  watcher_ = std::thread([this] { Watch(); });
}

RewardService::~RewardService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  watcher_.join();
}

void RewardService::Watch() {
  for (;;) {
    std::vector<std::shared_ptr<Batch>> batches;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      std::vector<std::weak_ptr<Batch>> live;
      for (auto& w : active_) {
        if (auto b = w.lock()) {
          batches.push_back(b);
          live.push_back(w);
        }
      }
      active_.swap(live);
    }
    const double now = Now();
    for (auto& b : batches) {
      std::vector<int> late;
      {
        std::lock_guard<std::mutex> lock(b->mu);
        for (size_t i = 0; i < b->done.size(); ++i) {
          if (!b->done[i] && b->started[i] > 0 &&
              now - b->started[i] > options_.item_timeout_seconds)
            late.push_back(i);
        }
      }
      for (int i : late) {
        b->Complete(
            i, absl::DeadlineExceededError(absl::StrCat("item exceeded the per-item time limit of ",
                                                        options_.item_timeout_seconds, " s")));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

grpc::ServerUnaryReactor* RewardService::Score(grpc::CallbackServerContext* context,
                                               const v1::ScoreRewardsRequest* request,
                                               v1::ScoreRewardsResponse* response) {
  auto* reactor = context->DefaultReactor();
  const int n = request->items_size();
  if (n > options_.max_items) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("request holds ", n, " items; the limit is ", options_.max_items)));
    return reactor;
  }
  if (n == 0) {
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  auto batch = std::make_shared<Batch>();
  batch->reactor = reactor;
  batch->response = response;
  batch->specs.resize(n);
  batch->done.assign(n, false);
  batch->started.assign(n, 0);
  batch->verifier.assign(n, "unknown");
  batch->remaining = n;
  batch->metrics = metrics_;
  for (int i = 0; i < n; ++i) response->add_results();
  // Copied before any item can complete: the last completion finishes the RPC, after which gRPC
  // frees the request while a timed-out item's task may still be scoring.
  for (int i = 0; i < n; ++i) {
    const auto& it = request->items(i);
    batch->prompts.push_back(it.prompt());
    batch->completions.push_back(it.completion());
    batch->completion_tokens.push_back(it.has_completion_tokens() ? it.completion_tokens() : -1);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.push_back(batch);
  }
  std::vector<absl::Status> spec_errors(n);
  std::vector<int> judged, plain;
  for (int i = 0; i < n; ++i) {
    auto spec = ParseTaskSpecText(request->items(i).task_json());
    if (!spec.ok()) {
      spec_errors[i] = spec.status();
      continue;
    }
    batch->verifier[i] = std::string(VerifierName(spec->verifier));
    const bool has_judged = spec->rubric.has_judged();
    batch->specs[i] = std::move(*spec);
    (has_judged ? judged : plain).push_back(i);
  }
  for (int i = 0; i < n; ++i) {
    if (!spec_errors[i].ok()) batch->Complete(i, spec_errors[i]);
  }
  ScoreOptions opt;
  opt.limits = options_.limits;
  opt.judge = judge_;
  // A request is one batch of the conjecture gate: duplicates are found before the items are
  // scored one by one on the workers.
  batch->duplicate.assign(n, false);
  {
    std::vector<ScoreRequest> all(n);
    for (int i = 0; i < n; ++i) {
      if (spec_errors[i].ok())
        all[i] = {&batch->specs[i], {batch->prompts[i], batch->completions[i]}};
    }
    MarkDuplicateConjectures(&all);
    for (int i = 0; i < n; ++i) batch->duplicate[i] = all[i].input.duplicate;
  }
  auto input = [b = batch.get()](int i) {
    return ScoreInput{b->prompts[i], b->completions[i], b->completion_tokens[i],
                      static_cast<bool>(b->duplicate[i])};
  };
  // One task per worker, each taking the next unscored item from a shared index: few queue round
  // trips (a verifier call takes microseconds), and a slow item holds up only its own worker.
  // Each item's time limit starts when a worker takes it.
  auto plain_items = std::make_shared<std::vector<int>>(std::move(plain));
  auto next = std::make_shared<std::atomic<size_t>>(0);
  const int tasks = std::min<int>(workers_.threads(), static_cast<int>(plain_items->size()));
  for (int t = 0; t < tasks; ++t) {
    workers_.Post([batch, opt, plain_items, next, input] {
      for (size_t k; (k = next->fetch_add(1)) < plain_items->size();) {
        const int i = (*plain_items)[k];
        batch->Start(i);
        batch->Complete(i, ScoreItem(batch->specs[i], input(i), opt));
      }
    });
  }
  if (!judged.empty()) {
    // One job for every judged item, so the judge sees them in one batched call.
    workers_.Post([batch, opt, judged, input, metrics = metrics_] {
      std::vector<ScoreRequest> reqs;
      for (int i : judged) {
        batch->Start(i);
        reqs.push_back({&batch->specs[i], input(i)});
      }
      if (metrics != nullptr) metrics->CountJudgeCall();
      auto results = ScoreBatch(reqs, opt);
      for (size_t k = 0; k < judged.size(); ++k) batch->Complete(judged[k], results[k]);
    });
  }
  return reactor;
}

grpc::ServerUnaryReactor* RewardService::ListVerifiers(grpc::CallbackServerContext* context,
                                                       const v1::ListVerifiersRequest*,
                                                       v1::ListVerifiersResponse* response) {
  for (auto name : VerifierNames()) response->add_verifiers(std::string(name));
  auto* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace flywheel::reward
