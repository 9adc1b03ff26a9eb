#include "learner/servers/weight_upload.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/base/crc32c.h"
#include "common/rpc/auth.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"

namespace flywheel::learner {
namespace {

// 1 MiB chunks: large enough that per-message overhead is small, well under gRPC's 4 MiB limit.
constexpr int64_t kChunkBytes = 1 << 20;
// How long past the call's deadline the caller waits for gRPC to end the call before it cancels
// the call itself (gRPC normally ends it at the deadline; this only bounds the wait).
constexpr double kCancelGraceSeconds = 1.0;

// Writes the chunks one after another (one write in flight, so chunk_ stays valid until its
// OnWriteDone). Shared by the caller and by itself until OnDone: a caller that gives up returns at
// once, and the call, if gRPC never ends it, stays behind without touching the caller's memory.
class ChunkWriter : public grpc::ClientWriteReactor<v1::WeightChunk> {
 public:
  ChunkWriter(const model::ParameterLayout& layout, const float* params, const WeightUpload& upload)
      : layout_(&layout), params_(params), upload_(upload) {
    rpc::AddBearer(&context_, upload.bearer_token);
    rpc::SetDeadline(&context_, upload.timeout_seconds);
  }

  void Start(v1::RolloutService::Stub* stub, std::shared_ptr<ChunkWriter> self) {
    self_ = std::move(self);
    stub->async()->PushWeights(&context_, &response_, this);
    WriteNext();
    StartCall();
  }

  void OnWriteDone(bool ok) override {
    if (ok) WriteNext();  // Otherwise the stream is over; OnDone brings the status.
  }

  void OnDone(const grpc::Status& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      done_ = true;
    }
    cv_.notify_all();
    auto last = std::move(self_);  // May free this writer as the function returns.
  }

  // The call's status and response once it ends, or false at `give_up` (the writer then writes
  // no more and the call is cancelled; the caller's layout and parameters are no longer read).
  bool Wait(std::chrono::steady_clock::time_point give_up, grpc::Status* status,
            v1::PushWeightsResponse* response) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_until(lock, give_up, [this] { return done_; })) {
        *status = status_;
        *response = response_;
        return true;
      }
      abandoned_ = true;
    }
    context_.TryCancel();
    return false;
  }

 private:
  void WriteNext() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (abandoned_) return;
      if (!NextChunk()) {
        last_written_ = true;
      }
    }
    if (last_written_) {
      StartWritesDone();
    } else {
      StartWrite(&chunk_);
    }
  }

  // Fills chunk_ with the next piece; false when all were written.
  bool NextChunk() {
    const auto& tensors = layout_->tensors();
    while (tensor_ < tensors.size() && offset_ >= tensors[tensor_].numel * 4) {
      ++tensor_;
      offset_ = 0;
    }
    if (tensor_ == tensors.size()) return false;
    const auto& t = tensors[tensor_];
    const char* base = reinterpret_cast<const char*>(params_ + t.offset);
    chunk_.set_version(upload_.version);
    chunk_.set_model(upload_.model);
    chunk_.set_stage_only(upload_.stage_only);
    chunk_.set_tensor(t.name);
    chunk_.set_offset(offset_);
    chunk_.set_data(base + offset_, std::min(kChunkBytes, t.numel * 4 - offset_));
    chunk_.set_crc32c(Crc32c(chunk_.data().data(), chunk_.data().size()));
    offset_ += kChunkBytes;
    return true;
  }

  const model::ParameterLayout* layout_;  // the caller's: read only while !abandoned_
  const float* params_;                   // likewise
  const WeightUpload upload_;
  grpc::ClientContext context_;
  v1::PushWeightsResponse response_;
  std::shared_ptr<ChunkWriter> self_;  // keeps the writer alive until OnDone
  size_t tensor_ = 0;
  int64_t offset_ = 0;
  bool last_written_ = false;
  v1::WeightChunk chunk_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool abandoned_ = false;
  grpc::Status status_;
};

}  // namespace

absl::Status UploadWeights(v1::RolloutService::Stub* stub, const model::ParameterLayout& layout,
                           const float* params, const WeightUpload& upload,
                           v1::PushWeightsResponse* response) {
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(static_cast<int64_t>(
                           (upload.timeout_seconds + kCancelGraceSeconds) * 1000));
  auto writer = std::make_shared<ChunkWriter>(layout, params, upload);
  writer->Start(stub, writer);
  grpc::Status status;
  if (!writer->Wait(give_up, &status, response)) {
    return absl::DeadlineExceededError(
        absl::StrCat("weight push not finished within ", upload.timeout_seconds,
                     " s and not ended by gRPC at its deadline; call abandoned"));
  }
  return rpc::FromGrpc(status);
}

}  // namespace flywheel::learner
