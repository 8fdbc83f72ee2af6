"""LossScaleOptimizer: TF 2.4's loss scaling, checked against NumPy references
and against TensorFlow's numbers (tests/golden/loss_scale_optimizer.npz)."""
import copy
import json
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import golden_io
import optimizers
from optimizers import (SGD, Adam, Checkpoint, IndexedSlices, LazyAdam, LossScaleOptimizer,
                        Variable)

f32 = np.float32
GOLDEN = os.path.join(golden_io.GOLDEN, "loss_scale_optimizer.npz")


def var(shape=(3,), value=1.0, dtype=np.float32, name="w"):
    return Variable(np.full(shape, value, dtype), name=name)


# ---------------------------------------------------------------------- #
# Construction
def test_defaults_are_tf_defaults():
    opt = LossScaleOptimizer(SGD())
    assert opt.dynamic is True
    assert opt.initial_scale == 2.0 ** 15 and opt.dynamic_growth_steps == 2000
    assert opt.loss_scale == f32(32768) and isinstance(opt.loss_scale, np.float32)
    assert int(opt.dynamic_counter) == 0 and opt.dynamic_counter.dtype == np.int64
    assert isinstance(opt.inner_optimizer, SGD)
    assert optimizers.mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    assert isinstance(opt, optimizers.Optimizer)


def test_fixed_scale():
    opt = LossScaleOptimizer(SGD(), dynamic=False, initial_scale=64)
    assert opt.dynamic is False and opt.loss_scale == f32(64)
    assert opt.dynamic_counter is None and opt.dynamic_growth_steps is None
    assert opt.initial_scale == 64.0
    w = var()
    # As in TensorFlow, a fixed scale never skips: an inf gradient is applied.
    opt.apply_gradients([(np.array([np.inf, 0, 0], f32), w)])
    assert opt.loss_scale == f32(64) and int(opt.iterations) == 1
    assert w.numpy()[0] == -np.inf and (w.numpy()[1:] == 1).all()
    assert len(opt.weights) == 1        # iterations only: a fixed scale is not state


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(inner_optimizer="sgd"), TypeError, "inner_optimizer"),
    (dict(inner_optimizer=None), TypeError, "inner_optimizer"),
    (dict(dynamic="yes"), TypeError, "dynamic"),
    (dict(dynamic=1), TypeError, "dynamic"),
    (dict(dynamic=False), ValueError, "initial_scale"),
    (dict(dynamic=False, initial_scale=2.0, dynamic_growth_steps=5), ValueError,
     "dynamic_growth_steps"),
    (dict(initial_scale="big"), TypeError, "initial_scale"),
    (dict(initial_scale=0.0), ValueError, "initial_scale"),
    (dict(initial_scale=-4.0), ValueError, "initial_scale"),
    (dict(initial_scale=float("inf")), ValueError, "initial_scale"),
    (dict(initial_scale=float("nan")), ValueError, "initial_scale"),
    (dict(dynamic=False, initial_scale=-1), ValueError, "initial_scale"),
    (dict(dynamic_growth_steps=0), ValueError, "dynamic_growth_steps"),
    (dict(dynamic_growth_steps=2.5), TypeError, "dynamic_growth_steps"),
    (dict(dynamic_growth_steps=True), TypeError, "dynamic_growth_steps"),
])
def test_bad_arguments(kwargs, exc, match):
    kwargs = dict(kwargs)
    inner = kwargs.pop("inner_optimizer", SGD())
    with pytest.raises(exc, match=match):
        LossScaleOptimizer(inner, **kwargs)


def test_cannot_wrap_twice():
    inner = SGD()
    wrapped = LossScaleOptimizer(inner)
    with pytest.raises(TypeError, match="cannot wrap another LossScaleOptimizer"):
        LossScaleOptimizer(wrapped)
    with pytest.raises(ValueError, match="already wrapped"):
        LossScaleOptimizer(inner)


def test_bad_arguments_leave_the_inner_optimizer_wrappable():
    inner = SGD()
    with pytest.raises(ValueError):
        LossScaleOptimizer(inner, initial_scale=-1.0)
    LossScaleOptimizer(inner)


def test_numpy_integers_are_accepted():
    opt = LossScaleOptimizer(SGD(), initial_scale=np.float32(8), dynamic_growth_steps=np.int64(3))
    assert opt.initial_scale == 8.0 and opt.dynamic_growth_steps == 3
    assert type(opt.dynamic_growth_steps) is int


# ---------------------------------------------------------------------- #
# Scaling and unscaling
def test_get_scaled_loss():
    opt = LossScaleOptimizer(SGD(), initial_scale=8.0)
    assert opt.get_scaled_loss(0.5) == 4.0
    scaled = opt.get_scaled_loss(np.float16(0.25))
    assert scaled == 2.0 and scaled.dtype == np.float16
    assert opt.get_scaled_loss(np.array([1.0, 2.0])).tolist() == [8.0, 16.0]
    assert opt.get_scaled_loss(lambda: f32(3))() == f32(24)
    with pytest.raises(TypeError, match="loss"):
        opt.get_scaled_loss("1.0")
    with pytest.raises(TypeError, match="loss"):
        opt.get_scaled_loss(np.array([1, 2]))


def test_get_unscaled_gradients_kinds():
    opt = LossScaleOptimizer(SGD(), initial_scale=4.0)
    dense = np.array([4.0, 8.0], f32)
    slices = IndexedSlices(np.array([[4.0, 12.0]], f32), np.array([2]), (5, 2))
    csr = sp.csr_matrix(np.array([[0, 4.0], [8.0, 0]], f32))
    half = np.array([4.0, 2.0 ** -10], np.float16)
    out = opt.get_unscaled_gradients([dense, None, slices, csr, half])
    assert out[1] is None
    assert out[0].tolist() == [1.0, 2.0] and out[0].dtype == f32
    assert isinstance(out[2], IndexedSlices)
    assert out[2].values.tolist() == [[1.0, 3.0]] and out[2].indices.tolist() == [2]
    assert tuple(out[2].dense_shape) == (5, 2)
    assert sp.issparse(out[3]) and out[3].toarray().tolist() == [[0, 1.0], [2.0, 0]]
    assert csr.data.tolist() == [4.0, 8.0]          # the input is not modified
    assert out[4].dtype == np.float16 and out[4].tolist() == [1.0, 2.0 ** -12]
    assert dense.tolist() == [4.0, 8.0]


def test_unscaling_multiplies_by_the_float32_reciprocal():
    opt = LossScaleOptimizer(SGD(), dynamic=False, initial_scale=3.0)
    g = np.array([1.0, 3.0, 7.0])
    (out,) = opt.get_unscaled_gradients([g])
    np.testing.assert_array_equal(out, g * np.float64(f32(1) / f32(3)))


# ---------------------------------------------------------------------- #
# The dynamic scale
def test_growth_and_halving_reference():
    """The scale and counter follow TF's rule over a sequence of finite and
    non-finite steps (NumPy reference of the rule)."""
    growth = 3
    opt = LossScaleOptimizer(SGD(0.01), initial_scale=8.0, dynamic_growth_steps=growth)
    w = var()
    pattern = [1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    scale, counter = f32(8.0), 0
    for i, ok in enumerate(pattern):
        g = np.full(3, 1.0 if ok else np.nan, f32)
        opt.apply_gradients([(g, w)])
        if ok:
            if counter + 1 >= growth:
                scale, counter = scale * 2, 0
            else:
                counter += 1
        else:
            scale, counter = max(scale / 2, f32(1)), 0
        assert opt.loss_scale == scale and int(opt.dynamic_counter) == counter, i
        assert int(opt.iterations) == i + 1


def test_scale_stops_at_one():
    opt = LossScaleOptimizer(SGD(), initial_scale=3.0)
    w = var()
    for expected in (1.5, 1.0, 1.0):
        opt.apply_gradients([(np.full(3, np.inf, f32), w)])
        assert opt.loss_scale == f32(expected)


def test_growth_overflow_keeps_the_scale():
    big = float(np.finfo(f32).max) / 1.5
    opt = LossScaleOptimizer(SGD(), initial_scale=big, dynamic_growth_steps=1)
    w = var()
    opt.apply_gradients([(np.zeros(3, f32), w)])
    assert opt.loss_scale == f32(big) and int(opt.dynamic_counter) == 0


def test_skipped_step_changes_nothing_but_the_counters():
    opt = LossScaleOptimizer(Adam(0.1), initial_scale=16.0)
    a, b = var(name="a"), var((4, 2), name="b")
    opt.apply_gradients([(np.full(3, np.inf, f32), a), (np.ones((4, 2), f32), b)])
    # as in TF: iterations advances, no slot is created, variables unchanged
    assert int(opt.iterations) == 1 and opt.get_slot_names() == []
    assert len(opt.inner_optimizer.weights) == 1
    assert (a.numpy() == 1).all() and (b.numpy() == 1).all()
    assert opt.loss_scale == f32(8.0)
    opt.apply_gradients([(np.ones(3, f32), a), (np.ones((4, 2), f32), b)])
    assert int(opt.iterations) == 2 and opt.get_slot_names() == ["m", "v"]
    before = [w.copy() for w in opt.get_weights()]
    va, vb = a.numpy(), b.numpy()
    opt.apply_gradients([(np.ones(3, f32), a), (IndexedSlices(
        np.array([[np.nan, 1.0]], f32), np.array([1]), (4, 2)), b)])
    after = opt.get_weights()
    assert int(after[0]) == int(before[0]) + 1
    for x, y in zip(before[1:-2], after[1:-2]):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.numpy(), va)
    np.testing.assert_array_equal(b.numpy(), vb)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_in_each_gradient_kind(bad):
    for kind in ("dense", "slices", "csr", "coo"):
        opt = LossScaleOptimizer(SGD(0.1), initial_scale=4.0)
        w = var((3, 2))
        dense = np.zeros((3, 2), f32)
        dense[1, 0] = bad
        grad = {"dense": dense,
                "slices": IndexedSlices(dense[1:2].copy(), np.array([1]), (3, 2)),
                "csr": sp.csr_matrix(dense), "coo": sp.coo_matrix(dense)}[kind]
        opt.apply_gradients([(grad, w)])
        assert opt.loss_scale == f32(2.0), kind
        assert (w.numpy() == 1).all(), kind


def test_finite_step_matches_the_inner_optimizer_alone():
    """A run with skipped steps equals the inner optimizer fed only the finite
    steps, with iterations advanced by one on each skipped step."""
    rng = np.random.default_rng(0)
    wrapped = LossScaleOptimizer(Adam(0.05), initial_scale=2.0, dynamic_growth_steps=2)
    alone = Adam(0.05)
    w1 = Variable(rng.normal(size=(6, 3)).astype(f32))
    w2 = Variable(w1.numpy())
    for step in range(12):
        g = rng.normal(size=(6, 3)).astype(f32)
        rows = np.array([step % 6, (step * 5) % 6])
        values = g[:2].copy()
        if step in (2, 5, 6):
            values[0, 0] = np.inf
        slices = IndexedSlices(values, rows, (6, 3))
        wrapped.apply_gradients([(slices, w1)])
        if np.isfinite(values).all():
            alone.apply_gradients([(IndexedSlices(values, rows, (6, 3)), w2)])
        else:
            alone.iterations.assign_add(np.int64(1))
        np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    for x, y in zip(wrapped.get_weights()[:-2], alone.get_weights()):
        np.testing.assert_array_equal(x, y)


# ---------------------------------------------------------------------- #
# Bad input changes nothing
def _state(opt, *vs):
    return [np.array(w) for w in opt.get_weights()] + [v.numpy() for v in vs]


@pytest.mark.parametrize("grads, exc, match", [
    (lambda: [np.full(3, np.inf, f32), np.ones(5, f32)], ValueError, "shape"),
    (lambda: [np.full(3, np.nan, f32), np.ones((2, 2), np.int32)], TypeError, "dtype"),
    (lambda: [np.full(3, np.inf, f32), IndexedSlices(np.ones((1, 2), f32), np.array([9]),
                                                     (4, 2))], Exception, "ndex"),
    (lambda: [np.ones(3, f32), "grad"], TypeError, "IndexedSlices"),
    (lambda: [np.full(3, np.inf, f64), np.ones((4, 2), f32)], TypeError, "dtype"),
])
def test_bad_gradient_changes_nothing(grads, exc, match):
    opt = LossScaleOptimizer(Adam(0.1), initial_scale=16.0, dynamic_growth_steps=2)
    a, b = var(name="a"), var((4, 2), name="b")
    opt.apply_gradients([(np.ones(3, f32), a), (np.ones((4, 2), f32), b)])
    before = _state(opt, a, b)
    with pytest.raises(exc, match=match):
        opt.apply_gradients(zip(grads(), [a, b]))
    after = _state(opt, a, b)
    assert len(before) == len(after)
    for x, y in zip(before, after):
        np.testing.assert_array_equal(x, y)
    assert opt.loss_scale == f32(16.0) and int(opt.dynamic_counter) == 1


f64 = np.float64


def test_constraint_on_sparse_is_refused_even_on_a_skipped_step():
    opt = LossScaleOptimizer(SGD(), initial_scale=4.0)
    w = Variable(np.ones((3, 2), f32), constraint=lambda x: x)
    g = IndexedSlices(np.array([[np.inf, 0]], f32), np.array([0]), (3, 2))
    with pytest.raises(RuntimeError, match="constraint"):
        opt.apply_gradients([(g, w)])
    assert opt.loss_scale == f32(4.0) and int(opt.iterations) == 0


def test_same_variable_twice_is_refused_even_on_a_skipped_step():
    opt = LossScaleOptimizer(SGD(), initial_scale=4.0)
    w = var()
    with pytest.raises(ValueError, match="more than once"):
        opt.apply_gradients([(np.full(3, np.nan, f32), w), (np.ones(3, f32), w)])
    assert opt.loss_scale == f32(4.0)


@pytest.mark.parametrize("make", [
    lambda: np.ones(3, f32),
    lambda: IndexedSlices(np.ones((1, 3), f32), np.array([0]), (2, 3)),
    lambda: sp.csr_matrix(np.ones((2, 3), f32)),
])
def test_float16_variable_with_float32_gradient_says_what_to_cast(make):
    opt = LossScaleOptimizer(SGD())
    grad = make()
    w = Variable(np.ones(grad.shape if not isinstance(grad, IndexedSlices) else (2, 3),
                         np.float16), name="emb")
    with pytest.raises(TypeError, match=r"'emb'.*float32.*astype\(np.float16\)"):
        opt.apply_gradients([(grad, w)])
    assert int(opt.iterations) == 0 and opt.loss_scale == f32(2 ** 15)


def test_float16_training_skips_overflowing_steps():
    opt = LossScaleOptimizer(LazyAdam(0.01), initial_scale=2.0 ** 15)
    emb = Variable(np.zeros((4, 2), np.float16), name="emb")
    scaled = opt.get_unscaled_gradients(
        [IndexedSlices(np.array([[60000.0, 1.0]], f32) * 2 ** 15, np.array([1]), (4, 2))])
    # unscaled in float32, cast to float16: 60000 fits
    g = IndexedSlices(scaled[0].values.astype(np.float16), scaled[0].indices, (4, 2))
    opt.apply_gradients([(g, emb)])
    assert opt.loss_scale == f32(2 ** 15) and emb.numpy()[1, 0] != 0
    big = IndexedSlices(np.array([[1e6, 1.0]], f32).astype(np.float16), np.array([2]), (4, 2))
    opt.apply_gradients([(big, emb)])       # 1e6 is inf in float16: skipped
    assert opt.loss_scale == f32(2 ** 14) and (emb.numpy()[2] == 0).all()


# ---------------------------------------------------------------------- #
# Delegation
def test_hyperparameters_are_the_inner_optimizers():
    inner = Adam(0.01, beta_1=0.8, clipnorm=1.0)
    opt = LossScaleOptimizer(inner)
    assert float(opt.learning_rate) == pytest.approx(0.01)
    assert float(opt.lr) == pytest.approx(0.01) and float(opt.beta_1) == pytest.approx(0.8)
    opt.learning_rate = 0.5
    assert float(inner.learning_rate) == 0.5
    opt.lr = 0.25
    assert float(inner.learning_rate) == 0.25
    assert opt.clipnorm == 1.0
    opt.clipnorm = 2.0
    assert inner.clipnorm == 2.0
    assert opt.name == inner.name
    assert opt.iterations is inner.iterations
    assert "beta_1" in dir(opt) and "lr" in dir(opt)
    with pytest.raises(AttributeError):
        opt.no_such_attribute
    opt.something_else = 3          # not a hyperparameter: the wrapper's own attribute
    assert opt.something_else == 3 and not hasattr(inner, "something_else")


def test_slots_are_the_inner_optimizers():
    opt = LossScaleOptimizer(Adam())
    w = var()
    opt.apply_gradients([(np.ones(3, f32), w)])
    assert opt.get_slot(w, "m") is opt.inner_optimizer.get_slot(w, "m")
    assert opt.get_slot_names() == ["m", "v"]


def test_minimize_without_tape_applies_the_returned_gradients():
    opt = LossScaleOptimizer(SGD(0.5), initial_scale=4.0)
    w = var()
    opt.minimize(lambda: (f32(1), [np.ones(3, f32)]), [w])
    np.testing.assert_array_equal(w.numpy(), np.full(3, 0.5, f32))
    opt.minimize(lambda: (f32(1), [np.full(3, np.inf, f32)]), [w])
    np.testing.assert_array_equal(w.numpy(), np.full(3, 0.5, f32))
    assert opt.loss_scale == f32(2.0) and int(opt.iterations) == 2


def test_minimize_with_a_tape_scales_and_unscales():
    seen = []

    class Tape:
        def gradient(self, loss, var_list):
            seen.append(loss)
            return [np.full(3, loss, f32) for _ in var_list]     # d(loss * w)/dw ~ loss

    opt = LossScaleOptimizer(SGD(1.0), initial_scale=8.0)
    w = var(value=0.0)
    opt.minimize(f32(0.5), [w], tape=Tape())
    assert seen == [f32(4.0)]
    np.testing.assert_array_equal(w.numpy(), np.full(3, -0.5, f32))


# ---------------------------------------------------------------------- #
# State: weights, checkpoints, configs, copies
def test_weights_include_the_loss_scale_state():
    opt = LossScaleOptimizer(Adam(), initial_scale=4.0, dynamic_growth_steps=5)
    w = var()
    opt.apply_gradients([(np.ones(3, f32), w)])
    names = [x.name for x in opt.weights]
    assert names[0] == "Adam/iter"
    assert names[-2:] == ["Adam/loss_scale/current_loss_scale", "Adam/loss_scale/good_steps"]
    values = opt.get_weights()
    assert values[-2] == f32(4.0) and values[-1] == np.int64(1)
    assert len(values) == len(opt.inner_optimizer.get_weights()) + 2


def test_set_weights_round_trip_and_errors():
    opt = LossScaleOptimizer(Adam(), initial_scale=4.0, dynamic_growth_steps=5)
    w = var()
    opt.apply_gradients([(np.ones(3, f32), w)])
    values = opt.get_weights()
    values[-2], values[-1] = f32(256), np.int64(3)
    other = LossScaleOptimizer(Adam(), initial_scale=4.0, dynamic_growth_steps=5)
    w2 = var()
    other.build([w2])
    other.set_weights(values)
    assert other.loss_scale == f32(256) and int(other.dynamic_counter) == 3
    for x, y in zip(other.get_weights(), values):
        np.testing.assert_array_equal(x, y)
    before = other.get_weights()
    with pytest.raises(ValueError, match="length"):
        other.set_weights(values[:-1])
    bad_inner = list(values)
    bad_inner[1] = np.zeros(7, f32)
    bad_inner[-2] = f32(2)
    with pytest.raises(ValueError, match="shape"):
        other.set_weights(bad_inner)
    bad_scale = list(values)
    bad_scale[-2] = f32(np.inf)
    with pytest.raises(ValueError, match="loss scale"):
        other.set_weights(bad_scale)
    bad_count = list(values)
    bad_count[-1] = -1
    with pytest.raises(ValueError, match="good_steps"):
        other.set_weights(bad_count)
    for x, y in zip(other.get_weights(), before):
        np.testing.assert_array_equal(x, y)


def test_checkpoint_saves_and_restores_both(tmp_path):
    def make():
        opt = LossScaleOptimizer(Adam(0.1), initial_scale=64.0, dynamic_growth_steps=3)
        return opt, Variable(np.zeros((4, 2), f32), name="emb")

    opt, emb = make()
    for g in (1.0, np.inf, 1.0, 1.0):
        opt.apply_gradients([(np.full((4, 2), g, f32), emb)])
    path = Checkpoint(optimizer=opt, table=emb).save(str(tmp_path / "ckpt"))
    with np.load(path) as data:
        names = set(data.files)
    assert "optimizer/weights/loss_scale/current_loss_scale" in names
    assert "optimizer/weights/loss_scale/good_steps" in names
    assert "optimizer/slots/table/m" in names
    opt2, emb2 = make()
    Checkpoint(optimizer=opt2, table=emb2).restore(path)
    assert opt2.loss_scale == opt.loss_scale == f32(32.0)
    assert int(opt2.dynamic_counter) == int(opt.dynamic_counter) == 2
    for x, y in zip(opt2.get_weights(), opt.get_weights()):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(emb2.numpy(), emb.numpy())
    # continuing gives the same numbers
    for o, e in ((opt, emb), (opt2, emb2)):
        o.apply_gradients([(np.full((4, 2), 0.5, f32), e)])
    np.testing.assert_array_equal(emb2.numpy(), emb.numpy())
    assert opt2.loss_scale == opt.loss_scale == f32(64.0)
    assert int(opt2.dynamic_counter) == int(opt.dynamic_counter) == 0


def test_checkpoint_restore_into_a_fixed_scale_optimizer_is_refused(tmp_path):
    opt = LossScaleOptimizer(SGD(0.1, momentum=0.5), initial_scale=8.0)
    emb = Variable(np.zeros(3, f32), name="emb")
    opt.apply_gradients([(np.ones(3, f32), emb)])
    path = Checkpoint(optimizer=opt, emb=emb).save(str(tmp_path / "ckpt"))
    fixed = LossScaleOptimizer(SGD(0.1, momentum=0.5), dynamic=False, initial_scale=8.0)
    emb2 = Variable(np.zeros(3, f32), name="emb")
    with pytest.raises(optimizers.CheckpointError, match="loss_scale"):
        Checkpoint(optimizer=fixed, emb=emb2).restore(path)
    assert fixed.get_slot_names() == [] and (emb2.numpy() == 0).all()


def test_config_round_trip():
    opt = LossScaleOptimizer(Adam(0.02, beta_1=0.8, name="inner"), initial_scale=256,
                             dynamic_growth_steps=10)
    config = opt.get_config()
    assert list(config) == ["inner_optimizer", "dynamic", "initial_scale",
                            "dynamic_growth_steps"]
    assert config["inner_optimizer"] == optimizers.serialize(opt.inner_optimizer)
    assert config["initial_scale"] == 256.0 and config["dynamic_growth_steps"] == 10
    serialized = json.loads(json.dumps(optimizers.serialize(opt)))
    assert serialized["class_name"] == "LossScaleOptimizer"
    clone = optimizers.deserialize(serialized)
    assert isinstance(clone, LossScaleOptimizer) and clone.get_config() == config
    assert clone.inner_optimizer is not opt.inner_optimizer
    fixed = LossScaleOptimizer(SGD(), dynamic=False, initial_scale=3)
    assert fixed.get_config()["dynamic_growth_steps"] is None
    assert LossScaleOptimizer.from_config(fixed.get_config()).get_config() == fixed.get_config()
    snapshot = json.dumps(serialized, sort_keys=True)
    optimizers.deserialize(serialized)
    assert json.dumps(serialized, sort_keys=True) == snapshot


def test_from_config_with_custom_inner_and_old_format():
    class Mine(SGD):
        pass

    config = LossScaleOptimizer(Mine()).get_config()
    with pytest.raises(ValueError, match="Unknown optimizer: Mine"):
        LossScaleOptimizer.from_config(config)
    clone = optimizers.deserialize({"class_name": "LossScaleOptimizer", "config": config},
                                   custom_objects={"Mine": Mine})
    assert type(clone.inner_optimizer) is Mine
    with pytest.raises(ValueError, match="loss_scale"):
        LossScaleOptimizer.from_config({"inner_optimizer": config["inner_optimizer"],
                                        "loss_scale": "dynamic"})


def test_get_by_name_needs_an_inner_optimizer():
    with pytest.raises(TypeError):
        optimizers.get("LossScaleOptimizer")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        optimizers.get("mixed_precision")


@pytest.mark.parametrize("clone", [copy.deepcopy, lambda o: pickle.loads(pickle.dumps(o))])
def test_copies_are_independent(clone):
    opt = LossScaleOptimizer(Adam(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    w = var()
    opt.apply_gradients([(np.ones(3, f32), w)])
    twin = clone(opt)
    assert twin.loss_scale == f32(8.0) and int(twin.dynamic_counter) == 1
    assert twin.inner_optimizer is not opt.inner_optimizer
    opt.apply_gradients([(np.full(3, np.inf, f32), w)])
    assert twin.loss_scale == f32(8.0) and opt.loss_scale == f32(4.0)
    assert float(twin.learning_rate) == pytest.approx(0.1)


def test_repr():
    assert "loss_scale=32768" in repr(LossScaleOptimizer(SGD()))


# ---------------------------------------------------------------------- #
# Parity with TensorFlow (tf_keras.mixed_precision.LossScaleOptimizer)
def _golden():
    if not os.path.exists(GOLDEN):
        pytest.skip("no loss_scale_optimizer.npz")
    data = np.load(GOLDEN)
    return data, json.loads(str(data["meta"]))


def _golden_runs():
    if not os.path.exists(GOLDEN):
        return []
    meta = json.loads(str(np.load(GOLDEN)["meta"]))
    return [pytest.param(case, kind, id=f"{case}-{kind}")
            for case in meta["cases"] for kind in meta["kinds"]]


def _gradient(data, prefix, name, step, shape):
    keys = set(data.files)
    if f"{prefix}/g_{name}" in keys:
        return data[f"{prefix}/g_{name}"][step - 1]
    if f"{prefix}/g_{name}_dense" in keys:
        return sp.csr_matrix(data[f"{prefix}/g_{name}_dense"][step - 1])
    return IndexedSlices(data[f"{prefix}/g_{name}_values"][step - 1],
                         data[f"{prefix}/g_{name}_indices"][step - 1], shape)


def assert_close(actual, expected, tol, what):
    """Relative error <= tol on the finite entries; inf and NaN where TF has them
    (a fixed loss scale applies non-finite gradients, as in TensorFlow)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert np.array_equal(np.isnan(actual), np.isnan(expected)), what
    assert np.array_equal(np.isposinf(actual), np.isposinf(expected)), what
    assert np.array_equal(np.isneginf(actual), np.isneginf(expected)), what
    finite = np.isfinite(expected)
    if finite.any():
        scale = max(np.abs(expected[finite]).max(), np.finfo(np.float64).tiny)
        err = np.abs(actual[finite] - expected[finite]).max() / scale
        assert err <= tol, f"{what}: relative error {err:.3g}"


@pytest.mark.parametrize("case, kind", _golden_runs())
def test_matches_tensorflow(case, kind):
    data, meta = _golden()
    spec = meta["cases"][case]
    opt = LossScaleOptimizer(optimizers.deserialize(spec["inner"]), **spec["kwargs"])
    prefix = f"{case}/{kind}"
    variables = {v: Variable(data[f"{prefix}/init_{v}"], name=v) for v in golden_io.VARIABLES}
    skipped = 0
    for step in range(1, meta["steps"] + 1):
        scaled = [_gradient(data, prefix, v, step, variables[v].shape)
                  for v in golden_io.VARIABLES]
        grads = opt.get_unscaled_gradients(scaled)
        skipped += str(step) in meta["bad_steps"]
        opt.apply_gradients(zip(grads, variables.values()))
        tol = 1e-6 if step == 1 else 1e-5
        for v in golden_io.VARIABLES:
            expected = data[f"{prefix}/step{step:02d}_{v}"]
            actual = variables[v].numpy()
            assert actual.dtype == expected.dtype == np.float32
            assert_close(actual, expected, tol, f"{v} after step {step}")
        assert opt.loss_scale == data[f"{prefix}/step{step:02d}_loss_scale"], step
        assert int(opt.iterations) == int(data[f"{prefix}/step{step:02d}_iterations"]) == step
        if opt.dynamic:
            assert int(opt.dynamic_counter) == int(data[f"{prefix}/step{step:02d}_counter"])
        if f"{prefix}/step{step:02d}_weights_0" in data.files:
            ours = opt.inner_optimizer.get_weights()
            i = 0
            while f"{prefix}/step{step:02d}_weights_{i}" in data.files:
                expected = data[f"{prefix}/step{step:02d}_weights_{i}"]
                assert np.shape(ours[i]) == np.shape(expected)
                if i == 0:
                    assert int(ours[0]) == int(expected)
                else:
                    assert_close(ours[i], expected, tol, f"weight {i} after step {step}")
                i += 1
            assert i == len(ours)
    assert skipped == len(meta["bad_steps"]) >= 4


def test_golden_file_covers_growth_halving_and_the_floor():
    data, meta = _golden()
    scales = {case: [float(data[f"{case}/dense/step{s:02d}_loss_scale"])
                     for s in range(1, meta["steps"] + 1)] for case in meta["cases"]}
    assert any(b > a for s in scales.values() for a, b in zip(s, s[1:]))      # growth
    assert any(b < a for s in scales.values() for a, b in zip(s, s[1:]))      # halving
    assert any(s.count(1.0) >= 2 for s in scales.values())                    # floor at 1
    assert set(meta["kinds"]) == {"dense", "sparse", "csr"}
