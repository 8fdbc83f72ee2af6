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

Run with ``mpiexec -n 4 python train.py``; across machines, give
``mpiexec`` a host file (``mpiexec -f hosts -n 8 python train.py``) - the
code does not change.

Gradients are **summed**: if each rank's loss is a mean over its own
examples, divide by the global batch size instead (``loss_sum / global_batch``),
or pass ``average=True`` when every rank has the same number of examples.

Dense gradients of one dtype are packed into one buffer and reduced with a
single ``Allreduce``; sparse gradients (`IndexedSlices`, ``scipy.sparse``)
are gathered with ``Allgatherv`` of their indices and values, in rank
order, never densified, and then deduplicated by the optimizer as usual.
Needs the ``mpi`` extra: ``pip install "optimizers[mpi]"`` (mpi4py and the
MPICH wheel, which brings ``mpiexec``).
"""
import zlib

import numpy as np

from .sparse import IndexedSlices
from .variables import as_array, var_name

__all__ = ["MPIAllReduce", "world_size", "rank", "broadcast_variables",
           "broadcast_optimizer_state"]


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            "optimizers.distribute needs mpi4py; install it with "
            "`pip install \"optimizers[mpi]\"` (mpi4py and the mpich wheel).") from exc
    return MPI


def _comm(comm):
    return _mpi().COMM_WORLD if comm is None else comm


def world_size(comm=None):
    """Number of ranks in ``comm`` (default: ``MPI.COMM_WORLD``)."""
    return _comm(comm).Get_size()


def rank(comm=None):
    """This process's rank in ``comm`` (default: ``MPI.COMM_WORLD``)."""
    return _comm(comm).Get_rank()


class MPIAllReduce:
    """A ``gradient_aggregator`` that sums (or averages) gradients over MPI ranks.

    Parameters
    ----------
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD``.
    average : bool, default=False
        Divide the sums by the number of ranks.

    Notes
    -----
    Every rank must call ``apply_gradients`` with the same variables, in the
    same order, with gradients of the same kinds (dense or sparse) and
    dtypes; a cheap check (one small ``Allgather``) raises `ValueError` on
    every rank otherwise, before anything changes.  The caller's gradient
    arrays are never modified.
    """

    def __init__(self, comm=None, average=False):
        self.comm = _comm(comm)
        self.average = bool(average)

    def __call__(self, grads_and_vars):
        pairs = list(grads_and_vars)
        self._check_same_call(pairs)
        size = self.comm.Get_size()
        out = [None] * len(pairs)
        by_dtype = {}
        for i, (grad, var) in enumerate(pairs):
            if isinstance(grad, IndexedSlices):
                out[i] = (self._gather(grad, size), var)
            else:
                by_dtype.setdefault(grad.dtype, []).append(i)
        for dtype, positions in by_dtype.items():
            for i, reduced in zip(positions, self._reduce([pairs[i][0] for i in positions],
                                                          dtype, size)):
                out[i] = (reduced, pairs[i][1])
        return out

    def _check_same_call(self, pairs):
        signature = repr([(type(g).__name__, str(g.dtype if not isinstance(g, IndexedSlices)
                                                 else g.values.dtype), as_array(v).shape)
                          for g, v in pairs]).encode()
        mine = zlib.crc32(signature)
        every = self.comm.allgather(mine)
        if len(set(every)) != 1:
            names = [var_name(v) for _, v in pairs]
            raise ValueError(
                f"MPIAllReduce: ranks passed different gradients (this rank: {names}); every "
                "rank must apply gradients to the same variables, in the same order, with "
                "the same kinds and dtypes.")

    def _reduce(self, grads, dtype, size):
        """One Allreduce over all dense gradients of one dtype, packed into a buffer."""
        MPI = _mpi()
        sizes = [g.size for g in grads]
        buffer = np.empty(sum(sizes), dtype)
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        for g, start, stop in zip(grads, offsets[:-1], offsets[1:]):
            buffer[start:stop] = g.reshape(-1)
        self.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
        if self.average:
            buffer *= dtype.type(1.0 / size)
        return [buffer[start:stop].reshape(g.shape)
                for g, start, stop in zip(grads, offsets[:-1], offsets[1:])]

    def _gather(self, grad, size):
        """Concatenate every rank's indices and values, in rank order."""
        MPI = _mpi()
        indices = np.ascontiguousarray(grad.indices, dtype=np.int64)
        values = np.ascontiguousarray(grad.values)
        row = values[0].size if len(values) else int(np.prod(values.shape[1:], dtype=np.int64))
        counts = np.array(self.comm.allgather(len(indices)), dtype=np.int64)
        all_indices = np.empty(counts.sum(), np.int64)
        self.comm.Allgatherv(indices, [all_indices, counts, MPI.INT64_T])
        all_values = np.empty((counts.sum(),) + values.shape[1:], values.dtype)
        mpi_type = MPI._typedict[values.dtype.char]
        self.comm.Allgatherv(values.reshape(-1), [all_values.reshape(-1), counts * row, mpi_type])
        if self.average:
            all_values *= values.dtype.type(1.0 / size)
        return IndexedSlices(all_values, all_indices, grad.dense_shape)


def broadcast_variables(variables, root=0, comm=None):
    """Overwrite every rank's variables, in place, with those of rank ``root``."""
    comm = _comm(comm)
    for var in variables:
        arr = as_array(var)
        comm.Bcast(arr, root=root)


def broadcast_optimizer_state(optimizer, var_list=None, root=0, comm=None):
    """Give every rank the optimizer state (``get_weights()``) of rank ``root``.

    Ranks that have not yet taken a step have no slots; pass ``var_list`` to
    create them first (``iterations``, slots and other weights), so the
    weight lists line up.  Raises `ValueError` on every rank when they do not.
    """
    comm = _comm(comm)
    if var_list is not None:
        optimizer._create_all_weights(list(var_list))
    weights = optimizer.get_weights()
    shapes = [np.shape(w) for w in weights]
    if len(set(map(repr, comm.allgather(shapes)))) != 1:
        raise ValueError(
            "broadcast_optimizer_state: ranks hold different optimizer weights; pass "
            "`var_list` so every rank creates the same slots first.")
    arrays = [np.array(w, order="C") for w in weights]
    for arr in arrays:
        comm.Bcast(arr, root=root)
    if comm.Get_rank() != root:
        optimizer.set_weights(arrays)
