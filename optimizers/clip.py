"""Gradient clipping with TensorFlow 2.4's formulas.

Sparse gradients (`IndexedSlices`) are clipped on their raw ``values``,
before repeated indices are summed, so each repeated slice is clipped and
counted on its own, exactly as TensorFlow does.
"""
import numpy as np

from .sparse import IndexedSlices

__all__ = ["clip_by_value", "clip_by_norm", "clip_by_global_norm"]


def _values(grad):
    return grad.values if isinstance(grad, IndexedSlices) else grad


def _rewrap(grad, values):
    if isinstance(grad, IndexedSlices):
        out = IndexedSlices(values, grad.indices, grad.dense_shape)
        out._unique = grad._unique
        return out
    return values


def clip_by_value(grad, clip_value):
    """``max(min(g, c), -c)`` elementwise, ``c`` taken exactly in g's dtype."""
    g = _values(grad)
    c = g.dtype.type(clip_value)
    return _rewrap(grad, np.maximum(np.minimum(g, c), -c))


def _l2sum(g):
    flat = g.reshape(-1)
    return np.dot(flat, flat) if flat.size else g.dtype.type(0)


def clip_by_norm(grad, clip_norm):
    """``g * c / max(||g||_2, c)`` over all elements (TF's formula).

    An all-zero gradient keeps norm 0; an ``inf`` element gives NaN there and
    0 elsewhere, as in TensorFlow.
    """
    g = _values(grad)
    c = g.dtype.type(clip_norm)
    l2sum = _l2sum(g)
    norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return _rewrap(grad, (g * c) / np.maximum(norm, c))


def global_norm(grads):
    """``sqrt(2 * sum_i l2loss(g_i))`` with ``l2loss(x) = sum(x**2) / 2``."""
    dtype = _values(grads[0]).dtype
    half_sums = [_l2sum(_values(g)) / dtype.type(2) for g in grads]
    total = np.sum(np.array(half_sums, dtype=dtype))
    return np.sqrt(total * dtype.type(2))


def clip_by_global_norm(grads, clip_norm):
    """Scale every gradient by ``c * min(1/gn, 1/c) + (gn - gn)`` (``1/0`` is ``inf``).

    All gradients must share one dtype (TensorFlow fails on a mix too; the
    caller checks this before anything changes).  The ``(gn - gn)`` term
    makes every gradient NaN when the global norm is not finite.
    """
    if not grads:
        return []
    dtype = _values(grads[0]).dtype
    gn = global_norm(grads)
    c = dtype.type(clip_norm)
    one, inf = dtype.type(1), dtype.type(np.inf)
    # 1 / 0 is inf here by design (an all-zero gradient, or clip_norm 0):
    # made without NumPy's division-by-zero warning.
    scale = c * np.minimum(one / gn if gn else inf, one / c if c else inf) + (gn - gn)
    return [_rewrap(g, _values(g) * scale) for g in grads]
