"""Cache-sized blocks and reusable scratch for dense NumPy updates.

A dense update written as whole-array NumPy expressions makes full-size
temporaries: each one is another pass over memory (and, for large arrays,
fresh pages to fault in).  Walking the flat arrays in blocks that fit in the
L2 cache, with ``out=`` ufuncs into a few reused scratch buffers, reads and
writes each array about once.
"""
import numpy as np

__all__ = ["BLOCK", "Scratch", "blocks", "block_constants"]

BLOCK = 1 << 15
"""Elements per block: 128 KiB of float32, so several arrays' blocks fit in L2."""


def blocks(size):
    """Slices ``[i, i + BLOCK)`` covering ``range(size)``."""
    if size <= BLOCK:
        return (slice(0, size),)
    return [slice(start, min(start + BLOCK, size)) for start in range(0, size, BLOCK)]


def block_constants(c):
    """``c`` with its NumPy floating-point scalars as 0-d arrays of the same
    dtype, for a step that calls `_dense_block` on many blocks.

    A ufunc takes a 0-d array operand with less work per call than a NumPy
    scalar, and (NumPy >= 2) the two promote alike, so the numbers do not
    change.  Python numbers and other values are left as they are.
    """
    return {k: np.asarray(v) if isinstance(v, np.floating) else v for k, v in c.items()}


class Scratch:
    """A few ``BLOCK``-element buffers per dtype, allocated once and reused."""

    def __init__(self):
        self._buffers = {}

    def get(self, dtype, n, count=1):
        """Return ``count`` scratch arrays of ``n <= BLOCK`` elements of ``dtype``."""
        bufs = self._buffers.get(dtype)
        if bufs is None or len(bufs) < count:
            bufs = [np.empty(BLOCK, dtype) for _ in range(max(count, len(bufs or ())))]
            self._buffers[np.dtype(dtype)] = bufs
        if count == 1:
            return (bufs[0][:n],)
        return [b[:n] for b in bufs[:count]]
