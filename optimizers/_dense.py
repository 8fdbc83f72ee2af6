"""Cache-sized blocks and reusable scratch for dense NumPy updates.

A dense update written as whole-array NumPy expressions makes full-size
temporaries: each one is another pass over memory (and, for large arrays,
fresh pages to fault in).  Walking the flat arrays in blocks that fit in the
L2 cache, with ``out=`` ufuncs into a few reused scratch buffers, reads and
writes each array about once.
"""
import contextvars
import os
import threading

import numpy as np

from ._kernels import fpmode

__all__ = ["BLOCK", "FRESH_MAX", "PARALLEL_MIN", "Scratch", "block_constants", "block_elements",
           "blocks", "cwise_max", "l2_cache_bytes", "L2_CACHE_BYTES", "run_blocks"]


def l2_cache_bytes(root="/sys/devices/system/cpu/cpu0/cache"):
    """The size of a core's level-2 data cache in bytes, read from Linux's
    sysfs, or 0 where it cannot be read."""
    try:
        for entry in sorted(os.listdir(root)):
            path = os.path.join(root, entry)
            with open(os.path.join(path, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(path, "type")) as f:
                kind = f.read().strip()
            if level == "2" and kind in ("Unified", "Data"):
                with open(os.path.join(path, "size")) as f:
                    size = f.read().strip()
                scale = {"K": 1 << 10, "M": 1 << 20}.get(size[-1:].upper(), 1)
                return int(size.rstrip("KkMm")) * scale
    except (OSError, ValueError):
        pass
    return 0


def block_elements(l2_bytes):
    """Elements per dense block for a level-2 cache of ``l2_bytes``: an
    eighth of it in elements (a float32 block of half the cache), rounded
    down to a power of two within [2**14, 2**18]; 2**17 if unknown."""
    if l2_bytes <= 0:
        return 1 << 17
    return min(max(1 << ((l2_bytes // 8).bit_length() - 1), 1 << 14), 1 << 18)


L2_CACHE_BYTES = l2_cache_bytes()
"""This machine's L2 cache as read at import (0: unknown)."""

BLOCK = block_elements(L2_CACHE_BYTES)
"""Elements per block.  Each block costs a few Python calls and one ufunc
call per operation, so blocks are as large as the cache allows: half the L2
cache in float32 (`block_elements`).  Measured on D1 (10,000,000 float32
elements, AMD EPYC with 1 MiB of L2 a core; best of 9 steps alternated, ms,
one thread): 2**15 -> 2**17 took SGD 6.17 -> 4.71, momentum 6.24 -> 5.53,
Adagrad 11.40 -> 10.72, Adam 15.62 -> 14.82, RMSprop 14.81 -> 13.03, Ftrl
25.71 -> 24.74; on two threads, whose per-block Python runs one thread at a
time, SGD 4.26 -> 2.60, Adam 12.91 -> 9.14, Ftrl 31.86 -> 19.14.  2**18 was
no better there, 2**19 and 2**20 slower for the rules with more arrays (Adam,
Ftrl, RMSprop: their blocks leave L2); an earlier machine with less L2 found
2**17 slower than 2**15 for Ftrl.  The size changes no result: every rule
is element by element."""


PARALLEL_MIN = 1 << 20
"""Fewest elements for which a dense step spreads its blocks over threads
(starting and joining a thread took up to 150 us on a busy 2-core machine,
the time of a one-thread dense SGD step on about 150,000 float32 elements)."""


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


def cwise_max(a, b, mask):
    """``a = max(a, b)`` in place as TensorFlow's fused dense kernels take it
    (Eigen's ``cwiseMax``, ``std::max(a, b)``: ``b`` only where ``a < b``), so
    a NaN in ``b`` leaves ``a`` and a NaN in ``a`` stays; ``np.maximum``
    would return the NaN of ``b``.  ``b`` is taken as ``b * 1``, an
    arithmetic result, so that a subnormal is flushed as by a ``max``
    instruction in a step.  ``mask`` is a boolean scratch array."""
    np.less(a, b, out=mask)
    np.multiply(b, 1, out=a, where=mask)


def run_blocks(update, c, g, w, slots, n_threads):
    """Run ``update(c, g[sl], w[sl], *[s[sl] for s in slots])`` over the
    blocks of the flat arrays, on up to ``n_threads`` threads.

    NumPy releases the GIL inside each ufunc, so threads update blocks at
    the same time.  Blocks are handed out one at a time (a thread that gets
    less of a core takes fewer), each element is computed by the same
    operations whichever thread runs it, and the calling thread's NumPy
    error state applies in every thread.
    """
    todo = blocks(w.size)
    n_threads = min(n_threads, len(todo))
    if n_threads <= 1 or w.size < PARALLEL_MIN:
        for sl in todo:
            update(c, g[sl], w[sl], *[s[sl] for s in slots])
        return
    todo = iter(todo)
    errors = []

    def work():
        mode = fpmode.flush_denormals()     # as the calling thread's (a no-op there)
        try:
            for sl in todo:             # one iterator shared by all threads (GIL-safe)
                update(c, g[sl], w[sl], *[s[sl] for s in slots])
        except BaseException as exc:    # re-raised by the calling thread
            errors.append(exc)
            for _ in todo:              # the other threads stop at their next block
                pass
        finally:
            fpmode.restore_fp_mode(mode)

    helpers = [threading.Thread(target=contextvars.copy_context().run, args=(work,),
                                daemon=True) for _ in range(n_threads - 1)]
    for thread in helpers:
        thread.start()
    work()
    for thread in helpers:
        thread.join()
    if errors:
        raise errors[0]


FRESH_MAX = 1024
"""Up to this many elements `Scratch.get` returns new arrays: allocating a
small array (NumPy keeps small blocks for reuse) costs a third of finding the
thread's buffers (measured: 140 ns against 440 ns for 8 float32 elements)."""


class _Buffers(threading.local):
    def __init__(self):
        self.by_dtype = {}          # dtype -> list of BLOCK-element buffers


class Scratch:
    """A few ``BLOCK``-element buffers per dtype and thread, allocated once
    and reused."""

    def __init__(self):
        self._local = _Buffers()

    def get(self, dtype, n, count=1):
        """Return ``count`` scratch arrays of ``n <= BLOCK`` elements of ``dtype``."""
        if n <= FRESH_MAX:
            if count == 1:
                return (np.empty(n, dtype),)
            if count == 2:
                return np.empty(n, dtype), np.empty(n, dtype)
            return [np.empty(n, dtype) for _ in range(count)]
        buffers = self._local.by_dtype
        bufs = buffers.get(dtype)
        if bufs is None or len(bufs) < count:
            bufs = [np.empty(BLOCK, dtype) for _ in range(max(count, len(bufs or ())))]
            buffers[np.dtype(dtype)] = bufs
        if count == 1:
            return (bufs[0][:n],)
        if count == 2:
            return bufs[0][:n], bufs[1][:n]
        return [b[:n] for b in bufs[:count]]
