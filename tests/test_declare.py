"""Hyperparameters and slots declared as data (`optimizers._declare`).

The built-in classes' declarations agree with their signatures; a user's
optimizer, and a user's subclass of a built-in, declare a hyperparameter and
a slot of their own and get checks, storage, slots in order and config from
the base class; declarations that cannot work fail when the class is made.
"""
import copy
import inspect

import numpy as np
import pytest
from rules import CLASSES

import optimizers
from optimizers import SGD, Adagrad, Optimizer, Variable
from optimizers._declare import (DECAY, LEARNING_RATE, Hyper, Slot, as_bool, non_negative,
                                 per_row, sign)


# --------------------------------------------------------------------------- #
# The built-in classes
@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_builtin_declarations_agree_with_the_signature(cls):
    signature = inspect.signature(cls)
    params = [p for p in signature.parameters.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert all(p.default is not p.empty for p in params)      # defaults stay in the signature
    assert signature.parameters["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    declared = [h.name for h in cls._declared_hypers]
    assert sorted(set(declared) - {"decay"}) == sorted(p.name for p in params if p.name != "name")
    assert cls._config_keys == tuple(declared)
    slots = [s.name for s in cls._declared_slots]
    assert len(set(slots)) == len(slots)
    for slot in cls._declared_slots:
        assert slot.initial is None or slot.initial in declared


def test_builtin_slot_conditions_follow_their_attribute():
    opt = optimizers.Adam()
    assert opt._dense_slots() == ("m", "v")
    opt.amsgrad = True
    assert opt._dense_slots() == ("m", "v", "vhat")
    assert optimizers.RMSprop(momentum=0.5, centered=True)._slot_list() == ("rms", "momentum",
                                                                           "mg")
    assert optimizers.SGD(momentum=lambda: 0.0)._slot_list() == ("momentum",)  # as TF
    assert optimizers.SGD(momentum=0.0)._slot_list() == ()


# --------------------------------------------------------------------------- #
# A user's optimizer, declared from scratch
def _in_unit_interval(name, value):
    if not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be in [0, 1]. Received: {name}={value}.")
    return value


class Friction(Optimizer):
    """Heavy-ball momentum: ``v = friction * v + g``, ``w -= lr * v``; with
    ``keep_sum``, a ``sum`` slot adds up the gradients."""

    _declared_hypers = (LEARNING_RATE, DECAY, Hyper("friction", _in_unit_interval),
                        Hyper("initial_velocity", non_negative, store="private"),
                        Hyper("keep_sum", as_bool, store="attribute"))
    _declared_slots = (Slot("velocity", initial="initial_velocity"),
                       Slot("sum", when="keep_sum"))

    def __init__(self, learning_rate=0.1, friction=0.5, initial_velocity=0.0, keep_sum=False,
                 name="Friction", **kwargs):
        self._init_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        apply_state[(var_device, var_dtype)]["friction"] = self._get_hyper("friction",
                                                                           var_dtype)

    def _dense_block(self, c, g, w, velocity, total=None):
        t, = self._scratch.get(w.dtype, w.size)
        np.multiply(velocity, c["friction"], out=velocity)
        np.add(velocity, g, out=velocity)
        np.multiply(velocity, c["lr_t"], out=t)
        np.subtract(w, t, out=w)
        if total is not None:
            np.add(total, g, out=total)


def _friction_reference(w, grads, lr, friction, v0):
    T = w.dtype.type
    w, v, total = w.copy(), np.full_like(w, T(v0)), np.zeros_like(w)
    for g in grads:
        v = v * T(np.float32(friction)) + g
        w = w - v * T(np.float32(lr))
        total = total + g
    return w, v, total


def test_user_optimizer_declares_checks_stores_and_configures():
    opt = Friction(lr=0.2, friction=0.25, initial_velocity=0.5, keep_sum=1)
    config = opt.get_config()
    assert opt.learning_rate == np.float32(0.2)    # hyperparameters (float32 once read)
    assert opt.friction == 0.25 and opt._initial_velocity == 0.5 and opt.keep_sum is True
    assert config == {"name": "Friction", "learning_rate": 0.2, "decay": 0.0, "friction": 0.25,
                      "initial_velocity": 0.5, "keep_sum": True}
    assert list(config) == ["name", "learning_rate", "decay", "friction", "initial_velocity",
                            "keep_sum"]
    assert Friction.from_config(copy.deepcopy(config)).get_config() == config
    with pytest.raises(ValueError) as info:
        Friction(friction=1.5)
    assert str(info.value) == "`friction` must be in [0, 1]. Received: friction=1.5."
    with pytest.raises(ValueError, match="^initial_velocity must be non-negative: -1$"):
        Friction(initial_velocity=-1)
    with pytest.raises(TypeError, match="`initial_velocity` must be a real number"):
        Friction(initial_velocity="x")
    with pytest.raises(TypeError, match="Unexpected keyword argument passed to optimizer: "
                                        "frction. Did you mean `friction`?"):
        Friction(frction=0.5)


@pytest.mark.parametrize("keep_sum", [False, True])
def test_user_optimizer_slots_and_steps(keep_sum, dtype):
    a = Variable(np.ones((3, 2), dtype), name="a")
    b = Variable(np.full(4, 2.0, dtype), name="b")
    opt = Friction(learning_rate=0.1, friction=0.5, initial_velocity=0.25, keep_sum=keep_sum)
    opt.build([a, b])
    slots = ["velocity", "sum"] if keep_sum else ["velocity"]
    assert [w.name for w in opt.weights] == ["Friction/iter"] + [
        f"Friction/{v}/{s}" for s in slots for v in "ab"]
    assert opt.get_slot(a, "velocity").numpy().tobytes() == np.full((3, 2), 0.25,
                                                                     dtype).tobytes()
    rng = np.random.default_rng(0)
    grads = [(rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=4).astype(dtype))
             for _ in range(3)]
    expected = [np.ones((3, 2), dtype), np.full(4, 2.0, dtype)]
    for ga, gb in grads:                  # small variables: updated packed together
        opt.apply_gradients([(ga, a), (gb, b)])
    for var, start, g in ((a, expected[0], [x for x, _ in grads]),
                          (b, expected[1], [y for _, y in grads])):
        w, v, total = _friction_reference(start, g, 0.1, 0.5, 0.25)
        assert var.numpy().tobytes() == w.tobytes()
        assert opt.get_slot(var, "velocity").numpy().tobytes() == v.tobytes()
        if keep_sum:
            assert opt.get_slot(var, "sum").numpy().tobytes() == total.tobytes()
        else:
            with pytest.raises(KeyError):
                opt.get_slot(var, "sum")
    opt.friction = 0.0                     # a hyperparameter: set between steps
    before = a.numpy()
    g = np.ones((3, 2), dtype)
    opt.apply_gradients([(g, a)])
    assert a.numpy().tobytes() == (before - g * dtype.type(np.float32(0.1))).tobytes()


# --------------------------------------------------------------------------- #
# A user's subclass of a built-in adds a hyperparameter and a slot
class TracedSGD(SGD):
    """SGD that also keeps ``trace = trace_decay * trace + g``."""

    _declared_hypers = SGD._declared_hypers + (Hyper("trace_decay", sign("positive")),)
    _declared_slots = SGD._declared_slots + (Slot("trace"),)

    def __init__(self, trace_decay=0.5, **kwargs):
        super().__init__(**kwargs)
        self._store_declared(locals())

    def _prepare_local(self, var_device, var_dtype, apply_state):
        super()._prepare_local(var_device, var_dtype, apply_state)
        apply_state[(var_device, var_dtype)]["trace_decay"] = self._get_hyper("trace_decay",
                                                                              var_dtype)

    def _dense_block(self, c, g, w, *slots):
        *own, trace = slots
        super()._dense_block(c, g, w, *own)
        np.multiply(trace, c["trace_decay"], out=trace)
        np.add(trace, g, out=trace)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_user_subclass_of_a_builtin_adds_a_hyperparameter_and_a_slot(momentum, dtype):
    opt = TracedSGD(trace_decay=0.25, learning_rate=0.1, momentum=momentum, nesterov=True)
    config = opt.get_config()
    assert list(config) == ["name", "learning_rate", "decay", "momentum", "nesterov",
                            "trace_decay"]
    assert config["trace_decay"] == 0.25 and config["name"] == "SGD"
    assert TracedSGD.from_config(copy.deepcopy(config)).get_config() == config
    with pytest.raises(ValueError) as info:
        TracedSGD(trace_decay=-1)
    assert str(info.value) == "`trace_decay` needs to be positive or zero. Received: " \
                              "trace_decay=-1."
    with pytest.raises(ValueError, match=r"`momentum` must be between \[0, 1\]"):
        TracedSGD(momentum=2.0)
    w, plain_w = Variable(np.ones(5, dtype), name="w"), Variable(np.ones(5, dtype), name="w")
    plain = SGD(learning_rate=0.1, momentum=momentum, nesterov=True)
    rng = np.random.default_rng(1)
    trace = np.zeros(5, dtype)
    for _ in range(3):
        g = rng.normal(size=5).astype(dtype)
        opt.apply_gradients([(g, w)])
        plain.apply_gradients([(g, plain_w)])
        trace = trace * dtype.type(np.float32(0.25)) + g
    assert w.numpy().tobytes() == plain_w.numpy().tobytes()   # SGD's numbers, unchanged
    assert opt.get_slot(w, "trace").numpy().tobytes() == trace.tobytes()
    names = ["momentum", "trace"] if momentum else ["trace"]
    assert [x.name for x in opt.weights] == ["SGD/iter"] + [f"SGD/w/{s}" for s in names]


def test_tensorflow_style_subclass_of_a_declared_builtin():
    class Counting(Adagrad):
        def _create_slots(self, var_list):
            super()._create_slots(var_list)
            for var in var_list:
                self.add_slot(var, "count", initializer="ones")

    w = Variable(np.ones((2, 2), np.float32), name="w")
    opt = Counting(initial_accumulator_value=0.3)
    opt.apply_gradients([(np.ones((2, 2), np.float32), w)])
    assert [x.name for x in opt.weights] == ["Adagrad/iter", "Adagrad/w/accumulator",
                                             "Adagrad/w/count"]
    assert opt.get_slot(w, "count").numpy().tolist() == [[1, 1], [1, 1]]
    reference = Variable(np.ones((2, 2), np.float32))
    Adagrad(initial_accumulator_value=0.3).apply_gradients(
        [(np.ones((2, 2), np.float32), reference)])
    assert w.numpy().tobytes() == reference.numpy().tobytes()


def test_per_row_slots_and_slots_created_variable_by_variable():
    class RowCount(Optimizer):
        _declared_hypers = (LEARNING_RATE, DECAY)
        _declared_slots = (Slot("rows", shape=per_row), Slot("copy"))
        _slot_order = "variable"

        def __init__(self, learning_rate=0.1, name="RowCount", **kwargs):
            self._init_declared(locals())

    a, s = Variable(np.ones((3, 2)), name="a"), Variable(np.float32(1.0), name="s")
    opt = RowCount()
    opt.build([a, s])
    assert [(x.name, x.shape) for x in opt.weights] == [
        ("RowCount/iter", ()), ("RowCount/a/rows", (3,)), ("RowCount/a/copy", (3, 2)),
        ("RowCount/s/rows", (1,)), ("RowCount/s/copy", ())]
    assert opt.get_config() == {"name": "RowCount", "learning_rate": float(np.float32(0.1)),
                                "decay": 0.0}


def test_checkpoints_without_iterations_are_declared_per_class():
    class Old(Friction):
        _weights_may_lack_iterations = True

    for cls, takes_them in ((Friction, False), (Old, True)):
        w = Variable(np.ones(3, np.float32))
        opt = cls()
        opt.build([w])
        short = [np.full(3, 2.0, np.float32)]
        if takes_them:
            opt.set_weights(short)
            assert int(opt.iterations) == 0
            assert opt.get_slot(w, "velocity").numpy().tolist() == [2.0] * 3
        else:
            with pytest.raises(ValueError, match="weight list of length 1"):
                opt.set_weights(short)


# --------------------------------------------------------------------------- #
# Declarations that cannot work fail when the class is made
@pytest.mark.parametrize("body, error, message", [
    (dict(_declared_slots=(Slot("acc", initial="start"),)), ValueError,
     "slot 'acc' is filled from 'start', which is not a declared hyperparameter"),
    (dict(_declared_hypers=(LEARNING_RATE, LEARNING_RATE)), ValueError,
     r"declares \['learning_rate'\] more than once"),
    (dict(_declared_slots=(Slot("m"), Slot("m"))), ValueError, r"declares \['m'\] more than once"),
    (dict(_declared_hypers=[LEARNING_RATE]), TypeError, "must be a tuple of Hyper"),
    (dict(_declared_slots=("m",)), TypeError, "must be a tuple of Slot"),
    (dict(_slot_order="row"), ValueError, "_slot_order must be one of"),
])
def test_bad_declarations_fail_when_the_class_is_made(body, error, message):
    with pytest.raises(error, match=message):
        type("Bad", (Optimizer,), dict(body))


def test_bad_store_is_refused():
    with pytest.raises(ValueError, match="`store` must be one of"):
        Hyper("x", store="global")
