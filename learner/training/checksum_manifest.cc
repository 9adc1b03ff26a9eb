#include "learner/training/checksum_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/crc32c.h"
#include "nlohmann/json.hpp"

namespace flywheel::learner {
namespace fs = std::filesystem;
namespace {

struct FileSum {
  uint64_t bytes = 0;
  uint32_t crc = 0;
};

// Size and CRC-32C of a file, read in 1 MiB pieces.
absl::Status SumFile(const fs::path& path, FileSum* sum) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", path.string(), ": ", std::strerror(errno)));
  }
  std::vector<char> buf(1 << 20);
  *sum = FileSum();
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return absl::DataLossError(
          absl::StrCat("cannot read ", path.string(), ": ", std::strerror(err)));
    }
    if (n == 0) break;
    sum->crc = Crc32c(buf.data(), static_cast<size_t>(n), sum->crc);
    sum->bytes += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteChecksumManifest(const std::string& dir, const std::vector<std::string>& files) {
  nlohmann::json listed = nlohmann::json::object();
  for (const std::string& f : files) {
    FileSum sum;
    if (absl::Status s = SumFile(fs::path(dir) / f, &sum); !s.ok()) return s;
    listed[f] = {{"bytes", sum.bytes}, {"crc32c", sum.crc}};
  }
  const std::string text = nlohmann::json{{"files", listed}}.dump(2) + "\n";
  const fs::path path = fs::path(dir) / kChecksumFile;
  FILE* out = std::fopen(path.c_str(), "wb");
  bool ok = out != nullptr;
  int err = ok ? 0 : errno;
  if (ok && (std::fwrite(text.data(), 1, text.size(), out) != text.size() ||
             std::fflush(out) != 0 || ::fsync(fileno(out)) != 0)) {
    ok = false;
    err = errno;
  }
  if (out != nullptr && std::fclose(out) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    return absl::InternalError(
        absl::StrCat("cannot write ", path.string(), ": ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::Status VerifyChecksumManifest(const std::string& dir) {
  const fs::path path = fs::path(dir) / kChecksumFile;
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(dir, " has no ", kChecksumFile));
  std::stringstream ss;
  ss << in.rdbuf();
  const auto j = nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_object()) {
    return absl::DataLossError(absl::StrCat(path.string(), " is not a checksum manifest"));
  }
  for (const auto& [name, want] : j["files"].items()) {
    if (!want.is_object() || !want.contains("bytes") || !want["bytes"].is_number_unsigned() ||
        !want.contains("crc32c") || !want["crc32c"].is_number_unsigned() ||
        name.find('/') != std::string::npos) {
      return absl::DataLossError(absl::StrCat(path.string(), ": bad entry for ", name));
    }
    FileSum got;
    if (absl::Status s = SumFile(fs::path(dir) / name, &got); !s.ok()) {
      return absl::DataLossError(s.message());
    }
    const auto bytes = want["bytes"].get<uint64_t>();
    const auto crc = want["crc32c"].get<uint64_t>();
    if (got.bytes != bytes) {
      return absl::DataLossError(
          absl::StrCat(name, " has ", got.bytes, " bytes, the manifest says ", bytes));
    }
    if (got.crc != crc) {
      return absl::DataLossError(absl::StrFormat(
          "%s: checksum mismatch (CRC-32C %08x, the manifest says %08x)", name, got.crc, crc));
    }
  }
  return absl::OkStatus();
}

}  // namespace flywheel::learner
