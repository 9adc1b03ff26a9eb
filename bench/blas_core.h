// The OpenBLAS kernel family every BLAS-backed anchor runs with (cblas_sgemm, and PyTorch, which
// links the same libopenblas).
//
// Debian's OpenBLAS is a DYNAMIC_ARCH build that picks its kernels from the CPU's model number.
// On a virtualised Xeon it does not recognise the model and falls back to the generic "Prescott"
// kernels, four times slower than the AVX-512 ones: an anchor a user with the same machine would
// never see, so a ratio against it flatters flywheel. OpenBLAS reads OPENBLAS_CORETYPE once, when
// the library is loaded, so the choice has to be in the environment before the process starts:
// flywheel-bench picks the core type from the CPU's features and re-executes itself with it.
#pragma once

#include <string>

namespace flywheel::bench {

// The best OpenBLAS core type for this CPU from its features ("Cooperlake" with AVX-512 BF16,
// "SkylakeX" with AVX-512, "Zen" or "Haswell" with AVX2), or "" when the generic detection is as
// good as it gets.
std::string BestOpenBlasCoreType();

// Unless OPENBLAS_CORETYPE is already set, sets it to BestOpenBlasCoreType() and execv()s this
// program with the same arguments (never returns then). Call first thing in main(). Returns
// normally when the variable was set (by the user or by the re-execution) or nothing is better.
void ReexecWithBestOpenBlasCore(char** argv);

// The kernel family the loaded OpenBLAS actually runs (openblas_get_corename), lower case, e.g.
// "skylakex": printed beside every BLAS-backed anchor.
std::string OpenBlasCoreName();

// One line for the bench's log: the core that ran, what was asked for, and a warning when the
// library did not take it.
std::string DescribeOpenBlasCore();

}  // namespace flywheel::bench
