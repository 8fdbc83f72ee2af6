"""Hostile inputs: optimizers, gradient kinds, state snapshots and the cases
that could crash the process.

`tests/test_hostile.py` runs the table; the cases in `CRASH_CASES` run in a
child process (``python tests/hostile.py``), so a crash fails a test instead
of killing the test run.
"""
import json
import sys
import threading

import numpy as np
import scipy.sparse as sp

import optimizers
from optimizers import IndexedSlices, Variable

OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(0.1),
    "momentum": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optimizers.Adam(0.01, amsgrad=True),
    "lazyadam": lambda: optimizers.LazyAdam(0.01),
    "adamw": lambda: optimizers.AdamW(weight_decay=0.01, learning_rate=0.01),
    "adamax": lambda: optimizers.Adamax(0.01),
    "adadelta": lambda: optimizers.Adadelta(1.0),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "rowwise_adagrad": lambda: optimizers.RowwiseAdagrad(0.1),
    "ftrl": lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01),
    "nadam": lambda: optimizers.Nadam(0.01),
    "rmsprop": lambda: optimizers.RMSprop(0.01),
    "rmsprop_centered": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "partial_rowwise_adam": lambda: optimizers.PartialRowwiseAdam(0.01),
}

KINDS = ("dense", "indexed", "csr", "coo", "csc")
SHAPE = (8, 4)


def variables(dtype=np.float32, seed=0):
    """Two 2-D variables: ``first`` (updated first) and ``second``."""
    rng = np.random.default_rng(seed)
    return [Variable(rng.normal(size=SHAPE).astype(dtype), name="first"),
            Variable(rng.normal(size=SHAPE).astype(dtype), name="second")]


def gradient(kind, var, seed=1):
    """A good gradient of ``kind`` for ``var``: rows 1, 3 and 6 (repeated for
    ``indexed``)."""
    arr = np.asarray(var)
    rng = np.random.default_rng(seed)
    if kind == "indexed":
        rows = np.array([3, 1, 3, 6, 1])
        return IndexedSlices(rng.normal(size=(5,) + arr.shape[1:]).astype(arr.dtype), rows,
                             arr.shape)
    dense = np.zeros(arr.shape, arr.dtype)
    dense[[1, 3, 6]] = rng.normal(size=(3,) + arr.shape[1:])
    if kind == "dense":
        return dense
    return {"csr": sp.csr_matrix, "coo": sp.coo_matrix, "csc": sp.csc_matrix}[kind](dense)


def trained(name, kind, dtype=np.float32):
    """An optimizer after one good step on both variables (slots exist)."""
    opt = OPTIMIZERS[name]()
    vs = variables(dtype)
    opt.apply_gradients([(gradient(kind, v), v) for v in vs])
    return opt, vs


def hyper_state(opt):
    out = {}
    for key, value in opt._hyper.items():
        if isinstance(value, Variable):
            out[key] = ("variable", id(value), value.numpy().tobytes())
        else:
            out[key] = ("value", id(value), repr(value))
    return out


def snapshot(opt, vs):
    """Everything a step could change, bit for bit."""
    return {
        "variables": [np.asarray(v).tobytes() for v in vs],
        "shapes": [np.shape(v) for v in vs],
        "weights": [(w.name, w.numpy().tobytes()) for w in opt.weights],
        "iterations": None if opt._iterations is None else int(opt._iterations),
        "hyper": hyper_state(opt),
        "slot_names": opt.get_slot_names(),
    }


# ---------------------------------------------------------------------- #
# Cases that could crash the process: each returns the second variable's
# bad gradient (the first variable's gradient is good and comes first).
def _corrupt_coo_row(value):
    def make(var):
        g = sp.coo_matrix(gradient("dense", var))
        g.row[0] = value
        return g
    return make


def _corrupt_coo_col(value):
    def make(var):
        g = sp.coo_matrix(gradient("dense", var))
        g.col[-1] = value
        return g
    return make


def _corrupt_csc(field, value):
    def make(var):
        g = sp.csc_matrix(gradient("dense", var))
        getattr(g, field)[1] = value
        return g
    return make


def _corrupt_csr(field, value, dtype=None):
    def make(var):
        g = sp.csr_matrix(gradient("dense", var))
        if dtype is not None:
            setattr(g, field, getattr(g, field).astype(dtype))
        getattr(g, field)[-1 if field == "indices" else 2] = value
        return g
    return make


def _corrupt_bsr(value):
    def make(var):
        g = sp.bsr_matrix(gradient("dense", var), blocksize=(2, 2))
        g.indices[0] = value
        return g
    return make


def _coo_short_row(var):
    g = sp.coo_matrix(gradient("dense", var))
    g.row = g.row[:-1]
    return g


CRASH_CASES = {
    "coo-row-out-of-range": _corrupt_coo_row(SHAPE[0] + 100),
    "coo-row-negative": _corrupt_coo_row(-1),
    "coo-col-out-of-range": _corrupt_coo_col(SHAPE[1]),
    "coo-row-too-short": _coo_short_row,
    "csc-row-out-of-range": _corrupt_csc("indices", SHAPE[0] + 5),
    "csc-row-negative": _corrupt_csc("indices", -3),
    "csc-indptr-decreasing": _corrupt_csc("indptr", 100),
    "csr-indptr-decreasing": _corrupt_csr("indptr", 1000),
    "csr-indptr-negative": _corrupt_csr("indptr", -5),
    "csr-int64-indptr-beyond-2**62": _corrupt_csr("indptr", 2**62 + 1, np.int64),
    "csr-col-out-of-range": _corrupt_csr("indices", SHAPE[1]),
    "csr-col-negative": _corrupt_csr("indices", -1),
    "csr-int64-col-beyond-int32": _corrupt_csr("indices", 2**32 + 1, np.int64),
    "bsr-col-out-of-range": _corrupt_bsr(7),
    "bsr-col-negative": _corrupt_bsr(-2),
}


def run_crash_case(case, name):
    """Apply a good gradient to ``first`` and the case's bad one to ``second``;
    return what happened."""
    opt, vs = trained(name, "csr")
    before = snapshot(opt, vs)
    bad = CRASH_CASES[case](vs[1])
    try:
        opt.apply_gradients([(gradient("csr", vs[0], seed=2), vs[0]), (bad, vs[1])])
    except Exception as exc:  # what we want: a clear error
        return {"error": type(exc).__name__, "message": str(exc),
                "unchanged": snapshot(opt, vs) == before}
    return {"error": None, "message": "", "unchanged": snapshot(opt, vs) == before}


def run_reshaped_case(name, kind):
    """The second variable's array is reshaped in place after its slots exist."""
    opt, vs = trained(name, kind)
    before = snapshot(opt, vs)
    np.asarray(vs[1]).shape = (2 * SHAPE[0], SHAPE[1] // 2)
    try:
        opt.apply_gradients([(gradient(kind, vs[0], seed=2), vs[0]),
                             (gradient(kind, vs[1], seed=3), vs[1])])
    except Exception as exc:  # what we want: a clear error
        np.asarray(vs[1]).shape = SHAPE
        return {"error": type(exc).__name__, "message": str(exc),
                "unchanged": snapshot(opt, vs) == before}
    # Without slots nothing was made for the old shape: a valid step.
    return {"error": None, "message": "", "unchanged": not opt.get_slot_names()}


def run_threads_case(name, kind, same_variable):
    """Two threads step one optimizer 30 times each; the result must be, bit for
    bit, that of the same calls run serially in the order they took.  A
    gradient transformer records that order: it runs inside each step, in the
    calling thread."""
    n_steps = 30
    order, current = [], threading.local()

    def build():
        opt = OPTIMIZERS[name]()
        opt.gradient_transformers = [lambda pairs: order.append(current.call) or pairs]
        vs = variables(np.float64)
        return opt, vs, ([vs[0], vs[0]] if same_variable else vs)

    opt, vs, targets = build()
    grads = {(i, s): gradient(kind, targets[i], seed=100 * i + s)
             for i in range(2) for s in range(n_steps)}
    errors = []

    def worker(i):
        try:
            for s in range(n_steps):
                current.call = (i, s)
                opt.apply_gradients([(grads[i, s], targets[i])])
        except Exception as exc:  # reported to the parent
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    concurrent = snapshot(opt, vs)
    serial_order = list(order)
    opt, vs, targets = build()
    for i, s in serial_order:
        current.call = (i, s)
        opt.apply_gradients([(grads[i, s], targets[i])])
    serial = snapshot(opt, vs)
    same = ({k: v for k, v in concurrent.items() if k != "hyper"}
            == {k: v for k, v in serial.items() if k != "hyper"}
            and len(serial_order) == 2 * n_steps)
    return {"error": errors[0] if errors else None, "message": "", "unchanged": same}


def run_mutation_case(name, where):
    """User code that runs after the checks (a learning-rate callable, a
    constraint of another variable) rewrites the indices of a gradient to
    out-of-range rows: the step must use the indices as they were checked."""
    outcomes = []
    for mutate in (True, False):
        opt = OPTIMIZERS[name]()
        vs = variables()
        rows = np.array([5, 2, 5, 0])
        grad = IndexedSlices(np.ones((4, SHAPE[1]), np.float32), rows, SHAPE)

        def hostile(*args):
            if mutate:
                rows[:] = 10**9
            return args[0] if args else 0.01

        if where == "learning_rate":
            opt._hyper["learning_rate"] = hostile
            constrained = Variable(np.zeros(3, np.float32), name="constrained")
        else:
            constrained = Variable(np.zeros(3, np.float32), name="constrained",
                                   constraint=hostile)
        try:
            opt.apply_gradients([(np.ones(3, np.float32), constrained), (grad, vs[1])])
        except Exception as exc:  # reported to the parent
            return {"error": type(exc).__name__, "message": str(exc), "unchanged": False}
        outcomes.append(snapshot(opt, vs)["variables"])
    return {"error": None, "message": "", "unchanged": outcomes[0] == outcomes[1]}


def main():
    results = {}
    for name in OPTIMIZERS:
        for where in ("learning_rate", "constraint"):
            key = f"mutation/{name}/{where}"
            print("start", key, file=sys.stderr, flush=True)
            results[key] = run_mutation_case(name, where)
    for case in CRASH_CASES:
        for name in OPTIMIZERS:
            key = f"{case}/{name}"
            print("start", key, file=sys.stderr, flush=True)
            results[key] = run_crash_case(case, name)
    for name in OPTIMIZERS:
        for kind in KINDS:
            key = f"reshaped/{name}/{kind}"
            print("start", key, file=sys.stderr, flush=True)
            results[key] = run_reshaped_case(name, kind)
    for name in ("sgd", "adam", "ftrl", "nadam"):
        for kind in ("dense", "indexed", "csr"):
            for same in (False, True):
                key = f"threads/{name}/{kind}/{'same' if same else 'disjoint'}"
                print("start", key, file=sys.stderr, flush=True)
                results[key] = run_threads_case(name, kind, same)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
