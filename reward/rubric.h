// Rubric rewards (Rubrics as Rewards, arXiv 2507.17746, explicit aggregation). A rubric is a list
// of criteria, each with a weight — negative for a pitfall — and a kind: a rule flywheel checks
// itself (contains, regex, word and character limits, valid JSON) or a judged criterion that a
// judge model scores (see judge.h). Each criterion yields c_j in [0, 1]: 1 when the statement
// holds (for a pitfall: when the pitfall occurs).
//
// Aggregation, with P the criteria of positive weight:
//   r = clip( sum_j w_j c_j / sum_{j in P} w_j , 0, 1 )
// A rubric of pitfalls only (P empty) starts from full marks and loses each pitfall's share:
//   r = clip( 1 + sum_j w_j c_j / sum_j |w_j| , 0, 1 )
// so that avoiding every pitfall scores 1 and committing all of them scores 0.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "reward/regex.h"

namespace flywheel::reward {

struct Criterion {
  enum class Kind {
    kContains,   // `text` occurs in the response (ASCII case-insensitive unless case_sensitive)
    kRegex,      // `regex` matches somewhere in the response
    kMinWords,   // at least `limit` whitespace-separated words
    kMaxWords,   // at most `limit` words
    kMaxChars,   // at most `limit` Unicode code points
    kJsonValid,  // the response (a ```json fence allowed) is one valid JSON value
    kJudge,      // scored by the judge model
  };
  std::string title;
  std::string description;
  double weight = 1.0;
  Kind kind = Kind::kJudge;
  std::string text;
  bool case_sensitive = false;
  std::shared_ptr<const Regex> regex;
  int64_t limit = 0;
};

struct Rubric {
  std::vector<Criterion> criteria;
  bool has_judged() const;
};

struct RubricLimits {
  // RaR rubrics have 7-20 items; 256 bounds judge batches per item.
  size_t max_criteria = 256;
  // A `contains` needle or a description longer than this is a spec error, not a criterion.
  size_t max_text_bytes = 16 * 1024;
  RegexLimits regex;
};

// Parses a JSON array of criteria:
//   {"title": "...", "description": "...", "weight": 5, "kind": "judge"}       (kind defaults to
//   judge)
//   {"title": "...", "weight": -2, "kind": "contains", "text": "...", "case_sensitive": false}
//   {"kind": "regex", "pattern": "..."}, {"kind": "max_words", "limit": 200}, {"kind":
//   "json_valid"}
// InvalidArgument naming the criterion index for unknown kinds or keys, missing fields, a zero or
// non-finite weight, an invalid regex, an empty rubric, or a rubric whose weights cancel to
// nothing.
absl::StatusOr<Rubric> ParseRubric(const nlohmann::json& json, const RubricLimits& limits = {});

// c_j of a rule criterion for `response`: 0 or 1. ResourceExhausted when a regex hits its match
// limit; InvalidArgument for a judged criterion (those are scored by a Judge).
absl::StatusOr<double> CheckRule(const Criterion& criterion, std::string_view response);

// r from the criteria and their c_j (same order, each in [0, 1]); see the file comment.
absl::StatusOr<double> AggregateRubric(const Rubric& rubric, const std::vector<double>& satisfied);

}  // namespace flywheel::reward
