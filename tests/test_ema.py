"""Moving averages of the variables (Keras 3's use_ema), lazy on rows-only steps."""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable

from conftest import assert_unchanged, snapshot


def keras_ema(values, momentum, first_full=1):
    """Keras 3: after call u, a = m a + (1 - m) w, m = 0 while u < first_full."""
    average = None
    for u, w in enumerate(values):
        m = w.dtype.type(0 if u < first_full else momentum)
        average = w.copy() if average is None else m * average + (w.dtype.type(1) - m) * w
    return average


def test_dense_steps_average_exactly_as_keras(dtype):
    rng = np.random.default_rng(0)
    var = Variable(rng.normal(size=(3, 4)).astype(dtype))
    opt = optimizers.Adam(0.1, use_ema=True, ema_momentum=0.9)
    values = []
    for _ in range(6):
        opt.apply_gradients([(rng.normal(size=(3, 4)).astype(dtype), var)])
        values.append(var.numpy())
    expected = keras_ema(values, 0.9)
    assert opt.get_slot(var, "average").numpy().tobytes() == expected.tobytes()
    assert opt.moving_average(var).tobytes() == expected.tobytes()


def test_rows_only_steps_are_lazy_and_equal_the_dense_average(dtype):
    rng = np.random.default_rng(1)
    table = Variable(rng.normal(size=(50, 3)).astype(dtype))
    opt = optimizers.LazyAdam(0.05, use_ema=True, ema_momentum=0.8)
    values = []
    for step in range(12):
        rows = rng.choice(50, 4, replace=False) if step else np.arange(50)
        grad = IndexedSlices(rng.normal(size=(len(rows), 3)).astype(dtype), rows, (50, 3))
        opt.apply_gradients([(grad, table)])
        values.append(table.numpy())
        done = opt.get_slot(table, "average_step").numpy()
        assert done[rows].tolist() == [step + 1] * len(rows)   # touched rows are current
        assert (done <= step + 1).all()
    assert (opt.get_slot(table, "average_step").numpy() < 12).any()   # some rows lag
    np.testing.assert_allclose(opt.moving_average(table), keras_ema(values, 0.8),
                               rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_a_variable_left_out_of_a_call_is_averaged_too():
    a, b = Variable(np.ones(2, np.float32)), Variable(np.ones(2, np.float32))
    opt = optimizers.SGD(0.5, use_ema=True, ema_momentum=0.5)
    g = np.ones(2, np.float32)
    opt.apply_gradients([(g, a), (g, b)])
    opt.apply_gradients([(g, a)])          # b keeps 0.5; Keras still averages it
    opt.apply_gradients([(g, a), (g, b)])
    values = [np.full(2, 0.5, np.float32), np.full(2, 0.5, np.float32),
              np.zeros(2, np.float32)]
    assert opt.moving_average(b).tobytes() == keras_ema(values, 0.5).tobytes()


def test_overwrite_frequency_and_finalize():
    var = Variable(np.zeros(2, np.float32))
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=3)
    half = np.float32(0.5)
    w, average = np.zeros(2, np.float32), None
    for step in range(1, 8):
        opt.apply_gradients([(np.ones(2, np.float32), var)])
        w = w - np.float32(1)
        average = w.copy() if average is None else half * average + (1 - half) * w
        if step % 3 == 0:               # Keras: the variable becomes its average
            w = average.copy()
        assert var.numpy().tobytes() == w.tobytes()
    opt.finalize_variable_values([var])
    assert var.numpy().tobytes() == average.tobytes()


def test_with_gradient_accumulation_the_first_step_copies():
    var = Variable(np.zeros(1, np.float64))
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, gradient_accumulation_steps=2)
    seen = []
    for _ in range(4):
        opt.apply_gradients([(np.ones(1), var)])
        seen.append(var.numpy())
    assert opt.moving_average(var).tobytes() == keras_ema(seen, 0.5, first_full=2).tobytes()


def test_config_weights_and_bad_arguments():
    opt = optimizers.Adam(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=10)
    config = opt.get_config()
    assert (config["use_ema"], config["ema_momentum"], config["ema_overwrite_frequency"]) == \
        (True, 0.9, 10)
    assert optimizers.Adam.from_config(config).get_config() == config
    assert "use_ema" not in optimizers.Adam().get_config()
    var = Variable(np.zeros((3, 2), np.float32))
    opt.build([var])
    names = [w.name.rsplit("/", 1)[-1] for w in opt.weights]
    assert names == ["iter", "m", "v", "average", "average_step"]
    assert opt.get_slot(var, "average_step").dtype == np.int64
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.SGD(use_ema=True, ema_momentum=1.5)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(TypeError, match="use_ema"):
        optimizers.SGD(use_ema="yes")
    with pytest.raises(ValueError, match="no moving averages"):
        optimizers.SGD().moving_average(var)


def test_bad_input_changes_nothing_and_checkpoints_resume():
    rng = np.random.default_rng(3)
    table = Variable(rng.normal(size=(8, 2)).astype(np.float32))
    opt = optimizers.Adagrad(0.1, use_ema=True)
    good = IndexedSlices(np.ones((2, 2), np.float32), [1, 5], (8, 2))
    opt.apply_gradients([(good, table)])
    before = snapshot(opt, [table])
    with pytest.raises(ValueError):
        opt.apply_gradients([(IndexedSlices(np.ones((1, 2), np.float32), [9], (8, 2)), table)])
    assert_unchanged(before, snapshot(opt, [table]))
    copy_table = Variable(table.numpy())
    resumed = optimizers.Adagrad(0.1, use_ema=True)
    resumed.build([copy_table])
    resumed.set_weights(opt.get_weights())
    for t, o in ((table, opt), (copy_table, resumed)):
        for rows in ([2, 3], [1, 1, 6]):
            o.apply_gradients([(IndexedSlices(np.ones((len(rows), 2), np.float32), rows,
                                              (8, 2)), t)])
    assert opt.moving_average(table).tobytes() == resumed.moving_average(copy_table).tobytes()


def test_float16_variables_average_in_float16():
    rng = np.random.default_rng(5)
    var = Variable(rng.normal(size=(4, 2)).astype(np.float16))
    opt = optimizers.SGD(0.1, use_ema=True, ema_momentum=0.75)
    values = []
    for _ in range(4):
        opt.apply_gradients([(rng.normal(size=(4, 2)).astype(np.float16), var)])
        values.append(var.numpy())
    assert opt.moving_average(var).tobytes() == keras_ema(values, 0.75).tobytes()
