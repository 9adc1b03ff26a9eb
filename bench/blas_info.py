"""Which OpenBLAS kernels this Python process runs: PyTorch (Debian's build) does its fp32 matrix
products through the system libopenblas, whose kernel family flywheel-bench chooses through
OPENBLAS_CORETYPE (bench/blas_core.h). Anchors print it beside their figure."""
import ctypes


def openblas_core():
    """openblas_get_corename() of the libopenblas mapped into this process, lower case; "none"
    when no OpenBLAS is loaded."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "libopenblas" in line}
    for path in sorted(paths):
        lib = ctypes.CDLL(path)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return lib.openblas_get_corename().decode().lower()
    return "none"
