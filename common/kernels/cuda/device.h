// CUDA device discovery. Safe to call on machines without a GPU or driver: it reports zero.
#pragma once

#include <string>

namespace flywheel::kernels::cuda {

// Number of usable CUDA devices; 0 when there is no driver or no device. *why (optional) receives
// the CUDA runtime's reason when the answer is 0.
int DeviceCount(std::string* why = nullptr);

}  // namespace flywheel::kernels::cuda
