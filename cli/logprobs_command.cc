// flywheel logprobs --model DIR [--threads N] [--batch N]
// Reads JSON lines {"prompt": [ids], "completion": [ids]} on stdin and prints, per line,
// {"logprobs": [...]} for the completion tokens, computed by the full-sequence forward. Floats
// are printed to round-trip exactly, so the output can be compared bit for bit with what a
// rollout server reported. Lines are batched; batch invariance makes the batching invisible.
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/json_floats.h"
#include "common/base/flags.h"
#include "common/base/thread_pool.h"
#include "common/model/transformer.h"
#include "nlohmann/json.hpp"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel logprobs --model DIR [--threads N] [--batch N]\n"
    "  stdin:  one JSON object per line: {\"prompt\": [ids], \"completion\": [ids]}\n"
    "  stdout: one line per input line: {\"logprobs\": [...]} (one per completion token),\n"
    "          or {\"error\": \"...\"} for a line that cannot be scored (exit status 1)\n"
    "  --threads  worker threads (default: all cores)\n"
    "  --batch    sequences per forward pass (default 16)\n";

struct Item {
  std::string error;  // Non-empty: this line is reported as an error.
  std::vector<int32_t> seq;
  size_t prompt_len = 0;
};

absl::StatusOr<Item> ParseLine(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("not a JSON object");
  Item item;
  for (const char* key : {"prompt", "completion"}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", key, "\" must be an array of token ids"));
    }
    for (const auto& v : *it) {
      if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX) {
        return absl::InvalidArgumentError(
            absl::StrCat("\"", key, "\" holds a non-integer or out-of-range id"));
      }
      item.seq.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    if (std::string(key) == "prompt") item.prompt_len = item.seq.size();
  }
  if (item.prompt_len == 0)
    return absl::InvalidArgumentError("\"prompt\" must hold at least one token");
  return item;
}

int Logprobs(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage("flywheel logprobs", args, {"model", "threads", "batch"}, {},
                                   {"model"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  auto threads = flags->GetInt("threads", std::max(1u, std::thread::hardware_concurrency()));
  auto batch = flags->GetInt("batch", 16);
  if (!threads.ok() || !batch.ok() || *threads < 1 || *batch < 1) {
    std::fprintf(stderr, "flywheel logprobs: --threads and --batch must be positive integers\n");
    return 2;
  }
  auto model = model::Transformer::Load(*flags->Get("model"));
  if (!model.ok()) {
    std::fprintf(stderr, "flywheel logprobs: %s\n", std::string(model.status().message()).c_str());
    return 1;
  }
  ThreadPool pool(static_cast<int>(*threads));
  bool any_error = false;
  int64_t line_no = 0;
  std::vector<Item> items;
  auto flush = [&] {
    std::vector<std::vector<int32_t>> seqs;
    for (const Item& it : items) {
      if (it.error.empty()) seqs.push_back(it.seq);
    }
    model::ForwardResult result;
    absl::Status st =
        seqs.empty() ? absl::OkStatus() : (*model)->Forward(seqs, {}, &result, nullptr, &pool);
    size_t k = 0;
    for (const Item& it : items) {
      std::string out;
      if (!it.error.empty() || !st.ok()) {
        any_error = true;
        out = nlohmann::json{{"error", it.error.empty() ? std::string(st.message()) : it.error}}
                  .dump();
      } else {
        const auto& lp = result.logprobs[k++];
        std::vector<float> completion(lp.begin() + (it.prompt_len - 1), lp.end());
        out = "{\"logprobs\":";
        AppendFloatArray(&out, completion);
        out += "}";
      }
      std::printf("%s\n", out.c_str());
    }
    std::fflush(stdout);
    items.clear();
  };
  std::string line;
  while (std::getline(std::cin, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto item = ParseLine(line);
    if (item.ok()) {
      // Checked here so that one bad line does not fail the whole batch it lands in.
      if (auto st = (*model)->ValidateSequences({item->seq}); !st.ok()) {
        item = absl::InvalidArgumentError(st.message());
      }
    }
    if (!item.ok()) {
      Item bad;
      bad.error = absl::StrCat("line ", line_no, ": ", item.status().message());
      items.push_back(std::move(bad));
    } else {
      items.push_back(std::move(*item));
    }
    if (static_cast<int64_t>(items.size()) >= *batch) flush();
  }
  flush();
  return any_error ? 1 : 0;
}

}  // namespace

FW_REGISTER_COMMAND("logprobs", "score completions with a model (full-sequence forward)", Logprobs);

}  // namespace flywheel::cli
