"""Differential check against TensorFlow on random settings.

The golden fixtures (`make_tf_fixtures.py`) pin a few chosen cases; this
script draws many: a random optimizer, random hyperparameters (defaults,
edge values and values in between, learning-rate schedules, decay,
clipping), one to three variables of rank 1 to 3, float32 or float64, and
a few steps, each leaving out some variables, sometimes through a
``LossScaleOptimizer`` (float32; dynamic or fixed), whose gradients are
dense, ``IndexedSlices`` with repeated indices (sometimes none at all) or,
for a matrix, a dense array with zero rows that we are fed as a CSR matrix
(TensorFlow gets the ``IndexedSlices`` of its non-zero rows).  Two halves,
in two Python environments::

    tfenv/bin/python tools/fuzz_tf.py generate cases.npz --trials 300 --seed 1
    python tools/fuzz_tf.py check cases.npz

``--special 0.3`` puts an inf, -inf, NaN, zero, near-largest or subnormal
entry in about 30% of the gradients (NaN and inf propagation and the
flushing of subnormals are compared too); ``--absurd 0.5`` sets one
hyperparameter of half the trials outside its useful range.

``generate`` runs ``tf_keras.optimizers.legacy`` and stores the inputs and
TensorFlow's variables, weights and ``get_config()`` after the last step (or
the error TensorFlow raised); ``check`` replays each trial here and prints
those whose largest relative error is above the tolerance of the golden
tests, whose configs differ (but for the keys newer Keras adds to a
schedule's), or where one side raised and the other did not.  Exit status 1 if any trial differs.

Expect a rare float32 Ftrl trial with ``learning_rate_power`` other than -0.5
to differ in ``linear``: where an accumulator barely changes, ``n**-p -
accum**-p`` cancels, and TensorFlow's approximate pow differs from the C
library's by an ulp or two there (2,500 trials of seeds 1 to 5: one such;
there both float32 results are 0.2-1% from the float64 one).
"""
import argparse
import json
import os
import sys

import numpy as np

CLASSES = ("SGD", "Adam", "Adamax", "Adadelta", "Adagrad", "Ftrl", "Nadam", "RMSprop")


def loose(name, config):
    """Settings TensorFlow computes with an approximate rsqrt or a vectorised
    pow on float32 (DESIGN.md): the golden tests allow them 1e-4."""
    return (name == "Adadelta" or (name == "RMSprop" and config.get("momentum"))
            or (name == "Ftrl" and config.get("learning_rate_power") != -0.5))


def pick(rng, *choices):
    return choices[rng.integers(len(choices))]


ABSURD = (0.0, 1.0, -1.0, 1e30, -1e-30, 2.0, 1e-45)


def absurd(rng, cfg, chance):
    """With probability ``chance``, one numeric argument of ``cfg`` becomes a
    value outside its useful range (zero, one, negative, huge, subnormal)."""
    keys = [k for k, v in cfg.items() if isinstance(v, float)]
    if keys and rng.random() < chance:
        cfg[keys[rng.integers(len(keys))]] = float(pick(rng, *ABSURD))
    return cfg


def draw_config(rng, name):
    """Random constructor arguments for class ``name``: JSON-able values."""
    lr = float(pick(rng, 0.001, 0.01, 0.1, 1.0, rng.uniform(1e-4, 0.5)))
    if name != "Nadam" and rng.random() < 0.25:   # (TensorFlow's Nadam takes no schedule)
        lr = draw_schedule(rng, lr)
    beta_1 = float(pick(rng, 0.9, 0.0, 0.5, rng.uniform(0.0, 0.999)))
    beta_2 = float(pick(rng, 0.999, 0.9, 0.99999, rng.uniform(0.5, 0.9999)))
    eps = float(pick(rng, 1e-7, 1e-3, 1e-10, 1.0, 0.0 if name != "Adadelta" else 1e-8))
    cfg = {"learning_rate": lr}
    if name == "SGD":
        cfg["momentum"] = float(pick(rng, 0.0, 0.9, rng.uniform(0.0, 0.99)))
        cfg["nesterov"] = bool(rng.integers(2))
    elif name in ("Adam", "Adamax", "Nadam"):
        cfg.update(beta_1=beta_1, beta_2=beta_2, epsilon=eps)
        if name == "Adam":
            cfg["amsgrad"] = bool(rng.integers(2))
    elif name == "Adadelta":
        cfg.update(rho=float(pick(rng, 0.95, 0.5, rng.uniform(0.0, 0.999))), epsilon=eps)
    elif name == "Adagrad":
        cfg.update(initial_accumulator_value=float(pick(rng, 0.1, 0.0, 1e-3, 2.0)),
                   epsilon=eps)
    elif name == "Ftrl":
        cfg.update(learning_rate_power=float(pick(rng, -0.5, -0.5, -0.3, -1.0, 0.0)),
                   initial_accumulator_value=float(pick(rng, 0.1, 1.0, 0.01)),
                   l1_regularization_strength=float(pick(rng, 0.0, 0.01, rng.uniform(0, 0.5))),
                   l2_regularization_strength=float(pick(rng, 0.0, 0.02, rng.uniform(0, 0.5))),
                   l2_shrinkage_regularization_strength=float(pick(rng, 0.0, 0.0, 0.05)),
                   beta=float(pick(rng, 0.0, 0.0, 0.5)))
    elif name == "RMSprop":
        cfg.update(rho=float(pick(rng, 0.9, 0.5, rng.uniform(0.0, 0.999))),
                   momentum=float(pick(rng, 0.0, 0.9, rng.uniform(0.0, 0.99))),
                   epsilon=eps, centered=bool(rng.integers(2)))
    if rng.random() < 0.2:
        cfg["decay"] = float(pick(rng, 0.01, rng.uniform(0.0, 0.5)))
    clip = rng.random()
    if clip < 0.1:
        cfg["clipnorm"] = float(pick(rng, 0.1, 1.0))
    elif clip < 0.2:
        cfg["clipvalue"] = float(pick(rng, 0.05, 1.0))
    elif clip < 0.3:
        cfg["global_clipnorm"] = float(pick(rng, 0.1, 1.0))
    return cfg


def draw_schedule(rng, lr):
    """A learning-rate schedule, as ``{"class_name", "config"}``."""
    steps = int(rng.integers(1, 6))
    name, config = pick(rng,
        ("ExponentialDecay", {"decay_steps": steps, "decay_rate": 0.8,
                              "staircase": bool(rng.integers(2))}),
        ("PiecewiseConstantDecay", {"boundaries": [1, 3], "values": [lr, lr / 2, lr / 10]}),
        ("PolynomialDecay", {"decay_steps": steps, "end_learning_rate": lr / 100,
                             "power": float(pick(rng, 1.0, 0.5, 2.0)),
                             "cycle": bool(rng.integers(2))}),
        ("InverseTimeDecay", {"decay_steps": steps, "decay_rate": 0.5,
                              "staircase": bool(rng.integers(2))}),
        ("CosineDecay", {"decay_steps": steps, "alpha": float(pick(rng, 0.0, 0.1))}),
        ("CosineDecayRestarts", {"first_decay_steps": steps, "t_mul": 2.0, "m_mul": 0.9,
                                 "alpha": 0.1}))
    if name != "PiecewiseConstantDecay":
        config = dict(config, initial_learning_rate=lr)
    return {"class_name": name, "config": config}


def spoil(rng, array, chance):
    """With probability ``chance``, one entry of ``array`` becomes inf, -inf,
    NaN, zero, a value near the dtype's largest or a subnormal (in place);
    returns it."""
    if array.size and rng.random() < chance:
        info = np.finfo(array.dtype)
        value = pick(rng, np.inf, -np.inf, np.nan, 0.0, info.max / 4,
                     -info.smallest_subnormal * 1000, info.smallest_normal / 3)
        array.flat[rng.integers(array.size)] = value
    return array


def draw_trial(rng, special=0.0, absurd_chance=0.0):
    """One trial's inputs: config, initial values and per-step gradients."""
    name = CLASSES[rng.integers(len(CLASSES))]
    dtype = pick(rng, "float32", "float64")
    shapes = []
    for _ in range(rng.integers(1, 4)):
        rank = rng.integers(1, 4)
        shapes.append(tuple(int(d) for d in rng.integers(1, 7, rank)))
    init = [(rng.normal(size=s) * pick(rng, 0.5, 0.01, 3.0)).astype(dtype) for s in shapes]
    steps = []
    for _ in range(rng.integers(1, 6)):
        grads = []
        given = rng.random(len(shapes)) < 0.8
        given[rng.integers(len(shapes))] = True          # at least one variable a step
        for s, present in zip(shapes, given):
            if not present:
                grads.append(("none",))
                continue
            scale = pick(rng, 0.3, 1e-3, 10.0)
            kind = pick(rng, "dense", "sparse", "csr" if len(s) == 2 else "sparse")
            if kind == "dense":
                grads.append(("dense", spoil(rng, (rng.normal(size=s) * scale).astype(dtype),
                                             special)))
            elif kind == "sparse":
                size = int(rng.integers(0, 2 * s[0] + 2))
                idx = rng.integers(0, s[0], size).astype(np.int64)
                if size > 1 and rng.random() < 0.7:
                    idx[rng.integers(1, size)] = idx[0]
                values = spoil(rng, (rng.normal(size=(size,) + s[1:]) * scale).astype(dtype),
                               special)
                grads.append(("sparse", values, idx))
            else:
                dense = spoil(rng, (rng.normal(size=s) * scale).astype(dtype), special)
                dense[rng.random(s[0]) < 0.5] = 0
                grads.append(("csr", dense))
        steps.append(grads)
    loss_scale = None
    if dtype == "float32" and rng.random() < 0.25:     # (TensorFlow's takes float32 only)
        dynamic = bool(rng.integers(2))
        loss_scale = {"dynamic": dynamic,
                      "initial_scale": float(pick(rng, 1.0, 2.0 ** 15, 128.0)),
                      **({"dynamic_growth_steps": int(rng.integers(1, 4))} if dynamic else {})}
    return {"name": name, "config": absurd(rng, draw_config(rng, name), absurd_chance),
            "dtype": dtype,
            "shapes": shapes, "init": init, "steps": steps, "loss_scale": loss_scale}


def pack(trials, results):
    """Everything in one ``.npz``: arrays by key, the rest as JSON in ``meta``."""
    arrays, meta = {}, []
    for t, (trial, result) in enumerate(zip(trials, results)):
        entry = {k: trial[k] for k in ("name", "config", "dtype", "shapes", "loss_scale")}
        entry["kinds"] = [[g[0] for g in grads] for grads in trial["steps"]]
        entry["error"] = result.get("error")
        entry["n_weights"] = len(result.get("weights", ()))
        entry["tf_config"] = result.get("config")
        entry["tf_loss_scale"] = result.get("loss_scale")
        meta.append(entry)
        for i, v in enumerate(trial["init"]):
            arrays[f"{t}/init{i}"] = v
        for s, grads in enumerate(trial["steps"]):
            for i, g in enumerate(grads):
                for j, a in enumerate(g[1:]):
                    arrays[f"{t}/g{s}_{i}_{j}"] = a
        for i, v in enumerate(result.get("variables", ())):
            arrays[f"{t}/var{i}"] = v
        for i, w in enumerate(result.get("weights", ())):
            arrays[f"{t}/w{i}"] = np.asarray(w)
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def unpack(path):
    data = np.load(path)
    for t, entry in enumerate(json.loads(str(data["meta"]))):
        init = [data[f"{t}/init{i}"] for i in range(len(entry["shapes"]))]
        steps = [[(kind,) + tuple(data[f"{t}/g{s}_{i}_{j}"]
                                  for j in range({"sparse": 2, "none": 0}.get(kind, 1)))
                  for i, kind in enumerate(kinds)]
                 for s, kinds in enumerate(entry["kinds"])]
        expected = None
        if entry["error"] is None:
            expected = ([data[f"{t}/var{i}"] for i in range(len(init))],
                        [data[f"{t}/w{i}"] for i in range(entry["n_weights"])])
        yield t, entry, init, steps, expected


def generate(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf
    import tf_keras

    def to_tf(grad, shape):
        if grad[0] == "dense":
            return tf.constant(grad[1])
        if grad[0] == "csr":
            rows = np.flatnonzero(np.any(grad[1] != 0, axis=1)).astype(np.int64)
            values, indices = grad[1][rows], rows
        else:
            values, indices = grad[1], grad[2]
        return tf.IndexedSlices(tf.constant(values), tf.constant(indices),
                                tf.constant(np.array(shape, np.int64)))

    rng = np.random.default_rng(args.seed)
    trials, results = [], []
    for _ in range(args.trials):
        trial = draw_trial(rng, args.special, args.absurd)
        trials.append(trial)
        try:
            config = dict(trial["config"])
            if isinstance(config["learning_rate"], dict):
                config["learning_rate"] = tf_keras.optimizers.schedules.deserialize(
                    config["learning_rate"])
            opt = getattr(tf_keras.optimizers.legacy, trial["name"])(**config)
            inner = opt
            if trial["loss_scale"]:
                opt = tf_keras.mixed_precision.LossScaleOptimizer(inner, **trial["loss_scale"])
            variables = [tf.Variable(v) for v in trial["init"]]
            for grads in trial["steps"]:
                pairs = [(to_tf(g, v.shape), v) for g, v in zip(grads, variables)
                         if g[0] != "none"]
                if trial["loss_scale"]:
                    unscaled = opt.get_unscaled_gradients([g for g, _ in pairs])
                    pairs = list(zip(unscaled, [v for _, v in pairs]))
                opt.apply_gradients(pairs)
            results.append({"variables": [v.numpy() for v in variables],
                            "weights": inner.get_weights(),
                            "config": json.loads(json.dumps(inner.get_config(), default=float)),
                            "loss_scale": (float(opt.loss_scale.numpy())
                                           if trial["loss_scale"] else None)})
        except Exception as exc:  # noqa: BLE001 - what TensorFlow refuses is recorded
            results.append({"error": f"{type(exc).__name__}: {exc}"[:300]})
    np.savez_compressed(args.path, **pack(trials, results))
    print(f"{args.trials} trials -> {args.path} "
          f"({sum('error' in r for r in results)} refused by TensorFlow)")


def relative_error(actual, expected):
    """Largest elementwise difference relative to the largest finite magnitude
    of ``expected``; equal infinities and NaN against NaN count as equal, any
    other non-finite mismatch as inf."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return np.inf
    agree = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
    with np.errstate(invalid="ignore"):
        diff = np.where(agree, 0.0, np.abs(actual - expected))
    finite = np.abs(expected[np.isfinite(expected)])
    scale = max(finite.max(initial=0.0), np.finfo(np.float64).tiny)
    return float(np.nan_to_num(diff.max(initial=0.0) / scale, nan=np.inf))


# Keys newer Keras adds to a schedule's serialization (TensorFlow 2.4 has
# ``{"class_name", "config"}`` and no warmup in CosineDecay).
NEWER_KEYS = {"module", "registered_name", "warmup_target", "warmup_steps"}


def subnormals_differ(actual, expected):
    """Entries that are subnormal on one side and zero on the other (what
    flushing subnormals to zero changes, far below any relative tolerance)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape or actual.dtype.kind != "f":
        return 0
    tiny = np.finfo(actual.dtype).smallest_normal

    def subnormal(x):
        return (x != 0) & (np.abs(x) < tiny)

    return int(np.count_nonzero((subnormal(actual) & (expected == 0))
                                | (subnormal(expected) & (actual == 0))))


def compare_configs(ours, theirs):
    """The keys whose values differ between two ``get_config()`` results
    (floats compared in float32, as the hyperparameters are held)."""
    if theirs is None:
        return []
    ours = json.loads(json.dumps(ours, default=float))

    def same(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            b = {k: v for k, v in b.items() if k not in NEWER_KEYS}
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            return a == b
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return np.float32(a) == np.float32(b)
        return a == b

    keys = sorted(set(ours) | set(theirs))
    return [(k, ours.get(k, "<missing>"), theirs.get(k, "<missing>"))
            for k in keys if not same(ours.get(k), theirs.get(k))]


def check(args):
    import scipy.sparse as sp

    import optimizers
    from optimizers import IndexedSlices, Variable
    from optimizers.mixed_precision import LossScaleOptimizer

    differing = 0
    total = 0
    for t, entry, init, steps, expected in unpack(args.path):
        total += 1
        dtype = np.dtype(entry["dtype"])
        tol = 1e-12 if dtype == np.float64 else (
            1e-4 if loose(entry["name"], entry["config"]) else 1e-5)
        error = None
        try:
            config = dict(entry["config"])
            if isinstance(config["learning_rate"], dict):
                config["learning_rate"] = optimizers.schedules.deserialize(
                    config["learning_rate"])
            opt = inner = getattr(optimizers, entry["name"])(**config)
            if entry.get("loss_scale"):
                opt = LossScaleOptimizer(inner, **entry["loss_scale"])
            variables = [Variable(v.copy()) for v in init]
            for grads in steps:
                pairs = []
                for g, v in zip(grads, variables):
                    if g[0] == "none":
                        continue
                    if g[0] == "dense":
                        pairs.append((g[1], v))
                    elif g[0] == "csr":
                        pairs.append((sp.csr_matrix(g[1]), v))
                    else:
                        pairs.append((IndexedSlices(g[1], g[2], v.shape), v))
                if entry.get("loss_scale"):
                    unscaled = opt.get_unscaled_gradients([g for g, _ in pairs])
                    pairs = list(zip(unscaled, [v for _, v in pairs]))
                opt.apply_gradients(pairs)
        except Exception as exc:  # noqa: BLE001 - compared with TensorFlow's outcome
            error = f"{type(exc).__name__}: {exc}"
        label = f"trial {t}: {entry['name']} {json.dumps(entry['config'])} {entry['dtype']} " \
                f"{entry['shapes']} {entry['kinds']}" + (
                    f" in LossScaleOptimizer({entry['loss_scale']})" if entry.get("loss_scale")
                    else "")
        if expected is None or error is not None:
            if (expected is None) != (error is not None):
                differing += 1
                print(f"{label}\n    TensorFlow: {entry['error'] or 'ok'}\n"
                      f"    ours: {error or 'ok'}")
            continue
        want_vars, want_weights = expected
        ours_weights = inner.get_weights()
        config_diff = compare_configs(inner.get_config(), entry.get("tf_config"))
        if entry.get("loss_scale") and float(opt.loss_scale) != entry["tf_loss_scale"]:
            differing += 1
            print(f"{label}\n    loss scale {float(opt.loss_scale)} != {entry['tf_loss_scale']}")
        if config_diff:
            differing += 1
            print(f"{label}\n    get_config differs: {config_diff}")
        errs = [relative_error(v.numpy(), w) for v, w in zip(variables, want_vars)]
        if len(ours_weights) != len(want_weights):
            errs.append(np.inf)
        else:
            errs += [relative_error(o, w) for o, w in zip(ours_weights, want_weights)]
        ours_all = [v.numpy() for v in variables] + list(ours_weights)
        flushed = sum(subnormals_differ(o, w) for o, w in zip(ours_all, want_vars + want_weights))
        if flushed:
            differing += 1
            print(f"{label}\n    {flushed} entries subnormal on one side, zero on the other")
        if max(errs) > tol:
            differing += 1
            print(f"{label}\n    relative errors {['%.3g' % e for e in errs]} (tolerance {tol:g})")
    print(f"{total} trials, {differing} differ")
    return 1 if differing else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="run TensorFlow on random trials")
    gen.add_argument("path")
    gen.add_argument("--trials", type=int, default=300)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--special", type=float, default=0.0,
                     help="chance that a gradient holds an inf, NaN, 0 or huge entry")
    gen.add_argument("--absurd", type=float, default=0.0,
                     help="chance that one hyperparameter is out of its useful range")
    chk = sub.add_parser("check", help="replay the trials here and compare")
    chk.add_argument("path")
    args = parser.parse_args(argv)
    if args.command == "generate":
        generate(args)
        return 0
    return check(args)


if __name__ == "__main__":
    sys.exit(main())
