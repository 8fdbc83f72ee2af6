"""Data-parallel training over MPI (``mpi4py``).

Every process (rank) holds a full replica of the model and computes
gradients on its own share of each batch; `MPIAllReduce`, passed as an
optimizer's ``gradient_aggregator``, sums those gradients across ranks
before the update, so every rank applies the same update and the replicas
stay identical::

    from optimizers import Adagrad, distribute
    opt = Adagrad(0.1, gradient_aggregator=distribute.MPIAllReduce())
    distribute.broadcast_variables(model_variables)       # start identical
    ...
    opt.apply_gradients(zip(local_grads, model_variables))

When resuming, `broadcast_optimizer_state` gives every rank the
optimizer state (``iterations`` and slots) of rank 0.

Run with ``mpiexec -n 4 python train.py``; across machines, give
``mpiexec`` a host file (``mpiexec -f hosts -n 8 python train.py``) - the
code does not change.  This module imports without mpi4py; using it needs
the ``mpi`` extra, ``pip install "optimizers[mpi]"`` (mpi4py and the MPICH
wheel, which brings ``mpiexec``).

Loss scaling
------------
Gradients are **summed** over ranks.  To get the gradient of the mean loss
over the global batch, each rank divides its *sum* of per-example losses
by the **global** batch size (``loss_sum / global_batch``), not by its own
share: a rank-local mean would make the summed gradient ``size`` times too
large.  Alternatively, when every rank has the same number of examples,
keep rank-local means and pass ``average=True``.

What travels
------------
Dense gradients below ``fusion_threshold`` bytes are packed, per dtype,
into one buffer and reduced with a single ``Allreduce``; larger ones are
reduced alone, straight from the caller's array into a new one.  Sparse
gradients (`~optimizers.IndexedSlices`; ``scipy.sparse`` gradients arrive already
converted) are never densified: every rank's indices and values are
gathered with ``Allgatherv`` and concatenated in rank order, so all ranks
hold the same concatenation; the optimizer then sums repeated rows as
usual.  Indices and small values of all sparse gradients share one
``Allgatherv``; large values are gathered alone.  A step therefore costs a
handful of collective calls, not one per variable.

Identical replicas
------------------
Sparse results are identical on every rank by construction (a gather,
then the same deterministic duplicate summing).  Dense results rely on
every rank receiving the same ``Allreduce`` result.  The MPI standard does
not promise it, but the usual algorithms (reduce then broadcast, ring,
reduce-scatter then allgather, recursive doubling, whose pairwise sums are
symmetric) compute each element once or identically on every rank, and
MPICH and Open MPI use those; `broadcast_variables` from time to time
re-synchronises replicas if a library ever did otherwise.  With two ranks
the sum is ``a + b``, exactly what one process computes.  float16 dense
gradients are summed in float32 and rounded once.
"""
import itertools
import math
import zlib

import numpy as np

from .sparse import IndexedSlices
from .variables import as_array, var_name

__all__ = ["MPIAllReduce", "world_size", "rank", "broadcast_variables",
           "broadcast_optimizer_state"]

_INSTALL_HINT = 'pip install "optimizers[mpi]"'


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            "optimizers.distribute needs mpi4py, which is not installed; install the `mpi` "
            f"extra with `{_INSTALL_HINT}` (mpi4py and the mpich wheel, which provides "
            "`mpiexec`).") from exc
    return MPI


def _comm(comm):
    return _mpi().COMM_WORLD if comm is None else comm


def world_size(comm=None):
    """Number of ranks in ``comm`` (default: ``MPI.COMM_WORLD``)."""
    return _comm(comm).Get_size()


def rank(comm=None):
    """This process's rank in ``comm`` (default: ``MPI.COMM_WORLD``)."""
    return _comm(comm).Get_rank()


def _agree(comm, signature, what):
    """Raise `ValueError` on every rank unless all ranks pass an equal ``signature``.

    Costs one ``Allgather`` of a 32-bit checksum of ``repr(signature)``.
    """
    mine = np.array([zlib.crc32(repr(signature).encode())], np.int64)
    every = np.empty(comm.Get_size(), np.int64)
    comm.Allgather(mine, every)
    if (every != every[0]).any():
        groups = {}
        for r, value in enumerate(every.tolist()):
            groups.setdefault(value, []).append(r)
        shown = repr(signature)
        if len(shown) > 400:
            shown = shown[:400] + "..."
        raise ValueError(
            f"{what}. Ranks grouped by what they passed: {sorted(groups.values())}; rank "
            f"{comm.Get_rank()} passed {shown}.")


def _bytes(array):
    """A flat uint8 view of a C-contiguous array (or a contiguous copy)."""
    return np.ascontiguousarray(array).reshape(-1).view(np.uint8)


def _pad8(n):
    """``n`` (an int or an int array) rounded up to a multiple of 8."""
    return (n + 7) & ~7


def _starts(lengths):
    """Displacements of consecutive blocks of ``lengths`` (a list of ints)."""
    return [0, *itertools.accumulate(lengths[:-1])]


def _accumulation_dtype(dtype):
    return np.dtype(np.float32) if dtype == np.float16 else dtype


class MPIAllReduce:
    """A ``gradient_aggregator`` that sums (or averages) gradients over MPI ranks.

    Parameters
    ----------
    comm : mpi4py communicator, optional
        A `mpi4py.MPI.Comm`; default `mpi4py.MPI.COMM_WORLD`.
    average : bool, default=False
        Divide the sums by the number of ranks (sparse values are scaled
        by ``1 / size`` after the gather).
    fusion_threshold : int, default=1 MiB
        Gradients smaller than this many bytes (a sparse gradient counts
        its values gathered from all ranks) are packed together into one
        collective; larger ones get a collective of their own, which saves
        copying them into and out of a shared buffer.

    Notes
    -----
    Dense gradients are summed with `~mpi4py.MPI.Comm.Allreduce`; sparse
    ones are gathered with `~mpi4py.MPI.Comm.Allgatherv` (indices and
    values, never densified).  The result is a new list of new gradients:
    the caller's arrays are only read, so a failure leaves them, and the
    optimizer, unchanged.  Sparse results are `~optimizers.IndexedSlices`
    marked as possibly holding repeated indices.

    Every rank must call ``apply_gradients`` at the same steps with the same
    variables, in the same order, with gradients of the same kind (dense or
    sparse) and dtype.  This is checked each step with one ``Allgather`` of
    a checksum of the variables' names, shapes and dtypes and the gradient
    kinds; if the ranks disagree, *every* rank raises `ValueError` before
    any data moves and before anything changes, and the ranks remain in
    step (they may catch the error and go on).  Two variables of the same
    name, shape and dtype swapped on one rank cannot be told apart.

    Consequences: a rank without examples for a variable must still pass a
    gradient for it (zeros, or an `~optimizers.IndexedSlices` with no rows), not
    ``None`` (``None`` gradients are dropped before aggregation, so that
    rank's variable list would differ).  A rank that raises *before* the
    aggregator runs (for instance on a malformed gradient of its own) never
    joins the collective, and the other ranks wait for it; catch errors
    around the step and call ``comm.Abort()`` if that can happen.
    """

    def __init__(self, comm=None, average=False, fusion_threshold=1 << 20):
        self.comm = _comm(comm)
        self.average = bool(average)
        self.fusion_threshold = int(fusion_threshold)

    def __repr__(self):
        return (f"MPIAllReduce(size={self.comm.Get_size()}, average={self.average}, "
                f"fusion_threshold={self.fusion_threshold})")

    def __call__(self, grads_and_vars):
        pairs = list(grads_and_vars)
        MPI = _mpi()
        comm = self.comm
        size = comm.Get_size()
        sparse, dense = [], []
        signature = [("average", self.average), ("fusion_threshold", self.fusion_threshold)]
        for i, (grad, var) in enumerate(pairs):
            if isinstance(grad, IndexedSlices):
                sparse.append(i)
                signature.append(("sparse", var_name(var), as_array(var).shape,
                                  grad.values.dtype.str))
            else:
                dense.append(i)
                signature.append(("dense", var_name(var), grad.shape, grad.dtype.str))
        _agree(comm, signature, "MPIAllReduce: the ranks passed different gradients; every "
               "rank must pass gradients for the same variables, in the same order, of the "
               "same kinds (dense or sparse) and dtypes, with the same settings")
        out = [None] * len(pairs)
        if sparse:
            gathered = self._gather([pairs[i][0] for i in sparse], size, MPI)
            for i, grad in zip(sparse, gathered):
                out[i] = (grad, pairs[i][1])
        if dense:
            reduced = self._reduce([pairs[i][0] for i in dense], size, MPI)
            for i, grad in zip(dense, reduced):
                out[i] = (grad, pairs[i][1])
        return out

    # ------------------------------------------------------------------ #
    # Dense: Allreduce
    def _scale(self, array, size):
        if self.average and size > 1:
            array *= array.dtype.type(1.0 / size)

    def _reduce(self, grads, size, MPI):
        """Sum dense gradients: small ones packed per dtype, large ones alone."""
        results = [None] * len(grads)
        fused = {}
        for k, g in enumerate(grads):
            if g.nbytes >= self.fusion_threshold:
                acc = _accumulation_dtype(g.dtype)
                if acc == g.dtype:
                    total = np.empty(g.shape, g.dtype)
                    self.comm.Allreduce(np.ascontiguousarray(g), total, op=MPI.SUM)
                else:
                    total = g.astype(acc)
                    self.comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
                self._scale(total, size)
                results[k] = total if acc == g.dtype else total.astype(g.dtype)
            else:
                fused.setdefault(g.dtype.str, []).append(k)
        for key in sorted(fused):
            members = fused[key]
            dtype = np.dtype(key)
            ends = np.cumsum([grads[k].size for k in members])
            buffer = np.empty(int(ends[-1]) if len(ends) else 0, _accumulation_dtype(dtype))
            start = 0
            for k, end in zip(members, ends):
                buffer[start:end] = grads[k].reshape(-1)
                start = end
            self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            self._scale(buffer, size)
            if buffer.dtype != dtype:
                buffer = buffer.astype(dtype)
            start = 0
            for k, end in zip(members, ends):
                results[k] = buffer[start:end].reshape(grads[k].shape)
                start = end
        return results

    # ------------------------------------------------------------------ #
    # Sparse: Allgatherv
    def _gather(self, grads, size, MPI):
        """Concatenate every rank's indices and values, in rank order."""
        comm = self.comm
        me = comm.Get_rank()
        row_bytes = [g.values.itemsize * math.prod(g.values.shape[1:]) for g in grads]
        table = np.empty((size, len(grads)), np.int64)
        comm.Allgather(np.array([len(g.indices) for g in grads], np.int64), table)
        counts = table.tolist()                        # counts[rank][gradient]
        # Values whose gathered size is under the threshold travel with the
        # indices: one rank's segment holds, per gradient, its int64 indices
        # and then (if fused) its values, padded to 8 bytes.
        fused = [sum(c[j] for c in counts) * rb < self.fusion_threshold
                 for j, rb in enumerate(row_bytes)]
        seg_len = [sum(8 * n + (_pad8(n * rb) if f else 0)
                       for n, rb, f in zip(c, row_bytes, fused)) for c in counts]
        displs = _starts(seg_len)
        pieces = []
        for g, n, rb, f in zip(grads, counts[me], row_bytes, fused):
            pieces.append(np.ascontiguousarray(g.indices, np.int64).view(np.uint8))
            if f:
                pieces.append(_bytes(g.values))
                if (n * rb) % 8:
                    pieces.append(np.zeros(8 - (n * rb) % 8, np.uint8))
        send = np.concatenate(pieces) if pieces else np.empty(0, np.uint8)
        recv = np.empty(sum(seg_len), np.uint8)
        comm.Allgatherv(send, [recv, (seg_len, displs), MPI.BYTE])

        results = []
        offsets = displs
        for j, g in enumerate(grads):
            rb, f, tail, dtype = row_bytes[j], fused[j], g.values.shape[1:], g.values.dtype
            parts_idx, parts_val = [], []
            for r in range(size):
                n, o = counts[r][j], offsets[r]
                parts_idx.append(recv[o:o + 8 * n])
                o += 8 * n
                if f:
                    parts_val.append(recv[o:o + n * rb])
                    o += _pad8(n * rb)
                offsets[r] = o
            indices = np.concatenate(parts_idx).view(np.int64)
            if f:
                values = np.concatenate(parts_val).view(dtype).reshape((len(indices),) + tail)
            else:
                values = np.empty((len(indices),) + tail, dtype)
                nbytes = [c[j] * rb for c in counts]
                comm.Allgatherv(_bytes(g.values), [values.reshape(-1).view(np.uint8),
                                                   (nbytes, _starts(nbytes)), MPI.BYTE])
            if self.average and size > 1:
                if dtype == np.float16:             # scaled in float32, rounded once
                    values = (values * np.float32(1.0 / size)).astype(np.float16)
                else:
                    values *= dtype.type(1.0 / size)
            result = IndexedSlices(values, indices, g.dense_shape)
            result._unique = bool(g._unique) and size == 1
            results.append(result)
        return results


# ---------------------------------------------------------------------- #
# Starting every rank from the same state
def _bcast_in_place(comm, arr, root):
    if arr.flags.c_contiguous and arr.flags.writeable:
        comm.Bcast(arr.reshape(-1).view(np.uint8), root=root)
    else:
        tmp = np.ascontiguousarray(arr)
        comm.Bcast(tmp.reshape(-1).view(np.uint8), root=root)
        arr[...] = tmp


def broadcast_variables(variables, root=0, comm=None):
    """Overwrite every rank's variables, in place, with those of rank ``root``.

    Parameters
    ----------
    variables : iterable of Variable or ndarray
        The same variables, in the same order, on every rank.
    root : int, default=0
        The rank whose values everyone receives.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.

    Raises
    ------
    ValueError
        On every rank, before anything changes, if the ranks pass different
        numbers, shapes or dtypes of variables.
    """
    comm = _comm(comm)
    arrays = [as_array(v) for v in variables]
    _agree(comm, [(a.shape, a.dtype.str) for a in arrays],
           "broadcast_variables: the ranks passed different variables; every rank must "
           "pass the same number of variables, with the same shapes and dtypes")
    for arr in arrays:
        _bcast_in_place(comm, arr, root)


def broadcast_optimizer_state(optimizer, root=0, comm=None, var_list=None):
    """Give every rank the optimizer state (`~optimizers.Optimizer.get_weights`) of rank ``root``.

    ``iterations`` and every slot are broadcast from ``root`` and set with
    `~optimizers.Optimizer.set_weights` on the other ranks.  Hyperparameters (learning rate and
    so on) are not weights: construct the optimizer the same way on every
    rank.

    Slots are created on a variable's first step, so a rank that has not
    stepped yet (say, resuming from a checkpoint loaded on ``root`` only)
    has fewer weights.  Pass ``var_list`` - the trained variables, in the
    order the training step passes them - and every rank first creates the
    missing slots (``optimizer.build(var_list)``; existing
    ones are kept), so the weight lists line up.

    Raises
    ------
    ValueError
        On every rank, before anything changes, if the ranks' weights differ
        in number, name, shape or dtype.
    """
    comm = _comm(comm)
    if var_list is not None:
        optimizer.build(list(var_list))
    weights = optimizer.get_weights()
    arrays = [np.array(w, order="C") for w in weights]
    _agree(comm, [(var_name(w), a.shape, a.dtype.str)
                  for w, a in zip(optimizer.weights, arrays)],
           "broadcast_optimizer_state: the ranks' optimizers hold different weights (pass "
           "`var_list` so that every rank creates the same slots first)")
    for arr in arrays:
        _bcast_in_place(comm, arr, root)
    if comm.Get_rank() != root:
        optimizer.set_weights(arrays)
