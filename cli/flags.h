// The CLI's commands use the shared flag parser.
#pragma once

#include "common/base/flags.h"

namespace flywheel::cli {
using ::flywheel::Flags;
}  // namespace flywheel::cli
