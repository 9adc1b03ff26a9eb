#include "common/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace flywheel::model {
namespace {

using nlohmann::json;

// Real headers are kilobytes to a few megabytes; anything larger is corrupt or hostile.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;
// Largest tensor flywheel accepts: guards the numel product against overflow.
constexpr int64_t kMaxNumel = int64_t{1} << 40;

int64_t DTypeSize(DType d) { return d == DType::kF32 ? 4 : 2; }

absl::StatusOr<DType> ParseDType(const std::string& s) {
  if (s == "F32") return DType::kF32;
  if (s == "BF16") return DType::kBF16;
  if (s == "F16") return DType::kF16;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported dtype ", s, " (F32, BF16, F16 are read)"));
}

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

float Bf16ToFloat(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

float F16ToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t u;
  if (exp == 0) {
    if (mant == 0) {
      u = sign;
    } else {  // Subnormal half: renormalise into a normal float.
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      u = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | mant << 13;  // Inf / NaN.
  } else {
    u = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<std::map<std::string, TensorEntry>> ParseSafetensorsHeader(const std::string& text,
                                                                          uint64_t data_size) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("header is not a JSON object");
  }
  std::map<std::string, TensorEntry> out;
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const std::string& name = it.key();
    const json& e = it.value();
    auto bad = [&](const std::string& why) {
      return absl::InvalidArgumentError(absl::StrCat("tensor \"", name, "\": ", why));
    };
    if (!e.is_object()) return bad("entry is not an object");
    if (!e.contains("dtype") || !e["dtype"].is_string()) return bad("missing dtype");
    auto dtype = ParseDType(e["dtype"].get<std::string>());
    if (!dtype.ok()) return bad(std::string(dtype.status().message()));
    if (!e.contains("shape") || !e["shape"].is_array()) return bad("missing shape");
    if (!e.contains("data_offsets") || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2) {
      return bad("data_offsets must be [begin, end]");
    }
    TensorEntry t;
    t.dtype = *dtype;
    t.numel = 1;
    for (const auto& d : e["shape"]) {
      if (!d.is_number_unsigned()) return bad("shape entries must be non-negative integers");
      int64_t dim = static_cast<int64_t>(std::min<uint64_t>(d.get<uint64_t>(), kMaxNumel));
      if (dim > 0 && t.numel > kMaxNumel / dim) return bad("shape is too large");
      t.numel *= dim;
      t.shape.push_back(dim);
    }
    for (const auto& o : e["data_offsets"]) {
      if (!o.is_number_unsigned()) return bad("data_offsets must be non-negative integers");
    }
    uint64_t begin = e["data_offsets"][0].get<uint64_t>();
    uint64_t end = e["data_offsets"][1].get<uint64_t>();
    if (begin > end) return bad("data_offsets begin > end");
    if (end > data_size) {
      return bad(absl::StrCat("data_offsets end ", end, " is past the end of the data (", data_size,
                              " bytes)"));
    }
    if (static_cast<uint64_t>(t.numel * DTypeSize(t.dtype)) != end - begin) {
      return bad(absl::StrCat("byte range of ", end - begin, " does not match shape ",
                              ShapeToString(t.shape), " of ", e["dtype"].get<std::string>()));
    }
    t.begin = static_cast<int64_t>(begin);
    t.end = static_cast<int64_t>(end);
    if (t.end > t.begin) ranges.emplace_back(t.begin, t.end);
    out.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return absl::InvalidArgumentError("tensor byte ranges overlap");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", why));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return fail("cannot stat");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return fail(absl::StrCat("file is ", size, " bytes, too short for a safetensors header"));
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return fail("mmap failed");
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->map_ = static_cast<const uint8_t*>(map);
  file->map_size_ = size;
  uint64_t header_len = ReadLe64(file->map_);
  if (header_len > kMaxHeaderBytes) {
    return fail(absl::StrCat("header length ", header_len, " exceeds the ", kMaxHeaderBytes,
                             "-byte limit"));
  }
  if (header_len > size - 8) {
    return fail(absl::StrCat("header length ", header_len, " runs past the end of the file (", size,
                             " bytes): truncated file"));
  }
  std::string header(reinterpret_cast<const char*>(file->map_ + 8), header_len);
  file->data_ = file->map_ + 8 + header_len;
  file->data_size_ = size - 8 - header_len;
  auto tensors = ParseSafetensorsHeader(header, file->data_size_);
  if (!tensors.ok()) return fail(tensors.status().message());
  file->tensors_ = std::move(*tensors);
  json j = json::parse(header, nullptr, false);
  if (auto m = j.find("__metadata__"); m != j.end() && m->is_object()) {
    for (auto it = m->begin(); it != m->end(); ++it) {
      if (it.value().is_string()) file->metadata_[it.key()] = it.value().get<std::string>();
    }
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<uint8_t*>(map_), map_size_);
}

absl::Status SafetensorsFile::ReadFloat(const std::string& name,
                                        const std::vector<int64_t>& expected_shape,
                                        float* out) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(absl::StrCat(path_, ": missing tensor \"", name, "\""));
  }
  const TensorEntry& t = it->second;
  if (!expected_shape.empty() && t.shape != expected_shape) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": tensor \"", name, "\" has shape ",
                                                   ShapeToString(t.shape), ", expected ",
                                                   ShapeToString(expected_shape)));
  }
  const uint8_t* src = data_ + t.begin;
  switch (t.dtype) {
    case DType::kF32:
      std::memcpy(out, src, t.numel * 4);
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < t.numel; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        out[i] = Bf16ToFloat(b);
      }
      break;
    case DType::kF16:
      for (int64_t i = 0; i < t.numel; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        out[i] = F16ToFloat(b);
      }
      break;
  }
  return absl::OkStatus();
}

absl::Status WriteSafetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                              const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  int64_t offset = 0;
  for (const auto& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + numel * 4}}};
    offset += numel * 4;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // Keeps the data section 8-byte aligned.
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", tmp, ": ", std::strerror(errno)));
  uint8_t len[8];
  for (int i = 0; i < 8; ++i)
    len[i] = static_cast<uint8_t>(static_cast<uint64_t>(text.size()) >> (8 * i));
  int err = 0;  // errno of the first failure: later calls may overwrite errno
  auto check = [&](bool ok) {
    if (!ok && err == 0) err = errno != 0 ? errno : EIO;
    return ok;
  };
  errno = 0;
  bool ok = check(std::fwrite(len, 1, 8, f) == 8) &&
            check(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  for (const auto& t : tensors) {
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    ok = ok && check(std::fwrite(t.data, 4, numel, f) == static_cast<size_t>(numel));
  }
  ok = ok && check(std::fflush(f) == 0) && check(::fsync(fileno(f)) == 0);
  ok = check(std::fclose(f) == 0) && ok;
  ok = ok && check(std::rename(tmp.c_str(), path.c_str()) == 0);
  if (!ok) {
    std::remove(tmp.c_str());
    const std::string why = absl::StrCat("writing ", path, " failed: ", std::strerror(err));
    // A full disk or a file-size limit is a resource problem the operator can fix.
    if (err == ENOSPC || err == EFBIG || err == EDQUOT) return absl::ResourceExhaustedError(why);
    return absl::InternalError(why);
  }
  return absl::OkStatus();
}

}  // namespace flywheel::model
