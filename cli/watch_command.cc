// flywheel watch ID [--learner ADDR]
// Follows a job until it ends: a live progress line on a terminal (a plain line per step
// otherwise) with step, reward, eval accuracy, tokens/s and ETA; the learner's event messages on
// lines of their own. Exit status 0 when the job succeeds, 1 when it fails or is cancelled.
#include <cstdio>

#include "cli/command.h"
#include "cli/command_args.h"
#include "cli/job_watch.h"
#include "cli/learner_client.h"

namespace flywheel::cli {
namespace {

constexpr char kUsage[] =
    "usage: flywheel watch ID [--learner HOST:PORT]\n"
    "  ID         the job id `flywheel submit` printed (see `flywheel jobs`)\n"
    "  --learner  the learner (default $FLYWHEEL_LEARNER, else 127.0.0.1:7070)\n"
    "exit status: 0 when the job succeeds, 1 when it fails or is cancelled\n";

int Watch(const std::vector<std::string>& args) {
  int exit_code = 0;
  auto flags = ParseWithPositional("flywheel watch", args, {"learner"}, {}, 1, "a job id", kUsage,
                                   &exit_code);
  if (!flags) return exit_code;
  const std::string address = flags->GetOr("learner", DefaultLearnerAddress());
  auto stub = ConnectLearner(address);
  return WatchToExitCode(stub.get(), flags->positional()[0], address, "flywheel watch");
}

}  // namespace

FW_REGISTER_COMMAND("watch", "follow a job's progress until it ends", Watch);

}  // namespace flywheel::cli
