#include "learner/tasks/expr_task.h"

#include <memory>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "learner/tasks/seeded_random.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace {

// Draws that keep failing (values out of range) give up after this many tries per expression.
constexpr int kMaxTries = 100;

struct Node {
  char op = 0;  // 0: a literal
  int64_t value = 0;
  int ops = 0;
  std::unique_ptr<Node> left, right;
};

int Precedence(char op) { return op == '*' ? 2 : 1; }

// Only the parentheses precedence needs, and those around the right operand of '-' when it is
// itself a sum or difference (the same rule as the reward service's canonical form).
std::string Print(const Node& n, int parent_precedence = 0, bool right_of_minus = false) {
  if (n.op == 0) return absl::StrCat(n.value);
  const int p = Precedence(n.op);
  std::string body =
      absl::StrCat(Print(*n.left, p, false), std::string(1, n.op), Print(*n.right, p, n.op == '-'));
  const bool parens = p < parent_precedence || (p == parent_precedence && right_of_minus);
  return parens ? absl::StrCat("(", body, ")") : body;
}

class Generator {
 public:
  Generator(const ExprTaskOptions& o) : o_(o), rng_(o.seed) {}

  // An expression of exactly `ops` operators whose every value stays in [0, max_value];
  // nullptr after kMaxTries failed draws.
  std::unique_ptr<Node> Draw(int ops) {
    for (int t = 0; t < kMaxTries; ++t) {
      if (auto n = Build(ops)) return n;
    }
    return nullptr;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::unique_ptr<Node> Build(int ops) {
    auto n = std::make_unique<Node>();
    if (ops == 0) {
      n->value = LadderOperand(rng_, o_.digits);
      return n;
    }
    const int left_ops = static_cast<int>(UniformBelow(rng_, static_cast<uint64_t>(ops)));
    n->op = o_.ops[UniformBelow(rng_, o_.ops.size())];
    n->left = Build(left_ops);
    if (!n->left) return nullptr;
    n->right = Build(ops - 1 - left_ops);
    if (!n->right) return nullptr;
    const int64_t a = n->left->value, b = n->right->value;
    n->value = n->op == '+' ? a + b : n->op == '-' ? a - b : a * b;
    n->ops = ops;
    if (n->value < 0 || n->value > o_.max_value) return nullptr;
    return n;
  }

  const ExprTaskOptions& o_;
  std::mt19937_64 rng_;
};

ExprProblem ToProblem(const Node& n) { return {Print(n), n.value, n.ops}; }

// The inner nodes (an operator each) below the root, in pre-order.
void InnerNodes(const Node& n, bool root, std::vector<const Node*>* out) {
  if (n.op == 0) return;
  if (!root) out->push_back(&n);
  InnerNodes(*n.left, false, out);
  InnerNodes(*n.right, false, out);
}

absl::Status Check(const ExprTaskOptions& o) {
  if (o.digits < 1 || o.digits > 4) {
    return absl::InvalidArgumentError(absl::StrCat("digits must be in 1..4, got ", o.digits));
  }
  if (o.ops.empty() || o.ops.find_first_not_of("+-*") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("ops must be a subset of +-*, got \"", o.ops, "\""));
  }
  if (o.target_ops < 2 || o.target_ops > 8) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target_ops must be in 2..8 (a target needs a simpler part), got ", o.target_ops));
  }
  if (o.train_count < 0 || o.eval_count < 0 || o.warm_start_count < 0) {
    return absl::InvalidArgumentError("counts must be >= 0");
  }
  if (o.max_value < 1) return absl::InvalidArgumentError("max_value must be >= 1");
  return absl::OkStatus();
}

}  // namespace

std::string ApplyTemplate(const std::string& tmpl, const std::string& text) {
  return absl::StrReplaceAll(tmpl, {{"{problem}", text}, {"{target}", text}});
}

absl::StatusOr<ExprSplits> GenerateExprSplits(const ExprTaskOptions& o) {
  if (absl::Status s = Check(o); !s.ok()) return s;
  Generator gen(o);
  ExprSplits out;
  std::set<std::string> seen;
  // Held-out targets first, so that they depend on the seed and eval_count only.
  for (auto* split : {&out.eval, &out.train}) {
    const int64_t count = split == &out.eval ? o.eval_count : o.train_count;
    int misses = 0;
    while (static_cast<int64_t>(split->size()) < count) {
      std::unique_ptr<Node> n = gen.Draw(o.target_ops);
      if (n && seen.insert(Print(*n)).second) {
        split->push_back(ToProblem(*n));
        misses = 0;
      } else if (++misses > kMaxTries) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot draw ", count, " distinct targets with these options (", split->size(),
            " drawn); allow more digits, operators or a larger max_value"));
      }
    }
  }
  for (int64_t i = 0; i < o.warm_start_count; ++i) {
    if (i % 2 == 0) {
      // An easy problem: fewer operators than a target.
      const int ops = 1 + static_cast<int>(UniformBelow(gen.rng(), o.target_ops - 1));
      if (auto n = gen.Draw(ops)) out.warm_problems.push_back(ToProblem(*n));
    } else if (auto n = gen.Draw(o.target_ops)) {
      // A target-like expression and one of its parts with at least one operator.
      std::vector<const Node*> inner;
      InnerNodes(*n, true, &inner);
      if (inner.empty()) continue;
      const Node* part = inner[UniformBelow(gen.rng(), inner.size())];
      out.warm_conjectures.push_back({ToProblem(*n), ToProblem(*part)});
    }
  }
  return out;
}

std::string ExprTargetJson(const ExprProblem& p, const ExprTaskOptions& o) {
  const std::string answer = absl::StrCat(p.value);
  nlohmann::ordered_json j;
  j["prompt"] = ApplyTemplate(o.solver_template, p.expr);
  j["answer"] = answer;
  j["problem"] = p.expr;
  j["task"] = {{"verifier", "math"}, {"gold", answer}, {"math", {{"extract", {"last_number"}}}}};
  return j.dump();
}

std::vector<std::string> ExprWarmStartJson(const ExprSplits& s, const ExprTaskOptions& o) {
  std::vector<std::string> lines;
  for (const ExprProblem& p : s.warm_problems) {
    lines.push_back(nlohmann::ordered_json{{"prompt", ApplyTemplate(o.solver_template, p.expr)},
                                           {"answer", absl::StrCat(p.value)}}
                        .dump());
  }
  for (const auto& [target, part] : s.warm_conjectures) {
    lines.push_back(nlohmann::ordered_json{
        {"prompt", ApplyTemplate(o.conjecture_template, target.expr)},
        {"answer",
         part.expr}}.dump());
  }
  return lines;
}

}  // namespace flywheel::learner
