// flywheel-bench load: the daemons under sustained concurrent load, over loopback gRPC to real
// flywheel-rollout and flywheel-reward processes (cli::LocalCluster).
//
//  - 64 concurrent Generate clients on one rollout server (the 4M "small" model, 32 new tokens per
//    request) for 60 s (--quick: 5 s): requests/s, tokens/s, p50/p99 latency and the errors
//    (goal: 0). Anchor: one client alone for a quarter of the time, in the same run, so the
//    throughput ratio is what the engine's continuous batching makes of the concurrency.
//  - The reward server scoring 1M math items (--quick: 50k) in requests of 128 items from 8
//    concurrent clients, as the learner sends them: items/s and errors. Anchor: the reward library
//    in-process on one thread over the first 50k items.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/bench_report.h"
#include "cli/local_cluster.h"
#include "common/model/checkpoint.h"
#include "common/rpc/client.h"
#include "common/tokenizer/byte_level_tokenizer.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "reward/score.h"

namespace flywheel::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct GenerateLoad {
  int64_t requests = 0, tokens = 0, errors = 0;
  double seconds = 0, p50 = 0, p99 = 0;
  std::string first_error;  // what the first failed request said
};

// `clients` threads, each sending Generate requests back to back for `seconds`.
GenerateLoad RunGenerate(const std::string& address, int clients, double seconds) {
  auto channel = rpc::MakeChannel(address);
  std::mutex mu;
  std::vector<double> latencies;
  std::string first_error;
  std::atomic<int64_t> tokens{0}, errors{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto stub = v1::RolloutService::NewStub(channel);
      std::vector<double> mine;
      for (uint64_t i = 0; Since(t0) < seconds; ++i) {
        v1::GenerateRequest req;
        for (int k = 0; k < 16; ++k)
          req.add_prompt_ids(static_cast<int32_t>((c * 131 + i * 17 + k * 7) % 250));
        req.set_n(1);
        req.mutable_sampling()->set_max_tokens(32);
        req.mutable_sampling()->set_temperature(1.0f);
        req.mutable_sampling()->set_ignore_eos(true);
        req.mutable_sampling()->set_seed(static_cast<uint64_t>(c) * 1000003 + i);
        grpc::ClientContext ctx;
        rpc::SetDeadline(&ctx, 60);
        v1::GenerateResponse resp;
        const auto r0 = Clock::now();
        const grpc::Status st = stub->Generate(&ctx, req, &resp);
        if (!st.ok()) {
          if (errors.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> lock(mu);
            first_error = absl::StrCat(st.error_code(), ": ", st.error_message());
          }
          continue;
        }
        mine.push_back(Since(r0));
        for (const auto& comp : resp.completions()) tokens.fetch_add(comp.token_ids_size());
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  GenerateLoad out;
  out.seconds = Since(t0);
  out.requests = static_cast<int64_t>(latencies.size());
  out.tokens = tokens.load();
  out.errors = errors.load();
  out.first_error = first_error;
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    out.p50 = latencies[latencies.size() / 2];
    out.p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return out;
}

// Item i: a completion ending in \boxed{answer} and a math task; every third one is wrong.
void MakeItem(int64_t i, v1::RewardItem* item) {
  const int64_t answer = (i * 7919) % 100000;
  item->set_prompt(absl::StrCat("What is ", answer, " + 0?"));
  item->set_completion(absl::StrCat("Adding zero changes nothing, so the answer is \\boxed{",
                                    i % 3 == 0 ? answer + 1 : answer, "}."));
  item->set_task_json(
      nlohmann::json{{"verifier", "math"}, {"gold", std::to_string(answer)}}.dump());
}

struct RewardLoad {
  int64_t items = 0, errors = 0, correct = 0;
  double seconds = 0;
};

RewardLoad RunReward(const std::string& address, int64_t items, int clients) {
  constexpr int64_t kPerRequest = 128;
  auto channel = rpc::MakeChannel(address);
  std::atomic<int64_t> next{0}, errors{0}, correct{0}, scored{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      auto stub = v1::RewardService::NewStub(channel);
      while (true) {
        const int64_t begin = next.fetch_add(kPerRequest);
        if (begin >= items) break;
        v1::ScoreRewardsRequest req;
        for (int64_t i = begin; i < std::min(items, begin + kPerRequest); ++i)
          MakeItem(i, req.add_items());
        grpc::ClientContext ctx;
        rpc::SetDeadline(&ctx, 120);
        v1::ScoreRewardsResponse resp;
        if (!stub->Score(&ctx, req, &resp).ok()) {
          errors.fetch_add(req.items_size());
          continue;
        }
        for (const auto& r : resp.results()) {
          if (!r.error().empty()) errors.fetch_add(1);
          correct.fetch_add(r.correct());
        }
        scored.fetch_add(resp.results_size());
      }
    });
  }
  for (auto& t : threads) t.join();
  return {scored.load(), errors.load(), correct.load(), Since(t0)};
}

// The anchor: the reward library on one thread, specs parsed per item as the daemon does.
double LibraryItemsPerSecond(int64_t items) {
  const auto t0 = Clock::now();
  for (int64_t i = 0; i < items; ++i) {
    v1::RewardItem item;
    MakeItem(i, &item);
    auto spec = reward::ParseTaskSpecText(item.task_json());
    if (spec.ok()) (void)reward::ScoreItem(*spec, {item.prompt(), item.completion(), -1});
  }
  return static_cast<double>(items) / Since(t0);
}

std::vector<BenchResult> RunLoadBench(const BenchContext& ctx) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("flywheel-bench-load-" + std::to_string(::getpid()));
  auto config = model::PresetConfig("small");
  if (!config.ok()) return {};
  const auto weights = model::RandomModel(*config, 11);
  if (!model::SaveModelDir((dir / "model").string(), weights.config, weights.params.data()).ok() ||
      !tokenizer::WriteByteLevelTokenizer((dir / "model").string()).ok()) {
    std::fprintf(stderr, "load bench: cannot write the model under %s\n", dir.c_str());
    return {};
  }
  cli::LocalClusterOptions options;
  options.model_dir = (dir / "model").string();
  options.state_dir = (dir / "state").string();
  options.learner_listen = "127.0.0.1:0";
  options.rollout_threads = ctx.threads;
  options.reward_threads = ctx.threads;
  auto cluster = cli::LocalCluster::Start(options);
  std::vector<BenchResult> out;
  if (!cluster.ok()) {
    std::fprintf(stderr, "load bench: %s\n", std::string(cluster.status().message()).c_str());
  } else {
    const double seconds = ctx.quick ? 5 : 60;
    const std::string rollout = (*cluster)->rollout_addresses()[0];
    const GenerateLoad one = RunGenerate(rollout, 1, seconds / 4);
    const GenerateLoad many = RunGenerate(rollout, 64, seconds);
    std::fprintf(stderr,
                 "load bench: 64 clients x %.0f s: %lld requests, %lld tokens, %lld errors; "
                 "p50 %.1f ms, p99 %.1f ms\n",
                 many.seconds, static_cast<long long>(many.requests),
                 static_cast<long long>(many.tokens), static_cast<long long>(many.errors),
                 many.p50 * 1e3, many.p99 * 1e3);
    for (const GenerateLoad* g : {&one, &many}) {
      if (g->errors > 0)
        std::fprintf(stderr, "load bench: first error: %s\n", g->first_error.c_str());
    }
    out.push_back(MakeResult("generate_64_clients_tokens", many.tokens / many.seconds, "tok/s",
                             "1_client", one.tokens / one.seconds));
    out.push_back(MakeResult("generate_64_clients_requests", many.requests / many.seconds, "req/s",
                             "1_client", one.requests / one.seconds));
    out.push_back(
        MakeResult("generate_64_clients_p50", many.p50 * 1e3, "ms", "1_client_p50", one.p50 * 1e3));
    out.push_back(
        MakeResult("generate_64_clients_p99", many.p99 * 1e3, "ms", "1_client_p50", one.p50 * 1e3));
    out.push_back(MakeResult("generate_64_clients_errors", static_cast<double>(many.errors),
                             "errors", "goal", 0));

    const int64_t items = ctx.quick ? 50000 : 1000000;
    const RewardLoad load = RunReward((*cluster)->reward_addresses()[0], items, 8);
    std::fprintf(stderr, "load bench: reward %lld items in %.1f s, %lld correct, %lld errors\n",
                 static_cast<long long>(load.items), load.seconds,
                 static_cast<long long>(load.correct), static_cast<long long>(load.errors));
    out.push_back(MakeResult(absl::StrCat("reward_", items, "_items"), load.items / load.seconds,
                             "items/s", "library_1thread", LibraryItemsPerSecond(50000)));
    out.push_back(
        MakeResult("reward_items_errors", static_cast<double>(load.errors), "errors", "goal", 0));
    (void)(*cluster)->Stop();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

}  // namespace

FW_REGISTER_BENCH("load",
                  "64 concurrent Generate clients for 60 s; the reward server with 1M items",
                  RunLoadBench);

}  // namespace flywheel::bench
