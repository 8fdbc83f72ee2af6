"""Regenerate the golden fixtures under ``tests/golden/`` from TensorFlow.

TensorFlow is not a dependency of the package or of its tests; this script
runs in a separate virtual environment::

    python -m venv tfenv
    tfenv/bin/pip install tensorflow-cpu tf-keras numpy
    tfenv/bin/python tools/make_tf_fixtures.py            # every optimizer
    tfenv/bin/python tools/make_tf_fixtures.py sgd adam   # some of them

For each optimizer it runs ``tf_keras.optimizers.legacy.<Class>`` for 20
steps on seeded inputs, for every case (a set of constructor arguments),
every gradient kind and float32 and float64, and stores the inputs and
TensorFlow's results in ``tests/golden/<optimizer>.npz``.  Two variables are
trained together: ``table`` (12, 5) and ``bias`` (7,).

Gradient kinds:

``dense``
    both gradients are dense arrays;
``sparse``
    both are ``IndexedSlices`` with a repeated index in every step (the
    table gets 6 rows of 5, the bias 4 scalars);
``csr``
    the table gradient is a dense (12, 5) array about half of whose rows
    are zero; the tests feed it to us as a ``scipy.sparse`` CSR matrix and
    TensorFlow gets the ``IndexedSlices`` of its non-zero rows (sorted,
    unique) so both take the sparse path.  The bias gradient is dense.

Keys of ``<optimizer>.npz`` (``NN`` is the step, 01..20)::

    meta                                   JSON: versions, cases, weight names
    {case}/{kind}/{dtype}/init_{var}       initial value of var (table, bias)
    {case}/{kind}/{dtype}/g_{var}          dense gradients, one per step (axis 0)
    {case}/{kind}/{dtype}/g_{var}_values, g_{var}_indices    sparse gradients
    {case}/{kind}/{dtype}/g_{var}_dense    dense arrays fed as CSR
    {case}/{kind}/{dtype}/stepNN_{var}     var after step NN (NN in 01, 20)
    {case}/{kind}/{dtype}/stepNN_weights_{i}   opt.get_weights()[i] after step NN

``schedules.npz`` holds, per schedule, its class name, config (JSON), the
steps it was called at and TensorFlow's float32 values;
``experimental_schedules.npz`` the same for ``LinearCosineDecay`` and
``NoisyLinearCosineDecay`` (TF 2.4's ``tf.keras.experimental``; the noisy one
with ``initial_variance=0``, its deterministic part).

``loss_scale_optimizer.npz`` records ``tf_keras.mixed_precision.LossScaleOptimizer``
wrapping legacy SGD (momentum) and Adam, float32, for every gradient kind,
over 14 steps some of whose gradients hold an inf or a NaN.  The gradients
stored are the *scaled* ones (the unscaled gradient times the loss scale of
that step); each step passes them through ``get_unscaled_gradients`` and
``apply_gradients``.  Keys (``NN`` is the step, 01..14)::

    meta                                   JSON: versions, cases, bad steps
    {case}/{kind}/init_{var}, g_{var}...   as above (scaled gradients)
    {case}/{kind}/stepNN_{var}             var after step NN
    {case}/{kind}/stepNN_loss_scale        float32 loss scale after step NN
    {case}/{kind}/stepNN_counter           int64 good-step counter (dynamic cases)
    {case}/{kind}/stepNN_iterations        int64 iterations after step NN
    {case}/{kind}/stepNN_weights_{i}       inner get_weights()[i] after step NN
                                           (NN in 01, 03, 04, 09, 14)

Regenerate only these with ``tools/make_tf_fixtures.py loss_scale_optimizer
experimental_schedules``.

``complex.npz`` records complex variables (complex64 and complex128) for
the optimizers TensorFlow updates them with, over ``COMPLEX_STEPS`` steps of
complex gradients, for every gradient kind (the CSR gradient is a complex
CSR matrix); keys as above, prefixed by the class name
(``{class}/{case}/{kind}/{dtype}/...``).  Its ``meta`` also records, per
refused setting (Adamax, Ftrl, AMSGrad), the error TensorFlow raises, dense
and sparse.  Regenerate it with ``tools/make_tf_fixtures.py complex``.
"""
import json
import os
import sys
import zlib

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests",
                   "golden")
STEPS = 20
CHECKPOINTS = (1, 20)
SHAPES = {"table": (12, 5), "bias": (7,)}
KINDS = ("dense", "sparse", "csr")
DTYPES = ("float32", "float64")
S = tf_keras.optimizers.schedules

CASES = {
    "SGD": {
        "default": {},
        "lr": {"learning_rate": 0.1},
        "momentum": {"learning_rate": 0.05, "momentum": 0.9},
        "nesterov": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
        "clipvalue": {"learning_rate": 0.1, "clipvalue": 0.2},
        "clipnorm": {"learning_rate": 0.1, "clipnorm": 0.5},
        "global_clipnorm": {"learning_rate": 0.1, "momentum": 0.5, "global_clipnorm": 0.7},
        "decay": {"learning_rate": 0.1, "decay": 0.05},
        "expdecay": {"learning_rate": S.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.8)},
        "piecewise": {"learning_rate": S.PiecewiseConstantDecay([5, 10], [0.1, 0.05, 0.01]),
                      "momentum": 0.3},
        "inversetime": {"learning_rate": S.InverseTimeDecay(0.1, 4, 0.5, staircase=True)},
    },
    "Adam": {
        "default": {},
        "lr_eps": {"learning_rate": 0.01, "epsilon": 1e-3},
        "betas": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99},
        "amsgrad": {"learning_rate": 0.01, "amsgrad": True},
        "clipnorm": {"learning_rate": 0.01, "clipnorm": 0.3},
        "schedule": {"learning_rate": S.PolynomialDecay(0.02, 10, 0.001, power=2.0)},
        "decay": {"learning_rate": 0.01, "decay": 0.1},
    },
    "Adamax": {
        "default": {},
        "custom": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-5},
    },
    "Adadelta": {
        "default": {},
        "custom": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6},
    },
    "Adagrad": {
        "default": {},
        "custom": {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "epsilon": 1e-5},
    },
    "Ftrl": {
        "default": {},
        "l1l2": {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                 "l2_regularization_strength": 0.02},
        "shrinkage": {"learning_rate": 0.1, "l2_shrinkage_regularization_strength": 0.05,
                      "l1_regularization_strength": 0.001},
        "lrpower": {"learning_rate": 0.05, "learning_rate_power": -0.7,
                    "initial_accumulator_value": 0.3, "beta": 0.5},
    },
    "Nadam": {
        "default": {},
        "custom": {"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.99, "epsilon": 1e-5},
    },
    "RMSprop": {
        "default": {},
        "momentum": {"learning_rate": 0.01, "momentum": 0.9},
        "centered": {"learning_rate": 0.01, "centered": True},
        "centered_momentum": {"learning_rate": 0.01, "momentum": 0.5, "centered": True,
                              "rho": 0.8},
    },
}

SCHEDULES = {
    "exponential": S.ExponentialDecay(0.1, 7, 0.9),
    "exponential_staircase": S.ExponentialDecay(0.1, 7, 0.9, staircase=True),
    "piecewise": S.PiecewiseConstantDecay([10, 25, 40], [1.0, 0.5, 0.1, 0.01]),
    "polynomial": S.PolynomialDecay(0.1, 30, 0.01),
    "polynomial_sqrt_cycle": S.PolynomialDecay(0.1, 17, 0.01, power=0.5, cycle=True),
    "polynomial_square_cycle": S.PolynomialDecay(0.1, 17, 0.0, power=2.0, cycle=True),
    "inverse_time": S.InverseTimeDecay(0.1, 5, 0.5),
    "inverse_time_staircase": S.InverseTimeDecay(0.1, 5, 0.5, staircase=True),
    "cosine": S.CosineDecay(0.1, 45),
    "cosine_alpha": S.CosineDecay(0.1, 45, alpha=0.1),
    "cosine_restarts": S.CosineDecayRestarts(0.1, 9, t_mul=2.0, m_mul=0.9, alpha=0.1),
}


LSO_STEPS = 14
LSO_WEIGHTS_AT = (1, 3, 4, 9, 14)       # steps after which the inner weights are stored
# step -> (variable, value put in its first gradient entry)
LSO_BAD = {3: ("table", np.inf), 4: ("bias", np.nan), 8: ("table", -np.inf),
           9: ("table", np.nan), 10: ("bias", np.inf), 13: ("bias", np.nan)}
LSO_CASES = {
    "sgd_momentum": (("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
                     {"initial_scale": 16.0, "dynamic_growth_steps": 2}),
    "adam": (("Adam", {"learning_rate": 0.01}),
             {"initial_scale": 4.0, "dynamic_growth_steps": 2}),
    "adam_growth3": (("Adam", {"learning_rate": 0.02, "amsgrad": True}),
                     {"dynamic_growth_steps": 3}),
    "sgd_fixed": (("SGD", {"learning_rate": 0.1}),
                  {"dynamic": False, "initial_scale": 128.0}),
}

EXPERIMENTAL = {
    "linear_cosine": ("LinearCosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 50}),
    "linear_cosine_periods": ("LinearCosineDecay",
                              {"initial_learning_rate": 0.05, "decay_steps": 37,
                               "num_periods": 3.0, "alpha": 0.2, "beta": 0.0}),
    "linear_cosine_quarter": ("LinearCosineDecay",
                              {"initial_learning_rate": 1.0, "decay_steps": 10,
                               "num_periods": 0.25, "beta": 0.01}),
    "linear_cosine_long": ("LinearCosineDecay",
                           {"initial_learning_rate": 0.3, "decay_steps": 1000,
                            "num_periods": 7.5, "alpha": 0.05, "beta": 0.002}),
    "noisy_linear_cosine_novariance": ("NoisyLinearCosineDecay",
                                       {"initial_learning_rate": 0.1, "decay_steps": 45,
                                        "initial_variance": 0.0, "num_periods": 1.5,
                                        "alpha": 0.1}),
}


def serialize_kwargs(kwargs):
    out = {}
    for key, value in kwargs.items():
        if isinstance(value, S.LearningRateSchedule):
            value = {"class_name": type(value).__name__, "config": value.get_config()}
        out[key] = value
    return out


def sparse_indices(rng, n_rows, size):
    """Random indices with at least one repeat."""
    idx = rng.integers(0, n_rows, size)
    idx[rng.integers(1, size)] = idx[0]
    return idx.astype(np.int64)


def make_gradients(rng, kind, dtype):
    """One step's gradients: {var: ndarray | (values, indices) | ('csr', dense)}."""
    grads = {}
    for var, shape in SHAPES.items():
        if kind == "dense" or (kind == "csr" and var == "bias"):
            grads[var] = (rng.normal(size=shape) * 0.3).astype(dtype)
        elif kind == "sparse":
            size = 6 if var == "table" else 4
            values = (rng.normal(size=(size,) + shape[1:]) * 0.3).astype(dtype)
            grads[var] = (values, sparse_indices(rng, shape[0], size))
        else:
            dense = (rng.normal(size=shape) * 0.3).astype(dtype)
            dense[rng.random(shape[0]) < 0.5] = 0
            grads[var] = ("csr", dense)
    return grads


def to_tf(grad, shape):
    if isinstance(grad, np.ndarray):
        return tf.constant(grad)
    if isinstance(grad[0], str):
        dense = grad[1]
        rows = np.flatnonzero(np.any(dense != 0, axis=1)).astype(np.int64)
        return tf.IndexedSlices(tf.constant(dense[rows]), tf.constant(rows),
                                tf.constant(np.array(shape, np.int64)))
    values, indices = grad
    return tf.IndexedSlices(tf.constant(values), tf.constant(indices),
                            tf.constant(np.array(shape, np.int64)))


def store_gradients(out, prefix, steps):
    """Stack each variable's per-step gradients along a new first axis."""
    for var in SHAPES:
        first = steps[0][var]
        if isinstance(first, np.ndarray):
            out[f"{prefix}/g_{var}"] = np.stack([g[var] for g in steps])
        elif isinstance(first[0], str):
            out[f"{prefix}/g_{var}_dense"] = np.stack([g[var][1] for g in steps])
        else:
            out[f"{prefix}/g_{var}_values"] = np.stack([g[var][0] for g in steps])
            out[f"{prefix}/g_{var}_indices"] = np.stack([g[var][1] for g in steps])


def run(class_name, case, kwargs, kind, dtype, out):
    key = f"{class_name}/{case}/{kind}/{dtype}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    prefix = f"{case}/{kind}/{dtype}"
    init = {v: (rng.normal(size=s) * 0.5).astype(dtype) for v, s in SHAPES.items()}
    variables = {v: tf.Variable(init[v], name=v) for v in SHAPES}
    for v in SHAPES:
        out[f"{prefix}/init_{v}"] = init[v]
    opt = getattr(tf_keras.optimizers.legacy, class_name)(**kwargs)
    all_grads = []
    for step in range(1, STEPS + 1):
        grads = make_gradients(rng, kind, dtype)
        all_grads.append(grads)
        opt.apply_gradients([(to_tf(grads[v], SHAPES[v]), variables[v]) for v in SHAPES])
        if step in CHECKPOINTS:
            for v in SHAPES:
                out[f"{prefix}/step{step:02d}_{v}"] = variables[v].numpy()
            for i, w in enumerate(opt.get_weights()):
                out[f"{prefix}/step{step:02d}_weights_{i}"] = np.asarray(w)
    store_gradients(out, prefix, all_grads)
    return [w.name for w in opt.weights]


def make_optimizer_file(class_name):
    out, meta = {}, {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
                     "class_name": class_name, "steps": STEPS,
                     "checkpoints": list(CHECKPOINTS), "cases": {}, "skipped": {}}
    for case, kwargs in CASES[class_name].items():
        names = None
        try:
            for kind in KINDS:
                for dtype in DTYPES:
                    names = run(class_name, case, kwargs, kind, dtype, out)
        except Exception as exc:  # record what TensorFlow refuses, keep going
            meta["skipped"][case] = f"{type(exc).__name__}: {exc}"
            out = {k: v for k, v in out.items() if not k.startswith(case + "/")}
            continue
        meta["cases"][case] = {"kwargs": serialize_kwargs(kwargs), "weight_names": names}
    out["meta"] = np.array(json.dumps(meta))
    path = os.path.join(OUT, f"{class_name.lower()}.npz")
    np.savez_compressed(path, **out)
    print(f"{path}: {len(meta['cases'])} cases, {os.path.getsize(path) / 1e3:.0f} kB"
          + (f", skipped {meta['skipped']}" if meta["skipped"] else ""))


def make_schedules_file():
    out = {}
    steps = np.concatenate([np.arange(61), [99, 100, 101, 1000, 12345]]).astype(np.int64)
    for name, schedule in SCHEDULES.items():
        out[f"{name}/class_name"] = np.array(type(schedule).__name__)
        out[f"{name}/config"] = np.array(json.dumps(schedule.get_config()))
        out[f"{name}/steps"] = steps
        out[f"{name}/values"] = np.array(
            [schedule(tf.constant(s, tf.int64)).numpy() for s in steps], np.float32)
    path = os.path.join(OUT, "schedules.npz")
    np.savez_compressed(path, **out)
    print(f"{path}: {len(SCHEDULES)} schedules")


def make_experimental_schedules_file():
    from tf_keras.src.optimizers.schedules import learning_rate_schedule as lrs
    out = {}
    steps = np.concatenate([np.arange(61), [99, 100, 101, 500, 999, 1000, 1001, 12345]])
    steps = steps.astype(np.int64)
    for name, (class_name, kwargs) in EXPERIMENTAL.items():
        schedule = getattr(lrs, class_name)(**kwargs)
        out[f"{name}/class_name"] = np.array(class_name)
        out[f"{name}/config"] = np.array(json.dumps(schedule.get_config()))
        out[f"{name}/steps"] = steps
        out[f"{name}/values"] = np.array(
            [schedule(tf.constant(s, tf.int64)).numpy() for s in steps], np.float32)
    path = os.path.join(OUT, "experimental_schedules.npz")
    np.savez_compressed(path, **out)
    print(f"{path}: {len(EXPERIMENTAL)} schedules")


COMPLEX_STEPS = 6
COMPLEX_CHECKPOINTS = (1, 6)
COMPLEX_DTYPES = ("complex64", "complex128")
COMPLEX_CASES = {
    "SGD": {"lr": {"learning_rate": 0.1},
            "momentum": {"learning_rate": 0.05, "momentum": 0.9},
            "nesterov": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}},
    "Adam": {"default": {},
             "betas": {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-3}},
    "Adadelta": {"default": {},
                 "custom": {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-6}},
    "Adagrad": {"default": {},
                "custom": {"learning_rate": 0.1, "initial_accumulator_value": 0.5,
                           "epsilon": 1e-5}},
    "Nadam": {"default": {},
              "custom": {"learning_rate": 0.01, "beta_1": 0.85, "beta_2": 0.99,
                         "epsilon": 1e-5}},
    "RMSprop": {"default": {},
                "centered": {"learning_rate": 0.01, "centered": True},
                "momentum": {"learning_rate": 0.01, "momentum": 0.9},
                "centered_momentum": {"learning_rate": 0.01, "momentum": 0.5,
                                      "centered": True, "rho": 0.8}},
}
COMPLEX_REFUSED = {"Adamax": {}, "Ftrl": {}, "Adam_amsgrad": {"amsgrad": True}}


def complex_normal(rng, shape, dtype):
    return (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(dtype)


def make_complex_gradients(rng, kind, dtype):
    """As `make_gradients`, with complex values."""
    grads = {}
    for var, shape in SHAPES.items():
        if kind == "dense" or (kind == "csr" and var == "bias"):
            grads[var] = complex_normal(rng, shape, dtype) * 0.3
        elif kind == "sparse":
            size = 6 if var == "table" else 4
            values = complex_normal(rng, (size,) + shape[1:], dtype) * 0.3
            grads[var] = (values, sparse_indices(rng, shape[0], size))
        else:
            dense = complex_normal(rng, shape, dtype) * 0.3
            dense[rng.random(shape[0]) < 0.5] = 0
            grads[var] = ("csr", dense)
    return grads


def run_complex(class_name, case, kwargs, kind, dtype, out):
    key = f"complex/{class_name}/{case}/{kind}/{dtype}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    prefix = f"{class_name}/{case}/{kind}/{dtype}"
    init = {v: complex_normal(rng, s, dtype) * 0.5 for v, s in SHAPES.items()}
    variables = {v: tf.Variable(init[v], name=v) for v in SHAPES}
    for v in SHAPES:
        out[f"{prefix}/init_{v}"] = init[v]
    opt = getattr(tf_keras.optimizers.legacy, class_name)(**kwargs)
    all_grads = []
    for step in range(1, COMPLEX_STEPS + 1):
        grads = make_complex_gradients(rng, kind, dtype)
        all_grads.append(grads)
        opt.apply_gradients([(to_tf(grads[v], SHAPES[v]), variables[v]) for v in SHAPES])
        if step in COMPLEX_CHECKPOINTS:
            for v in SHAPES:
                out[f"{prefix}/step{step:02d}_{v}"] = variables[v].numpy()
            for i, w in enumerate(opt.get_weights()):
                out[f"{prefix}/step{step:02d}_weights_{i}"] = np.asarray(w)
    store_gradients(out, prefix, all_grads)
    return [w.name for w in opt.weights]


def complex_refusal(class_name, kwargs, kind, dtype):
    """The error TensorFlow raises for one step of ``class_name`` on a complex variable."""
    var = tf.Variable(np.ones((3, 2), dtype))
    values = tf.constant(np.ones((2, 2), dtype))
    grad = (tf.constant(np.ones((3, 2), dtype)) if kind == "dense" else
            tf.IndexedSlices(values, tf.constant([0, 0], tf.int64),
                             tf.constant([3, 2], tf.int64)))
    try:
        getattr(tf_keras.optimizers.legacy, class_name)(**kwargs).apply_gradients(
            [(grad, var)])
    except Exception as exc:  # noqa: BLE001 (what TensorFlow raises is the record)
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    return None


def make_complex_file():
    out = {}
    meta = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
            "steps": COMPLEX_STEPS, "checkpoints": list(COMPLEX_CHECKPOINTS),
            "kinds": list(KINDS), "dtypes": list(COMPLEX_DTYPES), "cases": {}, "refused": {}}
    for class_name, cases in COMPLEX_CASES.items():
        for case, kwargs in cases.items():
            for kind in KINDS:
                for dtype in COMPLEX_DTYPES:
                    names = run_complex(class_name, case, kwargs, kind, dtype, out)
            meta["cases"][f"{class_name}/{case}"] = {"class_name": class_name,
                                                     "kwargs": kwargs, "weight_names": names}
    for name, kwargs in COMPLEX_REFUSED.items():
        class_name = name.split("_")[0]
        meta["refused"][name] = {
            "class_name": class_name, "kwargs": kwargs,
            "errors": {f"{kind}/{dtype}": complex_refusal(class_name, kwargs, kind, dtype)
                       for kind in ("dense", "sparse") for dtype in COMPLEX_DTYPES}}
    out["meta"] = np.array(json.dumps(meta))
    path = os.path.join(OUT, "complex.npz")
    np.savez_compressed(path, **out)
    print(f"{path}: {len(meta['cases'])} cases, {os.path.getsize(path) / 1e3:.0f} kB, "
          f"refused {sorted(meta['refused'])}")


def poison(grads, var, value):
    """Put ``value`` in the first stored entry of ``grads[var]`` (in place)."""
    grad = grads[var]
    if isinstance(grad, np.ndarray):
        grad.flat[0] = value
    elif isinstance(grad[0], str):
        dense = grad[1]
        row = np.flatnonzero(np.any(dense != 0, axis=1))[0]
        dense[row, 0] = value
    else:
        grad[0].flat[0] = value


def scale_gradient(grad, scale):
    if isinstance(grad, np.ndarray):
        return (grad * scale).astype(np.float32)
    if isinstance(grad[0], str):
        return ("csr", (grad[1] * scale).astype(np.float32))
    return ((grad[0] * scale).astype(np.float32), grad[1])


def run_loss_scale(case, kind, out):
    (inner_name, inner_kwargs), kwargs = LSO_CASES[case]
    key = f"LossScaleOptimizer/{case}/{kind}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    prefix = f"{case}/{kind}"
    init = {v: (rng.normal(size=s) * 0.5).astype(np.float32) for v, s in SHAPES.items()}
    variables = {v: tf.Variable(init[v], name=v) for v in SHAPES}
    for v in SHAPES:
        out[f"{prefix}/init_{v}"] = init[v]
    inner = getattr(tf_keras.optimizers.legacy, inner_name)(**inner_kwargs)
    opt = tf_keras.mixed_precision.LossScaleOptimizer(inner, **kwargs)
    all_grads = []
    with np.errstate(invalid="ignore", over="ignore"):
        for step in range(1, LSO_STEPS + 1):
            grads = make_gradients(rng, kind, "float32")
            if step in LSO_BAD:
                poison(grads, *LSO_BAD[step])
            scale = np.float32(opt.loss_scale.numpy())
            scaled = {v: scale_gradient(g, scale) for v, g in grads.items()}
            all_grads.append(scaled)
            tf_grads = opt.get_unscaled_gradients([to_tf(scaled[v], SHAPES[v]) for v in SHAPES])
            opt.apply_gradients(list(zip(tf_grads, [variables[v] for v in SHAPES])))
            for v in SHAPES:
                out[f"{prefix}/step{step:02d}_{v}"] = variables[v].numpy()
            out[f"{prefix}/step{step:02d}_loss_scale"] = np.float32(opt.loss_scale.numpy())
            out[f"{prefix}/step{step:02d}_iterations"] = np.int64(opt.iterations.numpy())
            if opt.dynamic:
                out[f"{prefix}/step{step:02d}_counter"] = np.int64(opt.dynamic_counter.numpy())
            if step in LSO_WEIGHTS_AT:
                for i, w in enumerate(inner.get_weights()):
                    out[f"{prefix}/step{step:02d}_weights_{i}"] = np.asarray(w)
    store_gradients(out, prefix, all_grads)


def make_loss_scale_file():
    out = {}
    meta = {"tensorflow": tf.__version__, "tf_keras": tf_keras.__version__,
            "steps": LSO_STEPS, "kinds": list(KINDS),
            "bad_steps": {str(k): [v, str(x)] for k, (v, x) in LSO_BAD.items()}, "cases": {}}
    for case, ((inner_name, inner_kwargs), kwargs) in LSO_CASES.items():
        for kind in KINDS:
            run_loss_scale(case, kind, out)
        meta["cases"][case] = {"inner": {"class_name": inner_name, "config": inner_kwargs},
                               "kwargs": kwargs}
    out["meta"] = np.array(json.dumps(meta))
    path = os.path.join(OUT, "loss_scale_optimizer.npz")
    np.savez_compressed(path, **out)
    print(f"{path}: {len(LSO_CASES)} cases, {os.path.getsize(path) / 1e3:.0f} kB")


EXTRA_FILES = {"schedules": make_schedules_file,
               "experimental_schedules": make_experimental_schedules_file,
               "loss_scale_optimizer": make_loss_scale_file,
               "complex": make_complex_file}


def main(names):
    os.makedirs(OUT, exist_ok=True)
    wanted = {n.lower() for n in names} or {c.lower() for c in CASES} | set(EXTRA_FILES)
    for class_name in CASES:
        if class_name.lower() in wanted:
            make_optimizer_file(class_name)
    for name, make in EXTRA_FILES.items():
        if name in wanted:
            make()


if __name__ == "__main__":
    main(sys.argv[1:])
