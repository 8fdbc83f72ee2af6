"""Sparse kernels against plain NumPy on the same data."""
import numpy as np
import pytest

from optimizers._kernels.dedup import (MalformedCSR, csr_columns, csr_gather, csr_row_block,
                                      csr_rows, csr_values, dedup_rows, link_repeats)
from optimizers._kernels.sgd import sgd_momentum_rows, sgd_scatter_rows


def _fold(indices, values):
    """Reference dedup: unique in first-seen order, sum as a left fold from 0."""
    unique, order = [], {}
    for k, i in enumerate(indices):
        if i not in order:
            order[i] = len(unique)
            unique.append(i)
    out = np.zeros((len(unique), values.shape[1]), values.dtype)
    for k, i in enumerate(indices):
        out[order[i]] = out[order[i]] + values[k]
    return np.array(unique, np.int64), out


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_dedup_rows_matches_fold(dtype, index_dtype):
    rng = np.random.default_rng(0)
    indices = rng.integers(0, 9, 40).astype(index_dtype)
    values = rng.normal(size=(40, 3)).astype(dtype)
    row_position = np.full(9, -1, np.int32)
    unique, summed = dedup_rows(indices, values, row_position)
    ref_unique, ref_summed = _fold(indices.tolist(), values)
    np.testing.assert_array_equal(unique, ref_unique)
    assert summed.dtype == dtype
    assert summed.tobytes() == ref_summed.tobytes()
    assert (row_position == -1).all()


def test_dedup_rows_empty(dtype):
    unique, summed = dedup_rows(np.empty(0, np.int64), np.empty((0, 4), dtype),
                                np.full(3, -1, np.int32))
    assert unique.shape == (0,) and summed.shape == (0, 4)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_link_repeats_chains_each_row_in_input_order(index_dtype):
    rng = np.random.default_rng(1)
    indices = rng.integers(0, 9, 40).astype(index_dtype)
    row_position = np.full(9, -1, np.int32)
    unique, first, following = link_repeats(indices, row_position)
    ref_unique, _ = _fold(indices.tolist(), np.zeros((40, 1)))
    np.testing.assert_array_equal(unique, ref_unique)
    assert unique.dtype == np.int64 and first.dtype == following.dtype == np.int32
    assert len(first) == len(unique) and len(following) == len(indices)
    for row, p in zip(unique, first):
        chain = []
        while p >= 0:
            chain.append(p)
            p = following[p]
        assert chain == np.flatnonzero(indices == row).tolist()
    assert (row_position == -1).all()


def test_link_repeats_empty():
    unique, first, following = link_repeats(np.empty(0, np.int64), np.full(3, -1, np.int32))
    assert unique.shape == first.shape == following.shape == (0,)


def touched_rows(indptr, indices, data, n_cols):
    """The touched rows of a CSR matrix and their dense block."""
    rows, starts = csr_rows(indptr, min(len(indices), len(data)))
    return rows, csr_gather(starts, csr_columns(starts, indices, n_cols), data, n_cols)


def test_csr_touched_rows_counts_explicit_zeros(dtype):
    import scipy.sparse as sp
    dense = np.array([[0, 0, 0], [1, 0, 2], [0, 0, 0], [0, 3, 0]], dtype)
    csr = sp.csr_matrix(dense)
    csr.data[0] = 0          # explicit zero: row 1 still touched
    rows, values = touched_rows(csr.indptr, csr.indices, csr.data, 3)
    np.testing.assert_array_equal(rows, [1, 3])
    np.testing.assert_array_equal(values, [[0, 0, 2], [0, 3, 0]])
    assert values.dtype == dtype


def test_csr_touched_rows_sums_duplicate_columns():
    indptr = np.array([0, 2], np.int32)
    rows, values = touched_rows(indptr, np.array([1, 1], np.int32), np.array([1.5, 2.0]), 2)
    np.testing.assert_array_equal(values, [[0.0, 3.5]])


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_csr_rows_and_starts(index_dtype):
    # 40 rows: touched rows in some blocks of indptr, none in others
    counts = np.zeros(40, np.int64)
    counts[[0, 5, 17, 39]] = [2, 1, 3, 1]
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)
    indices = np.array([1, 1, 0, 2, 0, 1, 2], index_dtype)
    rows, starts = csr_rows(indptr, 7)
    assert rows.dtype == starts.dtype == index_dtype
    np.testing.assert_array_equal(rows, [0, 5, 17, 39])
    np.testing.assert_array_equal(starts, [0, 2, 3, 6, 7])
    block = csr_gather(starts, indices, np.arange(1.0, 8.0), 3)
    np.testing.assert_array_equal(block, [[0, 3, 0], [3, 0, 0], [5, 6, 4], [0, 0, 7]])


@pytest.mark.parametrize("case", ["start", "dip in an empty block", "dip", "past the data",
                                  "column", "column and indptr"])
def test_csr_rows_refuses_malformed_structure(case):
    indptr = np.zeros(41, np.int64)
    indptr[20:] = 3
    indices = np.array([0, 1, 2], np.int64)
    n_data = 3
    if case == "start":
        indptr[0] = 1
    elif case == "dip in an empty block":
        indptr[3] = 2                       # 0 ... 0 2 0 ... 0: the block's ends agree
    elif case == "dip":
        indptr[21] = 2
    elif case == "past the data":
        n_data = 2
    elif case == "column":
        indices[1] = 3
    else:
        indices[1] = -1
        indptr[3] = 2
    message = "column indices" if case == "column" else "indptr must"
    with pytest.raises(MalformedCSR, match=message):
        rows, starts = csr_rows(indptr, min(len(indices), n_data))
        csr_columns(starts, indices, 3)


def _indptr(counts, index_dtype):
    return np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n_rows", [0, 1, 7, 63, 64, 65, 200, 1000])
@pytest.mark.parametrize("density", [0.0, 0.02, 0.3, 1.0])
def test_csr_rows_finds_every_touched_row(index_dtype, n_rows, density):
    # Row counts around the scan's blocks (64 rows) and runs (8 rows), with
    # the touched rows anywhere: first and last rows, whole blocks, none.
    rng = np.random.default_rng(n_rows)
    counts = np.where(rng.random(n_rows) < density, rng.integers(1, 4, n_rows), 0)
    if n_rows and density:
        counts[[0, -1]] = 1
    indptr = _indptr(counts, index_dtype)
    rows, starts = csr_rows(indptr, int(indptr[-1]))
    expected = np.flatnonzero(counts)
    assert rows.dtype == starts.dtype == index_dtype
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(starts, np.append(indptr[expected], indptr[-1]))


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("where", [1, 5, 8, 63, 64, 65, 100, 127, 128, 129, 149, 150])
@pytest.mark.parametrize("touched", [False, True])
def test_csr_rows_refuses_a_decrease_anywhere(index_dtype, where, touched):
    # 150 rows: two blocks of 64 and a tail of 22.  indptr dips at entry
    # ``where``, in a block with stored entries or in one without.
    counts = np.zeros(150, np.int64)
    if touched:
        counts[::3] = 2
    indptr = _indptr(counts, index_dtype)
    indptr[-1] += 5                             # the last row holds 5 more entries
    indptr[where] = indptr[where - 1] - 1 if where > 1 else -1
    with pytest.raises(MalformedCSR, match="indptr must"):
        csr_rows(indptr, int(indptr[-1]))


@pytest.mark.parametrize("case", ["negative end", "past the data", "a jump above the end",
                                  "int64 beyond 2**62", "int64 most negative"])
def test_csr_rows_refuses_entries_out_of_range(case):
    indptr = np.zeros(100, np.int64)
    indptr[50:] = 4
    n_entries = 4
    if case == "negative end":
        indptr[-1] = -1
    elif case == "past the data":
        n_entries = 3
    elif case == "a jump above the end":
        indptr[70] = 10                         # then down to 4
    elif case == "int64 beyond 2**62":
        indptr[60:90] = 2 ** 62 + 1
    else:
        indptr[60] = np.iinfo(np.int64).min
    with pytest.raises(MalformedCSR, match="indptr must"):
        csr_rows(indptr, n_entries)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_csr_columns_is_a_checked_copy(index_dtype):
    indices = np.array([0, 2, 1, 2, 9, -4], index_dtype)     # the last two not stored
    starts = np.array([0, 2, 4], index_dtype)
    columns = csr_columns(starts, indices, 3)
    assert columns.dtype == index_dtype
    np.testing.assert_array_equal(columns, [0, 2, 1, 2])
    assert not np.shares_memory(columns, indices)
    for bad in (3, -1, np.iinfo(index_dtype).max, np.iinfo(index_dtype).min):
        broken = indices.copy()
        broken[3] = bad
        with pytest.raises(MalformedCSR, match=r"column indices must lie in \[0, 3\)"):
            csr_columns(starts, broken, 3)
    # every column of a wide row is valid: int32 indices up to their largest value
    wide = np.array([0, np.iinfo(np.int32).max], np.int32)
    np.testing.assert_array_equal(csr_columns(np.array([0, 2], np.int32), wide, 2 ** 40),
                                  wide)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("order", ["stored in order", "reversed", "shuffled",
                                   "reversed but two", "in order but two"])
def test_csr_row_block_of_rows_that_store_every_column_in_one_order(dtype, index_dtype,
                                                                     order):
    rng = np.random.default_rng(7)
    width, n = 5, 40
    pattern = {"stored in order": [0, 1, 2, 3, 4], "reversed": [4, 3, 2, 1, 0],
               "shuffled": rng.permutation(width), "reversed but two": [4, 1, 2, 3, 0],
               "in order but two": [0, 1, 3, 2, 4]}[order]
    indices = np.tile(pattern, n).astype(index_dtype)
    starts = (np.arange(n + 1) * width).astype(index_dtype)
    data = rng.normal(size=n * width + 3).astype(dtype)      # 3 entries not stored
    data[[3, 7, 11]] = [-0.0, np.nan, np.inf]
    block = csr_row_block(starts, indices, data, width)
    expected = csr_gather(starts, indices, data, width)
    assert block.dtype == dtype and block.shape == (n, width)
    assert not np.shares_memory(block, data)
    assert block.tobytes() == expected.tobytes()              # -0.0 summed into +0.0


def test_csr_values_is_a_copy_with_the_bits_of_a_sum_into_zero(dtype):
    data = np.array([1.5, -0.0, 0.0, np.nan, -np.inf, 7.0], dtype)
    values = csr_values(data, 5)
    assert values.dtype == dtype and not np.shares_memory(values, data)
    assert values.tobytes() == (np.zeros(5, dtype) + data[:5]).tobytes()


@pytest.mark.parametrize("case", ["a column twice", "a column missing", "a later row differs",
                                  "rows of 4 and 6", "a column out of range", "no rows"])
def test_csr_row_block_is_none_unless_every_row_stores_every_column_in_one_order(case):
    width, n = 5, 6
    indices = np.tile(np.arange(width), n).astype(np.int32)
    starts = (np.arange(n + 1) * width).astype(np.int32)
    data = np.ones(n * width, np.float32)
    if case == "a column twice":
        indices[:width] = [0, 1, 2, 2, 4]
        indices[width:] = np.tile(indices[:width], n - 1)
    elif case == "a column missing":
        indices = indices[:-1]
        starts = starts[:-1]
        starts[-1] -= 1
    elif case == "a later row differs":
        indices[4 * width + 1], indices[4 * width + 2] = 2, 1
    elif case == "rows of 4 and 6":
        # the same columns at the same places of the flat arrays, in rows of
        # 4 and 6 entries: row 0 holds 0..3, row 1 holds 4, 0, ..., 4
        starts[1] = 4
    elif case == "a column out of range":
        indices[::width] = width
    else:
        starts = starts[:1]
    assert csr_row_block(starts, indices, data, width) is None


def test_sgd_scatter_rows_applies_repeats_in_turn(dtype):
    rng = np.random.default_rng(1)
    var = rng.normal(size=(6, 4)).astype(dtype)
    indices = np.array([2, 0, 2, 5, 2], np.int64)
    values = rng.normal(size=(5, 4)).astype(dtype)
    lr = dtype.type(0.3)
    expected = var.copy()
    for k, i in enumerate(indices):
        expected[i] = expected[i] - values[k] * lr
    sgd_scatter_rows(var, indices, values, lr)
    assert var.tobytes() == expected.tobytes()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_rows_matches_numpy(dtype, nesterov):
    rng = np.random.default_rng(2)
    var = rng.normal(size=(7, 3)).astype(dtype)
    accum = rng.normal(size=(7, 3)).astype(dtype)
    rows = np.array([4, 1, 6], np.int64)
    values = rng.normal(size=(3, 3)).astype(dtype)
    lr, mu = dtype.type(0.1), dtype.type(0.9)
    exp_var, exp_accum = var.copy(), accum.copy()
    exp_accum[rows] = exp_accum[rows] * mu - values * lr
    step = exp_accum[rows] * mu - values * lr if nesterov else exp_accum[rows]
    exp_var[rows] = exp_var[rows] + step
    sgd_momentum_rows(var, accum, rows, values, dict(lr_t=lr, momentum=mu), nesterov)
    assert var.tobytes() == exp_var.tobytes()
    assert accum.tobytes() == exp_accum.tobytes()


@pytest.mark.parametrize("threads", [2, 3])
def test_kernels_give_the_same_bits_for_any_thread_count(dtype, threads):
    rng = np.random.default_rng(5)
    indices = rng.integers(0, 50, 400)
    values = rng.normal(size=(400, 6)).astype(dtype)
    lr, mu = dtype.type(0.1), dtype.type(0.9)
    results = []
    for n_threads in (1, threads):
        row_position = np.full(50, -1, np.int32)
        unique, summed = dedup_rows(indices, values, row_position)
        var = np.ones((50, 6), dtype)
        accum = np.zeros((50, 6), dtype)
        sgd_momentum_rows(var, accum, unique, summed, dict(lr_t=lr, momentum=mu), True, n_threads)
        plain = np.ones((50, 6), dtype)
        sgd_scatter_rows(plain, indices, values, lr, n_threads)
        results.append([unique, summed, var, accum, plain])
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_kernels_sum_linked_repeats_with_the_bits_of_dedup_rows(dtype, threads):
    # Value rows linked by `link_repeats` are summed by the kernel from zero,
    # in input order: the same bits as the block `dedup_rows` builds, whatever
    # the thread count.  -0.0 values: 0 + -0.0 is +0.0, as in the block.
    from optimizers.sparse import LinkedRows
    # Rows 50 to 99 are given once: with -0.0 in the variable and the
    # accumulator, a -0.0 gradient taken as it is would change their sign.
    rng = np.random.default_rng(6)
    indices = np.concatenate([np.full(50, 3), rng.integers(0, 50, 400), np.arange(50, 100)])
    values = (rng.normal(size=(len(indices), 6))
              * 10.0 ** rng.integers(-6, 6, (len(indices), 1))).astype(dtype)
    values[::7, 2] = -0.0
    c = dict(lr_t=dtype.type(0.1), momentum=dtype.type(0.9))
    var, accum = rng.normal(size=(2, 100, 6)).astype(dtype)
    var[:, 2] = accum[:, 2] = -0.0
    results = []
    for linked in (False, True):
        row_position = np.full(100, -1, np.int32)
        if linked:
            unique, first, following = link_repeats(indices, row_position)
            g = LinkedRows(unique, first, following, values)
        else:
            unique, g = dedup_rows(indices, values, row_position)
        w, a = var.copy(), accum.copy()
        sgd_momentum_rows(w, a, unique, g, c, False, threads)
        results.append([w, a])
    for x, y in zip(*results):
        assert x.tobytes() == y.tobytes()


def test_linked_repeats_of_the_wrong_size_are_refused(dtype):
    from optimizers.sparse import LinkedRows
    indices = np.array([1, 2, 1])
    unique, first, following = link_repeats(indices, np.full(4, -1, np.int32))
    var, accum = np.zeros((2, 4, 3), dtype)
    c = dict(lr_t=dtype.type(0.1), momentum=dtype.type(0.9))
    for g, match in [(LinkedRows(unique, first[:1], following, np.ones((3, 3), dtype)), "first"),
                     (LinkedRows(unique, first, following, np.ones((2, 3), dtype)), "values"),
                     (LinkedRows(unique, first, following, np.ones((3, 2), dtype)), "values")]:
        with pytest.raises(ValueError, match=match):
            sgd_momentum_rows(var, accum, unique, g, c, False)
    assert not var.any() and not accum.any()


def test_thread_settings():
    import optimizers
    default = optimizers.get_num_threads()
    assert default >= 1
    optimizers.set_num_threads(2)
    try:
        assert optimizers.get_num_threads() == (2 if optimizers.threads.openmp_enabled() else 1)
    finally:
        optimizers.set_num_threads(None)
    assert optimizers.get_num_threads() == default
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            optimizers.set_num_threads(bad)
