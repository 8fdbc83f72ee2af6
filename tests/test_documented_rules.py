"""The update rules written in the optimizers' docstrings are what they compute.

Each rule of a class's "Notes" is written out here in float64 NumPy, line by
line as the docs give it, run for a few steps, and compared with the
optimizer.  Hyperparameters that TensorFlow holds as float32 enter as
``float32(x)``, as the docs' "Numerics" section says; ``epsilon`` is exact.
"""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable

RNG = np.random.default_rng(7)
W0 = RNG.normal(size=(6, 3))
GRADS = [RNG.normal(size=(6, 3)) for _ in range(4)]
EPS = 1e-7


def f32(x):
    return float(np.float32(x))


def run(opt, rows=None):
    """The optimizer's result after the four steps (dense, or sparse on ``rows``)."""
    w = Variable(W0.copy())
    for g in GRADS:
        grad = g.copy() if rows is None else IndexedSlices(g[rows], rows, w.shape)
        opt.apply_gradients([(grad, w)])
    return w.numpy()


def adam_rate(lr, b1, b2, t):
    return lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)


def sgd(momentum, nesterov):
    lr, mu = f32(0.1), f32(momentum)
    w, v = W0.copy(), np.zeros_like(W0)
    for g in GRADS:
        if momentum == 0:
            w = w - lr * g
            continue
        v = mu * v - lr * g
        w = w + (mu * v - lr * g) if nesterov else w + v
    return w


def adam(amsgrad):
    lr, b1, b2 = f32(0.01), f32(0.9), f32(0.999)
    w, m, v, vhat = W0.copy(), 0 * W0, 0 * W0, 0 * W0
    for t, g in enumerate(GRADS, 1):
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        vhat = np.maximum(vhat, v)
        w = w - adam_rate(lr, b1, b2, t) * m / (np.sqrt(vhat if amsgrad else v) + EPS)
    return w


def adamax():
    lr, b1, b2 = f32(0.01), f32(0.9), f32(0.999)
    w, m, u = W0.copy(), 0 * W0, 0 * W0
    for t, g in enumerate(GRADS, 1):
        m = m + (g - m) * (1 - b1)
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr / (1 - b1 ** t) * (m / (u + EPS))
    return w


def adadelta():
    lr, rho = f32(0.5), f32(0.95)
    w, a, u = W0.copy(), 0 * W0, 0 * W0
    for g in GRADS:
        a = rho * a + (1 - rho) * g * g
        delta = np.sqrt(u + EPS) / np.sqrt(a + EPS) * g
        w = w - lr * delta
        u = rho * u + (1 - rho) * delta * delta
    return w


def adagrad():
    lr = f32(0.1)
    w, a = W0.copy(), np.full_like(W0, 0.1)
    for g in GRADS:
        a = a + g * g
        w = w - lr * g / (np.sqrt(a) + EPS)
    return w


FTRL = dict(l1_regularization_strength=0.01, l2_regularization_strength=0.02, beta=0.1)


def ftrl(power, shrinkage):
    lr, p, l1 = f32(0.1), f32(power), f32(FTRL["l1_regularization_strength"])
    l2 = f32(FTRL["l2_regularization_strength"]) + f32(FTRL["beta"]) / (2 * lr)
    s = f32(shrinkage)
    w, n, z = W0.copy(), np.full_like(W0, 0.1), 0 * W0
    for g in GRADS:
        n_new = n + g * g
        sigma = (n_new ** -p - n ** -p) / lr
        z = z + ((g + 2 * s * w) - sigma * w)
        w = np.where(np.abs(z) > l1, (l1 * np.sign(z) - z) / (n_new ** -p / lr + 2 * l2), 0.0)
        n = n_new
    return w


def nadam():
    lr, b1, b2, psi = f32(0.01), f32(0.9), f32(0.999), 0.004

    def mu(t):
        return b1 * (1 - 0.5 * f32(0.96) ** (psi * t))

    w, m, v, cache = W0.copy(), 0 * W0, 0 * W0, 1.0
    for t, g in enumerate(GRADS, 1):
        cache = cache * mu(t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_bar = (1 - mu(t)) * g / (1 - cache) + mu(t + 1) * m / (1 - cache * mu(t + 1))
        w = w - lr * m_bar / (np.sqrt(v / (1 - b2 ** t)) + EPS)
    return w


def rmsprop(momentum, centered, sparse=False):
    lr, rho, mu = f32(0.01), f32(0.9), f32(momentum)
    w, r, mg, p = W0.copy(), 0 * W0, 0 * W0, 0 * W0
    for g in GRADS:
        if momentum == 0:
            r = rho * r + (1 - rho) * g * g
            mg = rho * mg + (1 - rho) * g
            w = w - lr * g / (np.sqrt(r - mg ** 2 if centered else r) + EPS)
            continue
        if sparse:
            r = rho * r + (1 - rho) * g * g
            mg = rho * mg + (1 - rho) * g
            d = (r + EPS) - mg ** 2 if centered else r + EPS
        else:
            r = r + (g * g - r) * (1 - rho)
            mg = mg + (g - mg) * (1 - rho)
            d = (r - mg ** 2) + EPS if centered else r + EPS
        p = mu * p + lr * g / np.sqrt(d)
        w = w - p
    return w


def lazy_adam(rows, weight_decay=0.0):
    lr, b1, b2 = f32(0.01), f32(0.9), f32(0.999)
    w, m, v = W0.copy(), 0 * W0, 0 * W0
    for t, g in enumerate(GRADS, 1):
        w[rows] = w[rows] - w[rows] * (lr * weight_decay)
        m[rows] = b1 * m[rows] + (1 - b1) * g[rows]
        v[rows] = b2 * v[rows] + (1 - b2) * g[rows] ** 2
        w[rows] = w[rows] - adam_rate(lr, b1, b2, t) * m[rows] / (np.sqrt(v[rows]) + EPS)
    return w


def adamw_dense(weight_decay):
    lr, b1, b2 = f32(0.01), f32(0.9), f32(0.999)
    w, m, v = W0.copy(), 0 * W0, 0 * W0
    for t, g in enumerate(GRADS, 1):
        w = w - w * (lr * weight_decay)
        m = m + (g - m) * (1 - b1)
        v = v + (g * g - v) * (1 - b2)
        w = w - adam_rate(lr, b1, b2, t) * m / (np.sqrt(v) + EPS)
    return w


def rowwise_adagrad():
    lr = f32(0.1)
    w, a = W0.copy(), np.full(W0.shape[0], 0.1)
    for g in GRADS:
        a = a + (g * g).mean(axis=1)
        w = w - lr * g / (np.sqrt(a)[:, None] + EPS)
    return w


def partial_rowwise_adam(rows=None):
    lr, b1, b2 = f32(0.01), f32(0.9), f32(0.999)
    rows = np.arange(W0.shape[0]) if rows is None else rows
    w, m, v = W0.copy(), np.zeros_like(W0), np.zeros(W0.shape[0])
    for t, g in enumerate(GRADS, start=1):
        g = g[rows]
        v[rows] = b2 * v[rows] + (1 - b2) * (g * g).mean(axis=1)
        m[rows] = b1 * m[rows] + (1 - b1) * g
        w[rows] = w[rows] - adam_rate(lr, b1, b2, t) * m[rows] / (np.sqrt(v[rows])[:, None] + EPS)
    return w


ALL = np.arange(6)
TOUCHED = np.array([1, 4])
CASES = {
    "SGD": (lambda: optimizers.SGD(0.1), None, lambda: sgd(0, False)),
    "SGD-momentum": (lambda: optimizers.SGD(0.1, momentum=0.9), None, lambda: sgd(0.9, False)),
    "SGD-nesterov": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True), None,
                     lambda: sgd(0.9, True)),
    "Adam": (lambda: optimizers.Adam(0.01), None, lambda: adam(False)),
    "Adam-amsgrad": (lambda: optimizers.Adam(0.01, amsgrad=True), None, lambda: adam(True)),
    "Adam-sparse": (lambda: optimizers.Adam(0.01), ALL, lambda: adam(False)),
    "Adamax": (lambda: optimizers.Adamax(0.01), None, adamax),
    "Adamax-sparse": (lambda: optimizers.Adamax(0.01), ALL, adamax),
    "Adadelta": (lambda: optimizers.Adadelta(0.5), None, adadelta),
    "Adagrad": (lambda: optimizers.Adagrad(0.1), None, adagrad),
    "Ftrl": (lambda: optimizers.Ftrl(0.1, **FTRL), None, lambda: ftrl(-0.5, 0.0)),
    "Ftrl-sparse": (lambda: optimizers.Ftrl(0.1, **FTRL), ALL, lambda: ftrl(-0.5, 0.0)),
    "Ftrl-power-shrinkage": (
        lambda: optimizers.Ftrl(0.1, learning_rate_power=-0.3,
                                l2_shrinkage_regularization_strength=0.05, **FTRL),
        None, lambda: ftrl(-0.3, 0.05)),
    "Nadam": (lambda: optimizers.Nadam(0.01), None, nadam),
    "Nadam-sparse": (lambda: optimizers.Nadam(0.01), ALL, nadam),
    "RMSprop": (lambda: optimizers.RMSprop(0.01), None, lambda: rmsprop(0, False)),
    "RMSprop-centered": (lambda: optimizers.RMSprop(0.01, centered=True), None,
                         lambda: rmsprop(0, True)),
    "RMSprop-momentum": (lambda: optimizers.RMSprop(0.01, momentum=0.5), None,
                         lambda: rmsprop(0.5, False)),
    "RMSprop-momentum-centered": (lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                                  None, lambda: rmsprop(0.5, True)),
    "RMSprop-momentum-centered-sparse": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True), ALL,
        lambda: rmsprop(0.5, True, sparse=True)),
    "LazyAdam-sparse": (lambda: optimizers.LazyAdam(0.01), TOUCHED, lambda: lazy_adam(TOUCHED)),
    "AdamW": (lambda: optimizers.AdamW(0.01, weight_decay=0.1), None, lambda: adamw_dense(0.1)),
    "AdamW-sparse": (lambda: optimizers.AdamW(0.01, weight_decay=0.1), TOUCHED,
                     lambda: lazy_adam(TOUCHED, 0.1)),
    "RowwiseAdagrad": (lambda: optimizers.RowwiseAdagrad(0.1), None, rowwise_adagrad),
    "PartialRowwiseAdam": (lambda: optimizers.PartialRowwiseAdam(0.01), None,
                           partial_rowwise_adam),
    "PartialRowwiseAdam-sparse": (lambda: optimizers.PartialRowwiseAdam(0.01), TOUCHED,
                                  lambda: partial_rowwise_adam(TOUCHED)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_documented_rule(case):
    make, rows, rule = CASES[case]
    # float64 throughout: only the order of operations can differ
    np.testing.assert_allclose(run(make(), rows), rule(), rtol=1e-12, atol=1e-14)
