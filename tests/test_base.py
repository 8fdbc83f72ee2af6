"""The base class, method by method (TensorFlow 2.4 ``OptimizerV2`` semantics)."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from optimizers import SGD, IndexedSlices, Optimizer, Variable, schedules


def f32(*values):
    return np.array(values, np.float32)


class PlainSGD(Optimizer):
    """A custom optimizer written against the documented override points only."""

    def __init__(self, learning_rate=0.1, name="PlainSGD", **kwargs):
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", learning_rate)

    def _create_slots(self, var_list):
        for var in var_list:
            self.add_slot(var, "count")

    def _resource_apply_dense(self, grad, var, apply_state):
        coef = apply_state[("cpu", var.dtype)]
        np.subtract(var, grad * coef["lr_t"], out=np.asarray(var))
        self.get_slot(var, "count").assign_add(np.ones(var.shape, var.dtype))

    def _resource_apply_sparse(self, grad, var, indices):
        lr = self._get_hyper("learning_rate", var.dtype)
        np.asarray(var)[indices] -= grad * lr
        np.asarray(self.get_slot(var, "count"))[indices] += 1

    def get_config(self):
        config = super().get_config()
        config["learning_rate"] = self._serialize_hyperparameter("learning_rate")
        return config


# --------------------------------------------------------------------- #
# __init__
def test_unknown_kwarg_is_a_type_error_listing_allowed():
    with pytest.raises(TypeError, match="momentun.*Allowed kwargs"):
        SGD(momentun=0.9)


@pytest.mark.parametrize("key", ["clipnorm", "clipvalue", "global_clipnorm", "lr", "decay"])
def test_negative_kwarg_is_a_value_error(key):
    with pytest.raises(ValueError, match=f"Expected {key} >= 0, received: -1"):
        SGD(**{key: -1})


def test_clipnorm_and_global_clipnorm_exclude_each_other():
    with pytest.raises(ValueError, match="both `clipnorm` and `global_clipnorm`"):
        SGD(clipnorm=1.0, global_clipnorm=1.0)
    opt = SGD(clipnorm=1.0)
    with pytest.raises(ValueError, match="both"):
        opt.global_clipnorm = 2.0
    assert opt.global_clipnorm is None


def test_clipping_and_transformers_exclude_each_other():
    with pytest.raises(ValueError, match="`clipvalue` cannot be set when `gradient_transformers`"):
        PlainSGD(gradient_transformers=[lambda gv: gv], clipvalue=1.0)
    opt = PlainSGD(gradient_transformers=[lambda gv: gv])
    with pytest.raises(ValueError, match="`clipnorm` cannot be set"):
        opt.clipnorm = 1.0


def test_clip_attributes_are_readable_and_settable():
    opt = SGD(clipvalue=0.5)
    assert (opt.clipvalue, opt.clipnorm, opt.global_clipnorm) == (0.5, None, None)
    opt.clipvalue = None
    opt.clipnorm = 2.0
    assert (opt.clipvalue, opt.clipnorm) == (None, 2.0)


def test_falsy_name_becomes_unique_snake_case():
    class MyOpt(PlainSGD):
        pass

    names = [MyOpt(name=None).name, MyOpt(name="").name, MyOpt(name=None).name]
    assert names == ["my_opt", "my_opt_1", "my_opt_2"]
    assert SGD().name == "SGD" and SGD().name == "SGD"


def test_uncallable_transformer_rejected():
    with pytest.raises(TypeError, match="gradient_transformers"):
        PlainSGD(gradient_transformers=[3])


# --------------------------------------------------------------------- #
# hyperparameters
def test_learning_rate_can_be_changed_between_steps():
    w = Variable(f32(1.0))
    opt = SGD(learning_rate=0.1)
    opt.minimize(lambda: (None, [f32(1.0)]), [w])
    lr_var = opt.learning_rate
    opt.learning_rate = 0.05
    assert opt.learning_rate is lr_var         # assigned in place
    assert float(lr_var) == np.float32(0.05)
    opt.minimize(lambda: (None, [f32(1.0)]), [w])
    assert w.numpy()[0] == np.float32(np.float32(1 - np.float32(0.1)) - np.float32(0.05))


def test_lr_alias_and_dir():
    opt = SGD(lr=0.3)
    assert float(opt.lr) == np.float32(0.3)
    opt.lr = 0.2
    assert float(opt.learning_rate) == np.float32(0.2)
    assert {"lr", "learning_rate", "momentum", "decay"} <= set(dir(opt))


def test_hyperparameters_of_a_subclass_read_as_attributes():
    class Custom(Optimizer):
        def __init__(self, name="custom", **kwargs):
            super().__init__(name, **kwargs)
            self._set_hyper("foo_rate", 0.25)
            self.plain = 3

        def _resource_apply_dense(self, grad, var, apply_state=None):
            var.assign_sub(grad * self._get_hyper("foo_rate", var.dtype))

    opt = Custom()
    assert opt.foo_rate == 0.25 and opt.plain == 3
    opt.foo_rate = 0.5
    assert opt.foo_rate == 0.5
    with pytest.raises(AttributeError, match="'Custom' object has no attribute 'lr'"):
        opt.lr
    with pytest.raises(AttributeError, match="no attribute 'bar'"):
        opt.bar
    assert not hasattr(SGD(), "foo_rate")         # only where it is a hyperparameter
    # an instance attribute of the same name is read as usual
    other = Custom()
    other.__dict__["foo_rate"] = "mine"
    assert other.foo_rate == "mine"


def test_hyperparameters_read_as_attributes_after_unpickling_in_a_new_process(tmp_path):
    # No SGD is made in the new process before the unpickled one.
    code = ("import pickle, sys; opt = pickle.loads(sys.stdin.buffer.read()); "
            "print(float(opt.momentum), float(opt.lr))")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(SGD(0.2, 0.5)),
                         capture_output=True, check=True, cwd=tmp_path).stdout.decode().split()
    assert [float(x) for x in out] == [0.5, float(np.float32(0.2))]


def test_reading_a_hyper_creates_float32_variables_not_in_weights():
    opt = SGD(learning_rate=0.1)
    lr = opt.learning_rate
    assert isinstance(lr, Variable) and lr.dtype == np.float32 and lr.shape == ()
    assert all(w is not lr for w in opt.weights)


def test_callable_learning_rate_is_called_each_step():
    calls = []

    def lr():
        calls.append(1)
        return 0.5

    w = Variable(f32(1.0))
    opt = SGD(learning_rate=lr)
    opt.apply_gradients([(f32(1.0), w)])
    opt.apply_gradients([(f32(1.0), w)])
    assert len(calls) == 2 and w.numpy()[0] == 0.0


def test_setting_a_created_hyper_to_a_callable_is_a_type_error():
    opt = SGD()
    _ = opt.learning_rate
    with pytest.raises(TypeError, match="learning_rate"):
        opt.learning_rate = lambda: 0.1


def test_invalid_hyper_value_is_a_type_error():
    with pytest.raises(TypeError, match="`learning_rate` must be a number"):
        SGD(learning_rate="fast")


def test_float64_variables_see_float32_rounded_hypers():
    w = Variable(np.array([1.0]))
    SGD(learning_rate=0.1).apply_gradients([(np.array([1.0]), w)])
    assert w.numpy()[0] == 1.0 - float(np.float32(0.1))


def test_schedule_sees_iterations_before_increment():
    seen = []

    class Record(schedules.LearningRateSchedule):
        def __call__(self, step):
            seen.append(float(step))
            return np.float32(0.1)

        def get_config(self):
            return {}

    w = Variable(f32(1.0))
    opt = SGD(learning_rate=Record())
    for _ in range(3):
        opt.apply_gradients([(f32(1.0), w)])
    assert seen == [0.0, 1.0, 2.0]


def test_exponential_decay_schedule_step():
    sched = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    w = Variable(np.zeros(1))
    opt = SGD(learning_rate=sched)
    opt.apply_gradients([(np.ones(1), w)])
    opt.apply_gradients([(np.ones(1), w)])
    lr0, lr1 = float(np.float32(0.1)), float(np.float32(0.05))
    np.testing.assert_allclose(w.numpy(), [-(lr0 + lr1)], rtol=1e-7)


def test_legacy_decay():
    w = Variable(np.zeros(1))
    opt = SGD(learning_rate=0.1, decay=0.5)
    for _ in range(3):
        opt.apply_gradients([(np.ones(1), w)])
    lr, decay = float(np.float32(0.1)), float(np.float32(0.5))
    expected = -sum(lr / (1 + decay * t) for t in range(3))
    np.testing.assert_allclose(w.numpy(), [expected], rtol=1e-15)


# --------------------------------------------------------------------- #
# iterations, weights, slots
def test_iterations_lazy_int64_and_first_weight():
    opt = SGD(momentum=0.5)
    assert opt.weights == []
    it = opt.iterations
    assert it.dtype == np.int64 and int(it) == 0 and opt.weights == [it]
    with pytest.raises(RuntimeError, match="Cannot set `iterations`"):
        opt.iterations = Variable(np.int64(3))


def test_iterations_can_be_set_before_creation():
    opt = SGD()
    opt.iterations = Variable(np.int64(7), name="iter")
    assert int(opt.iterations) == 7 and opt.get_weights() == [7]


def test_apply_gradients_returns_and_increments_iterations():
    w = Variable(f32(1.0, 2.0))
    opt = SGD()
    result = opt.apply_gradients([(f32(1, 1), w)])
    assert result is opt.iterations and int(result) == 1


def test_empty_apply_creates_iterations_without_incrementing():
    opt = SGD()
    assert int(opt.apply_gradients([])) == 0
    assert len(opt.weights) == 1


def test_slots_order_names_and_lookup():
    a, b = Variable(f32(1.0), name="a"), Variable(f32(1.0, 2.0), name="b")
    opt = SGD(momentum=0.9)
    opt.apply_gradients([(f32(1.0), a)])
    opt.apply_gradients([(f32(1.0), a), (f32(1.0, 1.0), b)])
    assert [w.name for w in opt.weights] == ["SGD/iter", "SGD/a/momentum", "SGD/b/momentum"]
    assert opt.get_slot_names() == ["momentum"]
    assert opt.get_slot(b, "momentum").shape == (2,)
    with pytest.raises(KeyError):
        opt.get_slot(b, "velocity")
    with pytest.raises(KeyError):
        opt.get_slot(Variable(f32(1.0)), "momentum")


def test_add_slot_initializers_and_idempotence():
    opt = PlainSGD()
    v = Variable(np.zeros((2, 3)), name="v")
    ones = opt.add_slot(v, "ones", "ones")
    assert ones.dtype == np.float64 and (ones.numpy() == 1).all()
    assert opt.add_slot(v, "ones", "zeros") is ones
    filled = opt.add_slot(v, "c", lambda shape, dtype: np.full(shape, 3, dtype))
    assert (filled.numpy() == 3).all()
    value = opt.add_slot(v, "val", 0.5)
    assert (value.numpy() == 0.5).all() and value.name == "PlainSGD/v/val"
    with pytest.raises(ValueError, match="Unknown initializer"):
        opt.add_slot(v, "bad", "glorot")


def test_add_weight_appends_to_weights():
    opt = PlainSGD()
    w = opt.add_weight("cache", shape=(), initializer="ones")
    assert w.dtype == np.float32 and opt.weights == [w] and opt.get_weights() == [1.0]


def test_slots_of_plain_ndarrays_belong_to_the_array():
    arr = np.ones(3)
    opt = SGD(momentum=0.5)
    opt.apply_gradients([(np.ones(3), arr)])
    assert opt.get_slot(arr, "momentum").shape == (3,)
    with pytest.raises(KeyError):
        opt.get_slot(arr.copy(), "momentum")


def test_get_set_weights_round_trip():
    w = Variable(f32(1.0, 2.0))
    opt = SGD(momentum=0.9)
    opt.apply_gradients([(f32(1.0, 1.0), w)])
    weights = opt.get_weights()
    assert isinstance(weights[0], np.int64) and weights[0] == 1
    opt2 = SGD(momentum=0.9)
    opt2.apply_gradients([(f32(0.0, 0.0), Variable(f32(0, 0)))])
    opt3 = SGD(momentum=0.9)
    w3 = Variable(f32(1.0, 2.0))
    opt3.apply_gradients([(f32(0.0, 0.0), w3)])
    opt3.set_weights(weights)
    assert int(opt3.iterations) == 1
    np.testing.assert_array_equal(opt3.get_slot(w3, "momentum").numpy(),
                                  opt.get_slot(w, "momentum").numpy())


def test_set_weights_errors_change_nothing():
    w = Variable(f32(1.0, 2.0))
    opt = SGD(momentum=0.9)
    opt.apply_gradients([(f32(1.0, 1.0), w)])
    with pytest.raises(ValueError, match=r"with a  weight list of length 1, but the optimizer "
                                         r"was expecting 2 weights"):
        opt.set_weights([np.int64(5)])
    with pytest.raises(ValueError, match=r"Optimizer weight shape \(2,\) not compatible with "
                                         r"provided weight shape \(3,\)"):
        opt.set_weights([np.int64(5), np.zeros(3)])
    assert int(opt.iterations) == 1


def test_variables_method_equals_weights():
    opt = SGD(momentum=0.9)
    opt.apply_gradients([(f32(1.0), Variable(f32(1.0)))])
    assert opt.variables() == opt.weights and len(opt.weights) == 2


# --------------------------------------------------------------------- #
# apply_gradients flow
def test_none_gradients_are_dropped_with_a_warning():
    a, b = Variable(f32(1.0), name="a"), Variable(f32(1.0), name="b")
    opt = SGD(momentum=0.9)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['b'\]"):
        opt.apply_gradients([(f32(1.0), a), (None, b)])
    assert [w.name for w in opt.weights] == ["SGD/iter", "SGD/a/momentum"]
    assert b.numpy()[0] == 1.0


def test_all_none_gradients_is_a_value_error():
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        SGD().apply_gradients([(None, Variable(f32(1.0), name="a"))])


def test_clipvalue_acts_on_duplicate_slices_before_summing():
    w = Variable(np.zeros((2, 1), np.float32))
    opt = SGD(learning_rate=1.0, momentum=0.0, clipvalue=2.0)
    opt.apply_gradients([(IndexedSlices(f32([3.0], [3.0]).reshape(2, 1),
                                        np.array([0, 0]), (2, 1)), w)])
    assert w.numpy()[0, 0] == -4.0


def test_clipnorm_and_global_clipnorm_values():
    w = Variable(np.zeros(2))
    SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients([(np.array([3.0, 4.0]), w)])
    np.testing.assert_allclose(w.numpy(), [-0.6, -0.8], rtol=1e-15)
    a, b = Variable(np.zeros(1)), Variable(np.zeros(1))
    SGD(learning_rate=1.0, global_clipnorm=1.0).apply_gradients(
        [(np.array([3.0]), a), (np.array([4.0]), b)])
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [-0.6, -0.8], rtol=1e-15)


def test_global_clipnorm_scale_is_not_exactly_one():
    # c * (1 / c) rounds to 0.99999994 in float32 for c = 41, as in TensorFlow.
    w = Variable(f32(0.0))
    SGD(learning_rate=1.0, global_clipnorm=41.0).apply_gradients([(f32(1.0), w)])
    assert w.numpy()[0] == -np.float32(41) * (np.float32(1) / np.float32(41))


def test_aggregator_then_transformers_in_order():
    calls = []

    def aggregate(gv):
        calls.append("aggregate")
        return [(g * 2, v) for g, v in gv]

    def plus_one(gv):
        calls.append("plus_one")
        return [(g + 1, v) for g, v in gv]

    def halve(gv):
        calls.append("halve")
        return [(g / 2, v) for g, v in gv]

    w = Variable(f32(0.0))
    opt = PlainSGD(learning_rate=1.0, gradient_aggregator=aggregate,
                   gradient_transformers=[plus_one, halve])
    opt.apply_gradients([(f32(1.0), w)])
    assert calls == ["aggregate", "plus_one", "halve"] and w.numpy()[0] == -1.5
    calls.clear()
    opt.apply_gradients([(f32(1.0), w)], experimental_aggregate_gradients=False)
    assert calls == ["plus_one", "halve"] and w.numpy()[0] == -2.5


def test_dense_constraint_applied_after_update():
    w = Variable(f32(0.5, -0.5), constraint=lambda x: np.maximum(x, 0))
    SGD(learning_rate=1.0).apply_gradients([(f32(1.0, 1.0), w)])
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


def test_custom_subclass_dense_sparse_and_csr():
    w = Variable(np.ones((3, 2)), name="w")
    opt = PlainSGD(learning_rate=0.5)
    opt.apply_gradients([(np.ones((3, 2)), w)])
    opt.apply_gradients([(IndexedSlices(np.ones((3, 2)), np.array([2, 0, 2]), (3, 2)), w)])
    opt.apply_gradients([(sp.csr_matrix(np.array([[0, 0], [1.0, 0], [0, 0]])), w)])
    np.testing.assert_array_equal(w.numpy(), [[0.0, 0.0], [0.0, 0.5], [-0.5, -0.5]])
    np.testing.assert_array_equal(opt.get_slot(w, "count").numpy()[:, 0], [2, 2, 2])


def test_float16_variables_update_in_float32():
    w = np.full(3, 1.0, np.float16)
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.apply_gradients([(np.full(3, 0.3, np.float16), w)])
    expected = np.float16(np.float32(1.0) - np.float32(np.float16(0.3)) * np.float32(0.1))
    assert w.dtype == np.float16 and (w == expected).all()
    assert opt.get_slot(w, "momentum").dtype == np.float16


# --------------------------------------------------------------------- #
# minimize, get_gradients, get_updates
def test_minimize_with_callable_loss_and_callable_var_list():
    created = []

    def loss():
        if not created:
            created.append(Variable(f32(2.0), name="late"))
        value = float(created[0].numpy()[0]) ** 2
        return value, [2 * created[0].numpy()]

    opt = SGD(learning_rate=0.25)
    assert int(opt.minimize(loss, lambda: created)) == 1
    assert created[0].numpy()[0] == 1.0


def test_minimize_with_tape_protocol():
    class Tape:
        def gradient(self, target, sources, output_gradients=None):
            scale = 1.0 if output_gradients is None else output_gradients
            return [np.asarray(target * scale, np.float32) for _ in sources]

    w = Variable(f32(1.0))
    SGD(learning_rate=1.0).minimize(f32(0.5), [w], tape=Tape())
    assert w.numpy()[0] == 0.5
    SGD(learning_rate=1.0).minimize(lambda: f32(0.25), [w], grad_loss=2.0, tape=Tape())
    assert w.numpy()[0] == 0.0


def test_minimize_value_loss_needs_tape():
    with pytest.raises(ValueError, match="`tape` is required when a `Tensor` loss is passed"):
        SGD().minimize(f32(1.0), [Variable(f32(1.0))])


def test_minimize_rejects_non_variables():
    with pytest.raises(ValueError, match="must be an optimizers.Variable"):
        SGD().minimize(lambda: (0.0, [f32(1.0)]), [[1.0]])


def test_minimize_rejects_integer_variables():
    with pytest.raises(ValueError, match="Invalid type int64"):
        SGD().minimize(lambda: (0.0, [np.ones(1)]), [Variable(np.ones(1, np.int64), name="n")])


def test_get_gradients_and_get_updates():
    w = Variable(f32(1.0), name="w")
    opt = SGD(learning_rate=0.5)
    grads = opt.get_gradients(lambda: (1.0, [f32(2.0)]), [w])
    np.testing.assert_array_equal(grads[0], [2.0])
    with pytest.raises(ValueError, match="Variable w has `None` for gradient"):
        opt.get_gradients(lambda: (1.0, [None]), [w])
    updates = opt.get_updates(lambda: (1.0, [f32(2.0)]), [w])
    assert updates == [opt.iterations] and w.numpy()[0] == 0.0


# --------------------------------------------------------------------- #
# config and registry
def test_get_config_keys_and_from_config_round_trip():
    opt = SGD(learning_rate=0.2, momentum=0.5, nesterov=True, clipnorm=1.0, clipvalue=0.5)
    config = opt.get_config()
    assert list(config) == ["name", "clipnorm", "clipvalue", "learning_rate", "decay",
                            "momentum", "nesterov"]
    clone = SGD.from_config(config)
    assert clone.get_config() == config


def test_from_config_renames_lr_and_deserializes_schedules():
    sched = schedules.ExponentialDecay(0.1, 10, 0.9)
    config = {"name": "SGD", "lr": schedules.serialize(sched), "momentum": 0.0}
    original = dict(config)
    opt = SGD.from_config(config)
    assert config == original
    assert isinstance(opt.learning_rate, schedules.ExponentialDecay)
    assert opt.get_config()["learning_rate"] == schedules.serialize(sched)


def test_registry_get_serialize_deserialize():
    assert isinstance(optimizers.get("sgd"), SGD) and isinstance(optimizers.get("SGD"), SGD)
    opt = SGD(momentum=0.3)
    assert optimizers.get(opt) is opt
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert clone.get_config() == opt.get_config()
    custom = optimizers.deserialize({"class_name": "PlainSGD", "config": {}},
                                    custom_objects={"PlainSGD": PlainSGD})
    assert isinstance(custom, PlainSGD)
    with pytest.raises(ValueError, match="Unknown optimizer: Nope"):
        optimizers.get("Nope")
    with pytest.raises(ValueError, match="Improper config format"):
        optimizers.deserialize({"config": {}})
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(3)
