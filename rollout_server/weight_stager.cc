#include "rollout_server/weight_stager.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/crc32c.h"
#include "common/model/safetensors.h"

namespace flywheel::rollout {

WeightStager::WeightStager(const model::ParameterLayout& layout, std::vector<float> buffer)
    : layout_(layout), params_(std::move(buffer)), received_(layout.tensors().size(), 0) {
  if (static_cast<int64_t>(params_.size()) != layout.num_params()) {
    params_.assign(layout.num_params(), 0.0f);
  }
}

absl::Status WeightStager::Add(int64_t version, const std::string& tensor, int64_t offset,
                               const std::string& data, uint32_t crc32c) {
  if (!failed_.ok()) return failed_;
  auto fail = [&](absl::Status st) {
    failed_ = st;
    return st;
  };
  if (version_ < 0) version_ = version;
  if (version != version_) {
    return fail(absl::InvalidArgumentError(
        absl::StrCat("chunk of version ", version, " inside a push of version ", version_)));
  }
  const int64_t index = layout_.Find(tensor);
  if (index < 0)
    return fail(absl::InvalidArgumentError(absl::StrCat("unknown tensor \"", tensor, "\"")));
  const model::ParamTensor& t = layout_.tensors()[index];
  const int64_t size = static_cast<int64_t>(data.size());
  if (offset != received_[index]) {
    return fail(absl::InvalidArgumentError(absl::StrCat("tensor \"", tensor, "\": chunk at byte ",
                                                        offset, ", expected ", received_[index],
                                                        " (chunks go in order)")));
  }
  if (offset % 4 != 0 || size % 4 != 0 || offset + size > t.numel * 4) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "tensor \"", tensor, "\" of shape ", model::ShapeToString(t.shape), " (", t.numel * 4,
        " bytes): chunk [", offset, ", ", offset + size, ") does not fit (wrong shape?)")));
  }
  // Checked while stored, in one pass over the bytes: a bad chunk fails the whole push, so what
  // it wrote into the staging buffer is never published.
  if (Crc32cCopy(reinterpret_cast<char*>(params_.data() + t.offset) + offset, data.data(),
                 data.size()) != crc32c) {
    return fail(absl::DataLossError(
        absl::StrCat("tensor \"", tensor, "\": checksum mismatch in chunk at byte ", offset)));
  }
  received_[index] += size;
  bytes_ += size;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> WeightStager::Finish() {
  if (!failed_.ok()) return failed_;
  for (size_t i = 0; i < received_.size(); ++i) {
    const auto& t = layout_.tensors()[i];
    if (received_[i] != t.numel * 4) {
      return absl::InvalidArgumentError(absl::StrCat("push incomplete: tensor \"", t.name,
                                                     "\" has ", received_[i], " of ", t.numel * 4,
                                                     " bytes"));
    }
    // NaN or infinite weights would turn every logit into NaN; refuse them whole.
    const float* p = params_.data() + t.offset;
    for (int64_t j = 0; j < t.numel; ++j) {
      if (!std::isfinite(p[j])) {
        return absl::InvalidArgumentError(absl::StrCat(
            "push rejected: tensor \"", t.name, "\" holds a non-finite value at element ", j));
      }
    }
  }
  return std::move(params_);
}

}  // namespace flywheel::rollout
