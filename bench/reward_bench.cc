// flywheel-bench reward: math verification items/s on the GSM8K test set (each reference solution
// scored against its own final answer) through a flywheel-reward service over loopback gRPC with
// ctx.threads workers, beside the reward library called in-process on one thread, measured in
// the same run. The ratio shows what the daemon (RPC, workers) adds on top of the verifier.
#include <chrono>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "nlohmann/json.hpp"
#include "reward/reward_service.h"
#include "reward/score.h"

namespace flywheel::bench {
namespace {

struct Item {
  std::string completion, task;
};

std::vector<Item> LoadGsm8k(const std::string& path) {
  std::vector<Item> items;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("answer")) continue;
    const std::string answer = j["answer"];
    const size_t hash = answer.rfind("####");
    if (hash == std::string::npos) continue;
    std::string gold = answer.substr(hash + 4);
    items.push_back({answer, nlohmann::json{{"verifier", "math"}, {"gold", gold}}.dump()});
  }
  return items;
}

std::vector<BenchResult> RunRewardBench(const BenchContext& ctx) {
  const std::string path = ctx.source_dir + "/../shared/data/gsm8k/test.jsonl";
  const std::vector<Item> items = LoadGsm8k(path);
  if (items.empty()) {
    std::fprintf(stderr, "reward bench: no GSM8K items at %s\n", path.c_str());
    return {};
  }
  const int reps = ctx.quick ? 1 : 5;

  // Anchor: the library in-process, one thread, specs parsed per item as the daemon does.
  int correct = 0;
  const double lib_s = BestSeconds(reps, [&] {
    correct = 0;
    for (const Item& it : items) {
      auto spec = reward::ParseTaskSpecText(it.task);
      auto r = reward::ScoreItem(*spec, {"", it.completion, -1});
      correct += r.ok() && r->correct;
    }
  });

  reward::RewardServiceOptions opt;
  opt.threads = ctx.threads;
  reward::RewardService service(opt, nullptr, nullptr);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = v1::RewardService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  // Batches of 256, as the learner sends them; built once, outside the timed loop.
  std::vector<v1::ScoreRewardsRequest> batches;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i % 256 == 0) batches.emplace_back();
    auto* r = batches.back().add_items();
    r->set_completion(items[i].completion);
    r->set_task_json(items[i].task);
  }
  int daemon_correct = 0;
  const double rpc_s = BestSeconds(reps, [&] {
    daemon_correct = 0;
    for (const auto& b : batches) {
      grpc::ClientContext c;
      v1::ScoreRewardsResponse resp;
      if (!stub->Score(&c, b, &resp).ok()) std::abort();
      for (const auto& res : resp.results()) daemon_correct += res.correct();
    }
  });
  server->Shutdown();
  if (correct != static_cast<int>(items.size()) || daemon_correct != correct) {
    std::fprintf(stderr, "reward bench: %d / %d / %zu correct (expected all)\n", correct,
                 daemon_correct, items.size());
  }
  const double n = static_cast<double>(items.size());
  return {MakeResult(absl::StrCat("gsm8k_math_verify_daemon_", ctx.threads, "workers"), n / rpc_s,
                     "items/s", "library_in_process_1thread", n / lib_s)};
}

}  // namespace

FW_REGISTER_BENCH("reward", "GSM8K math verification items/s through the reward daemon",
                  RunRewardBench);

}  // namespace flywheel::bench
