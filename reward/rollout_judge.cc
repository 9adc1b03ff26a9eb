#include "reward/rollout_judge.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"

namespace flywheel::reward {

namespace {

rpc::ChannelOptions WithTls(const rpc::ClientTls& tls) {
  rpc::ChannelOptions options;
  options.tls = tls;
  return options;
}

}  // namespace

RolloutJudge::RolloutJudge(const std::string& address, const rpc::ClientTls& tls,
                           double timeout_seconds)
    : stub_(v1::RolloutService::NewStub(rpc::MakeChannel(address, WithTls(tls)))),
      address_(address),
      timeout_seconds_(timeout_seconds) {}

absl::StatusOr<std::vector<double>> RolloutJudge::Score(const std::vector<JudgeQuery>& queries) {
  if (queries.empty()) return std::vector<double>{};
  v1::ScoreRequest req;
  for (const JudgeQuery& q : queries) {
    for (const std::string* cont : {&q.yes, &q.no}) {
      v1::ScoreItem* item = req.add_items();
      item->set_prompt_text(q.prompt);
      item->set_continuation_text(*cont);
    }
  }
  grpc::ClientContext ctx;
  rpc::SetDeadline(&ctx, timeout_seconds_);
  v1::ScoreResponse resp;
  grpc::Status st = stub_->Score(&ctx, req, &resp);
  if (!st.ok()) {
    absl::Status s = rpc::FromGrpc(st);
    return absl::Status(s.code(), absl::StrCat("judge at ", address_, ": ", s.message()));
  }
  if (resp.results_size() != 2 * static_cast<int>(queries.size())) {
    return absl::InternalError(absl::StrCat("judge at ", address_, " returned ",
                                            resp.results_size(), " results for ",
                                            2 * queries.size(), " items"));
  }
  std::vector<double> out;
  for (size_t i = 0; i < queries.size(); ++i) {
    double lp[2] = {0, 0};  // A multi-token continuation's logprob is the sum over its tokens.
    for (int k = 0; k < 2; ++k) {
      for (float v : resp.results(2 * i + k).logprobs()) lp[k] += v;
    }
    out.push_back(YesProbability(lp[0], lp[1]));
  }
  return out;
}

}  // namespace flywheel::reward
