#include <cuda_runtime.h>

#include "common/kernels/cuda/device.h"

namespace flywheel::kernels::cuda {

int DeviceCount(std::string* why) {
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (why != nullptr) *why = cudaGetErrorString(err);
    cudaGetLastError();  // Clear the sticky error so later calls are not poisoned.
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "no CUDA device";
  return count;
}

}  // namespace flywheel::kernels::cuda
