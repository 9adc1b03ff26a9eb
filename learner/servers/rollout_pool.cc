#include "learner/servers/rollout_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/crc32c.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/probes.h"
#include "common/rpc/status.h"

namespace flywheel::learner {
namespace {

// 1 MiB chunks: large enough that per-message overhead is small, well under gRPC's 4 MiB limit.
constexpr int64_t kChunkBytes = 1 << 20;
// Generate calls one server runs at once; its engine batches them.
constexpr int kMaxInflightPerServer = 64;
// Score items per request: a few prefills' worth, so a retry repeats little work and the
// engine still batches them.
constexpr int64_t kScoreItemsPerRequest = 32;

}  // namespace

RolloutPool::RolloutPool(const std::vector<std::string>& addresses, std::string bearer_token,
                         const rpc::ClientTls& tls, double timeout_seconds,
                         ReplicaSet::EventFn on_event, ReplicaSet::Options replicas)
    : replicas_(addresses, std::move(replicas), std::move(on_event)),
      token_(std::move(bearer_token)),
      tls_(tls),
      timeout_seconds_(timeout_seconds) {
  rpc::ChannelOptions options;
  options.tls = tls;
  for (const auto& a : addresses) {
    stubs_.push_back(v1::RolloutService::NewStub(rpc::MakeChannel(a, options)));
  }
}

absl::StatusOr<std::vector<v1::GenerateResponse>> RolloutPool::GenerateAll(
    const std::vector<v1::GenerateRequest>& requests, const std::atomic<bool>* cancel) {
  std::vector<v1::GenerateResponse> responses(requests.size());
  absl::Status st = replicas_.RunAll(
      static_cast<int64_t>(requests.size()), kMaxInflightPerServer,
      [&](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
        auto ctx = std::make_shared<grpc::ClientContext>();
        rpc::SetDeadline(ctx.get(), timeout_seconds_);
        auto resp = std::make_shared<v1::GenerateResponse>();
        stubs_[server]->async()->Generate(
            ctx.get(), &requests[task], resp.get(),
            [ctx, resp, task, &responses, done = std::move(done)](grpc::Status s) {
              if (s.ok()) responses[task] = std::move(*resp);
              done(s);
            });
      },
      cancel);
  if (!st.ok()) return st;
  return responses;
}

absl::Status RolloutPool::PushOne(int server, const model::ParameterLayout& layout,
                                  const float* params, int64_t version,
                                  v1::PushWeightsResponse* response) {
  grpc::ClientContext ctx;
  rpc::AddBearer(&ctx, token_);
  rpc::SetDeadline(&ctx, timeout_seconds_);
  auto writer = stubs_[server]->PushWeights(&ctx, response);
  v1::WeightChunk chunk;
  for (const auto& t : layout.tensors()) {
    const char* base = reinterpret_cast<const char*>(params + t.offset);
    const int64_t bytes = t.numel * 4;
    for (int64_t off = 0; off < bytes; off += kChunkBytes) {
      chunk.set_version(version);
      chunk.set_tensor(t.name);
      chunk.set_offset(off);
      chunk.set_data(base + off, std::min(kChunkBytes, bytes - off));
      chunk.set_crc32c(Crc32c(chunk.data().data(), chunk.data().size()));
      if (!writer->Write(chunk)) break;  // The server ended the stream; Finish says why.
    }
  }
  writer->WritesDone();
  return rpc::FromGrpc(writer->Finish());
}

absl::StatusOr<PushResult> RolloutPool::PushAll(const model::ParameterLayout& layout,
                                                const float* params, int64_t version) {
  const int n = size();
  std::vector<absl::Status> status(n);
  std::vector<v1::PushWeightsResponse> responses(n);
  std::vector<std::thread> threads;
  for (int s = 0; s < n; ++s) {
    threads.emplace_back(
        [&, s] { status[s] = PushOne(s, layout, params, version, &responses[s]); });
  }
  for (auto& t : threads) t.join();
  PushResult result;
  std::string errors;
  for (int s = 0; s < n; ++s) {
    if (status[s].ok()) {
      replicas_.MarkUp(s);
      ++result.servers_updated;
      result.bytes = std::max(result.bytes, responses[s].bytes());
      result.max_swap_pause_seconds =
          std::max(result.max_swap_pause_seconds, responses[s].swap_pause_seconds());
      continue;
    }
    absl::StrAppend(&errors, errors.empty() ? "" : "; ", replicas_.address(s), ": ",
                    status[s].ToString());
    if (status[s].code() == absl::StatusCode::kUnauthenticated ||
        status[s].code() == absl::StatusCode::kInvalidArgument) {
      // Not a dead server: a configuration error every later push would repeat.
      return absl::Status(status[s].code(), absl::StrCat("weight push to ", replicas_.address(s),
                                                         " rejected: ", status[s].message()));
    }
    if (replicas_.healthy(s)) replicas_.MarkDown(s, rpc::ToGrpc(status[s]));
  }
  if (result.servers_updated == 0) {
    return absl::UnavailableError(
        absl::StrCat("no rollout server took weights version ", version, ": ", errors));
  }
  return result;
}

int64_t RolloutPool::MaxServerVersion() {
  int64_t best = -1;
  for (int s = 0; s < size(); ++s) {
    auto info = rpc::ProbeRollout(replicas_.address(s), std::min(timeout_seconds_, 10.0),
                                  /*bearer_token=*/"", tls_);
    if (info.ok()) best = std::max(best, info->version());
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
        rpc::SetDeadline(ctx.get(), timeout_seconds_);
        auto resp = std::make_shared<v1::ScoreResponse>();
        stubs_[server]->async()->Score(
            ctx.get(), &reqs[task], resp.get(),
            [ctx, resp, task, &reqs, &out, done = std::move(done)](grpc::Status s) {
              if (s.ok() && resp->results_size() != reqs[task].items_size()) {
                s = grpc::Status(grpc::StatusCode::INTERNAL,
                                 absl::StrCat("Score answered ", resp->results_size(),
                                              " results for ", reqs[task].items_size(), " items"));
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
