"""Run under ``mpiexec -n 2``: replicas stay identical and match one process.

Each rank trains on its own gradients (dense, IndexedSlices with int32 or
int64 indices, sometimes with no rows, and scipy CSR); with `MPIAllReduce`
every rank must end with bit-identical variables and optimizer weights,
equal to a single process applying the combined gradients (dense summed,
sparse concatenated in rank order) itself.  Then the broadcast helpers and
the errors raised when ranks disagree.  Prints "OK" on rank 0 when every
check passes on every rank.
"""
import sys

import numpy as np
import scipy.sparse as sp
from mpi4py import MPI

from optimizers import SGD, Adagrad, Adam, IndexedSlices, LazyAdam, Variable, distribute

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
failures = []
SHAPES = [(3, 4), (), (50, 8), (6, 2), (8, 3), (6,)]


def check(condition, message):
    if not condition:
        failures.append(message)


def gradients(r, step, dtype):
    """Rank ``r``'s gradients at ``step``: they differ from rank to rank."""
    rng = np.random.default_rng(1000 * r + step)
    dense = rng.normal(size=(3, 4)).astype(dtype)
    scalar = np.asarray(rng.normal(), dtype)
    big = rng.normal(size=(50, 8)).astype(dtype)
    n = 0 if (r == 1 and step == 2) else 5                # a rank without rows
    idx = rng.integers(0, 6, n).astype(np.int32 if r == 0 else np.int64)
    slices = IndexedSlices(rng.normal(size=(n, 2)).astype(dtype), idx, (6, 2))
    csr_dense = np.zeros((8, 3), dtype)
    csr_dense[rng.integers(0, 8, 3)] = rng.normal(size=3).astype(dtype)[:, None]
    bias = IndexedSlices(rng.normal(size=3).astype(dtype), rng.integers(0, 6, 3), (6,))
    if dtype == np.float16:                               # scipy.sparse has no float16
        rows = np.flatnonzero(csr_dense.any(axis=1))
        csr = IndexedSlices(csr_dense[rows], rows, (8, 3))
    else:
        csr = sp.csr_matrix(csr_dense)
    return [dense, scalar, big, slices, csr, bias]


def combined(step, dtype, average):
    """What one process applies: the ranks' gradients summed / concatenated."""
    per_rank = [gradients(r, step, dtype) for r in range(size)]
    acc = np.float32 if dtype == np.float16 else dtype
    scale = acc(1.0 / size) if average else acc(1)
    out = []
    for k in (0, 1, 2):
        total = per_rank[0][k].astype(acc)
        for g in per_rank[1:]:
            total = total + g[k].astype(acc)
        out.append((total * scale).astype(dtype))
    for g in per_rank:                                    # CSR: its touched rows
        if sp.issparse(g[4]):
            rows = np.flatnonzero(np.diff(g[4].indptr))
            g[4] = IndexedSlices(g[4][rows].toarray(), rows, (8, 3))
    for k, shape in ((3, (6, 2)), (4, (8, 3)), (5, (6,))):
        values = np.concatenate([g[k].values for g in per_rank])
        out.append(IndexedSlices((values * scale).astype(dtype),
                                 np.concatenate([g[k].indices.astype(np.int64)
                                                 for g in per_rank]), shape))
    return out


def raw(grads):
    """Bytes of every array the caller owns, to check nothing writes into them."""
    arrays = []
    for g in grads:
        if isinstance(g, IndexedSlices):
            arrays += [g.values, g.indices]
        elif sp.issparse(g):
            arrays += [g.data, g.indices, g.indptr]
        else:
            arrays.append(g)
    return [a.tobytes() for a in arrays]


def run(make_opt, dtype, aggregator):
    rng = np.random.default_rng(7)
    variables = [Variable(np.asarray(rng.normal(size=s), dtype), name=f"v{i}")
                 for i, s in enumerate(SHAPES)]
    opt = make_opt(gradient_aggregator=aggregator) if aggregator else make_opt()
    for step in range(4):
        if aggregator is None:
            opt.apply_gradients(zip(combined(step, dtype, average), variables))
        else:
            grads = gradients(rank, step, dtype)
            before = raw(grads)
            opt.apply_gradients(zip(grads, variables))
            check(raw(grads) == before, f"{label}: the caller's gradients were modified")
    return [v.numpy() for v in variables] + [np.asarray(w) for w in opt.get_weights()]


def fingerprint(arrays):
    return [a.tobytes() for a in arrays]


OPTIMIZERS = {"sgd-momentum": lambda **k: SGD(0.1, momentum=0.9, **k),
              "adagrad": lambda **k: Adagrad(0.1, **k),
              "adam": lambda **k: Adam(0.01, **k),
              "lazyadam": lambda **k: LazyAdam(0.01, **k)}
CASES = [("sgd-momentum", dtype, settings)
         for dtype in (np.float32, np.float64, np.float16)
         for settings in ({}, {"average": True}, {"fusion_threshold": 0})]
CASES += [(name, np.float32, {}) for name in ("adagrad", "adam", "lazyadam")]
CASES += [("adam", np.float64, {"average": True, "fusion_threshold": 100})]

for name, dtype, settings in CASES:
    label = f"{name} {np.dtype(dtype).name} {settings}"
    average = settings.get("average", False)
    mine = run(OPTIMIZERS[name], dtype, distribute.MPIAllReduce(**settings))
    everyone = comm.allgather(fingerprint(mine))
    check(all(f == everyone[0] for f in everyone), f"{label}: replicas differ")
    reference = run(OPTIMIZERS[name], dtype, None)
    for a, b in zip(mine, reference):
        check(a.dtype == b.dtype and a.shape == b.shape, f"{label}: wrong dtype or shape")
        if a.tobytes() != b.tobytes():
            failures.append(f"{label}: differs from one process by "
                            f"{np.max(np.abs(a.astype(float) - b.astype(float)))}")
            break

# What the aggregator returns: new objects, sparse ones marked not unique.
agg = distribute.MPIAllReduce()
csr_var = Variable(np.zeros((8, 3), np.float32))
unique = IndexedSlices(np.ones((2, 3), np.float32), np.array([rank, 4]), (8, 3))
unique._unique = True
dense = np.ones(4, np.float32)
(g_sparse, _), (g_dense, _) = agg([(unique, csr_var), (dense, Variable(np.zeros(4, np.float32)))])
check(g_sparse is not unique and not g_sparse._unique, "sparse result reused or unique")
check(g_sparse.indices.tolist() == [0, 4, 1, 4], f"gather order: {g_sparse.indices}")
check(not np.shares_memory(g_dense, dense) and (g_dense == size).all(), "dense result")

# broadcast_variables: rank 1 starts elsewhere and receives root's values.
var = Variable(np.full(4, float(rank), np.float32), name="b")
half = Variable(np.full((2, 2), rank, np.float16), name="h")
distribute.broadcast_variables([var, half])
check((var.numpy() == 0).all() and (half.numpy() == 0).all(), "broadcast_variables")
distribute.broadcast_variables([var], root=1)
check(var.numpy().tobytes() == np.zeros(4, np.float32).tobytes(), "broadcast_variables root=1")
try:
    distribute.broadcast_variables([var] if rank == 0 else [half])
    failures.append("broadcast_variables: mismatch not detected")
except ValueError as exc:
    check("different variables" in str(exc), f"broadcast_variables error: {exc}")

# broadcast_optimizer_state: only rank 0 has stepped (it has slots, rank 1
# has none); var_list makes rank 1 create them, then it gets rank 0's.
table = Variable(np.zeros((5, 2), np.float32), name="table")
opt = Adam(0.1)
if rank == 0:
    for _ in range(2):
        opt.apply_gradients([(np.ones(4, np.float32), var),
                             (IndexedSlices(np.ones((1, 2), np.float32), [3], (5, 2)), table)])
try:
    distribute.broadcast_optimizer_state(opt)          # without var_list: refused everywhere
    failures.append("broadcast_optimizer_state: missing slots not detected")
except ValueError as exc:
    check("var_list" in str(exc), f"broadcast_optimizer_state error: {exc}")
distribute.broadcast_optimizer_state(opt, 0, var_list=[var, table])
state = [np.asarray(w).tobytes() for w in opt.get_weights()]
check(int(opt.iterations) == 2 and len(state) == 5, "broadcast_optimizer_state: iterations")
everyone = comm.allgather(state)
check(all(s == everyone[0] for s in everyone), "broadcast_optimizer_state: states differ")
check(opt.get_slot(table, "m").numpy()[3].any(), "broadcast_optimizer_state: slot m")

# Ranks that disagree: ValueError on every rank, nothing changes, and the
# ranks stay in step (the next, agreeing, step works).
w = Variable(np.zeros(2, np.float32), name="w")
extra = Variable(np.zeros((1, 2), np.float32), name="extra")
opt = SGD(0.1, momentum=0.5, gradient_aggregator=distribute.MPIAllReduce())
mismatches = {
    "an extra variable": [(np.ones(2, np.float32), w)] + (
        [(IndexedSlices(np.ones((1, 2), np.float32), [0], (1, 2)), extra)] if rank == 1 else []),
    "dense against sparse": [(np.ones(2, np.float32) if rank == 0
                              else IndexedSlices(np.ones(1, np.float32), [0], (2,)), w)],
}
for what, pairs in mismatches.items():
    try:
        opt.apply_gradients(pairs)
        failures.append(f"{what}: mismatch not detected")
    except ValueError as exc:
        check("ranks passed different gradients" in str(exc), f"{what}: wrong error: {exc}")
    check(not w.numpy().any() and opt._iterations is None and not opt.weights,
          f"{what}: state changed on mismatch")
opt.apply_gradients([(np.full(2, rank + 1, np.float32), w)])
check(np.allclose(w.numpy(), -0.1 * (1 + 2)) and int(opt.iterations) == 1,
      f"step after a mismatch: {w.numpy()}")

all_failures = comm.gather(failures, root=0)
if rank == 0:
    flat = [f"rank {r}: {f}" for r, fs in enumerate(all_failures) for f in fs]
    print("\n".join(flat) if flat else "OK")
    sys.exit(1 if flat else 0)
