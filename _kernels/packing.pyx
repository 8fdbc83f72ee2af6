"""Copies between small dense arrays and packed blocks.

Several small variables of one dtype are updated by one `_dense_block` call
on packed copies (see ``Optimizer._apply_dense_packed``): their gradients,
values and slots are copied one after another into blocks, and the updated
blocks copied back.  These are those copies, one ``memcpy`` an array.
"""
cimport numpy as cnp
from libc.string cimport memcpy

cnp.import_array()


cdef cnp.ndarray contiguous_piece(object array, cnp.ndarray block, bint writable):
    """``array`` if it is a C-contiguous ndarray (of any subclass: a bare
    `numpy.memmap` may be a variable) of ``block``'s dtype (and writable when
    asked), else a ValueError."""
    if not isinstance(array, cnp.ndarray):
        raise ValueError(f"expected an ndarray; received {type(array).__name__}")
    cdef cnp.ndarray arr = <cnp.ndarray>array
    if (not cnp.PyArray_IS_C_CONTIGUOUS(arr)
            or cnp.PyArray_TYPE(arr) != cnp.PyArray_TYPE(block)
            or not cnp.PyArray_ISNOTSWAPPED(arr)
            or (writable and not cnp.PyArray_ISWRITEABLE(arr))):
        raise ValueError("expected a C-contiguous (writable) native array of the block's dtype")
    return arr


cdef Py_ssize_t check_block(cnp.ndarray block, bint writable) except -1:
    if (not cnp.PyArray_IS_C_CONTIGUOUS(block) or not cnp.PyArray_ISNOTSWAPPED(block)
            or (writable and not cnp.PyArray_ISWRITEABLE(block))):
        raise ValueError("a block must be a C-contiguous (writable) native array")
    return cnp.PyArray_NBYTES(block)


cdef Py_ssize_t pieces_bytes(list pieces, Py_ssize_t column, cnp.ndarray block,
                             bint writable) except -1:
    """Bytes of ``pieces[i][column]`` in all, each checked first."""
    cdef Py_ssize_t total = 0
    for row in pieces:
        total += cnp.PyArray_NBYTES(contiguous_piece(row[column], block, writable))
    return total


def pack(list pieces, Py_ssize_t column, cnp.ndarray block):
    """Copy ``pieces[i][column]`` for each ``i``, one after another, into
    ``block`` (1-D, of their dtype); return the number of elements copied.
    Nothing is copied unless every piece is an array it can copy and all fit."""
    if pieces_bytes(pieces, column, block, False) > check_block(block, True):
        raise ValueError("the pieces do not fit in the block")
    cdef Py_ssize_t offset = 0, n
    cdef char *out = <char *>cnp.PyArray_DATA(block)
    cdef cnp.ndarray arr
    for row in pieces:
        arr = <cnp.ndarray>row[column]
        n = cnp.PyArray_NBYTES(arr)
        memcpy(out + offset, cnp.PyArray_DATA(arr), n)
        offset += n
    return offset // cnp.PyArray_ITEMSIZE(block)


def unpack(cnp.ndarray block, list pieces, Py_ssize_t column):
    """Copy consecutive parts of ``block`` back into ``pieces[i][column]``
    for each ``i`` (the reverse of `pack`; nothing is copied unless all can be)."""
    if pieces_bytes(pieces, column, block, True) > check_block(block, False):
        raise ValueError("the block is shorter than the pieces")
    cdef Py_ssize_t offset = 0, n
    cdef const char *data = <const char *>cnp.PyArray_DATA(block)
    cdef cnp.ndarray arr
    for row in pieces:
        arr = <cnp.ndarray>row[column]
        n = cnp.PyArray_NBYTES(arr)
        memcpy(cnp.PyArray_DATA(arr), data + offset, n)
        offset += n
