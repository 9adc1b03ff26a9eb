// flywheel generate --server ADDR (--prompt TEXT | --prompt-ids JSON) [-n N] [--temperature T]
//                   [--top-p P] [--top-k K] [--min-p P] [--max-tokens N] [--seed N]
//                   [--stop STR] [--ignore-eos] [--timeout SECONDS] [--json]
//                   [--tls-ca F [--tls-cert F --tls-key F]]
// Samples completions from a flywheel-rollout server. With --json, one line per sample:
// {"prompt": [ids], "completion": [ids], "logprobs": [...], "versions": [...],
//  "finish_reason": "..."}, floats printed to round-trip exactly, so the output can be piped into
// `flywheel logprobs --model DIR` for an independent bit-for-bit check.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/json_floats.h"
#include "common/base/flags.h"
#include "common/rpc/client.h"
#include "common/rpc/status.h"
#include "flywheel/v1/rollout.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel generate --server HOST:PORT (--prompt TEXT | --prompt-ids JSON) [flags]\n"
    "  --prompt TEXT        prompt text (the server tokenizes it)\n"
    "  --prompt-ids JSON    prompt token ids, e.g. [1,2,3]\n"
    "  -n, --n N            samples of the prompt (default 1)\n"
    "  --temperature T      0 = greedy (default 1)\n"
    "  --top-p P            nucleus sampling, (0, 1] (default 1)\n"
    "  --top-k K            keep the K most likely tokens (default 0 = off)\n"
    "  --min-p P            drop tokens below P x the most likely one (default 0)\n"
    "  --max-tokens N       tokens per sample (default 0 = up to the context)\n"
    "  --seed N             sampling seed (default 0)\n"
    "  --stop STR           stop string\n"
    "  --ignore-eos         keep going past the end-of-sequence token\n"
    "  --timeout SECONDS    deadline of the call (default 600)\n"
    "  --json               one JSON line per sample (pipe into `flywheel logprobs`)\n";

int Generate(const std::vector<std::string>& raw_args) {
  std::vector<std::string> args;
  for (const auto& a : raw_args) args.push_back(a == "-n" ? "--n" : a);
  static const std::string usage = std::string(kUsage) + rpc::kClientTlsUsage;
  int exit_code = 0;
  std::set<std::string> valued = {"server",      "prompt",     "prompt-ids", "n",
                                  "temperature", "top-p",      "top-k",      "min-p",
                                  "seed",        "max-tokens", "stop",       "timeout"};
  rpc::AddClientTlsFlags(&valued);
  auto flags = Flags::ParseOrUsage("flywheel generate", args, valued, {"json", "ignore-eos"},
                                   {"server"}, usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto channel = rpc::ChannelOptionsFromFlags(*flags);
  if (!channel.ok()) {
    std::fprintf(stderr, "flywheel generate: %s\n",
                 std::string(channel.status().message()).c_str());
    return 1;
  }
  if (flags->Has("prompt") == flags->Has("prompt-ids")) {
    std::fprintf(stderr, "flywheel generate: give exactly one of --prompt and --prompt-ids\n%s",
                 usage.c_str());
    return 2;
  }
  v1::GenerateRequest req;
  if (auto ids = flags->Get("prompt-ids")) {
    auto j = nlohmann::json::parse(*ids, nullptr, false);
    if (!j.is_array()) {
      std::fprintf(stderr, "flywheel generate: --prompt-ids must be a JSON array of integers\n");
      return 2;
    }
    for (const auto& v : j) {
      if (!v.is_number_integer()) {
        std::fprintf(stderr, "flywheel generate: --prompt-ids must be a JSON array of integers\n");
        return 2;
      }
      req.add_prompt_ids(v.get<int32_t>());
    }
  } else {
    req.set_prompt_text(*flags->Get("prompt"));
  }
  auto n = flags->GetInt("n", 1);
  auto temperature = flags->GetDouble("temperature", 1.0);
  auto top_p = flags->GetDouble("top-p", 1.0);
  auto top_k = flags->GetInt("top-k", 0);
  auto min_p = flags->GetDouble("min-p", 0.0);
  auto max_tokens = flags->GetInt("max-tokens", 0);
  auto seed = flags->GetInt("seed", 0);
  auto timeout = flags->GetDouble("timeout", 600);
  for (const absl::Status& st :
       {n.status(), temperature.status(), top_p.status(), top_k.status(), min_p.status(),
        max_tokens.status(), seed.status(), timeout.status()}) {
    if (!st.ok()) {
      std::fprintf(stderr, "flywheel generate: %s\n", std::string(st.message()).c_str());
      return 2;
    }
  }
  req.set_n(static_cast<int32_t>(*n));
  auto* s = req.mutable_sampling();
  s->set_temperature(static_cast<float>(*temperature));
  s->set_top_p(static_cast<float>(*top_p));
  s->set_top_k(static_cast<int32_t>(*top_k));
  s->set_min_p(static_cast<float>(*min_p));
  s->set_max_tokens(static_cast<int32_t>(*max_tokens));
  s->set_seed(static_cast<uint64_t>(*seed));
  s->set_ignore_eos(flags->Has("ignore-eos"));
  if (auto stop = flags->Get("stop")) s->add_stop(*stop);

  auto stub = v1::RolloutService::NewStub(rpc::MakeChannel(*flags->Get("server"), *channel));
  grpc::ClientContext ctx;
  rpc::SetDeadline(&ctx, *timeout);
  v1::GenerateResponse resp;
  grpc::Status st = stub->Generate(&ctx, req, &resp);
  if (!st.ok()) {
    std::fprintf(stderr, "flywheel generate: %s: %s\n", rpc::FromGrpc(st).ToString().c_str(),
                 flags->Get("server")->c_str());
    return 1;
  }
  for (const auto& c : resp.completions()) {
    std::vector<float> lps(c.logprobs().begin(), c.logprobs().end());
    if (flags->Has("json")) {
      std::string line =
          "{\"prompt\":" +
          nlohmann::json(std::vector<int32_t>(resp.prompt_ids().begin(), resp.prompt_ids().end()))
              .dump();
      line +=
          ",\"completion\":" +
          nlohmann::json(std::vector<int32_t>(c.token_ids().begin(), c.token_ids().end())).dump();
      line += ",\"logprobs\":";
      AppendFloatArray(&line, lps);
      line += ",\"versions\":" +
              nlohmann::json(std::vector<int64_t>(c.versions().begin(), c.versions().end())).dump();
      line += ",\"finish_reason\":" + nlohmann::json(c.finish_reason()).dump() + "}";
      std::printf("%s\n", line.c_str());
    } else {
      double sum = 0;
      for (float lp : lps) sum += lp;
      std::printf("--- sample %d (%d tokens, %s, sum logprob %.4f)\n", c.index(),
                  c.token_ids_size(), c.finish_reason().c_str(), sum);
      if (!c.text().empty()) std::printf("%s\n", c.text().c_str());
      std::string ids = "ids:";
      for (int i = 0; i < c.token_ids_size(); ++i) absl::StrAppend(&ids, " ", c.token_ids(i));
      std::printf("%s\n", ids.c_str());
      std::string lp = "logprobs:";
      for (float v : lps) absl::StrAppend(&lp, " ", absl::StrFormat("%.4f", v));
      std::printf("%s\n", lp.c_str());
    }
  }
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("generate", "sample completions from a flywheel-rollout server", Generate);

}  // namespace flywheel::cli
