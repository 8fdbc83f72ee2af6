"""Denormals flushed to zero around a step, as in TensorFlow (see `_fpmode.pxd`).

The NumPy ufuncs of a dense update run in the calling thread (or in helper
threads that call `flush_denormals` themselves), so setting the calling
thread's mode covers them; the sparse kernels set it in each of their
threads.
"""
from _fpmode cimport FLUSHES_DENORMALS, flush_denormals as _flush, restore_fp_mode as _restore


def flush_denormals():
    """Read subnormal inputs as zero and flush subnormal results to zero in
    this thread; returns the previous mode, for `restore_fp_mode`."""
    return _flush()


def restore_fp_mode(unsigned long long old):
    """Put back the mode `flush_denormals` returned."""
    _restore(old)


def flushes_denormals():
    """True where this platform's mode can be set (x86-64, AArch64)."""
    return bool(FLUSHES_DENORMALS)
