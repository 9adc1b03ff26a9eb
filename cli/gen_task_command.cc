// flywheel gen-task arith --out DIR [--train N] [--eval N] [--digits D] [--ops +-*] [--seed S]
//                         [--allow-negative]
// flywheel gen-task expr --out DIR [--train N] [--eval N] [--ops-per-target N] [--digits D]
//                        [--ops +-*] [--max-value V] [--warm-start N] [--seed S]
// Writes a built-in task's train and eval sets as JSONL (DIR/train.jsonl, DIR/eval.jsonl): one
// {"prompt", "answer", "task"} row per line, which the learner reads for SFT, GRPO and self-play
// and the reward service scores with the row's task spec. expr also writes warm_start.jsonl, SFT
// rows for self-play's two roles.
#include <cstdio>
#include <string>
#include <vector>

#include "cli/task_files.h"
#include "cli/command.h"
#include "common/base/flags.h"
#include "learner/tasks/arith_task.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel gen-task arith --out DIR [--train N] [--eval N] [--digits D] [--ops OPS]\n"
    "                               [--seed S] [--allow-negative]\n"
    "  arith             questions like \"12+7=\" with the integer answer, scored by the math\n"
    "                    verifier (last-number extraction: the answer is the bare number)\n"
    "  --out             directory to write train.jsonl and eval.jsonl into (created if missing)\n"
    "  --train           train rows (default 10000)\n"
    "  --eval            eval rows, none of them in train (default 500)\n"
    "  --digits          largest operand length, 1..9 (default 2)\n"
    "  --ops             operators, a subset of +-* (default +-)\n"
    "  --seed            generator seed (default 0); the same options write the same bytes\n"
    "  --allow-negative  let subtractions go below zero (default: never negative)\n"
    "usage: flywheel gen-task expr --out DIR [--train N] [--eval N] [--ops-per-target N]\n"
    "                              [--digits D] [--ops OPS] [--max-value V] [--warm-start N]\n"
    "                              [--seed S]\n"
    "  expr              self-play targets such as \"3*(4+5)-2\" (train.jsonl: the targets,\n"
    "                    eval.jsonl: held-out ones, rows with \"problem\" and a math task) and\n"
    "                    warm_start.jsonl: SFT rows of easier problems and conjecture examples\n"
    "                    (a target -> one of its parts), in the selfplay job's default templates\n"
    "  --train, --eval   targets (defaults 500, 200); none in both\n"
    "  --ops-per-target  operators per target, 2..8 (default 3)\n"
    "  --digits          operand digits, 1..4 (default 1)\n"
    "  --ops             operators, a subset of +-* (default +-*)\n"
    "  --max-value       largest value of any part (default 999); values are never negative\n"
    "  --warm-start      SFT rows (default 4000)\n";

int Fail(const std::string& why, int code) {
  std::fprintf(stderr, "flywheel gen-task: %s\n", why.c_str());
  return code;
}

int GenExpr(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage("flywheel gen-task expr",
                                   std::vector<std::string>(args.begin() + 1, args.end()),
                                   {"out", "train", "eval", "ops-per-target", "digits", "ops",
                                    "max-value", "warm-start", "seed"},
                                   {}, {"out"}, kUsage, &exit_code);
  if (!flags) return exit_code;
  learner::ExprTaskOptions options;
  auto train = flags->GetInt("train", options.train_count);
  auto eval = flags->GetInt("eval", options.eval_count);
  auto ops = flags->GetInt("ops-per-target", options.target_ops);
  auto digits = flags->GetInt("digits", options.digits);
  auto max_value = flags->GetInt("max-value", options.max_value);
  auto warm = flags->GetInt("warm-start", options.warm_start_count);
  auto seed = flags->GetInt("seed", 0);
  for (const auto* v : {&train, &eval, &ops, &digits, &max_value, &warm, &seed}) {
    if (!v->ok()) return Fail(std::string(v->status().message()), 2);
  }
  options.train_count = *train;
  options.eval_count = *eval;
  options.target_ops = static_cast<int>(*ops);
  options.digits = static_cast<int>(*digits);
  options.ops = flags->GetOr("ops", options.ops);
  options.max_value = *max_value;
  options.warm_start_count = *warm;
  options.seed = static_cast<uint64_t>(*seed);
  auto files = WriteExprTaskDir(options, *flags->Get("out"));
  if (!files.ok()) {
    return Fail(std::string(files.status().message()),
                absl::IsInvalidArgument(files.status()) ? 2 : 1);
  }
  std::printf(
      "wrote %s (%zu targets), %s (%zu held-out) and %s (%zu SFT rows): expr, %d operators "
      "per target, digits %d, ops %s, seed %llu\n",
      files->train_path.c_str(), files->splits.train.size(), files->eval_path.c_str(),
      files->splits.eval.size(), files->warm_start_path.c_str(),
      files->splits.warm_problems.size() + files->splits.warm_conjectures.size(),
      options.target_ops, options.digits, options.ops.c_str(),
      static_cast<unsigned long long>(options.seed));
  if (!files->splits.train.empty()) {
    std::printf("example: %s\n",
                learner::ExprTargetJson(files->splits.train.front(), options).c_str());
  }
  return 0;
}

int GenTask(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "expr") return GenExpr(args);
  if (args[0] != "arith") {
    std::fprintf(stderr, "flywheel gen-task: unknown task \"%s\" (known: arith, expr)\n%s",
                 args[0].c_str(), kUsage);
    return 2;
  }
  int exit_code = 0;
  auto flags = Flags::ParseOrUsage("flywheel gen-task arith",
                                   std::vector<std::string>(args.begin() + 1, args.end()),
                                   {"out", "train", "eval", "digits", "ops", "seed"},
                                   {"allow-negative"}, {"out"}, kUsage, &exit_code);
  if (!flags) return exit_code;

  learner::ArithTaskOptions options;
  auto train = flags->GetInt("train", options.train_count);
  auto eval = flags->GetInt("eval", options.eval_count);
  auto digits = flags->GetInt("digits", options.digits);
  auto seed = flags->GetInt("seed", 0);
  for (const auto* v : {&train, &eval, &digits, &seed}) {
    if (!v->ok()) return Fail(std::string(v->status().message()), 2);
  }
  if (*digits < 1 || *digits > 9) {
    return Fail("--digits must be in 1..9, got " + std::to_string(*digits), 2);
  }
  options.train_count = *train;
  options.eval_count = *eval;
  options.digits = static_cast<int>(*digits);
  options.ops = flags->GetOr("ops", options.ops);
  options.seed = static_cast<uint64_t>(*seed);
  options.allow_negative = flags->Has("allow-negative");

  auto files = WriteArithTaskDir(options, *flags->Get("out"));
  if (!files.ok()) {
    return Fail(std::string(files.status().message()),
                absl::IsInvalidArgument(files.status()) ? 2 : 1);
  }
  const learner::ArithSplits* splits = &files->splits;
  const std::string& train_path = files->train_path;
  const std::string& eval_path = files->eval_path;
  std::printf("wrote %s (%zu rows) and %s (%zu rows): arith, digits %d, ops %s%s, seed %llu\n",
              train_path.c_str(), splits->train.size(), eval_path.c_str(), splits->eval.size(),
              options.digits, options.ops.c_str(),
              options.allow_negative ? ", negative results allowed" : "",
              static_cast<unsigned long long>(options.seed));
  if (!splits->train.empty()) {
    std::printf("example: %s\n", learner::ArithRowJson(splits->train.front()).c_str());
  }
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("gen-task", "write a built-in task's train/eval JSONL (arith, expr)", GenTask);

}  // namespace flywheel::cli
