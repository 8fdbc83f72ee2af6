"""NumPy floating-point errors met by a step: the step is whole or nothing.

An error met while the step writes (a NaN or an overflow made by the
update) is acted on, as the caller's NumPy error state says, once every
variable, slot and `iterations` are updated; one met before (clipping,
coefficients) stops the step with nothing changed.
"""
import warnings

import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable
from optimizers.threads import openmp_enabled

N = 3000            # more elements than dense packing takes: each variable on its own


def make(name, **kwargs):
    return getattr(optimizers, name)(**kwargs)


def state(opt, variables):
    return [v.numpy().copy() for v in variables] + [np.array(w, copy=True)
                                                    for w in opt.get_weights()]


def same(a, b):
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))


def poisoned(value, dtype=np.float32):
    g = np.full(N, 0.25, dtype)
    g[-1] = value
    return g


def two_step_run(name, kwargs, second_grad, errors):
    """A warm-up step, then a step whose second gradient is ``second_grad``,
    under ``errors`` ("ignore", "raise" or "warn-as-error"); returns
    ``(state after, state before the second step, exception or None)``."""
    opt = make(name, **kwargs)
    a, b = Variable(np.ones(N, np.float32)), Variable(np.ones(N, np.float32))
    opt.apply_gradients([(np.ones(N, np.float32), a), (np.ones(N, np.float32), b)])
    before = state(opt, (a, b))
    raised = None
    with warnings.catch_warnings():
        if errors == "warn-as-error":
            warnings.simplefilter("error")
        context = np.errstate(all="raise") if errors == "raise" else (
            np.errstate(all="ignore") if errors == "ignore" else np.errstate(all="warn"))
        try:
            with context:
                opt.apply_gradients([(np.full(N, 0.5, np.float32), a), (second_grad, b)])
        except (FloatingPointError, RuntimeWarning) as exc:
            raised = exc
    return state(opt, (a, b)), before, raised


@pytest.mark.parametrize("errors", ["raise", "warn-as-error"])
@pytest.mark.parametrize("name, kwargs, value", [
    ("Adam", {}, np.inf),                     # inf / inf in the update: invalid
    ("Adagrad", {}, np.inf),
    ("Ftrl", {}, np.inf),
    ("Adadelta", {}, 1e30),                   # g * g overflows
    ("RMSprop", {"centered": True}, np.inf),
    ("SGD", {"momentum": 0.9}, np.nan),       # a NaN passes through: no error, whole step
])
def test_an_error_in_the_update_is_reported_after_the_whole_step(name, kwargs, value, errors):
    expected, _, none = two_step_run(name, kwargs, poisoned(value), "ignore")
    assert none is None
    after, before, raised = two_step_run(name, kwargs, poisoned(value), errors)
    assert same(after, expected)               # every variable and slot, bit for bit
    assert int(after[2]) == int(before[2]) + 1  # the step is counted
    if name == "SGD":
        assert raised is None
    else:
        kind = FloatingPointError if errors == "raise" else RuntimeWarning
        assert isinstance(raised, kind)


def test_an_error_before_the_update_changes_nothing():
    # clipnorm of an inf gradient: inf * c / inf in the clipping, before any write
    after, before, raised = two_step_run("Adam", {"clipnorm": 1.0}, poisoned(np.inf), "raise")
    assert isinstance(raised, FloatingPointError)
    assert same(after, before)


def test_the_callers_error_state_is_back_after_a_step():
    opt = optimizers.Adagrad()
    w = Variable(np.ones(N, np.float32))
    with np.errstate(divide="warn", over="raise", under="ignore", invalid="raise"):
        states = np.geterr()
        with pytest.raises(FloatingPointError):
            opt.apply_gradients([(poisoned(np.inf), w)])
        assert np.geterr() == states
        opt.apply_gradients([(np.ones(N, np.float32), w)])
        assert np.geterr() == states


def test_an_error_callback_runs_once_the_step_is_whole():
    opt = optimizers.Adam()
    a, b = Variable(np.ones(N, np.float32)), Variable(np.ones(N, np.float32))
    seen = []

    def callback(kind, flag):
        seen.append((kind, int(opt.iterations), np.isnan(b.numpy()[-1])))

    with np.errstate(all="call", call=callback):
        opt.apply_gradients([(np.ones(N, np.float32), a), (poisoned(np.inf), b)])
    assert seen and all(count == 1 and nan for _, count, nan in seen)


def test_an_error_of_a_sparse_step_beside_a_dense_one():
    # The rows kernel never raises; the dense variable's NaN is reported after both.
    opt = optimizers.Adagrad()
    table, dense = Variable(np.ones((50, 4), np.float32)), Variable(np.ones(N, np.float32))
    rows = IndexedSlices(np.ones((3, 4), np.float32), np.array([1, 1, 7]), table.shape)
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        opt.apply_gradients([(poisoned(np.inf), dense), (rows, table)])
    assert int(opt.iterations) == 1
    assert not np.array_equal(table.numpy()[[1, 7]], np.ones((2, 4), np.float32))


def test_an_error_while_accumulating_gradients():
    opt = optimizers.SGD(gradient_accumulation_steps=3)
    a, b = Variable(np.ones(N, np.float32)), Variable(np.ones(N, np.float32))
    ones, big = np.ones(N, np.float32), np.full(N, 3e38, np.float32)
    opt.apply_gradients([(ones, a), (big, b)])
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        opt.apply_gradients([(ones, a), (big, b)])          # 3e38 + 3e38 overflows
    # both accumulators took the call, and the call was counted: the third applies
    assert (opt.get_slot(a, "gradient_accumulator").numpy() == 2).all()
    assert np.isinf(opt.get_slot(b, "gradient_accumulator").numpy()).all()
    with np.errstate(all="ignore"):
        opt.apply_gradients([(ones, a), (ones, b)])
    assert int(opt.iterations) == 1
    assert np.allclose(a.numpy(), 1 - 0.01 * 1.0)
    assert np.isneginf(b.numpy()).all()


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: one thread")
def test_an_error_in_a_helper_thread_is_reported_after_the_whole_step(monkeypatch):
    monkeypatch.setattr(optimizers._dense, "PARALLEL_MIN", 0)
    n = 200_000
    expected_w = None
    for errors in ("ignore", "raise"):
        opt = optimizers.Adagrad()
        w = Variable(np.ones(n, np.float32))
        g = np.ones(n, np.float32)
        g[::1000] = np.inf                       # in every block
        optimizers.set_num_threads(2)
        try:
            with np.errstate(all=errors):
                if errors == "raise":
                    with pytest.raises(FloatingPointError):
                        opt.apply_gradients([(g, w)])
                else:
                    opt.apply_gradients([(g, w)])
        finally:
            optimizers.set_num_threads(None)
        if expected_w is None:
            expected_w = w.numpy().copy()
        else:
            assert np.array_equal(w.numpy(), expected_w, equal_nan=True)
        assert int(opt.iterations) == 1


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "Ftrl", "RMSprop"])
@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm"])
def test_an_all_zero_gradient_clips_without_an_error(name, clip):
    # 1 / norm is inf by design there: no error, not even a warning
    opt = make(name, **{clip: 1.0})
    w = Variable(np.ones((4, 3), np.float32))
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.apply_gradients([(np.zeros((4, 3), np.float32), w)])
        opt.apply_gradients([(IndexedSlices(np.zeros((2, 3), np.float32), np.array([1, 1]),
                                            w.shape), w)])
    assert np.isfinite(w.numpy()).all()
    assert int(opt.iterations) == 2


def test_a_loss_scale_optimizer_updates_its_scale_before_the_error():
    # A finite gradient whose update overflows: the inner step, then the
    # loss scale's good-step count, then the error.
    from optimizers.mixed_precision import LossScaleOptimizer

    states = {}
    for errors in ("ignore", "raise"):
        opt = LossScaleOptimizer(optimizers.Adadelta(1.0), dynamic_growth_steps=2)
        w = Variable(np.ones(N, np.float32))
        opt.apply_gradients([(np.ones(N, np.float32), w)])
        with np.errstate(all=errors):
            if errors == "raise":
                with pytest.raises(FloatingPointError):
                    opt.apply_gradients([(poisoned(1e30), w)])     # 1e30**2 overflows
            else:
                opt.apply_gradients([(poisoned(1e30), w)])
        states[errors] = [np.array(x, copy=True) for x in opt.get_weights()] + [w.numpy()]
    assert same(states["raise"], states["ignore"])
    assert float(states["raise"][-3]) == 2 * 32768      # two good steps: the scale grew


def test_the_public_error_state_api_does_the_same(monkeypatch):
    # Without NumPy's error-state context variable (another NumPy), the
    # recording goes through numpy.errstate, with the same outcome.
    from optimizers import _fpe

    assert _fpe._extobj_contextvar is not None       # NumPy >= 2.0 here
    monkeypatch.setattr(_fpe, "_extobj_contextvar", None)
    expected, _, _ = two_step_run("Adam", {}, poisoned(np.inf), "ignore")
    after, before, raised = two_step_run("Adam", {}, poisoned(np.inf), "raise")
    assert isinstance(raised, FloatingPointError)
    assert same(after, expected) and int(after[2]) == int(before[2]) + 1
    assert np.geterr()["invalid"] == "warn"


def _nan_steps(name, kwargs, kind):
    """Three steps on a (3, 2) variable, the second gradient NaN at [1, 0]."""
    opt = make(name, learning_rate=0.1, **kwargs)
    w = Variable(np.ones((3, 2), np.float32))
    ones = np.ones((3, 2), np.float32)
    bad = ones.copy()
    bad[1, 0] = np.nan
    after_first = None
    for g in (ones, bad, ones):
        if kind == "sparse":
            g = IndexedSlices(g, np.array([0, 1, 2]), w.shape)
        with np.errstate(all="ignore"):
            opt.apply_gradients([(g, w)])
        if after_first is None:
            after_first = [np.array(x, copy=True) for x in opt.get_weights()]
    return opt.get_weights(), after_first


@pytest.mark.parametrize("name, kwargs, slot", [("Adamax", {}, 2), ("Adam", {"amsgrad": True}, 3)])
def test_max_of_a_nan_as_tensorflow_takes_it(name, kwargs, slot):
    # TensorFlow's fused dense kernels take max(a, b) as std::max (Eigen's
    # cwiseMax): a NaN in b leaves a.  Its sparse updates use tf.maximum, which
    # gives NaN for a NaN in either.  (Seen with tf_keras 2.21's legacy
    # optimizers; tools/fuzz_tf.py --special checks such cases.)
    dense, first = _nan_steps(name, kwargs, "dense")
    assert np.isnan(dense[1].reshape(-1)[2])                        # m is NaN
    if name == "Adamax":                                            # v = max(b2 v, |g|)
        assert np.array_equal(dense[slot], np.ones(6, np.float32).reshape(3, 2))
    else:                                                           # vhat = max(vhat, v)
        assert dense[slot].reshape(-1)[2] == first[slot].reshape(-1)[2]
        assert np.isnan(dense[2].reshape(-1)[2])                    # v itself is NaN
    sparse, _ = _nan_steps(name, kwargs, "sparse")
    assert np.isnan(sparse[slot].reshape(-1)[2])                    # and stays NaN
    others = np.delete(sparse[slot].reshape(-1), 2)
    assert np.array_equal(others, np.delete(dense[slot].reshape(-1), 2))
