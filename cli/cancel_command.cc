// flywheel cancel ID [--learner ADDR] [--token-file F]
// Asks the learner to cancel a job and prints the state it reports back.
#include <cstdio>

#include "cli/command.h"
#include "cli/command_args.h"
#include "cli/learner_client.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel cancel ID [--learner HOST:PORT] [--token-file F]\n"
    "  ID            the job to cancel\n"
    "  --learner     the learner (default $FLYWHEEL_LEARNER, else 127.0.0.1:7070)\n"
    "  --token-file  bearer token for the learner (default $FLYWHEEL_TOKEN_FILE, else none)\n";

constexpr char kProgram[] = "flywheel cancel";
constexpr double kTimeoutSeconds = 30;

int Cancel(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = ParseWithPositional(kProgram, args, {"learner", "token-file"}, {}, 1, "a job id",
                                   kUsage, &exit_code);
  if (!flags) return exit_code;
  auto call = PrepareWriteCall(*flags, kTimeoutSeconds);
  if (!call.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, std::string(call.status().message()).c_str());
    return 1;
  }
  v1::CancelJobRequest request;
  request.set_id(flags->positional()[0]);
  v1::Job job;
  const grpc::Status st = (*call)->stub->CancelJob(&(*call)->context, request, &job);
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", kProgram, DescribeRpcError(st, (*call)->address).c_str());
    return 1;
  }
  std::printf("job %s: %s at step %lld\n", job.id().c_str(), JobStateName(job.state()).c_str(),
              static_cast<long long>(job.step()));
  return 0;
}

}  // namespace

FW_REGISTER_COMMAND("cancel", "cancel a job", Cancel);

}  // namespace flywheel::cli
