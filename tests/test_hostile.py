"""Hostile input: every kind of bad input raises a clear error naming the
variable (or the argument) and leaves every variable, slot, hyperparameter
and `iterations` bit for bit as it was.

The table runs every case for every optimizer and gradient kind.  The cases
that could crash the process (corrupted scipy.sparse structures, arrays
reshaped in place, threads) run in one child process (``hostile.py``).
"""
import json
import math
import pathlib
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import optimizers
from hostile import (CRASH_CASES, KINDS, OPTIMIZERS, SHAPE, gradient, snapshot, trained,
                     variables)
from optimizers import IndexedSlices, Variable, schedules
from rules import CLASSES as RULE_CLASSES

HERE = pathlib.Path(__file__).parent


# ---------------------------------------------------------------------- #
# Cases that could crash: one child process runs them all.
@pytest.fixture(scope="module")
def isolated():
    proc = subprocess.run([sys.executable, str(HERE / "hostile.py")], capture_output=True,
                          text=True, cwd=HERE, timeout=600)
    last = [line for line in proc.stderr.splitlines() if line.startswith("start")][-1:]
    assert proc.returncode == 0, (
        f"the child process died (exit code {proc.returncode}) during {last}:\n"
        f"{proc.stderr[-3000:]}")
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("case", CRASH_CASES)
def test_corrupted_scipy_gradient_is_refused(isolated, case, name):
    result = isolated[f"{case}/{name}"]
    assert result["error"] in ("ValueError", "TypeError", "GradientIndexError"), result
    assert "'second'" in result["message"] and "malformed" in result["message"]
    assert result["unchanged"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_variable_reshaped_in_place_is_refused(isolated, name, kind):
    result = isolated[f"reshaped/{name}/{kind}"]
    if name == "sgd":       # no slots: nothing depends on the old shape
        assert result["error"] is None and result["unchanged"]
        return
    assert result["error"] == "ValueError", result
    assert "'second'" in result["message"] and "reshaped" in result["message"]
    assert result["unchanged"]


@pytest.mark.parametrize("where", ["learning_rate", "constraint"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_user_code_after_the_checks_cannot_change_the_indices(isolated, name, where):
    result = isolated[f"mutation/{name}/{where}"]
    assert result["error"] is None, result
    assert result["unchanged"], "the step did not use the indices as they were checked"


@pytest.mark.parametrize("same", ["disjoint", "same"])
@pytest.mark.parametrize("kind", ["dense", "indexed", "csr"])
@pytest.mark.parametrize("name", ["sgd", "adam", "ftrl", "nadam"])
def test_threads_sharing_an_optimizer_give_a_serial_result(isolated, name, kind, same):
    result = isolated[f"threads/{name}/{kind}/{same}"]
    assert result["error"] is None, result
    assert result["unchanged"], "concurrent steps differ from the same steps run serially"


# ---------------------------------------------------------------------- #
# Bad gradients for the second variable, after a good one for the first.
def _indexed(values, indices):
    return IndexedSlices(values, indices, SHAPE)


def _values(n=3, dtype=np.float32):
    return np.ones((n, SHAPE[1]), dtype)


BAD_GRADIENTS = {
    "index-out-of-range": (lambda dt: _indexed(_values(dtype=dt), [0, SHAPE[0], 1]),
                           ValueError, "out of range"),
    "index-negative": (lambda dt: _indexed(_values(dtype=dt), [0, -1, 1]), ValueError,
                       "negative"),
    "index-float": (lambda dt: _indexed(_values(dtype=dt), np.array([0.0, 1.0, 2.0])),
                    TypeError, "integers"),
    "index-nan": (lambda dt: _indexed(_values(dtype=dt), np.array([0.0, np.nan, 2.0])),
                  TypeError, "NaN"),
    "index-2d": (lambda dt: _indexed(_values(dtype=dt), np.array([[0, 1, 2]])), ValueError,
                 "1-D"),
    "values-wrong-rows": (lambda dt: _indexed(_values(2, dt), [0, 1, 2]), ValueError,
                          "one row per index"),
    "values-wrong-dtype": (lambda dt: _indexed(_values(dtype=np.float16), [0, 1, 2]),
                           TypeError, "dtype"),
    "values-int": (lambda dt: _indexed(np.ones((3, SHAPE[1]), np.int32), [0, 1, 2]),
                   TypeError, "dtype"),
    "dense-wrong-shape": (lambda dt: np.ones((SHAPE[0], SHAPE[1] + 1), dt), ValueError,
                          "shape"),
    "dense-wrong-dtype": (lambda dt: np.ones(SHAPE, np.float16), TypeError, "dtype"),
    "dense-object": (lambda dt: np.array([[None] * SHAPE[1]] * SHAPE[0]), TypeError, "dtype"),
    "dense-string": (lambda dt: "gradient", TypeError, "IndexedSlices"),
    "csr-wrong-shape": (lambda dt: sp.csr_matrix(np.ones((SHAPE[0] + 1, SHAPE[1]), dt)),
                        ValueError, "shape"),
    "csr-int-data": (lambda dt: sp.csr_matrix(np.ones(SHAPE, np.int64)), TypeError, "dtype"),
    "csr-float-indices": (lambda dt: _csr_with(dt, "indices", np.float64), TypeError,
                          "integers"),
    "dense-shape-mismatch": (lambda dt: IndexedSlices(_values(dtype=dt), [0, 1, 2], (9, 4)),
                             ValueError, "dense_shape"),
}


def _csr_with(dtype, field, index_dtype):
    g = sp.csr_matrix(np.ones(SHAPE, dtype))
    setattr(g, field, getattr(g, field).astype(index_dtype))
    return g


@pytest.mark.parametrize("case", BAD_GRADIENTS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_gradient_changes_nothing(name, kind, case):
    opt, vs = trained(name, kind)
    make, error, words = BAD_GRADIENTS[case]
    before = snapshot(opt, vs)
    with pytest.raises(error, match=words) as info:
        opt.apply_gradients([(gradient(kind, vs[0], seed=2), vs[0]),
                             (make(np.float32), vs[1])])
    assert "'second'" in str(info.value)
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("index_dtype", [np.uint32, np.int16, np.uint64, np.int8])
@pytest.mark.parametrize("name", ["sgd", "adam", "ftrl"])
def test_any_integer_index_dtype_is_accepted(name, index_dtype):
    results = []
    for dtype in (np.int64, index_dtype):
        opt, vs = trained(name, "indexed")
        rows = np.array([3, 1, 3], dtype)
        opt.apply_gradients([(IndexedSlices(_values(), rows, SHAPE), vs[1])])
        csr = sp.csr_matrix(gradient("dense", vs[0]))
        csr.indices, csr.indptr = csr.indices.astype(dtype), csr.indptr.astype(dtype)
        opt.apply_gradients([(csr, vs[0])])
        results.append(snapshot(opt, vs))
    assert results[0]["variables"] == results[1]["variables"]


# ---------------------------------------------------------------------- #
# Bad variables
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_variable_made_read_only_after_a_step(name, kind):
    opt, vs = trained(name, kind)
    before = snapshot(opt, vs)
    np.asarray(vs[1]).setflags(write=False)
    with pytest.raises(ValueError, match="'second' is read-only"):
        opt.apply_gradients([(gradient(kind, vs[0], seed=2), vs[0]),
                             (gradient(kind, vs[1], seed=3), vs[1])])
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "sgd"])
def test_slot_made_read_only_is_refused(name, kind):
    opt, vs = trained(name, kind)
    before = snapshot(opt, vs)
    slot = opt.get_slot(vs[1], opt.get_slot_names()[-1])
    np.asarray(slot).setflags(write=False)
    with pytest.raises(ValueError, match="'second'"):
        opt.apply_gradients([(gradient(kind, vs[0], seed=2), vs[0]),
                             (gradient(kind, vs[1], seed=3), vs[1])])
    assert snapshot(opt, vs) == before


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("make", [np.asmatrix, lambda a: np.ma.masked_array(a),
                                  lambda a: np.asfortranarray(a),
                                  lambda a: a[:, ::2].copy()[:, ::1][::1, :][:, :0:-1]])
def test_unusable_arrays_as_variables(make):
    opt, vs = trained("adam", "dense")
    before = snapshot(opt, vs)
    arr = make(np.ones(SHAPE, np.float32))
    with pytest.raises((TypeError, ValueError), match="Variable 1"):
        opt.apply_gradients([(gradient("dense", vs[0]), vs[0]),
                             (np.ones(arr.shape, np.float32), arr)])
    assert snapshot(opt, vs) == before


# ---------------------------------------------------------------------- #
# Bad hyperparameters: none takes effect, no slot is left behind
def _raises():
    raise RuntimeError("no learning rate today")


class _VectorSchedule(schedules.LearningRateSchedule):
    def __call__(self, step):
        return np.array([0.1, 0.2], np.float32)

    def get_config(self):
        return {}


BAD_LEARNING_RATES = {
    "vector-callable": (lambda: np.array([0.1, 0.2]), ValueError, "scalar"),
    "none-callable": (lambda: None, TypeError, "real number"),
    "string-callable": (lambda: "0.1", TypeError, "real number"),
    "bool-callable": (lambda: True, TypeError, "real number"),
    "raising-callable": (_raises, RuntimeError, "no learning rate"),
    "vector-schedule": (_VectorSchedule(), ValueError, "scalar"),
}


@pytest.mark.parametrize("case", BAD_LEARNING_RATES)
@pytest.mark.parametrize("kind", ["dense", "indexed", "csr"])
@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("fresh", [True, False], ids=["first-step", "later-step"])
def test_bad_learning_rate_changes_nothing(name, kind, case, fresh):
    lr, error, words = BAD_LEARNING_RATES[case]
    if name == "nadam" and isinstance(lr, schedules.LearningRateSchedule):
        with pytest.raises(ValueError, match="LearningRateSchedule"):
            optimizers.Nadam(learning_rate=lr)    # refused as in TensorFlow
        return
    if fresh:
        opt, vs = OPTIMIZERS[name](), variables()
    else:
        opt, vs = trained(name, kind)
    opt._hyper["learning_rate"] = lr          # as a constructor or from_config would
    before = snapshot(opt, vs)
    with pytest.raises(error, match=words) as info:
        opt.apply_gradients([(gradient(kind, v, seed=4), v) for v in vs])
    if error is not RuntimeError:
        assert "learning_rate" in str(info.value)
    assert snapshot(opt, vs) == before
    assert opt._iterations is None if fresh else True


@pytest.mark.parametrize("value", ["0.1", None, [0.1, 0.2], np.array([0.1, 0.2]), True])
@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_bad_learning_rate_is_refused_when_set(name, value):
    opt, vs = trained(name, "dense")
    before = snapshot(opt, vs)
    with pytest.raises((TypeError, ValueError), match="learning_rate"):
        opt.learning_rate = value
    with pytest.raises((TypeError, ValueError), match="learning_rate"):
        opt.learning_rate = Variable(np.array([0.1, 0.2], np.float32))
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("setting", [dict(learning_rate=0.0),
                                     dict(l1_regularization_strength=-1.0)])
def test_ftrl_sparse_check_leaves_hyperparameters_as_numbers(setting):
    opt = optimizers.Ftrl(**{"learning_rate": 0.1, **setting}) \
        if "learning_rate" in setting else None
    if opt is None:
        opt = optimizers.Ftrl(0.1)
        opt._hyper["l1_regularization_strength"] = -1.0
    vs = variables()
    before = snapshot(opt, vs)
    with pytest.raises(ValueError, match="Ftrl"):
        opt.apply_gradients([(gradient("dense", vs[0]), vs[0]),
                             (gradient("indexed", vs[1]), vs[1])])
    assert snapshot(opt, vs) == before
    assert not any(isinstance(v, Variable) for v in opt._hyper.values())


# ---------------------------------------------------------------------- #
# Constraints: run on updated copies, committed only when all succeeded
def _constraint_raises(w):
    raise FloatingPointError("constraint failed")


BAD_CONSTRAINTS = {
    "raises": (_constraint_raises, FloatingPointError, "constraint failed"),
    "wrong-shape": (lambda w: w[:-1], ValueError, "shape"),
    "int-dtype": (lambda w: w.astype(np.int32), TypeError, "dtype"),
    "returns-none": (lambda w: None, TypeError, "dtype"),
    "returns-string": (lambda w: "w", TypeError, "dtype"),
    "scalar": (lambda w: np.float32(0), ValueError, "shape"),
}


@pytest.mark.parametrize("case", BAD_CONSTRAINTS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_bad_constraint_changes_nothing(name, case):
    constraint, error, words = BAD_CONSTRAINTS[case]
    opt = OPTIMIZERS[name]()
    rng = np.random.default_rng(0)
    first = Variable(rng.normal(size=SHAPE).astype(np.float32), name="first",
                     constraint=optimizers.constraints.NonNeg())
    second = Variable(rng.normal(size=SHAPE).astype(np.float32), name="second",
                      constraint=constraint)
    third = Variable(rng.normal(size=SHAPE).astype(np.float32), name="third")
    vs = [first, second, third]
    opt._create_all_weights(vs)
    before = snapshot(opt, vs)
    with pytest.raises(error, match=words) as info:
        opt.apply_gradients([(gradient("dense", v, seed=i), v) for i, v in enumerate(vs)])
    if error is not FloatingPointError:
        assert "'second'" in str(info.value)
    elif hasattr(info.value, "__notes__"):
        assert any("'second'" in note for note in info.value.__notes__)
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_constrained_step_equals_update_then_constraint(name):
    clip = lambda w: np.clip(w, -0.5, 0.5)  # noqa: E731
    results = []
    for constrained in (True, False):
        opt = OPTIMIZERS[name]()
        v = Variable(np.random.default_rng(0).normal(size=SHAPE).astype(np.float32),
                     constraint=clip if constrained else None)
        for step in range(3):
            opt.apply_gradients([(gradient("dense", v, seed=step), v)])
            if not constrained:
                np.asarray(v)[...] = clip(np.asarray(v))
        results.append(snapshot(opt, [v]))
    assert results[0]["variables"] == results[1]["variables"]
    assert results[0]["weights"] == results[1]["weights"]


# ---------------------------------------------------------------------- #
# set_weights, threads setting, aliasing, transformers
@pytest.mark.parametrize("bad", [lambda w: np.full(w.shape + (2,), 1.0),
                                 lambda w: np.full(w.shape, "x"),
                                 lambda w: np.full(w.shape, None),
                                 lambda w: object()])
@pytest.mark.parametrize("name", ["adam", "ftrl", "nadam", "rmsprop_centered"])
def test_set_weights_with_one_bad_entry_assigns_nothing(name, bad):
    opt, vs = trained(name, "indexed")
    before = snapshot(opt, vs)
    weights = [w + 1 for w in opt.get_weights()]
    weights[-1] = bad(np.asarray(weights[-1]))
    with pytest.raises((TypeError, ValueError), match="(?i)weight"):
        opt.set_weights(weights)
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("n", [0, -1, 100_000, 2**31, 2**63, 1.5, "2", True])
def test_set_num_threads_refuses_absurd_counts(n):
    previous = optimizers.get_num_threads()
    with pytest.raises(ValueError, match="`n`"):
        optimizers.set_num_threads(n)
    assert optimizers.get_num_threads() == previous


def test_set_num_threads_accepts_numpy_integers():
    try:
        optimizers.set_num_threads(np.int64(2))
        assert type(optimizers.get_num_threads()) is int
    finally:
        optimizers.set_num_threads(None)


@pytest.mark.parametrize("kind", ["dense", "indexed"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_gradient_aliasing_its_variable_is_read_before_the_step(name, kind):
    results = []
    for alias in (True, False):
        opt, vs = trained(name, kind)
        arr = np.asarray(vs[1])
        source = arr if alias else arr.copy()
        if kind == "dense":
            grad = source
        else:
            grad = IndexedSlices(source[1:3], np.array([2, 7]), SHAPE)   # a view
        opt.apply_gradients([(grad, vs[1])])
        results.append(snapshot(opt, vs))
    assert results[0]["variables"] == results[1]["variables"]
    assert results[0]["weights"] == results[1]["weights"]


def test_gradient_aliasing_another_variable_sees_its_value_before_the_step():
    results = []
    for alias in (True, False):
        opt, vs = trained("adamw", "dense")
        source = np.asarray(vs[0]) if alias else np.asarray(vs[0]).copy()
        opt.apply_gradients([(gradient("dense", vs[0]), vs[0]), (source, vs[1])])
        results.append(snapshot(opt, vs))
    assert results[0]["variables"] == results[1]["variables"]
    assert results[0]["weights"] == results[1]["weights"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_transformer_rewriting_csr_rows_gets_its_repeats_summed(name):
    def to_row_zero(pairs):
        out = []
        for g, v in pairs:
            g.indices[:] = 0                   # every row becomes row 0
            out.append((g, v))
        return out

    results = []
    for transformed in (True, False):
        opt = OPTIMIZERS[name]()
        v = variables()[1]
        dense = gradient("dense", v)
        if transformed:
            opt.gradient_transformers = [to_row_zero]
            grad = sp.csr_matrix(dense)
        else:
            rows = np.flatnonzero(np.abs(dense).sum(axis=1) > 0)
            grad = IndexedSlices(dense[rows], np.zeros(len(rows), np.int64), SHAPE)
        opt.apply_gradients([(grad, v)])
        results.append(np.asarray(v).tobytes())
    assert results[0] == results[1]


def test_unaliased_gradients_are_not_copied():
    opt, vs = trained("sgd", "dense")
    grad = gradient("dense", vs[1])
    seen = []
    opt.gradient_transformers = [lambda pairs: seen.extend(g for g, _ in pairs) or pairs]
    opt.apply_gradients([(grad, vs[1])])
    assert seen[0] is grad


# ---------------------------------------------------------------------- #
# Properties
@given(rows=st.lists(st.integers(0, SHAPE[0] - 1), min_size=1, max_size=20),
       name=st.sampled_from(sorted(set(OPTIMIZERS) - {"sgd"})),
       seed=st.integers(0, 2**16))
def test_duplicates_equal_pre_summed_rows(rows, name, seed):
    """Repeated indices are summed (in input order) before the update."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(len(rows), SHAPE[1]))
    unique = list(dict.fromkeys(rows))
    summed = np.zeros((len(unique), SHAPE[1]))
    for k, row in enumerate(rows):
        summed[unique.index(row)] += values[k]
    results = []
    for grad in (IndexedSlices(values, rows, SHAPE), IndexedSlices(summed, unique, SHAPE)):
        opt, v = OPTIMIZERS[name](), variables(np.float64, seed)[0]
        for _ in range(2):
            opt.apply_gradients([(grad, v)])
        results.append(np.asarray(v).tobytes())
    assert results[0] == results[1]


# Where TensorFlow's sparse step of every row is its dense step.
ROWS_EQUAL_DENSE = ["sgd", "momentum", "adagrad", "adadelta", "adamax", "lazyadam",
                    "rowwise_adagrad", "ftrl", "rmsprop_centered"]


@given(name=st.sampled_from(ROWS_EQUAL_DENSE), seed=st.integers(0, 2**16),
       steps=st.integers(1, 3))
def test_sparse_step_naming_every_row_equals_dense(name, seed, steps):
    results = []
    grads = [np.random.default_rng(seed + s).normal(size=SHAPE) for s in range(steps)]
    for sparse in (False, True):
        opt, v = OPTIMIZERS[name](), variables(np.float64, seed)[0]
        for g in grads:
            grad = IndexedSlices(g, np.arange(SHAPE[0]), SHAPE) if sparse else g
            opt.apply_gradients([(grad, v)])
        results.append(np.asarray(v))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-15)


@given(name=st.sampled_from(sorted(OPTIMIZERS)),
       plan=st.lists(st.tuples(st.sampled_from(KINDS),
                               st.sampled_from([None] + sorted(BAD_GRADIENTS))),
                     min_size=1, max_size=4))
def test_mixed_batches_are_all_or_nothing(name, plan):
    """A batch with any bad pair changes nothing; an all-good batch is applied."""
    opt, vs = trained(name, "indexed")
    extra = [Variable(np.zeros(SHAPE, np.float32), name=f"v{i}") for i in range(len(plan))]
    pairs = []
    for (kind, bad), var in zip(plan, extra):
        pairs.append((BAD_GRADIENTS[bad][0](np.float32) if bad else gradient(kind, var), var))
    before = snapshot(opt, vs + extra)
    if any(bad for _, bad in plan):
        with pytest.raises((TypeError, ValueError)):
            opt.apply_gradients(pairs)
        assert snapshot(opt, vs + extra) == before
    else:
        opt.apply_gradients(pairs)
        assert int(opt.iterations) == before["iterations"] + 1


def test_no_warnings_from_a_refused_step():
    opt, vs = trained("adam", "csr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError):
            opt.apply_gradients([(_indexed(_values(), [0, 99, 1]), vs[1])])
    assert math.isfinite(float(np.asarray(vs[1]).sum()))


NUMERIC_ARGUMENTS = [(optimizers.Adam, "epsilon"), (optimizers.Adamax, "epsilon"),
                     (optimizers.Nadam, "epsilon"), (optimizers.Adadelta, "epsilon"),
                     (optimizers.RMSprop, "epsilon"), (optimizers.Adagrad, "epsilon"),
                     (optimizers.Adagrad, "initial_accumulator_value"),
                     (optimizers.Ftrl, "initial_accumulator_value"),
                     (optimizers.Ftrl, "learning_rate_power"),
                     (optimizers.Ftrl, "l1_regularization_strength"),
                     (optimizers.SGD, "momentum"), (optimizers.Adam, "beta_1"),
                     (optimizers.RMSprop, "rho"), (optimizers.SGD, "learning_rate")]


@pytest.mark.parametrize("value", ["0.1", np.array([0.1, 0.2]), [0.1], {"a": 1}, True])
@pytest.mark.parametrize("cls, argument", NUMERIC_ARGUMENTS,
                         ids=[f"{c.__name__}-{a}" for c, a in NUMERIC_ARGUMENTS])
def test_numeric_arguments_refuse_non_numbers(cls, argument, value):
    with pytest.raises((TypeError, ValueError), match=argument):
        cls(**{argument: value})


@pytest.mark.parametrize("value", [np.float32(0.5), np.float64(0.5), np.array(0.5)])
@pytest.mark.parametrize("cls, argument", NUMERIC_ARGUMENTS,
                         ids=[f"{c.__name__}-{a}" for c, a in NUMERIC_ARGUMENTS])
def test_numeric_arguments_take_numpy_scalars(cls, argument, value):
    if argument in ("learning_rate_power",):
        value = -value
    opt = cls(**{argument: value})
    v = variables()[0]
    opt.apply_gradients([(gradient("indexed", v), v)])
    assert np.all(np.isfinite(np.asarray(v)))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_variables_sharing_memory_are_refused(name, kind):
    opt, vs = trained(name, kind)
    table = np.zeros((2 * SHAPE[0], SHAPE[1]), np.float32)
    top, overlapping = table[:SHAPE[0]], table[SHAPE[0] // 2: SHAPE[0] // 2 + SHAPE[0]]
    disjoint = table[SHAPE[0]:]
    before = snapshot(opt, vs + [top, overlapping])
    with pytest.raises(ValueError, match="share memory"):
        opt.apply_gradients([(gradient(kind, v), v) for v in (vs[0], top, overlapping)])
    assert snapshot(opt, vs + [top, overlapping]) == before
    opt.apply_gradients([(gradient(kind, v), v) for v in (top, disjoint)])   # views that don't overlap


def test_set_weights_into_a_read_only_slot_assigns_nothing():
    opt, vs = trained("adam", "dense")
    np.asarray(opt.weights[-1]).setflags(write=False)
    before = snapshot(opt, vs)
    with pytest.raises(ValueError, match="read-only"):
        opt.set_weights([w + 1 for w in opt.get_weights()])
    assert snapshot(opt, vs) == before


# ---------------------------------------------------------------------- #
# Guard rails
@pytest.mark.parametrize("name", ["momentum", "adam", "ftrl"])
def test_swapped_pair_is_refused(name):
    opt, vs = trained(name, "dense")
    grad = gradient("dense", vs[0])
    table = np.zeros(SHAPE, np.float32)                        # a bare-array variable
    opt.apply_gradients([(np.ones(SHAPE, np.float32), table)])
    before = snapshot(opt, vs)
    with pytest.raises(TypeError, match="swapped"):
        opt.apply_gradients([(vs[0], grad)])                  # a Variable as gradient
    with pytest.raises(TypeError, match="swapped"):
        opt.apply_gradients([(table, np.ones(SHAPE, np.float32))])   # a known array
    assert snapshot(opt, vs) == before


@pytest.mark.parametrize("kind", ["indexed", "coo", "csc"])
def test_index_errors_are_index_errors_too(kind):
    opt, vs = trained("adam", "dense")
    if kind == "indexed":
        bad = _indexed(_values(), [0, SHAPE[0], 1])
    else:
        bad = CRASH_CASES[f"{kind}-row-out-of-range"](vs[1])
    for error in (IndexError, ValueError):
        with pytest.raises(error):
            opt.apply_gradients([(bad, vs[1])])


def test_unknown_keyword_names_the_nearest_parameter():
    with pytest.raises(TypeError, match="Did you mean `learning_rate`.*Adam takes"):
        optimizers.Adam(learnig_rate=0.1)


def test_threadpoolctl_limits_apply():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    optimizers.set_num_threads(None)
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert optimizers.get_num_threads() == 1


def test_every_optimizer_class_is_in_the_hostile_table():
    # A new optimizer gets every hostile case above by being in this table.
    tabled = {type(make()) for make in OPTIMIZERS.values()}
    missing = {cls.__name__ for cls in RULE_CLASSES} - {cls.__name__ for cls in tabled}
    assert not missing, f"add {sorted(missing)} to tests/hostile.py OPTIMIZERS"
