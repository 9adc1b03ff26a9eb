// flywheel cancel ID [--learner ADDR] [--token-file F] [--tls-ca F [--tls-cert F --tls-key F]]
// Asks the learner to cancel a job and prints the state it reports back.
#include <cstdio>

#include "cli/command.h"
#include "cli/command_args.h"
#include "cli/learner_client.h"

namespace flywheel::cli {
namespace {

constexpr char kProgram[] = "flywheel cancel";
constexpr double kTimeoutSeconds = 30;

int Cancel(const std::vector<std::string>& args) {
  static const std::string usage =
      std::string(
          "usage: flywheel cancel ID [--learner HOST:PORT] [--token-file F] [TLS flags]\n"
          "  ID                   the job to cancel\n") +
      LearnerFlagsUsage();
  std::set<std::string> valued;
  AddLearnerFlags(&valued);
  int exit_code = 0;
  auto flags =
      ParseWithPositional(kProgram, args, valued, {}, 1, "a job id", usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto learner = ConnectLearnerOrSay(*flags, kProgram);
  if (!learner) return 1;
  grpc::ClientContext context;
  learner->Prepare(&context, kTimeoutSeconds);
  v1::CancelJobRequest request;
  request.set_id(flags->positional()[0]);
  v1::Job job;
  const grpc::Status st = learner->stub->CancelJob(&context, request, &job);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, DescribeRpcError(st, learner->address).c_str());
    return 1;
  }
  std::printf("job %s: %s at step %lld\n", job.id().c_str(), JobStateName(job.state()).c_str(),
              static_cast<long long>(job.step()));
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("cancel", "cancel a job", Cancel);

}  // namespace flywheel::cli
