"""Run under ``mpiexec -n 2``: a data-parallel run resumed from a checkpoint is
bit-identical to an uninterrupted one, whether every rank restores the file
or rank 0 restores it and broadcasts.  Rank 0 saves.  ``argv[1]`` is a folder
both ranks see.  Prints "OK" on rank 0 when every check passes on every rank.
"""
import os
import sys

import numpy as np
import scipy.sparse as sp
from mpi4py import MPI

import optimizers
from optimizers import Checkpoint, IndexedSlices, Variable, distribute, schedules

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
directory = sys.argv[1]
STEPS, SAVE_AT = 6, 3
FACTORIES = {
    "adam": lambda: optimizers.Adam(schedules.ExponentialDecay(0.05, 3, 0.7)),
    "lazyadam": lambda: optimizers.LazyAdam(0.01),
    "ftrl": lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01),
    "momentum": lambda: optimizers.SGD(0.1, momentum=0.9, decay=0.01),
    "nadam": lambda: optimizers.Nadam(0.01),
    # Keras 3's extras: accumulators and moving averages go through the
    # aggregator, checkpoints and the broadcast as every other state does
    "lazyadam-ema-accumulation": lambda: optimizers.LazyAdam(
        0.01, use_ema=True, ema_momentum=0.9, gradient_accumulation_steps=2),
    "adagrad-ema-overwrite": lambda: optimizers.Adagrad(
        0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2),
}
failures = []


def model(seed=0):
    rng = np.random.default_rng(seed)
    return [Variable(rng.normal(size=(20, 4)).astype(np.float32), name="table"),
            Variable(rng.normal(size=(20, 3)).astype(np.float32), name="csr"),
            Variable(rng.normal(size=4).astype(np.float32), name="bias")]


def gradients(step):
    """This rank's gradients at ``step`` (they differ between ranks)."""
    rng = np.random.default_rng(1000 * rank + step)
    rows = rng.integers(0, 20, 6)
    dense = np.zeros((20, 3), np.float32)
    dense[rng.integers(0, 20, 4)] = rng.normal(size=(4, 3))
    return [IndexedSlices(rng.normal(size=(6, 4)).astype(np.float32), rows, (20, 4)),
            sp.csr_matrix(dense), rng.normal(size=4).astype(np.float32)]


def run(opt, vs, first, last):
    for step in range(first, last):
        opt.apply_gradients(zip(gradients(step), vs))


def state(opt, vs):
    return [np.asarray(v).tobytes() for v in vs] + [w.numpy().tobytes() for w in opt.weights]


for name, make in FACTORIES.items():
    path = os.path.join(directory, f"{name}.ckpt")
    opt, vs = make(), model()
    opt.gradient_aggregator = distribute.MPIAllReduce(comm)
    run(opt, vs, 0, SAVE_AT)
    if rank == 0:
        Checkpoint(optimizer=opt, table=vs[0], csr=vs[1], bias=vs[2]).save(path)
    comm.Barrier()
    run(opt, vs, SAVE_AT, STEPS)
    expected = state(opt, vs)
    for mode in ("every-rank", "root-and-broadcast"):
        resumed, fresh = make(), model(seed=7 + rank)
        resumed.gradient_aggregator = distribute.MPIAllReduce(comm)
        ckpt = Checkpoint(optimizer=resumed, table=fresh[0], csr=fresh[1], bias=fresh[2])
        if mode == "every-rank" or rank == 0:
            ckpt.restore(path)
        if mode == "root-and-broadcast":
            distribute.broadcast_variables(fresh, comm=comm)
            distribute.broadcast_optimizer_state(resumed, var_list=fresh, comm=comm)
        run(resumed, fresh, SAVE_AT, STEPS)
        if state(resumed, fresh) != expected:
            failures.append(f"{name} {mode}: rank {rank} differs from the uninterrupted run")

all_failures = comm.gather(failures, root=0)
if rank == 0:
    problems = [f for fs in all_failures for f in fs]
    print("\n".join(problems) if problems else "OK")
    sys.exit(1 if problems else 0)
