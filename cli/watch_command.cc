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

constexpr char kProgram[] = "flywheel watch";

int Watch(const std::vector<std::string>& args) {
  static const std::string usage =
      std::string(
          "usage: flywheel watch ID [--learner HOST:PORT] [--token-file F] [TLS flags]\n"
          "  ID                   the job id `flywheel submit` printed (see `flywheel "
          "jobs`)\n") +
      LearnerFlagsUsage() +
      "exit status: 0 when the job succeeds, 1 when it fails or is cancelled\n";
  std::set<std::string> valued;
  AddLearnerFlags(&valued);
  int exit_code = 0;
  auto flags =
      ParseWithPositional(kProgram, args, valued, {}, 1, "a job id", usage.c_str(), &exit_code);
  if (!flags) return exit_code;
  auto learner = ConnectLearnerOrSay(*flags, kProgram);
  if (!learner) return 1;
  return WatchToExitCode(*learner, flags->positional()[0], kProgram);
}

}  // namespace

FW_REGISTER_COMMAND("watch", "follow a job's progress until it ends", Watch);

}  // namespace flywheel::cli
