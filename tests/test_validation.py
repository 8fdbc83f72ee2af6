"""Bad input: a clear error naming the variable, and no state change at all.

Every case first takes a valid step (so slots and ``iterations`` exist),
then calls ``apply_gradients`` with a valid pair followed by the bad one and
checks that every variable, slot and ``iterations`` is bit-for-bit as before.
"""
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import assert_unchanged, snapshot

from optimizers import SGD, IndexedSlices, Variable


def _setup():
    good = Variable(np.ones((4, 3), np.float32), name="good")
    target = Variable(np.ones((5, 2), np.float32), name="target")
    opt = SGD(learning_rate=0.1, momentum=0.9)
    opt.apply_gradients([(np.ones((4, 3), np.float32), good),
                         (np.ones((5, 2), np.float32), target)])
    return opt, good, target


def _slices(values, indices, shape=(5, 2)):
    return IndexedSlices(np.asarray(values, np.float32), np.asarray(indices), shape)


BAD_GRADIENTS = {
    "dense wrong shape": (np.ones((5, 3), np.float32), ValueError, r"shape \(5, 3\); expected \(5, 2\)"),
    "dense wrong float dtype": (np.ones((5, 2)), TypeError, "dtype float64; expected float32"),
    "dense integer dtype": (np.ones((5, 2), np.int64), TypeError, "dtype int64"),
    "string": ("grad", TypeError, "must be an array"),
    "object array": (np.array([None] * 10, dtype=object).reshape(5, 2), TypeError, "dtype object"),
    "index out of range": (_slices(np.ones((2, 2)), [1, 5]), ValueError, r"index 5 at position 1, out of range \[0, 5\)"),
    "negative index": (_slices(np.ones((2, 2)), [-1, 0]), ValueError, "negative index -1 at position 0"),
    "float indices": (_slices(np.ones((1, 2)), np.array([1.0])), TypeError, "must be integers"),
    "NaN index": (_slices(np.ones((1, 2)), np.array([np.nan])), TypeError, "NaN"),
    "2-D indices": (_slices(np.ones((2, 2)), [[0], [1]]), ValueError, "1-D"),
    "values rows != indices": (_slices(np.ones((3, 2)), [0, 1]), ValueError, r"values of shape \(3, 2\); expected \(2, 2\)"),
    "values wrong width": (_slices(np.ones((2, 3)), [0, 1]), ValueError, r"expected \(2, 2\)"),
    "values wrong dtype": (IndexedSlices(np.ones((1, 2)), np.array([0]), (5, 2)), TypeError, "float64"),
    "dense_shape mismatch": (_slices(np.ones((1, 2)), [0], (6, 2)), ValueError, r"dense_shape \(6, 2\)"),
    "scipy wrong shape": (sp.csr_matrix(np.ones((4, 2), np.float32)), ValueError, r"shape \(4, 2\); expected \(5, 2\)"),
    "scipy wrong dtype": (sp.csr_matrix(np.ones((5, 2))), TypeError, "float64"),
    "scipy integer dtype": (sp.csr_matrix(np.ones((5, 2), np.int32)), TypeError, "int32"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRADIENTS))
def test_bad_gradient_names_variable_and_changes_nothing(case):
    grad, error, message = BAD_GRADIENTS[case]
    opt, good, target = _setup()
    before = snapshot(opt, [good, target])
    with pytest.raises(error, match=message) as info:
        opt.apply_gradients([(np.ones((4, 3), np.float32), good), (grad, target)])
    assert "target" in str(info.value)
    assert_unchanged(before, snapshot(opt, [good, target]))


def test_scipy_gradient_on_1d_variable():
    opt = SGD()
    bias = Variable(np.ones(3, np.float32), name="bias")
    with pytest.raises(ValueError, match="'bias'.*needs a 2-D variable"):
        opt.apply_gradients([(sp.csr_matrix(np.ones((1, 3), np.float32)), bias)])
    assert opt.weights == []


def test_sparse_gradient_on_scalar_variable():
    with pytest.raises(ValueError, match="'s' is a scalar"):
        SGD().apply_gradients([(_slices(np.ones(1), [0], ()), Variable(np.float32(1), name="s"))])


@pytest.mark.parametrize("var, error, message", [
    ([1.0, 2.0], TypeError, "Variable 1 must be an optimizers.Variable"),
    (np.ones((5, 2), np.int64), TypeError, "dtype int64"),
    (np.ones((2, 5), np.float32).T, ValueError, "C-contiguous"),
])
def test_bad_variable_changes_nothing(var, error, message):
    opt, good, target = _setup()
    before = snapshot(opt, [good, target])
    with pytest.raises(error, match=message):
        opt.apply_gradients([(np.ones((4, 3), np.float32), good), (np.ones((5, 2)), var)])
    assert_unchanged(before, snapshot(opt, [good, target]))


def test_read_only_array_variable():
    arr = np.ones(3, np.float32)
    arr.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        SGD().apply_gradients([(np.ones(3, np.float32), arr)])


@pytest.mark.parametrize("pairs, message", [
    (5, "must be an iterable"),
    ([np.ones(2)], "Element 0 .* is not a \\(gradient, variable\\) pair"),
    ([(1, 2, 3)], "not a \\(gradient, variable\\) pair"),
])
def test_malformed_pairs(pairs, message):
    opt = SGD()
    with pytest.raises(TypeError, match=message):
        opt.apply_gradients(pairs)
    assert opt.weights == []


def test_same_variable_twice_in_one_call():
    opt, good, target = _setup()
    before = snapshot(opt, [good, target])
    with pytest.raises(ValueError, match="'target' appears more than once"):
        opt.apply_gradients([(np.ones((5, 2), np.float32), target)] * 2)
    assert_unchanged(before, snapshot(opt, [good, target]))


def test_sparse_gradient_on_constrained_variable():
    opt = SGD(learning_rate=0.1)
    good = Variable(np.ones(3, np.float32), name="good")
    con = Variable(np.ones((5, 2), np.float32), name="con", constraint=lambda x: x)
    opt.apply_gradients([(np.ones(3, np.float32), good)])
    before = snapshot(opt, [good, con])
    with pytest.raises(RuntimeError, match="Cannot use a constraint function on a sparse "
                                           "variable.*'con'"):
        opt.apply_gradients([(np.ones(3, np.float32), good), (_slices(np.ones((1, 2)), [0]), con)])
    assert_unchanged(before, snapshot(opt, [good, con]))


def test_bad_transformer_output_changes_nothing():
    opt = SGD(gradient_transformers=[lambda gv: [(g[:1], v) for g, v in gv]])
    w = Variable(np.ones(3, np.float32), name="w")
    with pytest.raises(ValueError, match=r"'w' has shape \(1,\)"):
        opt.apply_gradients([(np.ones(3, np.float32), w)])
    assert (w.numpy() == 1).all() and opt.weights == []


def test_bad_aggregator_output_changes_nothing():
    opt = SGD(gradient_aggregator=lambda gv: [(None, v) for g, v in gv])
    w = Variable(np.ones(3, np.float32), name="w")
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(np.ones(3, np.float32), w)])
    assert (w.numpy() == 1).all() and opt.weights == []


def test_global_clipnorm_with_mixed_dtypes():
    opt = SGD(global_clipnorm=1.0)
    a, b = Variable(np.ones(2, np.float32), name="a"), Variable(np.ones(2), name="b")
    with pytest.raises(ValueError, match="one dtype"):
        opt.apply_gradients([(np.ones(2, np.float32), a), (np.ones(2), b)])
    assert (a.numpy() == 1).all() and (b.numpy() == 1).all()


def test_malformed_csr_rejected():
    m = sp.csr_matrix(np.ones((5, 2), np.float32))
    m.indices[0] = 7
    opt, good, target = _setup()
    before = snapshot(opt, [good, target])
    with pytest.raises(ValueError, match="'target' is a malformed CSR"):
        opt.apply_gradients([(m, target)])
    assert_unchanged(before, snapshot(opt, [good, target]))


@pytest.mark.parametrize("kwargs, message", [
    ({"momentum": 1.5}, r"`momentum` must be between \[0, 1\]"),
    ({"momentum": -0.1}, r"`momentum` must be between \[0, 1\]"),
])
def test_sgd_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD(**kwargs)


class _DuckSlices:
    def __init__(self, values, indices, dense_shape):
        self.values, self.indices, self.dense_shape = values, indices, dense_shape


@pytest.mark.parametrize("first", [np.nan, 5.5])
def test_non_integral_dense_shape_is_refused_naming_the_variable(first):
    opt, good, target = _setup()
    before = snapshot(opt, [good, target])
    grad = _DuckSlices(np.ones((1, 2), np.float32), np.array([0]), np.array([first, 2.0]))
    with pytest.raises(ValueError, match="'target'.*dense_shape"):
        opt.apply_gradients([(grad, target)])
    assert_unchanged(before, snapshot(opt, [good, target]))
