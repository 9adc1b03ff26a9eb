// Minimal logging and invariant checks. FW_CHECK is for broken invariants only (programming
// errors); anything that can go wrong on input returns an absl::Status instead.
#pragma once

#include <sstream>

namespace flywheel {

enum class LogSeverity { kInfo, kWarning, kError, kFatal };

// Collects one log line and writes it to stderr on destruction; aborts for kFatal.
class LogMessage {
 public:
  LogMessage(const char* file, int line, LogSeverity severity);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

// Sets the lowest severity that is printed (default kInfo). Thread-safe.
void SetMinLogSeverity(LogSeverity severity);

}  // namespace flywheel

#define FW_LOG_INFO ::flywheel::LogSeverity::kInfo
#define FW_LOG_WARNING ::flywheel::LogSeverity::kWarning
#define FW_LOG_ERROR ::flywheel::LogSeverity::kError
#define FW_LOG_FATAL ::flywheel::LogSeverity::kFatal
#define FW_LOG(severity) ::flywheel::LogMessage(__FILE__, __LINE__, FW_LOG_##severity).stream()

#define FW_CHECK(cond) \
  if (cond) {          \
  } else               \
    FW_LOG(FATAL) << "Check failed: " #cond " "
