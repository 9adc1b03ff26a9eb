#include "learner/rollout_pool.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/base/crc32c.h"
#include "common/rpc/auth.h"
#include "common/rpc/status.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace flywheel::learner {
namespace {

// 1 MiB chunks: large enough that per-message overhead is small, well under gRPC's 4 MiB limit.
constexpr int64_t kChunkBytes = 1 << 20;
// Generate calls one server runs at once; its engine batches them.
constexpr int kMaxInflightPerServer = 64;

std::chrono::system_clock::time_point Deadline(double seconds) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::duration<double>(seconds));
}

}  // namespace

RolloutPool::RolloutPool(const std::vector<std::string>& addresses, std::string bearer_token,
                         double timeout_seconds, ReplicaSet::EventFn on_event)
    : replicas_(addresses, "rollout server", /*recover_after_seconds=*/-1, std::move(on_event)),
      token_(std::move(bearer_token)),
      timeout_seconds_(timeout_seconds) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  args.SetMaxSendMessageSize(256 << 20);
  for (const auto& a : addresses) {
    stubs_.push_back(v1::RolloutService::NewStub(
        grpc::CreateCustomChannel(a, grpc::InsecureChannelCredentials(), args)));
  }
}

absl::StatusOr<std::vector<v1::GenerateResponse>> RolloutPool::GenerateAll(
    const std::vector<v1::GenerateRequest>& requests, const std::atomic<bool>* cancel) {
  std::vector<v1::GenerateResponse> responses(requests.size());
  absl::Status st = replicas_.RunAll(
      static_cast<int64_t>(requests.size()), kMaxInflightPerServer,
      [&](int server, int64_t task, std::function<void(const grpc::Status&)> done) {
        auto ctx = std::make_shared<grpc::ClientContext>();
        ctx->set_deadline(Deadline(timeout_seconds_));
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
  ctx.set_deadline(Deadline(timeout_seconds_));
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
      return absl::Status(status[s].code(),
                          absl::StrCat("weight push to ", replicas_.address(s), " rejected: ",
                                       status[s].message()));
    }
    if (replicas_.healthy(s)) replicas_.MarkDown(s, rpc::ToGrpc(status[s]));
  }
  if (result.servers_updated == 0) {
    return absl::UnavailableError(absl::StrCat("no rollout server took weights version ",
                                               version, ": ", errors));
  }
  return result;
}

int64_t RolloutPool::MaxServerVersion() {
  int64_t best = -1;
  for (int s = 0; s < size(); ++s) {
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(std::min(timeout_seconds_, 10.0)));
    v1::GetInfoResponse info;
    if (stubs_[s]->GetInfo(&ctx, {}, &info).ok()) best = std::max(best, info.version());
  }
  return best;
}

}  // namespace flywheel::learner
