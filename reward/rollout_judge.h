// The Judge that asks a real judge model: a flywheel-rollout server's prefill-only Score of the
// two continuations (" yes", " no") after each rendered judging prompt. No sampling, so scores
// are deterministic. All queries of a call go to the server in one Score request.
//
// Thread safety: Score may be called from several threads at once (gRPC stubs are thread-safe).
#pragma once

#include <memory>
#include <string>

#include "common/rpc/tls.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "reward/judge.h"

namespace flywheel::reward {

class RolloutJudge : public Judge {
 public:
  // `address` is the rollout server's HOST:PORT; it must have a tokenizer (queries are text).
  // tls secures the channel (plaintext when not enabled).
  explicit RolloutJudge(const std::string& address, const rpc::ClientTls& tls = {},
                        double timeout_seconds = 60);

  absl::StatusOr<std::vector<double>> Score(const std::vector<JudgeQuery>& queries) override;

 private:
  std::unique_ptr<flywheel::v1::RolloutService::Stub> stub_;
  std::string address_;
  double timeout_seconds_;
};

}  // namespace flywheel::reward
