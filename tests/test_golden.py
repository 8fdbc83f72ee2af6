"""Parity with TensorFlow's legacy optimizers, from committed golden fixtures.

Each fixture run holds two variables (a (12, 5) table and a (7,) bias), the
gradients of 20 steps (dense, sparse with repeated indices, or a dense array
with zero rows that is fed to us as a scipy CSR matrix) and TensorFlow's
variables and optimizer weights after steps 1 and 20.  `tools/make_tf_fixtures.py`
regenerates them.
"""
import numpy as np
import pytest
import scipy.sparse as sp

import golden_io
import optimizers
from optimizers import IndexedSlices, Variable

# TensorFlow uses an approximate rsqrt / vectorised pow here (see DESIGN.md).
LOOSE_FLOAT32 = {("adadelta", None), ("rmsprop", "momentum"), ("rmsprop", "centered_momentum"),
                 ("ftrl", "lrpower")}


def _runs():
    for name in golden_io.available():
        if name not in optimizers._registry._CLASSES:
            continue
        golden = golden_io.load(name)
        for case in golden.cases():
            for kind, dtype in golden.runs(case):
                yield pytest.param(name, case, kind, dtype, id=f"{name}-{case}-{kind}-{dtype}")


def tolerance(name, case, dtype, step):
    if np.dtype(dtype) == np.float64:
        return 1e-12
    if (name, None) in LOOSE_FLOAT32 or (name, case) in LOOSE_FLOAT32:
        return 1e-4
    return 1e-6 if step == 1 else 1e-5


def to_gradient(grad, var):
    if isinstance(grad, np.ndarray):
        return grad
    kind, *arrays = grad
    if kind == "sparse":
        values, indices = arrays
        return IndexedSlices(values, indices, var.shape)
    return sp.csr_matrix(arrays[0])


def relative_error(actual, expected):
    """Largest elementwise error, relative to the largest magnitude of ``expected``."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    scale = max(np.abs(expected).max(initial=0.0), np.finfo(np.float64).tiny)
    return np.abs(actual - expected).max(initial=0.0) / scale


def replay(name, case, kind, dtype, golden=None):
    """Run our optimizer over a fixture; yield ``(step, ours, expected)`` at checkpoints."""
    golden = golden or golden_io.load(name)
    config = golden.config(case)
    opt = optimizers.deserialize({"class_name": name, "config": config})
    init = golden.init(case, kind, dtype)
    variables = {k: Variable(v, name=k) for k, v in init.items()}
    for step in range(1, golden.steps + 1):
        grads = golden.gradients(case, kind, dtype, step)
        opt.apply_gradients([(to_gradient(grads[k], variables[k]), variables[k])
                             for k in golden_io.VARIABLES])
        if golden.has_expected(case, kind, dtype, step):
            ours = {k: v.numpy() for k, v in variables.items()}
            ours["weights"] = opt.get_weights()
            yield step, ours, golden.expected(case, kind, dtype, step)


@pytest.mark.parametrize("name, case, kind, dtype", list(_runs()))
def test_matches_tensorflow(name, case, kind, dtype):
    checked = 0
    for step, ours, expected in replay(name, case, kind, dtype):
        tol = tolerance(name, case, dtype, step)
        for key in ("table", "bias"):
            assert ours[key].dtype == expected[key].dtype
            err = relative_error(ours[key], expected[key])
            assert err <= tol, f"{key} after step {step}: relative error {err:.3g} > {tol:g}"
        assert len(ours["weights"]) == len(expected["weights"])
        assert int(ours["weights"][0]) == int(expected["weights"][0]) == step
        for i, (w, e) in enumerate(zip(ours["weights"][1:], expected["weights"][1:]), 1):
            assert np.shape(w) == np.shape(e)
            err = relative_error(w, e)
            assert err <= tol, f"weight {i} after step {step}: relative error {err:.3g}"
        checked += 1
    assert checked >= 2


def test_every_fixture_file_has_its_optimizer():
    names = golden_io.available()
    assert len(names) == 8
    for name in names:
        assert name in optimizers._registry._CLASSES, name
        assert golden_io.load(name).cases()
