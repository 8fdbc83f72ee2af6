"""RMSprop: config, slots, and which rows each sparse path touches."""
import numpy as np
import pytest

from optimizers import IndexedSlices, RMSprop, Variable, get


def test_config_slots_and_alias():
    opt = RMSprop(momentum=0.5, centered=True, epsilon=None)
    assert opt.epsilon == 1e-7
    assert list(opt.get_config()) == ["name", "learning_rate", "decay", "rho", "momentum",
                                      "epsilon", "centered"]
    a, b = Variable(np.ones(2), name="a"), Variable(np.ones(2), name="b")
    opt.apply_gradients([(np.ones(2), a), (np.ones(2), b)])
    assert [w.name for w in opt.weights] == ["RMSprop/iter", "RMSprop/a/rms", "RMSprop/b/rms", "RMSprop/a/momentum",
                                             "RMSprop/b/momentum", "RMSprop/a/mg", "RMSprop/b/mg"]
    assert isinstance(get("RMSProp"), RMSprop)
    with pytest.raises(ValueError, match=r"`momentum` must be between \[0, 1\]"):
        RMSprop(momentum=2.0)


@pytest.mark.parametrize("centered", [False, True])
def test_sparse_without_momentum_decays_rms_everywhere(dtype, centered):
    T = dtype.type
    init = np.random.default_rng(0).normal(size=(5, 2)).astype(dtype)
    w = Variable(init)
    opt = RMSprop(learning_rate=0.1, centered=centered)
    opt.apply_gradients([(np.ones_like(init), w)])
    rms, before = opt.get_slot(w, "rms").numpy(), w.numpy()
    opt.apply_gradients([(IndexedSlices(np.ones((1, 2), dtype), np.array([3]), (5, 2)), w)])
    rho = T(np.float32(0.9))
    untouched = [0, 1, 2, 4]
    np.testing.assert_array_equal(opt.get_slot(w, "rms").numpy()[untouched],
                                  rms[untouched] * rho)
    np.testing.assert_array_equal(w.numpy()[untouched], before[untouched])
    assert (w.numpy()[3] != before[3]).all()


@pytest.mark.parametrize("centered", [False, True])
def test_sparse_with_momentum_is_lazy(dtype, centered):
    init = np.ones((5, 2), dtype)
    w = Variable(init)
    opt = RMSprop(learning_rate=0.1, momentum=0.9, centered=centered)
    opt.apply_gradients([(IndexedSlices(np.ones((2, 2), dtype), np.array([3, 3]), (5, 2)), w)])
    for name in ["rms", "momentum"] + (["mg"] if centered else []):
        slot = opt.get_slot(w, name).numpy()
        assert (slot[[0, 1, 2, 4]] == 0).all() and (slot[3] != 0).all()
    T = dtype.type
    g = T(2)
    rms = (g * g) * (T(1) - T(np.float32(0.9)))
    den = rms + T(1e-7)
    if centered:
        mg = g * (T(1) - T(np.float32(0.9)))
        den = den - mg * mg
    mom = ((1 / np.sqrt(den)) * T(np.float32(0.1))) * g
    np.testing.assert_allclose(w.numpy()[3], T(1) - mom, rtol=1e-6)
