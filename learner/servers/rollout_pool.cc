#include "learner/servers/rollout_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/probes.h"
#include "common/rpc/status.h"
#include "learner/servers/weight_upload.h"

namespace flywheel::learner {
namespace {

// Generate calls one server runs at once; its engine batches them.
constexpr int kMaxInflightPerServer = 64;
// Score items per request: a few prefills' worth, so a retry repeats little work and the
// engine still batches them.
constexpr int64_t kScoreItemsPerRequest = 32;

RolloutPoolOptions FixedOptions(const std::vector<std::string>& addresses, std::string token,
                                const rpc::ClientTls& tls, double timeout,
                                ReplicaSet::EventFn on_event, ReplicaSet::Options replicas) {
  RolloutPoolOptions o;
  o.servers = addresses;
  o.bearer_token = std::move(token);
  o.tls = tls;
  o.timeout_seconds = timeout;
  o.on_event = std::move(on_event);
  o.kind = std::move(replicas.kind);
  o.policy = replicas.recover_after_seconds < 0;
  o.recover_after_seconds = replicas.recover_after_seconds;
  o.max_outage_seconds = replicas.max_outage_seconds;
  return o;
}

// Runs fn(i) for every i in [0, n) on threads of its own and waits for all.
template <typename Fn>
void ForEachConcurrently(size_t n, Fn fn) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) threads.emplace_back([&fn, i] { fn(i); });
  for (auto& t : threads) t.join();
}

// Not a dead server: a configuration error every later push would repeat.
bool ConfigurationError(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnauthenticated ||
         s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kNotFound;
}

}  // namespace

RolloutPool::RolloutPool(const std::vector<std::string>& addresses, std::string bearer_token,
                         const rpc::ClientTls& tls, double timeout_seconds,
                         ReplicaSet::EventFn on_event, ReplicaSet::Options replicas)
    : RolloutPool(FixedOptions(addresses, std::move(bearer_token), tls, timeout_seconds,
                               std::move(on_event), std::move(replicas))) {}

RolloutPool::RolloutPool(RolloutPoolOptions options)
    : options_(std::move(options)),
      replicas_({},
                {.kind = options_.kind,
                 .recover_after_seconds = options_.policy ? -1.0 : options_.recover_after_seconds,
                 .max_outage_seconds = options_.max_outage_seconds},
                options_.on_event) {
  auto entries = ParseServerEntries(options_.servers);
  if (entries.ok()) entries_ = *std::move(entries);  // The job-spec check reported bad ones.
  for (const auto& a : entries_.fixed) AddServer(a, /*dynamic=*/false);
  if (entries_.elastic()) replicas_.set_wait_for_members_seconds(options_.timeout_seconds);
  if (options_.policy) {
    Refresh();  // Take up the servers there are now before the first call.
    membership_ = std::thread([this] { MembershipLoop(); });
  }
}

RolloutPool::~RolloutPool() {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (membership_.joinable()) membership_.join();
}

std::shared_ptr<RolloutPool::Stub> RolloutPool::StubOf(int server) const {
  std::lock_guard<std::mutex> lock(stubs_mu_);
  return stubs_[server];
}

void RolloutPool::Stamp(v1::GenerateRequest* request) const {
  request->set_model(options_.model);
  if (options_.policy) request->set_min_version(std::max<int64_t>(0, committed_version_.load()));
}

absl::StatusOr<std::vector<v1::GenerateResponse>> RolloutPool::GenerateAll(
    const std::vector<v1::GenerateRequest>& requests, const std::atomic<bool>* cancel) {
  std::vector<v1::GenerateResponse> responses(requests.size());
  absl::Status st = replicas_.RunAll(
      static_cast<int64_t>(requests.size()), kMaxInflightPerServer,
      [&](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
        auto ctx = std::make_shared<grpc::ClientContext>();
        rpc::SetDeadline(ctx.get(), options_.timeout_seconds);
        // Stamped when dispatched: a request sent after a commit asks for the new version.
        auto req = std::make_shared<v1::GenerateRequest>(requests[task]);
        Stamp(req.get());
        auto resp = std::make_shared<v1::GenerateResponse>();
        StubOf(server)->async()->Generate(
            ctx.get(), req.get(), resp.get(),
            [ctx, req, resp, task, &responses, done = std::move(done)](grpc::Status s) {
              if (s.ok()) responses[task] = std::move(*resp);
              done(s);
            });
      },
      cancel);
  if (!st.ok()) return st;
  return responses;
}

absl::Status RolloutPool::PushOne(int server, const model::ParameterLayout& layout,
                                  const float* params, int64_t version, bool stage_only,
                                  v1::PushWeightsResponse* response) {
  WeightUpload upload;
  upload.model = options_.model;
  upload.version = version;
  upload.stage_only = stage_only;
  upload.bearer_token = options_.bearer_token;
  upload.timeout_seconds = options_.timeout_seconds;
  return UploadWeights(StubOf(server).get(), layout, params, upload, response);
}

absl::Status RolloutPool::CommitOne(int server, int64_t version,
                                    v1::CommitWeightsResponse* response) {
  grpc::ClientContext ctx;
  rpc::AddBearer(&ctx, options_.bearer_token);
  rpc::SetDeadline(&ctx, options_.timeout_seconds);
  v1::CommitWeightsRequest request;
  request.set_model(options_.model);
  request.set_version(version);
  return rpc::FromGrpc(StubOf(server)->CommitWeights(&ctx, request, response));
}

absl::StatusOr<PushResult> RolloutPool::PushAll(const model::ParameterLayout& layout,
                                                const float* params, int64_t version) {
  // An elastic pool may have no serving member for a moment (the first registered server is
  // starting, or the only one left just went away while a newcomer syncs): wait for one, as a
  // request would, and try again.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(
                            (entries_.elastic() ? options_.timeout_seconds : 0) * 1000));
  for (;;) {
    while (replicas_.healthy_count() == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    absl::StatusOr<PushResult> result = PushOnce(layout, params, version);
    if (result.ok() || !absl::IsUnavailable(result.status()) ||
        std::chrono::steady_clock::now() >= deadline) {
      return result;
    }
  }
}

absl::StatusOr<PushResult> RolloutPool::PushOnce(const model::ParameterLayout& layout,
                                                 const float* params, int64_t version) {
  std::lock_guard<std::mutex> push(push_mu_);
  std::vector<int> targets;
  for (int s = 0; s < size(); ++s) {
    if (replicas_.healthy(s)) targets.push_back(s);
  }
  PushResult result;
  std::string errors;
  // Phase 1: stage everywhere (a teacher-free, policy pool) or push whole (the old protocol).
  const bool two_phase = options_.policy;
  std::vector<absl::Status> status(targets.size());
  std::vector<v1::PushWeightsResponse> pushed(targets.size());
  ForEachConcurrently(targets.size(), [&](size_t i) {
    status[i] = PushOne(targets[i], layout, params, version, two_phase, &pushed[i]);
  });
  std::vector<int> staged;
  for (size_t i = 0; i < targets.size(); ++i) {
    const int s = targets[i];
    if (status[i].ok()) {
      staged.push_back(s);
      result.bytes = std::max(result.bytes, pushed[i].bytes());
      result.max_swap_pause_seconds =
          std::max(result.max_swap_pause_seconds, pushed[i].swap_pause_seconds());
      continue;
    }
    const std::string address = replicas_.address(s);
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", address, ": ", status[i].ToString());
    if (ConfigurationError(status[i])) {
      return absl::Status(status[i].code(), absl::StrCat("weight push to ", address,
                                                         " rejected: ", status[i].message()));
    }
    // Never left serving the old version beside the new one: out until it is synced again.
    replicas_.MarkDown(s, rpc::ToGrpc(status[i]));
    result.dropped.push_back(address);
    if (options_.on_event) {
      options_.on_event(absl::StrCat(options_.kind, " ", address, " failed to stage version ",
                                     version,
                                     "; dropped until it is brought to the current "
                                     "weights"));
    }
  }
  if (staged.empty()) {
    return absl::UnavailableError(absl::StrCat("no ", options_.kind, " took weights version ",
                                               version, errors.empty() ? "" : ": ", errors));
  }
  // The commit point: from here on every request asks for `version`.
  committed_.layout = std::make_shared<const model::ParameterLayout>(layout);
  committed_.params =
      std::make_shared<const std::vector<float>>(params, params + layout.num_params());
  committed_.version = version;
  committed_version_ = version;
  result.committed_at = std::chrono::steady_clock::now();
  if (!two_phase) {
    result.servers_updated = static_cast<int>(staged.size());
    return result;
  }
  // Phase 2: commit everywhere.
  std::vector<absl::Status> committed(staged.size());
  std::vector<v1::CommitWeightsResponse> answers(staged.size());
  ForEachConcurrently(staged.size(),
                      [&](size_t i) { committed[i] = CommitOne(staged[i], version, &answers[i]); });
  for (size_t i = 0; i < staged.size(); ++i) {
    if (committed[i].ok()) {
      ++result.servers_updated;
      result.max_swap_pause_seconds =
          std::max(result.max_swap_pause_seconds, answers[i].swap_pause_seconds());
      continue;
    }
    const std::string address = replicas_.address(staged[i]);
    replicas_.MarkDown(staged[i], rpc::ToGrpc(committed[i]));
    result.dropped.push_back(address);
  }
  if (result.servers_updated == 0) {
    return absl::UnavailableError(
        absl::StrCat("no ", options_.kind, " committed weights version ", version));
  }
  return result;
}

int64_t RolloutPool::MaxServerVersion() {
  int64_t best = -1;
  for (int s = 0; s < size(); ++s) {
    if (!replicas_.member(s)) continue;
    auto info = rpc::ProbeRollout(replicas_.address(s), std::min(options_.timeout_seconds, 10.0),
                                  options_.bearer_token, options_.tls, options_.model);
    if (info.ok()) best = std::max(best, std::max(info->version(), info->staged_version()));
  }
  return best;
}

absl::StatusOr<std::vector<std::vector<float>>> RolloutPool::ScoreAll(
    const std::vector<v1::ScoreItem>& items, const std::atomic<bool>* cancel) {
  const int64_t n = static_cast<int64_t>(items.size());
  const int64_t requests = (n + kScoreItemsPerRequest - 1) / kScoreItemsPerRequest;
  std::vector<v1::ScoreRequest> reqs(requests);
  for (int64_t i = 0; i < n; ++i) *reqs[i / kScoreItemsPerRequest].add_items() = items[i];
  std::vector<std::vector<float>> out(items.size());
  absl::Status st = replicas_.RunAll(
      requests, kMaxInflightPerServer,
      [&](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
        auto ctx = std::make_shared<grpc::ClientContext>();
        rpc::SetDeadline(ctx.get(), options_.timeout_seconds);
        auto req = std::make_shared<v1::ScoreRequest>(reqs[task]);
        req->set_model(options_.model);
        if (options_.policy) req->set_min_version(std::max<int64_t>(0, committed_version_.load()));
        auto resp = std::make_shared<v1::ScoreResponse>();
        StubOf(server)->async()->Score(
            ctx.get(), req.get(), resp.get(),
            [ctx, req, resp, task, &out, done = std::move(done)](grpc::Status s) {
              if (s.ok() && resp->results_size() != req->items_size()) {
                s = grpc::Status(grpc::StatusCode::INTERNAL,
                                 absl::StrCat("Score answered ", resp->results_size(),
                                              " results for ", req->items_size(), " items"));
              }
              if (s.ok()) {
                for (int i = 0; i < resp->results_size(); ++i) {
                  auto* lp = resp->mutable_results(i)->mutable_logprobs();
                  out[task * kScoreItemsPerRequest + i].assign(lp->begin(), lp->end());
                }
              }
              done(s);
            });
      },
      cancel);
  if (!st.ok()) return st;
  return out;
}

}  // namespace flywheel::learner
