# Compiler flags shared by every flywheel target, and the one place that decides on CUDA.

option(FLYWHEEL_AVX2 "Build the AVX2+FMA kernels (x86-64 Haswell/Zen and later)" ON)
option(FLYWHEEL_CUDA "Build the CUDA targets when nvcc is found" ON)
option(FLYWHEEL_SANITIZE "Build with AddressSanitizer and UBSan" OFF)
option(FLYWHEEL_TSAN "Build with ThreadSanitizer" OFF)
option(FLYWHEEL_FUZZ "Build the libFuzzer targets (clang): coverage, ASan and UBSan everywhere" OFF)

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
# Sanitizer builds (scripts/sanitize.sh, scripts/fuzz.sh) go into build dirs of their own. UB is
# fatal (no recovery), so a finding fails the test that hit it, in a test binary or a daemon.
if(FLYWHEEL_SANITIZE OR FLYWHEEL_FUZZ)
  set(FLYWHEEL_SANITIZERS -fsanitize=address,undefined -fno-sanitize-recover=all)
  if(FLYWHEEL_FUZZ)
    if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
      message(FATAL_ERROR "FLYWHEEL_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
    endif()
    list(APPEND FLYWHEEL_SANITIZERS -fsanitize=fuzzer-no-link)
  endif()
  target_compile_options(flywheel_flags INTERFACE ${FLYWHEEL_SANITIZERS} -fno-omit-frame-pointer)
  target_link_options(flywheel_flags INTERFACE ${FLYWHEEL_SANITIZERS})
endif()
if(FLYWHEEL_TSAN)
  # -U__SANITIZE_THREAD__: Debian's libraries are not built with TSan, and their headers must read
  # as they did when the libraries were compiled. protobuf's MapFieldBase grows two counters when
  # __SANITIZE_THREAD__ is set (map_field.h), so our TSan code and the uninstrumented libprotobuf
  # disagreed on the layout of every message with a map field: StepMetrics (which has
  # conjecture_rejections) arrived garbled in the TSan build only. The instrumentation itself
  # comes from -fsanitize=thread, not from the macro.
  target_compile_options(flywheel_flags INTERFACE -fsanitize=thread -fno-omit-frame-pointer
    -U__SANITIZE_THREAD__)
  target_link_options(flywheel_flags INTERFACE -fsanitize=thread)
endif()

set(FLYWHEEL_HAVE_CUDA OFF)
if(FLYWHEEL_CUDA)
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    # Hopper (H100/H200), the GPUs flywheel is built for, unless -DCMAKE_CUDA_ARCHITECTURES says
    # otherwise. Set before enable_language, which would otherwise cache nvcc's own default
    # (sm_75 for nvcc 13).
    set(CMAKE_CUDA_ARCHITECTURES 90 CACHE STRING "CUDA architectures to compile for")
    enable_language(CUDA)
    set(FLYWHEEL_HAVE_CUDA ON)
  endif()
endif()
message(STATUS "flywheel: AVX2=${FLYWHEEL_AVX2} CUDA=${FLYWHEEL_HAVE_CUDA}")
