"""Workloads of DESIGN.md and the optimizers they are measured with.

S1  embedding, 1,000,000 x 64 float32, 16,384 Zipf-distributed indices a step
S2  small embedding, 100,000 x 32 float32, 1,024 uniform indices
O1  one row of a 1,000 x 8 float32 table (the cost of a call)
D1  one dense variable of 10,000,000 float32 elements
D2  100 (64, 64) + 100 (64,) dense float32 variables
C1  CSR gradient on a (2**20, 16) float32 weight matrix: a 512-row batch with
    ~40 features a row
"""
import numpy as np

try:
    import optimizers
    from optimizers import IndexedSlices, Variable
except ImportError:
    # The peers' timing runs (compare_peers.py --peer) may use another Python
    # environment, without this package: they need the workloads' arrays only.
    import collections

    optimizers = None
    IndexedSlices = collections.namedtuple("IndexedSlices", "values indices dense_shape")

    def Variable(value, name=None):
        return value

# name -> (class name, config)
OPTIMIZERS = {
    "sgd": ("SGD", {"learning_rate": 0.01}),
    "momentum": ("SGD", {"learning_rate": 0.01, "momentum": 0.9}),
    "adagrad": ("Adagrad", {}),
    "rowwise_adagrad": ("RowwiseAdagrad", {}),
    "adam": ("Adam", {}),
    "lazy_adam": ("LazyAdam", {}),
    "partial_rowwise_adam": ("PartialRowwiseAdam", {}),
    "ftrl": ("Ftrl", {}),
    "rmsprop": ("RMSprop", {}),
}

SPARSE_WORKLOADS = {
    "S1": dict(rows=1_000_000, width=64, batch=16_384, zipf=True),
    "S2": dict(rows=100_000, width=32, batch=1_024, zipf=False),
    # (a call's fixed cost: timed by compare_peers.py; asv has overhead.py)
    "O1": dict(rows=1_000, width=8, batch=1, zipf=False),
}


def make_optimizer(name):
    class_name, config = OPTIMIZERS[name]
    return optimizers.deserialize({"class_name": class_name, "config": dict(config)})


def zipf_indices(n_rows, size, rng, exponent=1.1):
    """Zipf-distributed row ids: many repeats of a few popular rows."""
    ids = rng.zipf(exponent, size=size * 2)
    ids = ids[ids <= n_rows][:size] - 1
    while len(ids) < size:                       # exponent near 1: rare, cheap top-up
        extra = rng.zipf(exponent, size=size) - 1
        ids = np.concatenate([ids, extra[extra < n_rows]])[:size]
    return rng.permutation(n_rows)[ids].astype(np.int64)


def sparse_step(workload, seed=0):
    """(variable, IndexedSlices gradient) of one sparse workload."""
    w = SPARSE_WORKLOADS[workload]
    rng = np.random.default_rng(seed)
    table = Variable(rng.normal(0, 0.05, (w["rows"], w["width"])).astype(np.float32),
                     name=workload)
    if w["zipf"]:
        indices = zipf_indices(w["rows"], w["batch"], rng)
    else:
        indices = rng.integers(0, w["rows"], w["batch"])
    values = rng.normal(0, 0.01, (w["batch"], w["width"])).astype(np.float32)
    return table, IndexedSlices(values, indices, table.shape)


def csr_step(seed=0, rows=2 ** 20, width=16, batch=512, features=40):
    """(weight, CSR gradient) of C1: X^T-style gradient of a sparse linear layer."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    weight = Variable(rng.normal(0, 0.05, (rows, width)).astype(np.float32), name="C1")
    feat = rng.integers(0, rows, (batch, features)).reshape(-1)
    example = np.repeat(np.arange(batch), features)
    upstream = rng.normal(0, 0.01, (batch, width)).astype(np.float32)
    grad = sp.csr_matrix((np.ones(len(feat), np.float32), (feat, example)),
                         shape=(rows, batch)) @ sp.csr_matrix(upstream)
    return weight, grad.tocsr()


def dense_step(workload, seed=0):
    """(variables, gradients) of a dense workload."""
    rng = np.random.default_rng(seed)
    if workload == "D1":
        shapes = [(10_000_000,)]
    else:
        shapes = [(64, 64)] * 100 + [(64,)] * 100
    variables = [Variable(rng.normal(0, 0.05, s).astype(np.float32), name=f"v{i}")
                 for i, s in enumerate(shapes)]
    grads = [rng.normal(0, 0.01, s).astype(np.float32) for s in shapes]
    return variables, grads


# Benchmark parameters say what they are; the short names are DESIGN.md's.
WORKLOADS = {
    "embedding-1Mx64-zipf16k": "S1",
    "embedding-100kx32-uniform1k": "S2",
    "dense-10M": "D1",
    "dense-200-small": "D2",
}
SPARSE_PARAMS = [k for k, v in WORKLOADS.items() if v in SPARSE_WORKLOADS]
DENSE_PARAMS = [k for k, v in WORKLOADS.items() if v in ("D1", "D2")]


def create_slots(opt, variables):
    """Create iterations, hyperparameters and slots outside the timed region."""
    opt.build(list(variables))


def step_peak_mib(opt, pairs):
    """Peak memory (MiB) that one ``apply_gradients`` allocates above what
    exists before it (NumPy's allocations are traced by tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        opt.apply_gradients(pairs)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
