// flywheel submit JOB.yaml|JOB.json [--learner ADDR] [--token-file F] [--timeout S] [--watch]
//                 [--tls-ca F [--tls-cert F --tls-key F]]
// Reads a job spec (field names as in proto/flywheel/v1/learner.proto's JobSpec; relative paths
// are relative to the file), submits it to the learner and prints the new job's id alone on
// stdout, so `ID=$(flywheel submit job.yaml)` works. A rejected spec prints every problem the
// learner found. --watch then follows the job like `flywheel watch`.
#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "cli/command.h"
#include "cli/command_args.h"
#include "cli/job_spec_file.h"
#include "cli/job_watch.h"
#include "cli/learner_client.h"

namespace flywheel::cli {
namespace {

constexpr char kProgram[] = "flywheel submit";

int Submit(const std::vector<std::string>& args) {
  static const std::string usage =
      std::string(
          "usage: flywheel submit JOB.yaml|JOB.json [--learner HOST:PORT] [--token-file F]\n"
          "                       [--timeout SECONDS] [--watch] [TLS flags]\n"
          "  JOB                  a JobSpec in YAML or JSON (fields as in\n"
          "                       proto/flywheel/v1/learner.proto); relative paths in it are\n"
          "                       relative to the file's directory\n"
          "  --timeout            seconds to wait for the learner to accept the job (default 120)\n"
          "  --watch              follow the job until it ends (exit 0 when it succeeds)\n") +
      LearnerFlagsUsage();
  std::set<std::string> valued = {"timeout"};
  AddLearnerFlags(&valued);
  int exit_code = 0;
  auto flags = ParseWithPositional(kProgram, args, valued, {"watch"}, 1, "a job spec file",
                                   usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto timeout = flags->GetDouble("timeout", 120);
  if (!timeout.ok() || *timeout <= 0) {
    std::fprintf(stderr, "%s: --timeout must be a positive number\n%s", kProgram, usage.c_str());
    return 2;
  }
  const std::string path = flags->positional()[0];
  auto spec = ReadJobSpecFile(path);
  if (!spec.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, std::string(spec.status().message()).c_str());
    return 1;
  }
  auto learner = ConnectLearnerOrSay(*flags, kProgram);
  if (!learner) return 1;
  const std::string& address = learner->address;
  grpc::ClientContext context;
  learner->Prepare(&context, *timeout);
  v1::SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  v1::Job job;
  const grpc::Status st = learner->stub->SubmitJob(&context, request, &job);
  if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    std::fprintf(stderr, "%s: the learner rejected %s:\n", kProgram, path.c_str());
    for (absl::string_view line : absl::StrSplit(st.error_message(), '\n', absl::SkipEmpty())) {
      // A line ending in ':' introduces the list ("3 problems with the job spec:").
      const bool header = absl::EndsWith(line, ":");
      std::fprintf(stderr, "  %s%s\n", header ? "" : "- ", std::string(line).c_str());
    }
    return 1;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, DescribeRpcError(st, address).c_str());
    return 1;
  }
  std::printf("%s\n", job.id().c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "submitted job %s (%s%s%s, %d steps) to %s\n", job.id().c_str(),
               job.spec().algorithm().c_str(), job.spec().name().empty() ? "" : ", ",
               job.spec().name().c_str(), job.spec().steps(), address.c_str());
  if (!flags->Has("watch")) return 0;
  return WatchToExitCode(*learner, job.id(), kProgram);
}

}  // namespace

FW_REGISTER_COMMAND("submit", "submit a training job (YAML or JSON spec) to the learner", Submit);

}  // namespace flywheel::cli
