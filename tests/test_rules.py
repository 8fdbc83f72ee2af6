"""Every optimizer setting of `rules.RULES` through the same tests.

Config round trips, slot names and order, dense and sparse steps against the
NumPy references bit for bit (float32 and float64, float16 through float32),
scipy.sparse gradients, which rows a sparse step touches, results that do not
depend on the thread count, and bad input that changes nothing.
"""
import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import assert_unchanged, snapshot

import optimizers
from optimizers import IndexedSlices, Variable
from optimizers.threads import PARALLEL_MIN_ELEMENTS, openmp_enabled, threads_for
from reference import dedup
from rules import ARGUMENT_ERRORS, CLASSES, RULES

by_rule = pytest.mark.parametrize("rule", RULES, ids=[rule.id for rule in RULES])

SHAPE = (8, 3)
CLIP_KEYS = ("clipnorm", "clipvalue", "global_clipnorm")
# Every slot name of the built-in optimizers: a rule's others must not exist.
SLOT_NAMES = {"momentum", "m", "v", "vhat", "accum_grad", "accum_var", "accumulator",
              "linear", "rms", "mg"}
# Rows of three sparse steps, with repeats (summed in input order).
INDICES = [np.array([6, 1, 6, 3, 1, 6]), np.array([0, 7, 0]), np.array([2, 5, 2, 2, 4])]


def sparse_steps(dtype, shape, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(len(i),) + shape[1:]).astype(dtype), i % shape[0])
            for i in INDICES]


def initial(dtype, shape=SHAPE, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def assert_same(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    if actual.tobytes() != expected.tobytes():
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        raise AssertionError(f"{what}: {np.count_nonzero(diff)} elements differ from the "
                             f"reference (largest difference {diff.max():.3g})")


def assert_matches(rule, opt, w, ref, what=""):
    """``w`` and its slots equal the reference's state bit for bit."""
    assert_same(w.numpy(), ref.state["var"], f"variable {what}")
    for name in rule.slots:
        assert_same(opt.get_slot(w, name).numpy(), ref.state[name], f"slot {name!r} {what}")
    if rule.extra_weights == ("momentum_cache",):
        assert_same(opt.get_weights()[1], ref.momentum_cache, f"momentum cache {what}")
    assert int(opt.iterations) == ref.step


def state(opt, w):
    """The variable and every weight of ``opt``, as arrays."""
    return [w.numpy()] + [np.asarray(x) for x in opt.get_weights()]


# --------------------------------------------------------------------------- #
# The table itself
def test_every_optimizer_class_has_rules():
    exported = {getattr(optimizers, name) for name in optimizers.__all__}
    classes = {c for c in exported if isinstance(c, type) and issubclass(c, optimizers.Optimizer)
               and c is not optimizers.Optimizer and not getattr(c, "_is_wrapper", False)}
    assert set(CLASSES) == classes
    assert len({rule.id for rule in RULES}) == len(RULES)
    for rule in RULES:
        assert rule.lazy == (not rule.swept)
        assert set(rule.swept) <= {"var"} | set(rule.slots)
        # the table's slots are the ones its reference keeps
        assert tuple(rule.new_reference(np.zeros((2, 2))).state) == ("var",) + rule.slots


# --------------------------------------------------------------------------- #
# Config, registry, slots
@by_rule
def test_config_round_trip(rule):
    opt = rule.make(clipvalue=0.5)
    config = opt.get_config()
    assert list(config) == ["name", "clipvalue"] + list(rule.config_keys)
    assert config["name"] == rule.cls.__name__
    serialized = optimizers.serialize(opt)
    assert serialized == {"class_name": rule.cls.__name__, "config": config}
    copies = [rule.cls.from_config(copy.deepcopy(config)),
              optimizers.deserialize(copy.deepcopy(serialized))]
    for again in copies:
        assert type(again) is rule.cls and again.get_config() == config
    # the copies take the original's steps, bit for bit
    values, indices = sparse_steps(np.float32, SHAPE)[0]
    results = []
    for o in [opt] + copies:
        w = Variable(initial(np.float32))
        o.apply_gradients([(initial(np.float32, seed=1), w)])
        o.apply_gradients([(IndexedSlices(values, indices, SHAPE), w)])
        results.append(state(o, w))
    for other in results[1:]:
        for x, y in zip(results[0], other):
            assert_same(y, x, "after a config round trip")
    # after a step (hyperparameters are float32 variables now) it still round trips
    config = opt.get_config()
    assert rule.cls.from_config(copy.deepcopy(config)).get_config() == config
    serialized = copy.deepcopy(optimizers.serialize(opt))
    assert optimizers.deserialize(serialized).get_config() == config
    for name in (rule.cls.__name__, rule.cls.__name__.lower()):
        assert type(optimizers.get(name)) is rule.cls
    # the clipping keys come right after the name, in TensorFlow's order
    for clipping in (dict(clipnorm=1.0, clipvalue=0.5), dict(global_clipnorm=2.0)):
        config = rule.make(**clipping).get_config()
        assert list(config) == ["name"] + [k for k in CLIP_KEYS if k in clipping] + list(
            rule.config_keys)
        assert rule.cls.from_config(copy.deepcopy(config)).get_config() == config


@by_rule
def test_slot_names_order_and_initial_values(rule, dtype):
    a = Variable(initial(dtype, (3, 2)), name="a")
    b = Variable(initial(dtype, (4,), seed=1), name="b")
    opt = rule.make()
    opt.build([a, b])                          # slots as created, before any step
    assert [x.name for x in opt.weights] == rule.weight_names(opt.name, ["a", "b"])
    assert opt.get_slot_names() == list(rule.slots)
    for var in (a, b):
        ref = rule.new_reference(var.numpy())
        for name in rule.slots:
            slot = opt.get_slot(var, name).numpy()
            assert slot.shape == rule.slot_shape(name, var.shape)
            assert_same(slot, ref.state[name], f"initial {name!r} of {var.name!r}")
    opt.apply_gradients([(np.ones((3, 2), dtype), a), (np.ones(4, dtype), b)])
    assert [x.name for x in opt.weights] == rule.weight_names(opt.name, ["a", "b"])
    c = Variable(np.ones((2, 2), dtype), name="c")          # seen later: appended
    opt.apply_gradients([(np.ones((2, 2), dtype), c)])
    assert [x.name for x in opt.weights] == rule.weight_names(opt.name, ["a", "b"]) + [
        f"{opt.name}/c/{s}" for s in rule.slots]
    for name in rule.slots:
        assert opt.get_slot(c, name).dtype == dtype
    for name in sorted(SLOT_NAMES - set(rule.slots)):     # e.g. no vhat without amsgrad
        with pytest.raises(KeyError):
            opt.get_slot(a, name)


@pytest.mark.parametrize("cls, kwargs, error, message", ARGUMENT_ERRORS,
                         ids=[f"{c.__name__}-{'-'.join(k)}-{i}"
                              for i, (c, k, _, _) in enumerate(ARGUMENT_ERRORS)])
def test_bad_constructor_arguments_give_the_documented_error(cls, kwargs, error, message):
    with pytest.raises(error) as info:
        cls(**kwargs)
    assert type(info.value) is error and str(info.value) == message


def test_every_optimizer_class_has_argument_errors():
    assert {cls for cls, *_ in ARGUMENT_ERRORS} == set(CLASSES)


@by_rule
def test_set_weights_without_iterations_only_where_tensorflow_takes_it(rule, dtype):
    w = Variable(initial(dtype, (3, 2)), name="w")
    trained = rule.make()
    trained.apply_gradients([(initial(dtype, (3, 2), seed=1), w)])
    weights = trained.get_weights()
    opt = rule.make()
    opt.build([w])
    if rule.loads_without_iterations:
        opt.set_weights(weights[1:])             # a Keras 1 checkpoint: no iterations
        assert int(opt.iterations) == 0
        for x, y in zip(opt.get_weights()[1:], weights[1:]):
            assert_same(x, y, "weight set from a list without iterations")
    else:
        before = snapshot(opt, [w])
        with pytest.raises(ValueError, match="weight list of length"):
            opt.set_weights(weights[1:])
        assert_unchanged(before, snapshot(opt, [w]))


# --------------------------------------------------------------------------- #
# Steps against the references
@by_rule
def test_dense_steps_match_reference(rule, dtype):
    # Two small variables in one step: every optimizer with an element-wise dense
    # rule (all but the rowwise ones) updates them packed together.
    rng = np.random.default_rng(2)
    variables = [initial(dtype), initial(dtype, (5,), seed=1)]
    ws, refs = [Variable(v) for v in variables], [rule.new_reference(v) for v in variables]
    opt = rule.make()
    for step in range(4):
        scale = dtype.type(3 if step == 1 else 0.5)
        grads = [rng.normal(size=w.shape).astype(dtype) * scale for w in ws]
        opt.apply_gradients(list(zip(grads, ws)))
        for w, ref, g in zip(ws, refs, grads):
            ref.dense(g)
            assert_matches(rule, opt, w, ref, f"of shape {w.shape} after step {step + 1}")


@by_rule
def test_dense_steps_over_several_blocks_match_reference(rule, dtype):
    # Dense updates run in blocks of 2**15 elements with reused scratch buffers
    # (optimizers/_dense.py): 33 x 1000 spans two, the second one partial.
    shape = (33, 1000)
    var = initial(dtype, shape)
    rng = np.random.default_rng(6)
    w, opt, ref = Variable(var), rule.make(), rule.new_reference(var)
    for step in range(2):
        g = rng.normal(size=shape).astype(dtype)
        opt.apply_gradients([(g, w)])
        ref.dense(g)
    assert_matches(rule, opt, w, ref, "after two dense steps")


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: one thread")
@by_rule
def test_dense_blocks_on_several_threads_match_reference(rule, dtype, monkeypatch):
    # Large dense steps hand their blocks to threads (optimizers/_dense.py,
    # from PARALLEL_MIN elements): 9 x 10000 is three blocks, the last partial.
    monkeypatch.setattr(optimizers._dense, "PARALLEL_MIN", 0)
    shape = (9, 10000)
    var = initial(dtype, shape)
    rng = np.random.default_rng(7)
    w, opt, ref = Variable(var), rule.make(), rule.new_reference(var)
    try:
        for n_threads in (2, 3):
            optimizers.set_num_threads(n_threads)
            g = rng.normal(size=shape).astype(dtype)
            opt.apply_gradients([(g, w)])
            ref.dense(g)
    finally:
        optimizers.set_num_threads(None)
    assert_matches(rule, opt, w, ref, "after dense steps on threads")


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: one thread")
def test_dense_blocks_on_threads_keep_the_callers_error_state(monkeypatch):
    # inf / inf in every block: NumPy's error state of the caller applies in
    # every thread, and an error raised in a helper thread reaches the caller.
    monkeypatch.setattr(optimizers._dense, "PARALLEL_MIN", 0)
    w = Variable(np.zeros(100_000, np.float32))
    opt = optimizers.Adagrad()
    g = np.full(100_000, np.inf, np.float32)
    optimizers.set_num_threads(2)
    try:
        with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
            opt.apply_gradients([(g, w)])
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("error")       # a helper's warning would raise
            opt.apply_gradients([(g, w)])
    finally:
        optimizers.set_num_threads(None)


@pytest.mark.parametrize("shape", [(8, 3), (9,), (4, 2, 3)], ids=["2d", "1d", "3d"])
@by_rule
def test_sparse_steps_with_repeated_indices_match_reference(rule, dtype, shape):
    var = initial(dtype, shape)
    w, opt, ref = Variable(var), rule.make(), rule.new_reference(var)
    for step, (values, indices) in enumerate(sparse_steps(dtype, shape), 1):
        opt.apply_gradients([(IndexedSlices(values, indices, shape), w)])
        ref.sparse(values, indices)
        assert_matches(rule, opt, w, ref, f"after sparse step {step}")


@by_rule
def test_dense_sparse_and_empty_steps_interleaved(rule, dtype):
    var = initial(dtype)
    rng = np.random.default_rng(3)
    w, opt, ref = Variable(var), rule.make(), rule.new_reference(var)
    empty = (np.empty((0,) + SHAPE[1:], dtype), np.empty(0, np.int64))
    plan = ["empty", "dense", 0, "empty", "dense", 1, "dense", 2]
    for step, what in enumerate(plan, 1):
        if what == "dense":
            g = rng.normal(size=SHAPE).astype(dtype)
            opt.apply_gradients([(g, w)])
            ref.dense(g)
        else:
            values, indices = empty if what == "empty" else sparse_steps(dtype, SHAPE)[what]
            opt.apply_gradients([(IndexedSlices(values, indices, SHAPE), w)])
            ref.sparse(values, indices)
        assert_matches(rule, opt, w, ref, f"after step {step} ({what})")


@by_rule
def test_repeated_indices_are_summed_first_unless_the_rule_says_not(rule, dtype):
    var = initial(dtype)
    results = []
    for summed in (False, True):
        w, opt = Variable(var), rule.make()
        for values, indices in sparse_steps(dtype, SHAPE):
            if summed:
                indices, values = dedup(values, indices)
            opt.apply_gradients([(IndexedSlices(values, indices, SHAPE), w)])
        results.append(state(opt, w))
    same = all(x.tobytes() == y.tobytes() for x, y in zip(*results))
    # (plain SGD adds the repeats one after another: the last bits differ here)
    assert same == rule.sums_duplicates


@by_rule
def test_scipy_gradients_equal_indexed_slices_of_their_rows(rule, dtype):
    dense = np.zeros(SHAPE, dtype)
    dense[1] = [1.0, 0.0, -2.0]
    dense[4] = [0.5, 0.25, 0.0]
    dense[6] = [0.0, 3.0, 0.0]
    rows, cols = np.nonzero(dense)
    rows, cols = np.append(rows, 2), np.append(cols, 1)      # a stored zero: row 2 touched
    data = np.append(dense[np.nonzero(dense)], 0).astype(dtype)
    coo = sp.coo_matrix((data, (rows, cols)), shape=SHAPE)
    touched = np.array([1, 2, 4, 6])
    var = initial(dtype)
    # After a dense warm-up every row has state, so a touched row with a zero
    # gradient (row 2) differs from an untouched one where the step is lazy.
    warm_up = initial(dtype, seed=2)

    def run(grad):
        w, opt = Variable(var), rule.make()
        opt.apply_gradients([(warm_up, w)])
        for _ in range(2):
            opt.apply_gradients([(grad, w)])
        return opt, w

    opt, w = run(IndexedSlices(dense[touched], touched, SHAPE))
    ref = rule.new_reference(var)
    ref.dense(warm_up)
    for _ in range(2):
        ref.sparse(dense[touched], touched)
    assert_matches(rule, opt, w, ref)
    expected = state(opt, w)
    for fmt in ("csr", "csc", "coo"):
        grad = coo.asformat(fmt)
        assert grad.nnz == 6
        for x, y in zip(state(*run(grad)), expected):
            assert_same(x, y, f"{fmt} gradient vs IndexedSlices of its rows")


def _csr_with_repeated_columns(dtype, shape, seed=3):
    """A CSR gradient (not canonical: columns stored twice, out of order, a
    stored zero, empty rows) and the ``(rows, values)`` it stands for."""
    rng = np.random.default_rng(seed)
    n_rows, width = shape
    entries = rng.integers(0, 2, n_rows) * rng.integers(1, 2 * width, n_rows)
    entries[:3] = (2 * width, 0, 1)
    indptr = np.concatenate([[0], np.cumsum(entries)]).astype(np.int32)
    columns = rng.integers(0, width, indptr[-1]).astype(np.int32)
    data = rng.normal(size=indptr[-1]).astype(dtype)
    data[-1] = 0
    grad = sp.csr_matrix((data, columns, indptr), shape=shape)
    assert not grad.has_canonical_format
    rows = np.flatnonzero(entries)
    values = np.zeros((len(rows), width), dtype)
    position = np.repeat(np.arange(len(rows)), entries[rows])
    np.add.at(values, (position, columns), data)      # entry by entry, in storage order
    return grad, rows, values


@by_rule
@pytest.mark.parametrize("n_threads", [1, 2])
def test_csr_is_read_by_the_kernel_with_the_bits_of_its_rows(rule, dtype, n_threads,
                                                             monkeypatch):
    # A plain step reads the CSR arrays straight into the update (no block of
    # touched rows is built: building one fails here), with the bits of the
    # same rows given as IndexedSlices, repeated columns summed in storage
    # order, on one thread and on several (the batch is large enough that
    # every kernel's parallel branch runs).
    shape = (8192, 16)
    grad, rows, values = _csr_with_repeated_columns(dtype, shape)

    def block(self):
        raise AssertionError("the CSR rows were copied into a block")
    _assert_csr_steps_as_rows(rule, dtype, n_threads, shape, grad, rows, values,
                              lambda: monkeypatch.setattr(optimizers.sparse.CSRRows, "block",
                                                          block),
                              monkeypatch, "CSR read by the kernel vs IndexedSlices of its rows")


def _assert_csr_steps_as_rows(rule, dtype, n_threads, shape, grad, rows, values, forbid,
                              monkeypatch, what):
    """Two steps with the CSR ``grad`` (``forbid()`` patching away the path it
    must not take) give the bits of two steps with its rows as IndexedSlices."""
    assert len(rows) * shape[1] >= PARALLEL_MIN_ELEMENTS
    var, warm_up = initial(dtype, shape), initial(dtype, shape, seed=2)
    results = []
    try:
        optimizers.set_num_threads(n_threads)
        for g in (IndexedSlices(values, rows, shape), grad):
            w, opt = Variable(var), rule.make()
            opt.apply_gradients([(warm_up, w)])
            if g is grad:
                forbid()
            opt.apply_gradients([(g, w)])
            opt.apply_gradients([(g, w)])
            monkeypatch.undo()
            results.append(state(opt, w))
    finally:
        optimizers.set_num_threads(None)
    for x, y in zip(*results):
        assert_same(y, x, what)


@by_rule
@pytest.mark.parametrize("setting", [dict(clipnorm=0.5), dict(gradient_accumulation_steps=2),
                                     dict(gradient_transformers=[lambda pairs: pairs])])
def test_csr_through_clipping_accumulation_and_transformers(rule, dtype, setting):
    # These read the gradient's values: the rows are built as a block first,
    # and the steps equal those of the same rows given as IndexedSlices.
    shape = (64, 3)
    grad, rows, values = _csr_with_repeated_columns(dtype, shape)
    results = []
    for g in (IndexedSlices(values, rows, shape), grad):
        try:
            opt = rule.make(**setting)
        except (TypeError, ValueError) as exc:      # a setting the rule does not take
            pytest.skip(str(exc))
        w = Variable(initial(dtype, shape))
        for _ in range(3):
            opt.apply_gradients([(g, w)])
        results.append(state(opt, w))
    for x, y in zip(*results):
        assert_same(y, x, f"CSR with {setting} vs IndexedSlices")


def _csr_of_whole_rows(dtype, shape, order, seed=4, density=0.3):
    """A CSR gradient whose touched rows each store every column once, in
    the one order ``order`` (a product with a dense matrix is such), among
    empty rows, with a stored zero and a -0.0; and the ``(rows, values)`` it
    stands for (the -0.0 summed into a zeroed row is +0.0)."""
    rng = np.random.default_rng(seed)
    n_rows, width = shape
    rows = np.flatnonzero(rng.random(n_rows) < density)
    values = rng.normal(size=(len(rows), width)).astype(dtype)
    values[0, 0], values[1, 1] = 0.0, -0.0
    counts = np.zeros(n_rows, np.int64)
    counts[rows] = width
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    grad = sp.csr_matrix((values[:, order].reshape(-1), np.tile(order, len(rows)), indptr),
                         shape=shape)
    return grad, rows, np.zeros_like(values) + values


@by_rule
@pytest.mark.parametrize("n_threads", [1, 2])
def test_csr_of_whole_rows_is_read_as_the_block_of_its_rows(rule, dtype, n_threads,
                                                            monkeypatch):
    # Rows that each store every column once, in one order: the private copy
    # of the data, put in column order, is the values block (no per-row sums
    # in the kernel); the same bits as the rows given as IndexedSlices, on
    # one thread and on several.  (Each order of the columns: test_kernels.)
    shape = (4608, 16)
    order = np.random.default_rng(0).permutation(16)
    grad, rows, values = _csr_of_whole_rows(dtype, shape, order, density=0.5)

    def csr_rows(*args):
        raise AssertionError("whole rows read one entry at a time")
    _assert_csr_steps_as_rows(rule, dtype, n_threads, shape, grad, rows, values,
                              lambda: monkeypatch.setattr(optimizers.sparse, "CSRRows", csr_rows),
                              monkeypatch, "CSR of whole rows vs IndexedSlices of its rows")


def test_csr_of_a_product_with_a_dense_matrix_equals_indexed_slices_of_its_rows():
    # X.T @ upstream, as the gradient of a sparse linear layer's weight: each
    # touched row holds every column (SciPy stores them last to first).
    rng = np.random.default_rng(5)
    features, batch, width = 3000, 64, 8
    x = sp.random(batch, features, density=0.01, format="csr", random_state=5,
                  dtype=np.float32)
    grad = (x.T @ sp.csr_matrix(rng.normal(size=(batch, width)).astype(np.float32))).tocsr()
    rows = np.flatnonzero(np.diff(grad.indptr))
    assert len(rows) and grad.nnz == len(rows) * width
    results = []
    for g in (IndexedSlices(grad[rows].toarray(), rows, grad.shape), grad):
        w = Variable(initial(np.float32, grad.shape))
        opt = optimizers.Adagrad(0.1)
        opt.apply_gradients([(g, w)])
        results.append(state(opt, w))
    for x, y in zip(*results):
        assert_same(y, x, "CSR of X.T @ dense vs IndexedSlices")


def _csr_of_rows_of_15_and_17(shape):
    """Two rows of 15 and 17 entries whose columns, laid end to end, are
    those of two whole rows stored last to first (row 10 holds column 0
    twice): not whole rows, each is summed entry by entry.  Returns the
    gradient and its ``(rows, values)``."""
    columns = np.tile(np.arange(16)[::-1], 2).astype(np.int32)
    data = np.random.default_rng(6).normal(size=32).astype(np.float32)
    counts = np.zeros(shape[0], np.int64)
    counts[[3, 10]] = 15, 17
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = np.zeros((2, 16), np.float32)
    np.add.at(values, (np.repeat([0, 1], [15, 17]), columns), data)
    return sp.csr_matrix((data, columns, indptr), shape=shape), np.array([3, 10]), values


@pytest.mark.parametrize("kind", ["repeated columns", "whole rows", "rows of 15 and 17"])
def test_csr_rewritten_by_a_callback_during_the_step_is_not_seen(kind):
    # The kernels read private copies of the checked columns and data (for
    # each way a CSR matrix is read): a callback that runs after the checks
    # (here the learning rate) and rewrites the matrix in place cannot make
    # the update write outside the variable, nor change the gradient of this
    # step.
    if kind == "repeated columns":
        shape = (64, 3)
        grad, rows, values = _csr_with_repeated_columns(np.float32, shape)
    elif kind == "whole rows":
        shape = (64, 16)
        grad, rows, values = _csr_of_whole_rows(np.float32, shape, np.arange(16)[::-1])
    else:
        shape = (64, 16)
        grad, rows, values = _csr_of_rows_of_15_and_17(shape)

    def learning_rate():
        grad.indices[:] = 10 ** 6          # far outside the columns
        grad.data[:] = np.nan
        return 0.1

    w, expected = Variable(initial(np.float32, shape)), Variable(initial(np.float32, shape))
    optimizers.SGD(learning_rate).apply_gradients([(grad, w)])
    optimizers.SGD(0.1).apply_gradients([(IndexedSlices(values, rows, shape), expected)])
    assert_same(w.numpy(), expected.numpy(), "CSR rewritten during the step")


def test_csr_values_set_to_a_view_of_the_variable_are_taken_before_the_step():
    # A transformer that points a CSR gradient's values at the variable's own
    # rows: the step reads them as they were before it (a private copy).
    w = Variable(np.array([[1, 1], [2, 2], [3, 3], [4, 4]], np.float32))
    grad = sp.csr_matrix(np.array([[0, 0], [1, 0], [0, 1], [0, 0]], np.float32))

    def transformer(pairs):
        (g, v), = pairs
        g.values = np.asarray(v)[0:2]                  # rows 0 and 1, as a view
        return pairs

    optimizers.SGD(1.0, gradient_transformers=[transformer]).apply_gradients([(grad, w)])
    np.testing.assert_array_equal(w.numpy(), [[1, 1], [1, 1], [1, 1], [4, 4]])


@by_rule
def test_float16_csr_equals_indexed_slices_of_its_rows(rule):
    shape = (64, 3)
    grad, rows, _ = _csr_with_repeated_columns(np.float32, shape)
    grad.data = grad.data.astype(np.float16)
    block = np.zeros((len(rows), shape[1]), np.float32)    # summed in float32, rounded once
    for k, r in enumerate(rows):
        for e in range(grad.indptr[r], grad.indptr[r + 1]):
            block[k, grad.indices[e]] += np.float32(grad.data[e])
    block = block.astype(np.float16)
    results = []
    for g in (IndexedSlices(block, rows, shape), grad):
        w, opt = Variable(initial(np.float16, shape)), rule.make()
        opt.apply_gradients([(g, w)])
        results.append(state(opt, w))
    for x, y in zip(*results):
        assert_same(y, x, "float16 CSR vs IndexedSlices")


@by_rule
def test_which_rows_a_sparse_step_touches(rule, dtype):
    var = initial(dtype)
    w, opt = Variable(var), rule.make()
    opt.apply_gradients([(np.ones_like(var), w)])            # every row has state
    names = ("var",) + rule.slots

    def arrays():
        return {n: (w.numpy() if n == "var" else opt.get_slot(w, n).numpy()) for n in names}

    before = arrays()
    values, indices = sparse_steps(dtype, SHAPE)[0]
    opt.apply_gradients([(IndexedSlices(values, indices, SHAPE), w)])
    after = arrays()
    touched = sorted(set(indices.tolist()))
    untouched = [r for r in range(SHAPE[0]) if r not in touched]
    assert (after["var"][touched] != before["var"][touched]).any()
    for name in names:
        if name in rule.swept:                # decayed or moved on every row
            assert (after[name][untouched] != before[name][untouched]).all(), name
        else:                                 # not even read: bit for bit as before
            assert_same(after[name][untouched], before[name][untouched], name)


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: kernels use one thread")
@by_rule
def test_results_do_not_depend_on_the_thread_count(rule, dtype):
    # Kernels run on one thread below PARALLEL_MIN_ELEMENTS elements (rows x width
    # of the update: the deduplicated rows for the rows-only kernels, the whole
    # table for the sweeping ones); this batch is well above it, so the
    # parallel branches run.
    n_rows, width = 4096, 16
    rng = np.random.default_rng(4)
    var = rng.normal(size=(n_rows, width)).astype(dtype)
    dense = rng.normal(size=var.shape).astype(dtype)
    indices = rng.integers(0, n_rows, 6000)                  # about 3,100 distinct rows
    values = rng.normal(size=(len(indices), width)).astype(dtype)
    touched = len(np.unique(indices)) * width
    assert touched >= PARALLEL_MIN_ELEMENTS and var.size >= PARALLEL_MIN_ELEMENTS
    results = []
    try:
        for n_threads in (1, 2, 4):
            optimizers.set_num_threads(n_threads)
            assert threads_for(touched) == n_threads
            w, opt = Variable(var), rule.make()
            opt.apply_gradients([(dense, w)])
            opt.apply_gradients([(IndexedSlices(values, indices, var.shape), w)])
            results.append(state(opt, w))
    finally:
        optimizers.set_num_threads(None)
    for other in results[1:]:
        for x, y in zip(results[0], other):
            assert_same(y, x, "with more threads")


def _repeated_indices(pattern, n_rows, rng):
    """Indices of a batch with repeats in one of several patterns."""
    if pattern == "one row":                      # one chain through the whole batch
        return np.full(3000, n_rows // 3)
    if pattern == "alternating":                  # two chains, interleaved
        return np.tile([5, n_rows - 2], 1500)
    if pattern == "round robin":                  # every row three times, far apart
        return np.tile(rng.permutation(n_rows), 3)
    if pattern == "long chains":                  # a few rows very often, most once
        ids = np.minimum(rng.zipf(1.3, 6000), n_rows) - 1
        return rng.permutation(n_rows)[ids]
    return rng.permutation(n_rows)                # no repeats (not known to be unique)


REPEAT_PATTERNS = ("no repeats", "long chains", "one row", "alternating", "round robin")


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: kernels use one thread")
@by_rule
@pytest.mark.parametrize("n_threads", [1, 2])
def test_repeats_summed_by_the_kernel_match_the_summed_block(rule, dtype, n_threads,
                                                             monkeypatch):
    # Repeated rows are only linked, and the kernel sums each row's values
    # from zero in input order as it updates the row: the bits of the block
    # of summed rows, on one thread and on two (every kernel's parallel
    # branch runs, whatever the number of distinct rows), and no summed
    # block is built.  One step of each pattern of repeats.
    shape = (2048, 16)
    rng = np.random.default_rng(8)
    var = initial(dtype, shape)
    var[:, 3] = -0.0
    monkeypatch.setattr(optimizers.threads, "PARALLEL_MIN_ELEMENTS", 0)

    def summed_block(*args):
        raise AssertionError("a block of summed rows was built")

    def summed_path(self, grad, arr, linked):
        return self._summed_rows(grad, arr.shape)

    warm_up = initial(dtype, shape, seed=2)
    warm_up[:, 3] = 0                             # (column 3 of the variable may stay -0.0)
    runs = []
    for linked in (False, True):
        w, opt = Variable(var), rule.make()
        opt.apply_gradients([(warm_up, w)])
        runs.append((w, opt, linked))
    try:
        optimizers.set_num_threads(n_threads)
        assert threads_for(shape[1]) == n_threads
        for pattern in REPEAT_PATTERNS:
            indices = _repeated_indices(pattern, shape[0], rng)
            values = (rng.normal(size=(len(indices), shape[1]))
                      * 10.0 ** rng.integers(-5, 5, (len(indices), 1))).astype(dtype)
            values[::5, 3] = -0.0                 # 0 + -0.0 is +0.0 in the block too
            results = []
            for w, opt, linked in runs:
                with monkeypatch.context() as m:
                    if linked:
                        m.setattr(optimizers.sparse, "dedup_rows", summed_block)
                    else:
                        m.setattr(optimizers.base.Optimizer, "_repeats_summed", summed_path)
                    opt.apply_gradients([(IndexedSlices(values, indices, shape), w)])
                results.append(state(opt, w))
            for x, y in zip(*results):
                assert_same(y, x, f"repeats ({pattern}) summed by the kernel vs the summed block")
    finally:
        optimizers.set_num_threads(None)


@by_rule
def test_float16_is_computed_in_float32_and_rounded_once_a_step(rule):
    var = initial(np.float16)
    rng = np.random.default_rng(5)
    w, opt = Variable(var), rule.make()
    ref = rule.new_reference(var.astype(np.float32))
    ref.round_to(np.float16)                   # slots start as float16 values too
    g = rng.normal(size=SHAPE).astype(np.float16)
    opt.apply_gradients([(g, w)])
    ref.dense(g.astype(np.float32))
    ref.round_to(np.float16)
    for values, indices in sparse_steps(np.float16, SHAPE)[:2]:
        opt.apply_gradients([(IndexedSlices(values, indices, SHAPE), w)])
        ref.sparse(values.astype(np.float32), indices)
        ref.round_to(np.float16)
    assert w.dtype == np.float16
    assert_same(w.numpy(), ref.state["var"].astype(np.float16), "variable")
    for name in rule.slots:
        assert_same(opt.get_slot(w, name).numpy(), ref.state[name].astype(np.float16), name)


# --------------------------------------------------------------------------- #
# Bad input: an error, and nothing changes (not even `iterations`)
def _values(n, dtype):
    return np.ones((n, SHAPE[1]), dtype)


class DuckSlices:
    def __init__(self, values, indices, dense_shape):
        self.values, self.indices, self.dense_shape = values, indices, dense_shape


BAD_GRADIENTS = {
    "index-out-of-range": (lambda dt: IndexedSlices(_values(2, dt), [1, SHAPE[0]], SHAPE),
                           ValueError, "out of range"),
    "index-negative": (lambda dt: IndexedSlices(_values(2, dt), [1, -1], SHAPE), ValueError,
                       "negative"),
    "index-nan": (lambda dt: IndexedSlices(_values(2, dt), np.array([1.0, np.nan]), SHAPE),
                  TypeError, "NaN"),
    # (the message does not name the variable yet: see test_validation.py)
    "dense-shape-nan": (lambda dt: DuckSlices(_values(2, dt), np.array([1, 2]),
                                              np.array([np.nan, SHAPE[1]])),
                        ValueError, None),
    "wrong-dtype": (lambda dt: np.ones(SHAPE, np.float16), TypeError, "dtype"),
    "values-wrong-dtype": (lambda dt: IndexedSlices(_values(2, np.float16), [1, 2], SHAPE),
                           TypeError, "dtype"),
    "values-wrong-width": (lambda dt: IndexedSlices(np.ones((2, SHAPE[1] + 1), dt), [1, 2],
                                                    SHAPE), ValueError, "shape"),
    "wrong-shape": (lambda dt: np.ones((SHAPE[0], SHAPE[1] + 1), dt), ValueError, "shape"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRADIENTS))
@by_rule
def test_bad_gradient_raises_and_changes_nothing(rule, dtype, case):
    make, error, words = BAD_GRADIENTS[case]
    a, b = Variable(initial(dtype), name="a"), Variable(initial(dtype, seed=1), name="b")
    opt = rule.make()
    for first_step in (True, False):          # before any slot exists, then after a step
        if not first_step:
            opt.apply_gradients([(np.ones(SHAPE, dtype), a), (np.ones(SHAPE, dtype), b)])
        before = snapshot(opt, [a, b])
        with pytest.raises(error, match=words) as info:
            opt.apply_gradients([(np.ones(SHAPE, dtype), a), (make(dtype), b)])
        if words is not None:
            assert "'b'" in str(info.value)
        assert_unchanged(before, snapshot(opt, [a, b]))
