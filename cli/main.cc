// flywheel: the command-line entry point. `flywheel help` lists the sub-commands.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"

namespace flywheel::cli {
namespace {

struct Command {
  std::string summary;
  CommandFn fn;
};

std::map<std::string, Command>& Registry() {
  static auto* registry = new std::map<std::string, Command>();
  return *registry;
}

void PrintHelp(FILE* out) {
  std::fprintf(out, "usage: flywheel COMMAND [FLAGS]\n\ncommands:\n");
  for (const auto& [name, cmd] : Registry()) {
    std::fprintf(out, "  %-12s %s\n", name.c_str(), cmd.summary.c_str());
  }
  std::fprintf(out, "\n`flywheel COMMAND --help` describes a command's flags.\n");
}

}  // namespace

bool RegisterCommand(const std::string& name, const std::string& summary, CommandFn fn) {
  Registry()[name] = Command{summary, std::move(fn)};
  return true;
}

}  // namespace flywheel::cli

int main(int argc, char** argv) {
  using namespace flywheel::cli;
  if (argc < 2 || std::string(argv[1]) == "help" || std::string(argv[1]) == "--help" ||
      std::string(argv[1]) == "-h") {
    PrintHelp(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  auto it = Registry().find(argv[1]);
  if (it == Registry().end()) {
    std::fprintf(stderr, "flywheel: unknown command '%s'\n\n", argv[1]);
    PrintHelp(stderr);
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  return it->second.fn(args);
}
