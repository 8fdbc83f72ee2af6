"""float16 sparse steps of rows-only optimizers copy, update and write back
only the touched rows, with the numbers of the whole-table float32 copy."""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable

ROWS_ONLY = [
    ("SGD", {}), ("SGD", {"momentum": 0.9, "nesterov": True}), ("Adagrad", {}),
    ("Adadelta", {"learning_rate": 1.0}), ("Adamax", {}), ("LazyAdam", {}),
    ("AdamW", {"weight_decay": 0.01}), ("AdamW", {"weight_decay": 0.01, "amsgrad": True}),
    ("Ftrl", {"l1_regularization_strength": 0.01, "l2_shrinkage_regularization_strength": 0.1}),
    ("RowwiseAdagrad", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
]
WHOLE_TABLE = [("Adam", {}), ("Nadam", {}), ("RMSprop", {}), ("RMSprop", {"centered": True})]


def make(name, config):
    return optimizers.deserialize({"class_name": name, "config": dict(config)})


def gradients(shape, steps=3, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(steps):
        indices = rng.integers(0, shape[0], 12)
        indices[3] = indices[7] = indices[0]             # repeats
        values = rng.normal(0, 1, (len(indices),) + shape[1:]).astype(np.float16)
        out.append(IndexedSlices(values, indices, shape))
    return out


def train(opt, shape, whole_copy):
    if whole_copy:                      # the path every float16 step took before
        opt._sparse_touches_only_rows = lambda: False
    var = Variable(np.linspace(-1, 1, int(np.prod(shape))).astype(np.float16).reshape(shape))
    for grad in gradients(shape):
        opt.apply_gradients([(grad, var)])
    return var, opt


@pytest.mark.parametrize("shape", [(40, 3), (40,), (40, 2, 3)])
@pytest.mark.parametrize("name, config", ROWS_ONLY, ids=lambda x: str(x))
def test_rows_path_equals_whole_copy(name, config, shape):
    if name == "RowwiseAdagrad" and len(shape) == 1:
        shape = (40, 1)
    fast_var, fast = train(make(name, config), shape, whole_copy=False)
    slow_var, slow = train(make(name, config), shape, whole_copy=True)
    assert fast._sparse_touches_only_rows()
    np.testing.assert_array_equal(fast_var.numpy(), slow_var.numpy())
    for a, b in zip(fast.get_weights(), slow.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, config", WHOLE_TABLE, ids=lambda x: str(x))
def test_whole_table_optimizers_say_so(name, config):
    assert not make(name, config)._sparse_touches_only_rows()


def test_untouched_rows_are_not_rewritten():
    # A row the step does not name keeps its bits, even a NaN payload or -0.0.
    var = Variable(np.zeros((6, 2), np.float16))
    raw = var._value.view(np.uint16)
    raw[4] = [0x7E01, 0x8000]
    before = raw.copy()
    optimizers.LazyAdam().apply_gradients(
        [(IndexedSlices(np.ones((2, 2), np.float16), np.array([1, 1]), (6, 2)), var)])
    changed = np.flatnonzero((raw != before).any(axis=1))
    assert changed.tolist() == [1]


def test_subclass_rewriting_the_sparse_update_is_not_rows_only():
    class Custom(optimizers.LazyAdam):
        def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
            super()._resource_apply_sparse(grad, var, indices, apply_state)

    assert optimizers.LazyAdam()._sparse_touches_only_rows()
    assert not Custom()._sparse_touches_only_rows()

    class Declared(Custom):
        _sparse_rows_only = True

        def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
            super()._resource_apply_sparse(grad, var, indices, apply_state)

    assert Declared()._sparse_touches_only_rows()


def test_float16_step_costs_the_touched_rows():
    # A 64-row step on a 1,000,000 x 16 float16 table reads no other row: it
    # must not take time (or memory) in proportion to the table.
    import tracemalloc
    var = Variable(np.zeros((1_000_000, 16), np.float16))
    opt = optimizers.LazyAdam()
    grad = IndexedSlices(np.ones((64, 16), np.float16),
                         np.arange(0, 1_000_000, 1_000_000 // 64)[:64], var.shape)
    opt.apply_gradients([(grad, var)])                     # slots made here
    tracemalloc.start()
    opt.apply_gradients([(grad, var)])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20, f"a 64-row float16 step allocated {peak} bytes at peak"
