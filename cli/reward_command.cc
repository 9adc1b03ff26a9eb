// flywheel reward --server HOST:PORT --file ITEMS.jsonl [--batch N] [--timeout SECONDS]
//                 [--tls-ca F [--tls-cert F --tls-key F]]
// Scores a JSONL file of {"prompt": ..., "completion": ..., "task": {...}} with a flywheel-reward
// server ("completion_tokens" optional, for overlong shaping) and prints one JSON result per line:
// {"reward": r, "correct": b, "answer": "...", "terms": {...}, "reason": "..."} or
// {"error": "...", "code": "..."} for a line that could not be scored (exit status 1).
#include <cstdio>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "common/base/flags.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"
#include "flywheel/v1/reward.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel reward --server HOST:PORT --file ITEMS.jsonl [--batch N] [--timeout SECONDS]\n"
    "  ITEMS.jsonl: one {\"prompt\": str, \"completion\": str, \"task\": {...}} per line, e.g.\n"
    "    {\"prompt\": \"2+2?\", \"completion\": \"\\\\boxed{4}\", \"task\": {\"verifier\": "
    "\"math\", \"gold\": \"4\"}}\n"
    "  --batch    items per request (default 256)\n"
    "  --timeout  deadline of each request in seconds (default 300)\n";

nlohmann::json ToJson(const v1::RewardResult& r) {
  if (!r.error().empty()) {
    return {{"error", r.error()},
            {"code", absl::StatusCodeToString(static_cast<absl::StatusCode>(r.error_code()))}};
  }
  nlohmann::json terms = nlohmann::json::object();
  for (const auto& t : r.terms()) terms[t.name()] = t.value();
  nlohmann::json out = {
      {"reward", r.total()}, {"correct", r.correct()}, {"answer", r.answer()}, {"terms", terms}};
  if (!r.reason().empty()) out["reason"] = r.reason();
  if (r.criteria_size() > 0) {
    nlohmann::json crit = nlohmann::json::array();
    for (const auto& c : r.criteria()) {
      crit.push_back({{"title", c.title()},
                      {"weight", c.weight()},
                      {"score", c.score()},
                      {"judged", c.judged()}});
    }
    out["criteria"] = crit;
  }
  return out;
}

int Reward(const std::vector<std::string>& args) {
  static const std::string usage = std::string(kUsage) + rpc::kClientTlsUsage;
  int exit_code = 0;
  std::set<std::string> valued = {"server", "file", "batch", "timeout"};
  rpc::AddClientTlsFlags(&valued);
  auto flags = Flags::ParseOrUsage("flywheel reward", args, valued, {}, {"server", "file"},
                                   usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto channel = rpc::ChannelOptionsFromFlags(*flags);
  if (!channel.ok()) {
    std::fprintf(stderr, "flywheel reward: %s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  auto batch = flags->GetInt("batch", 256);
  auto timeout = flags->GetDouble("timeout", 300);
  if (!batch.ok() || !timeout.ok() || *batch < 1 || !(*timeout > 0)) {
    std::fprintf(stderr, "flywheel reward: --batch and --timeout must be positive numbers\n");
    return 2;
  }
  std::ifstream in(*flags->Get("file"));
  if (!in) {
    std::fprintf(stderr, "flywheel reward: cannot read %s\n", flags->Get("file")->c_str());
    return 1;
  }
  auto stub = v1::RewardService::NewStub(rpc::MakeChannel(*flags->Get("server"), *channel));
  bool any_error = false;
  // Each input line becomes either a request item or an immediate error, printed in line order.
  std::vector<std::pair<int, std::string>> pending;  // (item index or -1, error)
  v1::ScoreRewardsRequest req;
  auto flush = [&]() -> bool {
    v1::ScoreRewardsResponse resp;
    if (req.items_size() > 0) {
      grpc::ClientContext ctx;
      rpc::SetDeadline(&ctx, *timeout);
      grpc::Status st = stub->Score(&ctx, req, &resp);
      if (!st.ok()) {
        std::fprintf(stderr, "flywheel reward: %s: %s\n", flags->Get("server")->c_str(),
                     rpc::FromGrpc(st).ToString().c_str());
        return false;
      }
    }
    for (const auto& [index, error] : pending) {
      nlohmann::json out = index < 0
                               ? nlohmann::json{{"error", error}, {"code", "INVALID_ARGUMENT"}}
                               : ToJson(resp.results(index));
      any_error |= out.contains("error");
      std::printf("%s\n", out.dump().c_str());
    }
    std::fflush(stdout);
    pending.clear();
    req.Clear();
    return true;
  };
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    std::string error;
    if (j.is_discarded() || !j.is_object()) {
      error = "not a JSON object";
    } else if (!j.contains("completion") || !j["completion"].is_string()) {
      error = "\"completion\" must be a string";
    } else if (!j.contains("task") || !(j["task"].is_object() || j["task"].is_string())) {
      error = "\"task\" must be an object";
    }
    if (!error.empty()) {
      pending.push_back({-1, absl::StrCat("line ", line_no, ": ", error)});
    } else {
      v1::RewardItem* item = req.add_items();
      item->set_prompt(j.value("prompt", std::string()));
      item->set_completion(j["completion"].get<std::string>());
      item->set_task_json(j["task"].is_string() ? j["task"].get<std::string>() : j["task"].dump());
      if (j.contains("completion_tokens") && j["completion_tokens"].is_number_integer()) {
        item->set_completion_tokens(j["completion_tokens"].get<int64_t>());
      }
      pending.push_back({req.items_size() - 1, ""});
    }
    if (req.items_size() >= *batch && !flush()) return 1;
  }
  if (!flush()) return 1;
  return any_error ? 1 : 0;
}

}  // namespace

FW_REGISTER_COMMAND("reward", "score a JSONL file of completions with a flywheel-reward server",
                    Reward);

}  // namespace flywheel::cli
