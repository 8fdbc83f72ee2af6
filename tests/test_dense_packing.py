"""Small dense variables of one step are updated packed together: the numbers
must be those of updating each variable on its own."""
import numpy as np
import pytest

import optimizers
import optimizers.base as base
from optimizers import _dense
from optimizers import Variable

SETTINGS = [
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("LazyAdam", {}), ("AdamW", {}),
    ("AdamW", {"weight_decay": 0.0}), ("Adamax", {}), ("Adagrad", {}),
    ("Adadelta", {"learning_rate": 1.0}), ("Nadam", {}), ("RMSprop", {}),
    ("RMSprop", {"centered": True}), ("RMSprop", {"momentum": 0.5}),
    ("RMSprop", {"momentum": 0.5, "centered": True}), ("Ftrl", {}),
    ("Ftrl", {"learning_rate_power": -0.7, "l1_regularization_strength": 0.01,
              "l2_shrinkage_regularization_strength": 0.1}),
    ("RowwiseAdagrad", {}),
]
# sizes around the packing limit and enough variables to fill several blocks
SHAPES = [(3,), (64,), (32, 32), (1025,), (5, 7), ()] * 4 + [(40, 30)] * 30


def train(name, config, dtype, pack_max):
    rng = np.random.default_rng(1)
    variables = [Variable(rng.normal(0, 1, s).astype(dtype)) for s in SHAPES]
    opt = optimizers.deserialize({"class_name": name, "config": dict(config)})
    limit, base.PACK_MAX_ELEMENTS = base.PACK_MAX_ELEMENTS, pack_max
    try:
        for _ in range(3):
            opt.apply_gradients([(rng.normal(0, 1, v.shape).astype(dtype), v)
                                 for v in variables])
    finally:
        base.PACK_MAX_ELEMENTS = limit
    return [v.numpy() for v in variables], opt.get_weights()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, config", SETTINGS, ids=str)
def test_packed_equals_one_by_one(name, config, dtype):
    packed, packed_weights = train(name, config, dtype, pack_max=4096)
    alone, alone_weights = train(name, config, dtype, pack_max=0)
    for a, b in zip(packed + packed_weights, alone + alone_weights):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


def test_builtins_with_an_elementwise_rule_pack():
    packs = {name: base._packs_dense(type(optimizers.get(name)))
             for name in ("sgd", "adam", "adamax", "adagrad", "adadelta", "nadam", "rmsprop",
                          "ftrl", "lazyadam", "adamw", "rowwiseadagrad")}
    assert not packs.pop("rowwiseadagrad")      # row-wise, not element-wise
    assert all(packs.values()), packs


def test_subclass_with_its_own_dense_update_is_called_per_variable():
    calls = []

    class Logged(optimizers.SGD):
        def _resource_apply_dense(self, grad, var, apply_state=None):
            calls.append(var.name)
            super()._resource_apply_dense(grad, var, apply_state)

    variables = [Variable(np.ones(4, np.float32), name=f"v{i}") for i in range(3)]
    Logged(0.5).apply_gradients([(np.ones(4, np.float32), v) for v in variables])
    assert calls == ["v0", "v1", "v2"]
    assert all((v.numpy() == 0.5).all() for v in variables)


def test_mixed_dtypes_constraints_and_float16_in_one_step():
    a = Variable(np.ones(4, np.float32))
    b = Variable(np.ones(4, np.float64))
    c = Variable(np.ones(4, np.float32), constraint=lambda x: np.clip(x, 0.8, 2))
    d = Variable(np.ones(4, np.float16))
    e = Variable(np.ones(4, np.float64))
    grads = [np.full(4, 1, t) for t in (np.float32, np.float64, np.float32, np.float16,
                                         np.float64)]
    optimizers.SGD(0.5).apply_gradients(list(zip(grads, [a, b, c, d, e])))
    for v, want in ((a, 0.5), (b, 0.5), (c, 0.8), (d, 0.5), (e, 0.5)):
        np.testing.assert_array_equal(v.numpy(), np.full(4, want, v.dtype))


def test_pack_and_unpack_copy_pieces_in_order():
    from optimizers._kernels.packing import pack, unpack
    pieces = [(np.arange(3.0), np.full(3, -1.0)), (np.arange(4.0) + 10, np.full(4, -2.0))]
    block = np.zeros(8)
    assert pack(pieces, 0, block) == 7
    np.testing.assert_array_equal(block, [0, 1, 2, 10, 11, 12, 13, 0])
    unpack(np.arange(7.0) * 2, pieces, 1)
    np.testing.assert_array_equal(pieces[0][1], [0, 2, 4])
    np.testing.assert_array_equal(pieces[1][1], [6, 8, 10, 12])


@pytest.mark.parametrize("fault", ["strided", "dtype", "swapped", "read-only", "list",
                                   "short block", "read-only block"])
def test_pack_and_unpack_refuse_what_memcpy_cannot_copy(fault):
    # The bad piece comes second: nothing at all is copied (the first piece neither).
    from optimizers._kernels.packing import pack, unpack
    first, piece, block = np.ones(2), np.ones(4), np.zeros(8)
    if fault == "strided":
        piece = np.ones(8)[::2]
    elif fault == "dtype":
        piece = np.ones(4, np.float32)
    elif fault == "swapped":
        piece = np.ones(4, ">f8")
    elif fault == "read-only":
        piece.flags.writeable = False
    elif fault == "list":
        piece = [1.0] * 4
    elif fault == "short block":
        block = np.zeros(5)
    else:
        block.flags.writeable = False
    if fault != "read-only":            # (pack only reads its pieces)
        with pytest.raises(ValueError):
            pack([(first,), (piece,)], 0, block)
        assert not block.any()
    if fault != "read-only block":      # (unpack only reads the block)
        with pytest.raises(ValueError):
            unpack(block, [(first,), (piece,)], 0)
        assert first.all()


@pytest.mark.parametrize("kind", ["memmap", "subclass"])
def test_bare_array_subclasses_as_variables_are_packed(kind, tmp_path):
    # A bare ndarray of a subclass (a memmap) is a variable like any other.
    class Sub(np.ndarray):
        pass

    def make(values):
        if kind == "memmap":
            out = np.memmap(tmp_path / f"v{len(list(tmp_path.iterdir()))}", dtype=np.float32,
                            mode="w+", shape=values.shape)
            out[...] = values
            return out
        return values.copy().view(Sub)

    rng = np.random.default_rng(0)
    values = [rng.normal(size=s).astype(np.float32) for s in [(8,), (3, 4), (5,)]]
    grads = [rng.normal(size=v.shape).astype(np.float32) for v in values]
    special = [make(v) for v in values]
    plain = [Variable(v.copy()) for v in values]
    for variables in (special, plain):
        opt = optimizers.Adam(0.1)
        for _ in range(2):
            opt.apply_gradients(list(zip(grads, variables)))
    for a, b in zip(special, plain):
        np.testing.assert_array_equal(np.asarray(a), b.numpy())


@pytest.mark.parametrize("l2, elements", [
    (0, 1 << 17),                                  # unknown: 512 KiB of float32
    (256 << 10, 1 << 15), (512 << 10, 1 << 16), (1 << 20, 1 << 17), (1280 << 10, 1 << 17),
    (2 << 20, 1 << 18), (32 << 20, 1 << 18),       # at most 2**18
    (64 << 10, 1 << 14), (1 << 10, 1 << 14),       # at least 2**14
])
def test_dense_block_is_half_the_l2_cache_in_float32(l2, elements):
    assert _dense.block_elements(l2) == elements


def test_l2_cache_size_from_sysfs(tmp_path):
    def cache(name, level, kind, size):
        d = tmp_path / name
        d.mkdir()
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")

    cache("index0", 1, "Data", "48K")
    cache("index1", 1, "Instruction", "32K")
    cache("index2", 2, "Unified", "1024K")
    cache("index3", 3, "Unified", "32768K")
    assert _dense.l2_cache_bytes(str(tmp_path)) == 1 << 20
    (tmp_path / "index2" / "size").write_text("2M\n")
    assert _dense.l2_cache_bytes(str(tmp_path)) == 2 << 20
    (tmp_path / "index2" / "size").write_text("garbage\n")
    assert _dense.l2_cache_bytes(str(tmp_path)) == 0
    assert _dense.l2_cache_bytes(str(tmp_path / "missing")) == 0
