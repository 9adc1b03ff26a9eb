# Compiler flags shared by every flywheel target, and the one place that decides on CUDA.

option(FLYWHEEL_AVX2 "Build the AVX2+FMA kernels (x86-64 Haswell/Zen and later)" ON)
option(FLYWHEEL_CUDA "Build the CUDA targets when nvcc is found" ON)
option(FLYWHEEL_SANITIZE "Build with AddressSanitizer and UBSan" OFF)

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

add_library(flywheel_flags INTERFACE)
# -ffp-contract=off: the compiler may not fuse a*b+c on its own. Every FMA in the numerics is
# written explicitly, so the same source gives the same bits in every code path (batch invariance).
target_compile_options(flywheel_flags INTERFACE -Wall -Wextra -Wno-unused-parameter -ffp-contract=off)
if(FLYWHEEL_AVX2)
  target_compile_options(flywheel_flags INTERFACE -mavx2 -mfma -mf16c)
  target_compile_definitions(flywheel_flags INTERFACE FLYWHEEL_AVX2=1)
endif()
if(FLYWHEEL_SANITIZE)
  target_compile_options(flywheel_flags INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(flywheel_flags INTERFACE -fsanitize=address,undefined)
endif()

set(FLYWHEEL_HAVE_CUDA OFF)
if(FLYWHEEL_CUDA)
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(FLYWHEEL_HAVE_CUDA ON)
    if(NOT CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "52")
      set(CMAKE_CUDA_ARCHITECTURES 90)  # Hopper (H100/H200), the GPUs flywheel is tested on.
    endif()
  endif()
endif()
message(STATUS "flywheel: AVX2=${FLYWHEEL_AVX2} CUDA=${FLYWHEEL_HAVE_CUDA}")
