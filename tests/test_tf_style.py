"""Optimizer code written for TensorFlow 2.4 runs here: Variable.device,
dtype.base_dtype, apply_state keys, scatter helpers, subclasses of built-in
optimizers that leave out apply_state."""
import copy
import pickle

import numpy as np
import pytest

import optimizers
from optimizers import DType, IndexedSlices, Variable


def test_dtype_is_a_numpy_dtype_with_tensorflow_attributes():
    v = Variable(np.zeros((2, 3), np.float64))
    d = v.dtype
    assert isinstance(d, DType)
    assert d == np.float64 and d == "float64" and d == np.dtype("float64")
    assert np.dtype("float64") == d and not (d != np.float64) and d != np.float32
    assert hash(d) == hash(np.dtype("float64"))
    assert {np.dtype("float64"): 1}[d] == 1 and {d: 2}[np.dtype("float64")] == 2
    assert d.base_dtype is d and d.as_numpy_dtype is np.float64 and d.is_floating
    assert not d.is_complex and d.kind == "f" and d.itemsize == 8 and d.name == "float64"
    assert np.dtype(d) is np.dtype("float64") and np.zeros(2, d).dtype == np.float64
    assert str(d) == "float64" and repr(d) == "dtype('float64')"
    assert d in (np.dtype(np.float32), np.dtype(np.float64))
    assert pickle.loads(pickle.dumps(d)) is d and copy.deepcopy(d) is d
    assert (d == object()) is False


def test_apply_state_is_keyed_as_tensorflow_keys_it():
    seen = []

    class Probe(optimizers.SGD):
        def _resource_apply_dense(self, grad, var, apply_state=None):
            seen.append(apply_state.get((var.device, var.dtype.base_dtype)))
            return super()._resource_apply_dense(grad, var, apply_state)

    w = Variable(np.ones(3, np.float32))
    Probe(0.5).apply_gradients([(np.ones(3, np.float32), w)])
    assert seen[0] is not None and seen[0]["lr_t"] == np.float32(0.5)
    assert w.device == "cpu"


@pytest.mark.parametrize("name", ["Nadam", "Adam", "RMSprop", "Ftrl", "Adagrad", "SGD"])
def test_subclass_without_apply_state_gives_the_base_numbers(name):
    base = getattr(optimizers, name)

    class NoApplyState(base):
        def _resource_apply_dense(self, grad, var):
            return super()._resource_apply_dense(grad, var)

        def _resource_apply_sparse(self, grad, var, indices):
            return super()._resource_apply_sparse(grad, var, indices)

    rng = np.random.default_rng(0)
    a, b = (Variable(np.ones((6, 2), np.float32)) for _ in range(2))
    ours, theirs = NoApplyState(), base()
    for _ in range(3):
        dense = rng.normal(size=(6, 2)).astype(np.float32)
        sparse = IndexedSlices(rng.normal(size=(3, 2)).astype(np.float32), [5, 0, 5], (6, 2))
        for grad in (dense, sparse):
            ours.apply_gradients([(grad, a)])
            theirs.apply_gradients([(grad, b)])
    assert a.numpy().tobytes() == b.numpy().tobytes()
    for x, y in zip(ours.get_weights(), theirs.get_weights()):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()


def test_scatter_helpers():
    opt = optimizers.SGD()
    v = Variable(np.zeros((4, 2), np.float32))
    assert opt._resource_scatter_add(v, np.array([1, 1, 3]), np.ones((3, 2), np.float32)) is v
    np.testing.assert_array_equal(v.numpy()[:, 0], [0, 2, 0, 1])
    opt._resource_scatter_update(v, np.array([1, 2]), np.full((2, 2), 7, np.float32))
    np.testing.assert_array_equal(v.numpy()[:, 1], [0, 7, 7, 1])
