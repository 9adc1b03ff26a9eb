// flywheel jobs [--learner ADDR] [--token-file F] [--tls-ca F [--tls-cert F --tls-key F]]
// Lists the learner's jobs as a table: id, name, algorithm, state, step/steps, the latest reward
// mean, the latest eval accuracy and the age, oldest first.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "absl/strings/str_format.h"
#include "cli/command.h"
#include "cli/learner_client.h"
#include "common/base/flags.h"
#include "common/rpc/client.h"

namespace flywheel::cli {
namespace {

constexpr double kTimeoutSeconds = 30;

int Jobs(const std::vector<std::string>& args) {
  static const std::string usage =
      std::string(
          "usage: flywheel jobs [--learner HOST:PORT] [--token-file F] [TLS flags]\n"
          "  (with tenants, lists the jobs of the token's tenant; the admin sees all)\n") +
      LearnerFlagsUsage();
  std::set<std::string> valued;
  AddLearnerFlags(&valued);
  int exit_code = 0;
  auto flags =
      Flags::ParseOrUsage("flywheel jobs", args, valued, {}, {}, usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto learner = ConnectLearnerOrSay(*flags, "flywheel jobs");
  if (!learner) return 1;
  const std::string& address = learner->address;
  grpc::ClientContext context;
  learner->Prepare(&context, kTimeoutSeconds);
  v1::ListJobsResponse response;
  const grpc::Status st = learner->stub->ListJobs(&context, v1::ListJobsRequest(), &response);
  if (!st.ok()) {
    std::fprintf(stderr, "flywheel jobs: %s\n", DescribeRpcError(st, address).c_str());
    return 1;
  }
  std::vector<v1::Job> jobs(response.jobs().begin(), response.jobs().end());
  if (jobs.empty()) {
    std::printf("no jobs on %s\n", address.c_str());
    return 0;
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const v1::Job& a, const v1::Job& b) {
    return a.created_unix() < b.created_unix();
  });
  const double now = static_cast<double>(std::time(nullptr));
  // A TENANT column when the learner has tenants (the admin then sees whose job is whose).
  const bool tenants =
      std::any_of(jobs.begin(), jobs.end(), [](const v1::Job& j) { return !j.tenant().empty(); });
  std::vector<std::vector<std::string>> rows = {
      {"ID", "NAME", "ALGO", "STATE", "STEP", "REWARD", "EVAL ACC", "AGE"}};
  if (tenants) rows[0].insert(rows[0].begin() + 1, "TENANT");
  for (const auto& j : jobs) {
    const bool has_reward = j.step() > 0 && j.spec().algorithm() != "sft";
    rows.push_back(
        {j.id(), j.spec().name().empty() ? "-" : j.spec().name(), j.spec().algorithm(),
         JobStateName(j.state()), absl::StrFormat("%d/%d", j.step(), j.spec().steps()),
         has_reward ? absl::StrFormat("%.3f", j.last_metrics().reward_mean()) : "-",
         j.has_eval_accuracy() ? absl::StrFormat("%.1f%%", 100 * j.eval_accuracy()) : "-",
         FormatAge(now - j.created_unix())});
    if (tenants) rows.back().insert(rows.back().begin() + 1, j.tenant());
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      line += r[c];
      if (c + 1 < r.size()) line += std::string(width[c] - r[c].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("jobs", "list the learner's jobs", Jobs);

}  // namespace flywheel::cli
