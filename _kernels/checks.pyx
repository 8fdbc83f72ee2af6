"""The checks of ``apply_gradients`` for the common kinds of pairs, in one pass.

`plain_pairs` accepts a list of ``(gradient, variable)`` pairs only when the
checks of :mod:`optimizers._validation` would accept every pair as it is:
each variable an `~optimizers.Variable` (of that exact type, without a
constraint) holding a writable real float array of native byte order, each
gradient either an ndarray of the variable's dtype, shape and C layout, or an
`~optimizers.IndexedSlices` whose values are such an array of shape
``(len(indices),) + shape[1:]`` and whose indices are a 1-D int32 or int64
array of rows in range.  It then returns what those checks return, with the
indices copied as they copy them.  Anything else (a fault to report, a kind
to convert, a constraint or a complex variable to handle) makes it return
None, and the caller runs the full checks, which give the error.
"""
cimport numpy as cnp
from cpython.dict cimport PyDict_GetItem
from cpython.long cimport PyLong_FromVoidPtr
from cpython.ref cimport PyObject

cnp.import_array()

cdef object Variable = None
cdef object IndexedSlices = None
cdef object checked_slices = None

cdef enum:
    INT32_MAX = 2147483647


def register(variable_type, indexed_slices_type):
    """Give this module the classes it checks for (no import cycle)."""
    global Variable, IndexedSlices, checked_slices
    Variable = variable_type
    IndexedSlices = indexed_slices_type
    checked_slices = indexed_slices_type._checked


cdef bint real_float(cnp.ndarray arr):
    """float16, float32 or float64 in native byte order."""
    cdef int t = cnp.PyArray_TYPE(arr)
    return ((t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE or t == cnp.NPY_FLOAT16)
            and cnp.PyArray_ISNOTSWAPPED(arr))


cdef bint same_layout(cnp.ndarray grad, cnp.ndarray arr, int skip):
    """``grad`` has ``arr``'s dtype object and dimensions (from ``skip`` on) and is C-contiguous."""
    cdef int d, ndim = cnp.PyArray_NDIM(arr)
    if (cnp.PyArray_DESCR(grad) != cnp.PyArray_DESCR(arr) or cnp.PyArray_NDIM(grad) != ndim
            or not cnp.PyArray_IS_C_CONTIGUOUS(grad)):
        return False
    for d in range(skip, ndim):
        if cnp.PyArray_DIMS(grad)[d] != cnp.PyArray_DIMS(arr)[d]:
            return False
    return True


cdef bint same_shape(object shape, cnp.ndarray arr):
    """``shape`` is None or a tuple of Python ints equal to ``arr``'s shape."""
    cdef Py_ssize_t d
    if shape is None:
        return True
    if type(shape) is not tuple or len(<tuple>shape) != cnp.PyArray_NDIM(arr):
        return False
    for d in range(cnp.PyArray_NDIM(arr)):
        item = (<tuple>shape)[d]
        if type(item) is not int or <cnp.npy_intp>item != cnp.PyArray_DIMS(arr)[d]:
            return False
    return True


cdef object private_indices(object indices, Py_ssize_t n_rows):
    """A C-ordered copy of ``indices`` if it is a 1-D native int32 or int64
    array of fewer than 2**31 rows, each in ``[0, n_rows)``; else None."""
    cdef cnp.ndarray src, out
    cdef Py_ssize_t k, n
    cdef const int* i32
    cdef const long long* i64
    cdef bint bad = False
    if type(indices) is not cnp.ndarray:
        return None
    src = <cnp.ndarray>indices
    if cnp.PyArray_NDIM(src) != 1 or not cnp.PyArray_ISNOTSWAPPED(src):
        return None
    n = cnp.PyArray_DIMS(src)[0]
    if n > INT32_MAX or src.descr.kind != b"i" or src.descr.itemsize not in (4, 8):
        return None
    out = cnp.PyArray_NewCopy(src, cnp.NPY_CORDER)
    if src.descr.itemsize == 4:
        i32 = <const int*>cnp.PyArray_DATA(out)
        for k in range(n):
            bad |= (i32[k] < 0) | (i32[k] >= n_rows)
    else:
        i64 = <const long long*>cnp.PyArray_DATA(out)
        for k in range(n):
            bad |= (i64[k] < 0) | (i64[k] >= n_rows)
    return None if bad else out


cdef object plain_gradient(object grad, cnp.ndarray arr, dict owners):
    """The checked gradient of the common kinds, or None."""
    cdef PyObject* owner
    cdef cnp.ndarray values
    if type(grad) is cnp.ndarray:
        owner = PyDict_GetItem(owners, PyLong_FromVoidPtr(<void*>grad))
        if owner != NULL and <object>owner is grad:
            return None                     # a variable of this optimizer: swapped pair
        return grad if same_layout(<cnp.ndarray>grad, arr, 0) else None
    if type(grad) is not IndexedSlices or cnp.PyArray_NDIM(arr) == 0:
        return None
    raw = grad._values
    if type(raw) is not cnp.ndarray or not same_shape(grad.dense_shape, arr):
        return None
    values = <cnp.ndarray>raw
    indices = private_indices(grad.indices, cnp.PyArray_DIMS(arr)[0])
    if (indices is None or not same_layout(values, arr, 1)
            or cnp.PyArray_DIMS(values)[0] != cnp.PyArray_DIMS(<cnp.ndarray>indices)[0]):
        return None
    return checked_slices(values, indices, (<object>arr).shape)


def plain_pairs(list items, dict owners):
    """``(pairs, variables)`` as the full checks would return them, or None.

    ``owners`` maps the id of each bare ndarray this optimizer updates to the
    array (a gradient that is one of them means a swapped pair).  Also
    refuses (None) a variable given twice.
    """
    cdef Py_ssize_t i, n = len(items)
    cdef list pairs = [None] * n
    cdef list variables = [None] * n
    cdef set seen = set()
    for i in range(n):
        item = items[i]
        if type(item) is not tuple or len(<tuple>item) != 2:
            return None
        grad, var = <tuple>item
        if type(var) is not Variable or var._constraint is not None:
            return None
        arr = var._value
        if (type(arr) is not cnp.ndarray or not real_float(<cnp.ndarray>arr)
                or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>arr)):
            return None
        grad = plain_gradient(grad, <cnp.ndarray>arr, owners)
        if grad is None:
            return None
        uid = var._uid
        if uid in seen:
            return None
        seen.add(uid)
        pairs[i] = (grad, var)
        variables[i] = var
    return pairs, variables


cdef object MISSING = object()


cpdef object memory_owner(cnp.ndarray array):
    """The ndarray that owns ``array``'s memory (``array`` if it owns it)."""
    cdef PyObject* base = cnp.PyArray_BASE(array)
    while base != NULL and isinstance(<object>base, cnp.ndarray):
        array = <cnp.ndarray>base
        base = cnp.PyArray_BASE(array)
    return array


def variables_without_slots(list variables, dict slot_owners):
    """The variables (`Variable` objects) that have no slots yet, or None
    when one is not a `Variable` or its slots' owner is not simply itself
    or nobody (the full `Optimizer._slot_key` then adopts or refuses it)."""
    cdef list new = []
    for var in variables:
        if type(var) is not Variable:
            return None
        owner = slot_owners.get(var._uid, MISSING)
        if owner is MISSING:
            new.append(var)
        elif owner is not var:
            return None
    return new


def plain_layouts(list variables, dict slot_owners, dict layouts):
    """What `Optimizer._check_layouts` returns (the ids of the arrays owning
    the memory of the variables and their slots), when every variable is a
    `Variable` that owns its slots (or has none) and nothing is wrong; else
    None, and the full check runs (and reports the fault)."""
    cdef dict owners = {}
    cdef Py_ssize_t d
    for var in variables:
        if type(var) is not Variable:
            return None
        key = var._uid
        owner = slot_owners.get(key, MISSING)
        if owner is not var and owner is not MISSING:
            return None                             # to adopt, or a copy
        arr = var._value
        root = id(memory_owner(arr) if type(arr) is cnp.ndarray else arr)
        if root in owners:
            return None                             # may share memory
        owners[root] = var
        layout = layouts.get(key) if owner is var else None
        if layout is None:
            continue
        shape, slots = layout
        if type(arr) is not cnp.ndarray or not same_shape(shape, <cnp.ndarray>arr):
            return None
        for slot, shape in slots:
            value = slot._value
            if (type(value) is not cnp.ndarray or not same_shape(shape, <cnp.ndarray>value)
                    or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>value)):
                return None
            owners[id(value)] = slot
    return owners


def gradients_alias(list pairs, dict owners):
    """Whether a gradient may share memory with an array in ``owners`` (by
    the id of its memory's owner), or is of a kind this does not know (then
    `Optimizer._unalias` looks at every pair)."""
    for grad, _ in pairs:
        if type(grad) is IndexedSlices:
            grad = grad._values
            if grad is None:
                continue                            # rows of a CSR matrix: private copies
        if type(grad) is not cnp.ndarray or id(memory_owner(grad)) in owners:
            return True
    return False


def array_dtypes(list variables):
    """The distinct dtypes of the variables' arrays (of `Variable` objects or
    ndarrays), in order of first appearance; None if one is neither."""
    cdef list dtypes = []
    cdef object arr
    for var in variables:
        arr = var._value if type(var) is Variable else var
        if type(arr) is not cnp.ndarray:
            return None
        dtype = <object>cnp.PyArray_DESCR(<cnp.ndarray>arr)
        for known in dtypes:
            if known is dtype:
                break
        else:
            dtypes.append(dtype)
    return dtypes


def weight_values(list weights):
    """``[(array, value)]`` for each weight's array: its scalar if 0-d, else a
    copy (what `Optimizer._undo` writes back)."""
    cdef list out = []
    cdef cnp.ndarray arr
    for weight in weights:
        arr = weight._value
        out.append((arr, arr[()] if cnp.PyArray_NDIM(arr) == 0 else arr.copy()))
    return out
