"""Subnormal numbers as TensorFlow's CPU kernels take them: read as zero and
flushed to zero (x86 DAZ/FTZ, AArch64 FZ) while a step writes, in the
calling thread, in the kernels' threads and in dense helper threads; the
caller's own mode is back after the step.  The expected values are
TensorFlow's (tf_keras 2.21 legacy optimizers) for the same steps.
"""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable
from optimizers._kernels import fpmode
from optimizers.threads import openmp_enabled

pytestmark = pytest.mark.skipif(not fpmode.flushes_denormals(),
                                reason="no flush-to-zero mode on this platform")

SUB = np.float32(1e-40)                # subnormal in float32


def step(opt, var, g, kind):
    if kind == "sparse":
        g = IndexedSlices(g, np.arange(len(g)), var.shape)
    opt.apply_gradients([(g, var)])


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_a_subnormal_gradient_reads_as_zero(kind):
    w = Variable(np.zeros(3, np.float32))
    step(optimizers.SGD(1.0), w, np.array([SUB, 1.0, SUB * 1e4], np.float32), kind)
    assert w.numpy().view(np.int32)[0] == 0                    # +0: not -1e-40
    assert w.numpy()[1] == -1.0 and w.numpy()[2] == np.float32(-SUB * 1e4)


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_a_subnormal_result_is_flushed(kind):
    w = Variable(np.full(3, 1e-38, np.float32))
    step(optimizers.SGD(0.5), w, np.full(3, 1e-38, np.float32), kind)
    assert (w.numpy() == 0).all()                                # 5e-39 flushed


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_a_slot_does_not_go_subnormal(kind):
    w = Variable(np.zeros(2, np.float32))
    opt = optimizers.Adam(0.1)
    step(opt, w, np.array([1e-20, 1.0], np.float32), kind)
    v = opt.get_slot(w, "v").numpy()
    assert v[0] == 0                                             # (1 - b2) 1e-40: flushed
    assert v[1] == np.float32(1) - np.float32(0.999)             # 0.00099999


def test_the_callers_mode_is_back_after_a_step():
    half = np.float32(0.5)
    w = Variable(np.ones(3000, np.float32))
    opt = optimizers.Adagrad()
    opt.apply_gradients([(np.ones(3000, np.float32), w)])
    assert np.float32(1e-38) * half == np.float32(5e-39)       # not flushed out here
    g = np.ones(3000, np.float32)
    g[0] = np.inf
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        opt.apply_gradients([(g, w)])                          # an error after the writes
    assert np.float32(1e-38) * half == np.float32(5e-39)


@pytest.mark.skipif(not openmp_enabled(), reason="built without OpenMP: one thread")
@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_every_thread_flushes(kind, monkeypatch):
    # Large enough for the kernels' threads (sparse) and the helper threads
    # of a dense update (with their threshold lowered): each element's
    # result is flushed whichever thread computes it.
    monkeypatch.setattr(optimizers._dense, "PARALLEL_MIN", 0)
    n = 400_000
    for threads in (1, 2):
        w = Variable(np.full((n, 2), 1e-38, np.float32))
        optimizers.set_num_threads(threads)
        try:
            g = np.full((n, 2), 1e-38, np.float32)
            if kind == "sparse":
                g = IndexedSlices(g, np.arange(n), w.shape)
            optimizers.SGD(0.5).apply_gradients([(g, w)])
        finally:
            optimizers.set_num_threads(None)
        assert (w.numpy() == 0).all()
    assert np.float32(1e-38) * np.float32(0.5) == np.float32(5e-39)


def test_a_subnormal_float32_hyperparameter_is_zero_for_a_float64_variable():
    # TensorFlow holds hyperparameters in float32 and casts them with
    # subnormals read as zero: lr = 1e-45 moves nothing.
    w = Variable(np.ones(3))
    opt = optimizers.SGD(1e-45, momentum=0.9)
    opt.apply_gradients([(np.ones(3), w)])
    assert (w.numpy() == 1).all() and (opt.get_slot(w, "momentum").numpy() == 0).all()
    table = Variable(np.ones((3, 2)))
    with pytest.raises(ValueError, match="learning rate > 0"):
        optimizers.Ftrl(1e-45).apply_gradients(
            [(IndexedSlices(np.ones((1, 2)), np.array([1]), table.shape), table)])


def test_adamax_takes_a_subnormal_gradient_as_zero():
    w = Variable(np.zeros(2, np.float32))
    opt = optimizers.Adamax()
    opt.apply_gradients([(np.array([-1e-40, 1.0], np.float32), w)])
    assert opt.get_slot(w, "v").numpy()[0] == 0                 # max(0, |g|): g reads as 0


def test_clipping_reads_subnormals_as_zero():
    # clip_by_norm with a subnormal clip_norm and gradient: t * c / max(norm, c)
    # is 0 / 0 in TensorFlow, so the step makes a NaN there.
    w = Variable(np.ones(2, np.float32))
    opt = optimizers.SGD(0.1, clipnorm=1e-45)
    with np.errstate(all="ignore"):
        opt.apply_gradients([(np.array([-1e-42, 0.0], np.float32), w)])
    assert np.isnan(w.numpy()).all()
