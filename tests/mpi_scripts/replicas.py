"""Run under ``mpiexec -n 2``: replicas stay identical and match one process.

Each rank trains on its own gradients (dense, IndexedSlices and scipy CSR);
with `MPIAllReduce` every rank must end with bit-identical variables and
optimizer weights, equal to a single process applying the summed gradients
(rank order) itself.  Prints "OK" on rank 0 when all checks pass.
"""
import sys

import numpy as np
import scipy.sparse as sp
from mpi4py import MPI

from optimizers import SGD, Adam, Adagrad, IndexedSlices, Variable, distribute

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()


def gradients(r, step, dtype):
    rng = np.random.default_rng(1000 * r + step)
    dense = rng.normal(size=(3, 4)).astype(dtype)
    idx = rng.integers(0, 6, 5)
    slices = IndexedSlices(rng.normal(size=(5, 2)).astype(dtype), idx, (6, 2))
    csr_dense = np.zeros((8, 3), dtype)
    csr_dense[rng.integers(0, 8, 3)] = rng.normal(size=3).astype(dtype)[:, None]
    return [dense, slices, sp.csr_matrix(csr_dense)]


def combined(step, dtype):
    per_rank = [gradients(r, step, dtype) for r in range(size)]
    dense = per_rank[0][0].copy()
    for g in per_rank[1:]:
        dense += g[0]
    slices = IndexedSlices(np.concatenate([g[1].values for g in per_rank]),
                           np.concatenate([g[1].indices for g in per_rank]), (6, 2))
    rows = [np.flatnonzero(np.diff(g[2].indptr)) for g in per_rank]
    csr = IndexedSlices(np.concatenate([g[2][r].toarray() for g, r in zip(per_rank, rows)]),
                        np.concatenate(rows), (8, 3))
    return [dense, slices, csr]


def run(make_opt, dtype, distributed):
    rng = np.random.default_rng(7)
    variables = [Variable(rng.normal(size=s).astype(dtype), name=f"v{i}")
                 for i, s in enumerate([(3, 4), (6, 2), (8, 3)])]
    if distributed:
        opt = make_opt(gradient_aggregator=distribute.MPIAllReduce())
    else:
        opt = make_opt()
    for step in range(5):
        grads = gradients(rank, step, dtype) if distributed else combined(step, dtype)
        opt.apply_gradients(zip(grads, variables))
    return [v.numpy() for v in variables], opt.get_weights()


def fingerprint(arrays):
    return [np.asarray(a).tobytes() for a in arrays]


failures = []
for name, make_opt in [("sgd", lambda **k: SGD(0.1, momentum=0.9, **k)),
                       ("adagrad", lambda **k: Adagrad(0.1, **k)),
                       ("adam", lambda **k: Adam(0.01, **k))]:
    for dtype in (np.float32, np.float64):
        variables, weights = run(make_opt, dtype, distributed=True)
        everyone = comm.allgather(fingerprint(variables + weights))
        if any(f != everyone[0] for f in everyone):
            failures.append(f"{name} {dtype.__name__}: replicas differ")
        if rank == 0:
            ref_vars, ref_weights = run(make_opt, dtype, distributed=False)
            for a, b in zip(variables + weights, ref_vars + ref_weights):
                if np.asarray(a).tobytes() != np.asarray(b).tobytes():
                    failures.append(f"{name} {dtype.__name__}: differs from one process")
                    break

# broadcast helpers: rank 1 starts elsewhere and receives rank 0's state
var = Variable(np.full(4, float(rank), np.float32), name="b")
distribute.broadcast_variables([var])
if not (var.numpy() == 0).all():
    failures.append("broadcast_variables")
opt = Adagrad(0.1)
if rank == 0:
    opt.apply_gradients([(np.ones(4, np.float32), var)])
distribute.broadcast_optimizer_state(opt, var_list=[var])
if int(opt.iterations) != 1 or not np.allclose(opt.get_slot(var, "accumulator").numpy(), 1.1):
    failures.append("broadcast_optimizer_state")

# ranks that disagree get an error on every rank, and nothing changes
w = Variable(np.zeros(2, np.float32), name="w")
opt = SGD(0.1, gradient_aggregator=distribute.MPIAllReduce())
grad = np.ones(2, np.float32) if rank == 0 else np.ones(2, np.float64).astype(np.float32)
bad = IndexedSlices(np.ones((1, 2), np.float32), np.array([0]), (1, 2)) if rank == 1 else None
try:
    opt.apply_gradients([(grad, w)] + ([(bad, Variable(np.zeros((1, 2), np.float32)))]
                                        if rank == 1 else []))
    failures.append("mismatch not detected")
except ValueError as exc:
    if "ranks passed different gradients" not in str(exc):
        failures.append(f"wrong error: {exc}")
if (w.numpy() != 0).any():
    failures.append("state changed on mismatch")

all_failures = comm.gather(failures, root=0)
if rank == 0:
    flat = [f"rank {r}: {f}" for r, fs in enumerate(all_failures) for f in fs]
    print("\n".join(flat) if flat else "OK")
    sys.exit(1 if flat else 0)
