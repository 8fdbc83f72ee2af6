"""Configs, weights, copies and checkpoints: everything a resumed run needs."""
import json

import numpy as np
import pytest

import optimizers
from hostile import OPTIMIZERS, gradient, snapshot, trained, variables
from optimizers import Variable, schedules

SCHEDULES = [
    schedules.ExponentialDecay(np.float32(0.1), 3, np.float64(0.7), staircase=True),
    schedules.InverseTimeDecay(0.1, np.int64(5), 0.5),
    schedules.PiecewiseConstantDecay([np.int64(2), 5], [0.1, np.float32(0.05), 0.01]),
    schedules.PolynomialDecay(0.1, 10, end_learning_rate=np.float32(0.001), power=2.0,
                              cycle=True),
    schedules.CosineDecay(0.1, 10, alpha=np.float32(0.1)),
    schedules.CosineDecayRestarts(0.1, 4, t_mul=2.0, m_mul=np.float32(0.9), alpha=0.01),
]

NUMPY_ARGUMENTS = {
    "sgd": lambda: optimizers.SGD(np.float32(0.1), momentum=np.float64(0.0)),
    "momentum": lambda: optimizers.SGD(np.float32(0.1), momentum=np.float32(0.9),
                                       clipnorm=np.float32(1.0)),
    "adam": lambda: optimizers.Adam(np.float64(0.01), beta_1=np.float32(0.8),
                                    epsilon=np.float32(1e-6), decay=np.float32(0.01)),
    "rmsprop": lambda: optimizers.RMSprop(np.float32(0.01), momentum=np.float32(0.0),
                                          epsilon=np.float64(1e-6)),
    "adagrad": lambda: optimizers.Adagrad(np.float32(0.1),
                                          initial_accumulator_value=np.float32(0.2)),
    "ftrl": lambda: optimizers.Ftrl(np.float32(0.1), learning_rate_power=np.float32(-0.6),
                                    l1_regularization_strength=np.float64(0.01)),
    "adamw": lambda: optimizers.AdamW(weight_decay=np.float32(0.01)),
    "bools": lambda: optimizers.SGD(0.1, momentum=np.float32(0.5), nesterov=np.bool_(True)),
    "amsgrad": lambda: optimizers.Adam(amsgrad=np.bool_(True), clipvalue=np.float64(1.0)),
    "centered": lambda: optimizers.RMSprop(centered=np.bool_(True), momentum=np.float32(0.5)),
    "staircase": lambda: optimizers.SGD(schedules.ExponentialDecay(
        0.1, np.int32(3), 0.5, staircase=np.bool_(True))),
}


def factories():
    out = dict(OPTIMIZERS)
    out.update({f"numpy-{k}": v for k, v in NUMPY_ARGUMENTS.items()})
    for i, schedule in enumerate(SCHEDULES):
        out[f"adam-schedule{i}"] = lambda s=schedule: optimizers.Adam(s)
        out[f"sgd-schedule{i}"] = lambda s=schedule: optimizers.SGD(s, momentum=0.5)
    return out


FACTORIES = factories()


def plain_only(value):
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain_only(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain_only(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


# ---------------------------------------------------------------------- #
# Configs
@pytest.mark.parametrize("name", FACTORIES)
def test_config_after_a_step_is_json_and_round_trips(name):
    opt = FACTORIES[name]()
    vs = variables()
    opt.apply_gradients([(gradient("indexed", v), v) for v in vs])
    config = optimizers.serialize(opt)
    assert plain_only(config), config
    text = json.dumps(config)
    copy = optimizers.deserialize(json.loads(text))
    assert type(copy) is type(opt)
    assert optimizers.serialize(copy) == config
    # The copy makes the same slots: the original's weights load into it.
    copy.build(vs)
    assert [w.shape for w in copy.weights] == [w.shape for w in opt.weights]
    copy.set_weights(opt.get_weights())
    assert [np.asarray(w).tobytes() for w in copy.get_weights()] == \
        [np.asarray(w).tobytes() for w in opt.get_weights()]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_config_is_json_and_round_trips(schedule):
    config = schedules.serialize(schedule)
    assert plain_only(config), config
    copy = schedules.deserialize(json.loads(json.dumps(config)))
    assert schedules.serialize(copy) == config
    for step in range(12):
        assert np.float32(copy(step)) == np.float32(
            schedules.deserialize(config)(step))


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop])
@pytest.mark.parametrize("zero", [np.float32(0.0), np.float64(0.0), np.int64(0)])
def test_numpy_zero_momentum_makes_no_slot(cls, zero):
    opt = cls(momentum=zero)
    v = variables()[0]
    opt.apply_gradients([(gradient("dense", v), v)])
    assert "momentum" not in opt.get_slot_names()
    copy = optimizers.deserialize(optimizers.serialize(opt))
    copy.build([v])
    copy.set_weights(opt.get_weights())


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.RMSprop])
@pytest.mark.parametrize("bad", [np.float32(1.5), np.float64(-0.1), np.int64(2)])
def test_numpy_momentum_out_of_range_is_refused(cls, bad):
    with pytest.raises(ValueError, match="momentum"):
        cls(momentum=bad)


# ---------------------------------------------------------------------- #
# build and weight names
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_build_creates_every_slot_a_step_would(name):
    stepped, vs = trained(name, "dense")
    built = OPTIMIZERS[name]()
    fresh = variables()
    built.build(fresh)
    names = [w.name for w in built.weights]
    assert names == [w.name for w in stepped.weights]
    assert int(built.iterations) == 0
    built.build(fresh)                                  # idempotent
    assert [w.name for w in built.weights] == names
    built.set_weights(stepped.get_weights())


def test_build_refuses_bad_variables_and_creates_nothing():
    opt = optimizers.Adam()
    good = Variable(np.zeros(3, np.float32), name="good")
    bad = np.zeros(3, np.int32)
    with pytest.raises(TypeError):
        opt.build([good, bad])
    assert opt.weights == [] and opt._iterations is None
    with pytest.raises(ValueError, match="more than once"):
        opt.build([good, good])
    assert opt.weights == []


def test_weight_names_are_tensorflows():
    opt = optimizers.Nadam(name="nd")
    emb = Variable(np.zeros((3, 2), np.float32), name="emb")
    opt.build([emb])
    assert [w.name for w in opt.weights] == ["nd/iter", "nd/momentum_cache", "nd/emb/m",
                                             "nd/emb/v"]


# ---------------------------------------------------------------------- #
# pickle and deepcopy
def _continue(opt, vs, kind, steps=3, seed=50):
    for s in range(steps):
        opt.apply_gradients([(gradient(kind, v, seed=seed + s), v) for v in vs])
    return snapshot(opt, vs)


def _copies():
    import copy
    import pickle
    return {"deepcopy": copy.deepcopy, "pickle": lambda x: pickle.loads(pickle.dumps(x))}


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("kind", ["dense", "indexed", "csr"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_copy_with_its_variables_continues_as_the_original(name, kind, how):
    opt, vs = trained(name, kind)
    copy_opt, copy_vs = _copies()[how]((opt, vs))
    before = snapshot(opt, vs)
    expected = _continue(opt, vs, kind)
    got = _continue(copy_opt, copy_vs, kind)
    assert {k: v for k, v in got.items() if k != "hyper"} == \
        {k: v for k, v in expected.items() if k != "hyper"}
    # The copy is independent: stepping it never touched the original.
    assert before != expected


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
@pytest.mark.parametrize("kind", ["dense", "indexed", "csr"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_copy_alone_continues_on_the_original_variables(name, kind, how):
    opt, vs = trained(name, kind)
    copy_opt = _copies()[how](opt)
    saved = [np.asarray(v).copy() for v in vs]
    before = snapshot(opt, vs)
    got = _continue(copy_opt, vs, kind)
    assert snapshot(opt, vs)["weights"] == before["weights"]     # original's slots untouched
    for v, value in zip(vs, saved):                                # rewind the variables
        np.asarray(v)[...] = value
    expected = _continue(opt, vs, kind)
    assert got["variables"] == expected["variables"]
    assert got["weights"] == expected["weights"]


@pytest.mark.parametrize("how", ["deepcopy", "pickle"])
def test_copy_of_bare_ndarray_variables_travels_with_the_optimizer(how):
    opt = optimizers.Adam(0.01)
    table = np.random.default_rng(0).normal(size=(8, 4))
    opt.apply_gradients([(gradient("indexed", table), table)])
    copy_opt, copy_table = _copies()[how]((opt, table))
    expected = _continue(opt, [table], "indexed")
    got = _continue(copy_opt, [copy_table], "indexed")
    assert got["variables"] == expected["variables"] and got["weights"] == expected["weights"]


def test_a_copy_of_a_trained_variable_cannot_share_its_slots():
    import copy
    opt, vs = trained("adam", "dense")
    twin = copy.deepcopy(vs[0])
    before = snapshot(opt, vs + [twin])
    with pytest.raises(ValueError, match="copy"):
        opt.apply_gradients([(gradient("dense", twin), twin)])
    with pytest.raises(ValueError, match="copy"):
        opt.apply_gradients([(gradient("dense", vs[0]), vs[0]), (gradient("dense", twin), twin)])
    assert snapshot(opt, vs + [twin]) == before
    fresh = Variable(vs[0].numpy(), name="fresh")
    opt.apply_gradients([(gradient("dense", fresh), fresh)])


@pytest.mark.parametrize("name", ["adam", "nadam", "ftrl"])
def test_copies_are_json_configurable_and_lock_free(name):
    import copy
    import threading
    opt, vs = trained(name, "indexed")
    clone = copy.deepcopy(opt)
    assert clone._lock is not opt._lock
    assert isinstance(clone._lock, type(threading.RLock()))
    assert optimizers.serialize(clone) == optimizers.serialize(opt)
