"""Complex variables: parity with TensorFlow from ``tests/golden/complex.npz``
(see ``tools/make_tf_fixtures.py complex``), and the refusals where
TensorFlow has no complex kernel."""
import json
import os

import numpy as np
import pytest
import scipy.sparse as sp

import optimizers
from conftest import assert_unchanged, snapshot
from optimizers import IndexedSlices, Variable

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden", "complex.npz")
DATA = np.load(PATH)
META = json.loads(str(DATA["meta"]))
VARIABLES = ("table", "bias")
SHAPES = {"table": (12, 5), "bias": (7,)}
# As in test_golden: TensorFlow uses an approximate rsqrt here in single precision.
LOOSE = {"Adadelta/default", "Adadelta/custom", "RMSprop/momentum", "RMSprop/centered_momentum"}


def tolerance(case, dtype, step):
    if dtype == "complex128":
        return 1e-12
    if case in LOOSE:
        return 1e-4
    return 1e-6 if step == 1 else 1e-5


def relative_error(actual, expected):
    actual, expected = np.asarray(actual, np.complex128), np.asarray(expected, np.complex128)
    scale = max(np.abs(expected).max(initial=0.0), np.finfo(np.float64).tiny)
    return np.abs(actual - expected).max(initial=0.0) / scale


def gradient(prefix, var, step, shape):
    key = f"{prefix}/g_{var}"
    if key in DATA:
        return DATA[key][step - 1]
    if key + "_dense" in DATA:
        return sp.csr_matrix(DATA[key + "_dense"][step - 1])
    return IndexedSlices(DATA[key + "_values"][step - 1], DATA[key + "_indices"][step - 1], shape)


def _runs():
    for case in META["cases"]:
        for kind in META["kinds"]:
            for dtype in META["dtypes"]:
                yield pytest.param(case, kind, dtype, id=f"{case}-{kind}-{dtype}")


@pytest.mark.parametrize("case, kind, dtype", list(_runs()))
def test_matches_tensorflow(case, kind, dtype):
    info = META["cases"][case]
    opt = optimizers.deserialize({"class_name": info["class_name"], "config": info["kwargs"]})
    prefix = f"{case}/{kind}/{dtype}"
    variables = {v: Variable(DATA[f"{prefix}/init_{v}"], name=v) for v in VARIABLES}
    checked = 0
    for step in range(1, META["steps"] + 1):
        opt.apply_gradients([(gradient(prefix, v, step, SHAPES[v]), variables[v])
                             for v in VARIABLES])
        if step not in META["checkpoints"]:
            continue
        tol = tolerance(case, dtype, step)
        for v in VARIABLES:
            ours, expected = variables[v].numpy(), DATA[f"{prefix}/step{step:02d}_{v}"]
            assert ours.dtype == expected.dtype == np.dtype(dtype)
            err = relative_error(ours, expected)
            assert err <= tol, f"{v} after step {step}: relative error {err:.3g} > {tol:g}"
        weights = opt.get_weights()
        n = len([k for k in DATA.files if k.startswith(f"{prefix}/step{step:02d}_weights_")])
        assert len(weights) == n and int(weights[0]) == step
        for i, w in enumerate(weights[1:], 1):
            expected = DATA[f"{prefix}/step{step:02d}_weights_{i}"]
            assert np.shape(w) == expected.shape and np.asarray(w).dtype == expected.dtype
            err = relative_error(w, expected)
            assert err <= tol, f"weight {i} after step {step}: relative error {err:.3g}"
        checked += 1
    assert checked == len(META["checkpoints"])


def test_fixture_covers_every_supported_optimizer():
    classes = {info["class_name"] for info in META["cases"].values()}
    assert classes == {"SGD", "Adam", "Adadelta", "Adagrad", "Nadam", "RMSprop"}
    assert set(META["refused"]) == {"Adamax", "Ftrl", "Adam_amsgrad"}
    for refused in META["refused"].values():           # TensorFlow fails on every one
        assert all(refused["errors"].values())


def _refused():
    for name, info in META["refused"].items():
        for kind in ("dense", "sparse", "csr"):
            for dtype in META["dtypes"]:
                yield pytest.param(info["class_name"], info["kwargs"], kind, dtype,
                                   id=f"{name}-{kind}-{dtype}")


@pytest.mark.parametrize("class_name, kwargs, kind, dtype", list(_refused()))
def test_refused_where_tensorflow_has_no_kernel(class_name, kwargs, kind, dtype):
    opt = optimizers.get({"class_name": class_name, "config": kwargs})
    real = Variable(np.ones((4, 3), np.float32), name="real")
    cx = Variable(np.ones((4, 3), dtype), name="cx")
    opt.apply_gradients([(np.ones((4, 3), np.float32), real)])      # slots, iterations exist
    grad = {"dense": np.full((4, 3), 0.5 + 0.25j, dtype),
            "sparse": IndexedSlices(np.full((2, 3), 0.5j, dtype), [1, 1], (4, 3)),
            "csr": sp.csr_matrix(np.eye(4, 3, dtype=dtype))}[kind]
    before = snapshot(opt, [real, cx])
    with pytest.raises(TypeError) as info:
        opt.apply_gradients([(np.ones((4, 3), np.float32), real), (grad, cx)])
    message = str(info.value)
    assert "'cx'" in message and dtype in message and class_name in message
    assert_unchanged(before, snapshot(opt, [real, cx]))


@pytest.mark.parametrize("name", ["LazyAdam", "AdamW", "RowwiseAdagrad", "PartialRowwiseAdam"])
def test_extras_refuse_complex(name):
    opt = optimizers.get(name)
    cx = Variable(np.ones((4, 3), np.complex64), name="cx")
    before = snapshot(opt, [cx])
    with pytest.raises(TypeError, match="'cx'.*complex64.*" + name):
        opt.apply_gradients([(np.ones((4, 3), np.complex64), cx)])
    assert_unchanged(before, snapshot(opt, [cx]))


def test_hyperparameters_cast_through_float32():
    # TensorFlow casts the float32 hyperparameter variable: complex128(f32(lr)) + 0j.
    opt = optimizers.SGD(learning_rate=0.1)
    w = Variable(np.zeros(2, np.complex128))
    opt.apply_gradients([(np.array([1, 1j], np.complex128), w)])
    lr = np.float64(np.float32(0.1))
    assert w.numpy().tolist() == [-lr + 0j, -lr * 1j]


def test_mixed_real_and_complex_variables_in_one_step():
    opt = optimizers.Adam(learning_rate=0.1)
    a = Variable(np.ones(3, np.float32), name="a")
    b = Variable(np.ones(3, np.complex64), name="b")
    opt.apply_gradients([(np.ones(3, np.float32), a), (np.full(3, 1j, np.complex64), b)])
    assert a.dtype == np.float32 and b.dtype == np.complex64
    assert opt.get_slot(b, "m").dtype == np.complex64
    np.testing.assert_allclose(a.numpy(), 0.9, rtol=1e-6)
    # A purely imaginary gradient: v = g*g is negative real, sqrt(v) imaginary.
    assert np.all(np.isfinite(b.numpy()))


def test_gradient_must_match_the_complex_dtype():
    w = Variable(np.ones(3, np.complex64), name="w")
    with pytest.raises(TypeError, match="'w'.*complex128.*complex64"):
        optimizers.SGD().apply_gradients([(np.ones(3, np.complex128), w)])
    with pytest.raises(TypeError, match="'w'.*float32.*complex64"):
        optimizers.SGD().apply_gradients([(np.ones(3, np.float32), w)])


def test_sparse_equals_dense_on_unique_rows_for_rows_rules():
    for opt_a, opt_b in [(optimizers.SGD(0.1, momentum=0.9), optimizers.SGD(0.1, momentum=0.9)),
                         (optimizers.Adagrad(0.1), optimizers.Adagrad(0.1))]:
        rng = np.random.default_rng(0)
        init = (rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))).astype(np.complex128)
        a, b = Variable(init.copy()), Variable(init.copy())
        for _ in range(3):
            g = (rng.normal(size=(5, 3)) + 1j * rng.normal(size=(5, 3))).astype(np.complex128)
            opt_a.apply_gradients([(g, a)])
            opt_b.apply_gradients([(IndexedSlices(g, np.arange(5), (5, 3)), b)])
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_plain_sgd_applies_repeated_rows_in_turn():
    w = Variable(np.zeros((3, 2), np.complex64))
    g = IndexedSlices(np.array([[1, 1j], [2, 2j], [3, 3j]], np.complex64), [2, 0, 2], (3, 2))
    optimizers.SGD(learning_rate=1.0).apply_gradients([(g, w)])
    assert w.numpy().tolist() == [[-2, -2j], [0, 0], [-4, -4j]]


def test_weights_and_checkpoint_round_trip(tmp_path):
    opt = optimizers.RMSprop(momentum=0.5, centered=True)
    w = Variable(np.full((4, 2), 1 + 1j, np.complex64), name="w")
    opt.apply_gradients([(np.full((4, 2), 0.5 - 0.5j, np.complex64), w)])
    weights = opt.get_weights()
    assert [np.asarray(x).dtype for x in weights[1:]] == [np.complex64] * 3
    other = optimizers.RMSprop(momentum=0.5, centered=True)
    other.build([w])
    other.set_weights(weights)
    for x, y in zip(other.get_weights(), weights):
        np.testing.assert_array_equal(x, y)
    ckpt = optimizers.Checkpoint(optimizer=opt, w=w)
    path = ckpt.save(str(tmp_path / "ckpt"))
    saved = w.numpy()
    opt.apply_gradients([(np.full((4, 2), 1j, np.complex64), w)])
    ckpt.restore(path)
    np.testing.assert_array_equal(w.numpy(), saved)
    for x, y in zip(opt.get_weights(), weights):
        np.testing.assert_array_equal(x, y)


def test_user_optimizer_gets_complex_arrays():
    class Plain(optimizers.Optimizer):
        def __init__(self):
            super().__init__("plain")

        def _resource_apply_dense(self, grad, var, apply_state=None):
            np.asarray(var)[...] -= grad

        def get_config(self):
            return super().get_config()

    w = Variable(np.ones(2, np.complex64))
    Plain().apply_gradients([(np.array([1j, 1], np.complex64), w)])
    assert w.numpy().tolist() == [1 - 1j, 0]


@pytest.mark.parametrize("clip", [{"clipvalue": 0.2}, {"clipnorm": 0.5}, {"global_clipnorm": 0.5}])
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_clipping_refuses_complex_gradients(clip, kind):
    # TensorFlow's clip ops have no complex kernels.
    opt = optimizers.SGD(1.0, momentum=0.5, **clip)
    w = Variable(np.ones((3, 2), np.complex64), name="w")
    grad = (np.full((3, 2), 0.3 + 0.4j, np.complex64) if kind == "dense" else
            IndexedSlices(np.full((2, 2), 0.3j, np.complex64), [0, 0], (3, 2)))
    before = snapshot(opt, [w])
    with pytest.raises(TypeError, match=f"'w'.*complex64.*{next(iter(clip))}"):
        opt.apply_gradients([(grad, w)])
    assert_unchanged(before, snapshot(opt, [w]))
