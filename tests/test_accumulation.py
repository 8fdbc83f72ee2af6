"""Gradient accumulation (Keras 3's ``gradient_accumulation_steps``)."""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable

from conftest import assert_unchanged, snapshot


def mean_steps(grads, k):
    """Keras 3: every k-th call applies (g + acc) / k; acc adds g on the others."""
    out, acc = [], np.zeros_like(grads[0])
    for i, g in enumerate(grads):
        if (i + 1) % k:
            acc = g + acc
        else:
            out.append((g + acc) / g.dtype.type(k))
            acc = np.zeros_like(g)
    return out


@pytest.mark.parametrize("name, config", [("SGD", {"momentum": 0.9}), ("Adam", {}),
                                          ("Adagrad", {}), ("Ftrl", {}), ("Nadam", {})])
def test_dense_equals_the_plain_optimizer_on_means(dtype, name, config):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(4, 3)).astype(dtype) for _ in range(9)]
    w0 = rng.normal(size=(4, 3)).astype(dtype)
    acc_var, plain_var = Variable(w0.copy()), Variable(w0.copy())
    acc_opt = getattr(optimizers, name)(gradient_accumulation_steps=3, **config)
    plain = getattr(optimizers, name)(**config)
    for i, g in enumerate(grads):
        it = acc_opt.apply_gradients([(g, acc_var)])
        assert int(it) == (i + 1) // 3
    for g in mean_steps(grads, 3):
        plain.apply_gradients([(g, plain_var)])
    assert acc_var.numpy().tobytes() == plain_var.numpy().tobytes()
    assert int(acc_opt.get_weights()[0]) == 9            # the weight counts calls


def test_sparse_accumulates_rows_and_applies_their_mean(dtype):
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(10, 2)).astype(dtype)
    var, ref = Variable(w0.copy()), Variable(w0.copy())
    opt, plain = optimizers.LazyAdam(gradient_accumulation_steps=2), optimizers.LazyAdam()
    steps = [([1, 3, 1], 3), ([3, 7], 2), ([0], 1), ([0, 9], 2)]
    dense_grads = []
    for indices, n in steps:
        values = rng.normal(size=(n, 2)).astype(dtype)
        opt.apply_gradients([(IndexedSlices(values, indices, (10, 2)), var)])
        g = np.zeros_like(w0)
        for i, row in zip(indices, values):
            g[i] += row
        dense_grads.append((g, sorted(set(indices))))
    for (g1, r1), (g2, r2) in zip(dense_grads[::2], dense_grads[1::2]):
        rows = sorted(set(r1) | set(r2))
        mean = (g2 + g1) / dtype.type(2)
        plain.apply_gradients([(IndexedSlices(mean[rows], rows, (10, 2)), ref)])
    np.testing.assert_allclose(var.numpy(), ref.numpy(), rtol=1e-6)
    untouched = [2, 4, 5, 6, 8]
    assert var.numpy()[untouched].tobytes() == w0[untouched].tobytes()
    acc = opt.get_slot(var, "gradient_accumulator").numpy()
    assert not acc.any() and not opt.get_slot(var, "accumulated_rows").numpy().any()


def test_schedule_sees_calls_and_bias_correction_sees_steps():
    seen = []

    class Recording(optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            seen.append(int(step))
            return 0.1

        def get_config(self):
            return {}

    opt = optimizers.SGD(Recording(), gradient_accumulation_steps=2)
    var = Variable(np.zeros(2, np.float32))
    for _ in range(6):
        opt.apply_gradients([(np.ones(2, np.float32), var)])
    assert seen == [1, 3, 5]                 # the update calls, counted in calls
    assert int(opt.iterations) == 3 and opt._step_count() == 3


def test_config_and_bad_values():
    opt = optimizers.Adam(gradient_accumulation_steps=4)
    config = opt.get_config()
    assert config["gradient_accumulation_steps"] == 4
    assert optimizers.Adam.from_config(config).get_config() == config
    assert "gradient_accumulation_steps" not in optimizers.Adam().get_config()
    for bad in (1, 0, -2, 2.5, True, "2"):
        with pytest.raises(ValueError, match="gradient_accumulation_steps"):
            optimizers.SGD(gradient_accumulation_steps=bad)


def test_clipping_applies_to_the_mean():
    var = Variable(np.zeros(1, np.float32))
    opt = optimizers.SGD(1.0, clipvalue=1.0, gradient_accumulation_steps=2)
    opt.apply_gradients([(np.array([3.0], np.float32), var)])   # not clipped when added
    assert var.numpy()[0] == 0
    opt.apply_gradients([(np.array([-0.5], np.float32), var)])  # mean 1.25, clipped to 1
    assert var.numpy()[0] == -1.0


def test_bad_gradient_changes_nothing_on_either_kind_of_call():
    var = Variable(np.zeros((5, 2), np.float32))
    opt = optimizers.Adam(gradient_accumulation_steps=2)
    good = IndexedSlices(np.ones((1, 2), np.float32), [2], (5, 2))
    bad = IndexedSlices(np.ones((1, 2), np.float32), [7], (5, 2))
    for _ in range(3):
        before = snapshot(opt, [var])
        with pytest.raises(ValueError):
            opt.apply_gradients([(bad, var)])
        assert_unchanged(before, snapshot(opt, [var]))
        opt.apply_gradients([(good, var)])


def test_accumulators_are_weights_and_resume_exactly():
    rng = np.random.default_rng(2)
    grads = [rng.normal(size=3).astype(np.float32) for _ in range(5)]
    a, b = Variable(np.zeros(3, np.float32)), Variable(np.zeros(3, np.float32))
    first = optimizers.Adam(gradient_accumulation_steps=3)
    for g in grads:
        first.apply_gradients([(g, a)])
    second = optimizers.Adam(gradient_accumulation_steps=3)
    for g in grads[:4]:
        second.apply_gradients([(g, b)])
    resumed = optimizers.Adam(gradient_accumulation_steps=3)
    resumed.build([b])
    resumed.set_weights(second.get_weights())
    resumed.apply_gradients([(grads[4], b)])
    assert a.numpy().tobytes() == b.numpy().tobytes()
    names = [w.name.rsplit("/", 1)[-1] for w in resumed.weights]
    assert "gradient_accumulator" in names and "accumulated_rows" in names


def test_float16_variables_accumulate_in_float16():
    rng = np.random.default_rng(4)
    w0 = rng.normal(size=(6, 2)).astype(np.float16)
    var, ref = Variable(w0.copy()), Variable(w0.copy())
    opt, plain = optimizers.Adagrad(0.1, gradient_accumulation_steps=2), optimizers.Adagrad(0.1)
    g1 = IndexedSlices(rng.normal(size=(2, 2)).astype(np.float16), [1, 4], (6, 2))
    g2 = IndexedSlices(rng.normal(size=(1, 2)).astype(np.float16), [4], (6, 2))
    opt.apply_gradients([(g1, var)])
    opt.apply_gradients([(g2, var)])
    acc = np.zeros_like(w0)
    acc[[1, 4]] = g1.values
    dense2 = np.zeros_like(w0)
    dense2[4] = g2.values[0]
    mean = (dense2 + acc) / np.float16(2)
    plain.apply_gradients([(IndexedSlices(mean[[1, 4]], [1, 4], (6, 2)), ref)])
    assert var.numpy().tobytes() == ref.numpy().tobytes()
