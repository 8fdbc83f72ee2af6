"""The one-pass checks of common pairs (`optimizers._kernels.checks`) agree
with the full checks of `optimizers._validation`: what they accept comes out
the same, and everything else is left to the full checks (None)."""
import numpy as np
import pytest

from optimizers import SGD, IndexedSlices, Variable
from optimizers._validation import check_pairs, plain_pairs


def _var(shape=(6, 3), dtype=np.float32):
    return Variable(np.arange(np.prod(shape), dtype=dtype).reshape(shape), name="w")


def _slices(indices, var):
    shape = np.shape(var)
    values = np.ones((len(indices),) + shape[1:], np.asarray(var).dtype)
    return IndexedSlices(values, np.asarray(indices), shape)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_accepted_pairs_match_the_full_checks(dtype):
    a, b, c = _var(dtype=dtype), _var((5,), dtype), _var((4, 2, 2), dtype)
    items = [(np.ones((6, 3), dtype), a),
             (_slices([1, 1, 4], b), b),
             (IndexedSlices(np.ones((2, 2, 2), dtype), np.array([3, 0], np.int32)), c)]
    fast, variables = plain_pairs(items, {})
    full = check_pairs(items)
    assert variables == [a, b, c]
    assert fast[0][0] is items[0][0] and full[0][0] is items[0][0]
    for (fg, fv), (sg, sv) in zip(fast[1:], full[1:]):
        assert fv is sv and type(fg) is type(sg) is IndexedSlices
        assert fg.values is sg.values
        assert fg.indices.dtype == sg.indices.dtype
        np.testing.assert_array_equal(fg.indices, sg.indices)
        assert fg.dense_shape == sg.dense_shape


def test_indices_are_a_private_copy():
    w = _var()
    g = _slices([2, 4], w)
    (checked, _), = plain_pairs([(g, w)], {})[0]
    assert checked.indices is not g.indices
    g.indices[0] = 10 ** 6                       # a later change cannot reach the kernels
    assert checked.indices.tolist() == [2, 4]


def _cases():
    w = _var()
    frozen = _var()
    frozen._value.flags.writeable = False
    big_endian = np.array([1, 2], dtype=">i8")
    return {
        "None gradient": [(None, w)],
        "list pair": [[np.ones((6, 3), np.float32), w]],
        "bare ndarray variable": [(np.ones(3, np.float32), np.zeros(3, np.float32))],
        "constrained variable": [(np.ones(2, np.float32),
                                  Variable(np.zeros(2, np.float32), constraint=lambda x: x))],
        "complex variable": [(np.ones(2, np.complex64), Variable(np.zeros(2, np.complex64)))],
        "read-only variable": [(np.ones((6, 3), np.float32), frozen)],
        "dense dtype": [(np.ones((6, 3), np.float64), w)],
        "dense shape": [(np.ones((3, 6), np.float32), w)],
        "dense not contiguous": [(np.ones((3, 6), np.float32).T, w)],
        "dense subclass": [(np.ones((6, 3), np.float32).view(np.matrix), w)],
        "variable twice": [(np.ones((6, 3), np.float32), w), (np.ones((6, 3), np.float32), w)],
        "index out of range": [(_slices([0, 6], w), w)],
        "negative index": [(_slices([-1], w), w)],
        "int16 indices": [(IndexedSlices(np.ones((1, 3), np.float32), np.array([1], np.int16)), w)],
        "big-endian indices": [(IndexedSlices(np.ones((2, 3), np.float32), big_endian), w)],
        "2-D indices": [(IndexedSlices(np.ones((2, 3), np.float32), np.array([[1], [2]])), w)],
        "values rows": [(IndexedSlices(np.ones((3, 3), np.float32), np.array([1, 2])), w)],
        "values width": [(IndexedSlices(np.ones((2, 2), np.float32), np.array([1, 2])), w)],
        "values dtype": [(IndexedSlices(np.ones((2, 3)), np.array([1, 2])), w)],
        "values not contiguous": [(IndexedSlices(np.ones((3, 2), np.float32).T, np.array([1, 2])),
                                   w)],
        "dense_shape": [(IndexedSlices(np.ones((2, 3), np.float32), np.array([1, 2]), (7, 3)), w)],
        "scalar variable": [(IndexedSlices(np.ones(1, np.float32), np.array([0])),
                             Variable(np.float32(1)))],
    }


@pytest.mark.parametrize("case", sorted(_cases()))
def test_anything_else_is_left_to_the_full_checks(case):
    assert plain_pairs(_cases()[case], {}) is None


def test_a_known_variable_array_as_gradient_is_left_to_the_full_checks():
    arr = np.zeros(3, np.float32)
    w = _var((3,))
    assert plain_pairs([(arr, w)], {id(arr): arr}) is None
    assert plain_pairs([(arr, w)], {id(arr): object()}) is not None


def test_swapped_pair_still_reported():
    opt = SGD(0.1, momentum=0.9)                 # (a variable with slots is known)
    arr = np.zeros(3, np.float32)
    opt.apply_gradients([(np.ones(3, np.float32), arr)])
    with pytest.raises(TypeError, match="swapped"):
        opt.apply_gradients([(arr, _var((3,)))])


def test_generators_and_zip_take_the_one_pass_checks():
    w = _var()
    opt = SGD(0.5)
    opt.apply_gradients(zip([np.ones((6, 3), np.float32)], [w]))
    opt.apply_gradients((p for p in [(_slices([0, 0], w), w)]))
    expected = np.arange(18, dtype=np.float32).reshape(6, 3) - 0.5
    expected[0] -= 1.0
    np.testing.assert_array_equal(w.numpy(), expected)


def _trained(n=3):
    opt = SGD(0.1, momentum=0.9)
    variables = [_var((4, 2)) for _ in range(n)]
    opt.apply_gradients([(np.ones((4, 2), np.float32), v) for v in variables])
    return opt, variables


def _python_layouts(opt, variables):
    """`Optimizer._check_layouts` without its one-pass form."""
    from optimizers._kernels import checks
    one_pass = checks.plain_layouts
    checks.plain_layouts = lambda *args: None
    try:
        return opt._check_layouts(variables)
    finally:
        checks.plain_layouts = one_pass


def test_layouts_in_one_pass_match_the_full_check():
    from optimizers._kernels.checks import plain_layouts
    opt, variables = _trained()
    fresh = _var((4, 2))                        # no slots yet: no layout
    got = plain_layouts(variables + [fresh], opt._slot_owners, opt._layouts)
    assert got == _python_layouts(opt, variables + [fresh])
    assert len(got) == 7                        # 4 variables and 3 momentum slots


def test_layout_faults_are_left_to_the_full_check():
    from optimizers._kernels.checks import plain_layouts, variables_without_slots
    opt, variables = _trained()
    slot = opt.get_slot(variables[0], "momentum")
    slot._value = slot._value.reshape(2, 4)     # a reshaped slot
    assert plain_layouts(variables, opt._slot_owners, opt._layouts) is None
    opt, variables = _trained()
    opt.get_slot(variables[1], "momentum")._value.flags.writeable = False
    assert plain_layouts(variables, opt._slot_owners, opt._layouts) is None
    opt, variables = _trained()
    variables[2]._value = variables[2]._value.reshape(2, 4)
    assert plain_layouts(variables, opt._slot_owners, opt._layouts) is None
    opt, variables = _trained()
    twin = Variable(np.zeros(8, np.float32))
    twin._value = variables[0]._value.reshape(-1)[:4]     # shares memory with variables[0]
    assert plain_layouts(variables + [twin], opt._slot_owners, opt._layouts) is None
    with pytest.raises(ValueError, match="share memory"):
        opt.apply_gradients([(np.ones((4, 2), np.float32), variables[0]),
                             (np.ones(4, np.float32), twin)])
    copy = Variable(variables[0].numpy())
    copy._uid = variables[0]._uid                         # a copy of a trained variable
    for fn in (plain_layouts, variables_without_slots):
        args = (opt._slot_owners, opt._layouts)[:2 if fn is plain_layouts else 1]
        assert fn([copy], *args) is None
        assert fn([np.zeros(3, np.float32)], *args) is None


def test_gradients_that_may_alias_are_left_to_the_full_check():
    from optimizers._kernels.checks import gradients_alias
    opt, variables = _trained(1)
    owners = opt._check_layouts(variables)
    slot = opt.get_slot(variables[0], "momentum")
    w = variables[0]._value
    assert not gradients_alias([(np.ones((4, 2), np.float32), variables[0])], owners)
    assert gradients_alias([(w[::1], variables[0])], owners)
    assert gradients_alias([(IndexedSlices(slot._value[:2], np.array([0, 1])), variables[0])],
                           owners)
    assert gradients_alias([("not an array", variables[0])], owners)


def test_array_dtypes_in_order_of_first_appearance():
    from optimizers._kernels.checks import array_dtypes
    a, b = _var(dtype=np.float64), _var(dtype=np.float16)
    bare = np.zeros(2, np.float32)
    assert array_dtypes([a, b, _var(dtype=np.float64), bare]) == [
        np.dtype(np.float64), np.dtype(np.float16), np.dtype(np.float32)]
    assert array_dtypes([a, "not an array"]) is None
    assert array_dtypes([]) == []


@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: __import__(
    "optimizers").Adagrad(0.1), lambda: __import__("optimizers").Ftrl(0.1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_index_is_summed_from_zero(make, dtype):
    # A lone index takes a short path; its row is still 0 + values, as a
    # sum of repeats gives it (-0.0 counts as +0.0).
    values = np.array([[-0.0, 1.5, -0.0, np.nan]], dtype)
    results = []
    for g in (IndexedSlices(values, np.array([2])),
              IndexedSlices(np.vstack([values, np.zeros_like(values)]), np.array([2, 2]))):
        w, opt = _var((5, 4), dtype), make()
        opt.build([w])
        for slot in opt.weights[1:]:       # -0.0 - (-0.0) is +0.0, -0.0 - (+0.0) is -0.0
            slot.assign(np.full(slot.shape, -0.0, dtype))
        opt.apply_gradients([(g, w)])
        results.append([w.numpy()] + [s.numpy() for s in opt.weights[1:]])
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()
