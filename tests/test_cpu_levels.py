"""The kernels give the same bits at every CPU level, and the level is chosen as documented.

On x86-64 the kernels are built for the baseline, ``x86-64-v3`` (AVX2) and
``x86-64-v4`` (AVX-512).  Each level this machine runs is loaded in a
subprocess (``OPTIMIZERS_CPU_LEVEL``), runs the same sparse, CSR and dense
steps of every optimizer (float32 and float64, duplicate indices, odd and
even row widths, steps large enough to be split over threads), and the
variables and slots must be equal bit for bit.

Run as a script (``python test_cpu_levels.py OUT.npz``) it writes those
results to ``OUT.npz`` and prints the level and the package file it used.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("Adagrad", {}),
    ("RowwiseAdagrad", {}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("LazyAdam", {}),
    ("AdamW", {}),
    ("Adamax", {}),
    ("Nadam", {}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7,
              "l1_regularization_strength": 0.001, "l2_regularization_strength": 0.01,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"momentum": 0.9, "centered": True}),
    ("PartialRowwiseAdam", {}),
]

# (rows, width, indices a step): widths around vector lengths (1, 3, 7, 8, 15,
# 16, 17, 33, 64, 100); the last two touch more than PARALLEL_MIN_ELEMENTS
# elements, so their steps run on several threads.
SHAPES = [(40, 1, 30), (40, 3, 30), (30, 7, 25), (30, 8, 25), (30, 15, 25), (30, 16, 25),
          (30, 17, 25), (20, 33, 20), (20, 64, 20), (12, 100, 16), (3000, 24, 2500),
          (1500, 65, 1200)]


def run_steps():
    """{name: array} after sparse (with repeats), CSR and dense steps of every case."""
    import scipy.sparse as sp

    import optimizers
    from optimizers import IndexedSlices

    optimizers.set_num_threads(3)
    out = {}
    for case, (cls, config) in enumerate(CASES):
        for dtype in (np.float32, np.float64):
            for rows, width, batch in SHAPES:
                rng = np.random.default_rng([case, rows, width])
                var = rng.normal(0.0, 0.5, (rows, width)).astype(dtype)
                opt = getattr(optimizers, cls)(**config)
                for _ in range(3):
                    idx = rng.integers(0, rows, batch)
                    idx[: batch // 4] = idx[batch // 4: 2 * (batch // 4)]   # repeats
                    values = rng.normal(0.0, 0.1, (batch, width)).astype(dtype)
                    opt.apply_gradients([(IndexedSlices(values, idx, var.shape), var)])
                dense = rng.normal(0.0, 0.1, (rows, width)).astype(dtype)
                dense[rng.random(rows) < 0.5] = 0
                opt.apply_gradients([(sp.csr_matrix(dense), var)])
                opt.apply_gradients([(dense, var)])
                key = f"{case}:{cls}:{np.dtype(dtype).name}:{rows}x{width}"
                out[key + ":var"] = var
                for i, w in enumerate(opt.get_weights()):
                    out[f"{key}:w{i}"] = np.asarray(w)
    return out


def _usable_levels():
    from optimizers import _kernels

    return [lv for lv in _kernels.BUILT_LEVELS if lv in _kernels.SUPPORTED_LEVELS]


def _run_at(level, out, tmp_path):
    env = dict(os.environ, OPTIMIZERS_CPU_LEVEL=level)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), str(out)], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_cpu_level_gives_the_same_bits(tmp_path):
    import optimizers

    levels = _usable_levels()
    results = {}
    for level in levels:
        out = tmp_path / f"{level}.npz"
        seen = _run_at(level, out, tmp_path)
        # The subprocess ran the package under test, at the level asked for.
        assert seen == {"level": level, "file": optimizers.__file__,
                        "kernel": seen["kernel"]}
        folder = os.path.basename(os.path.dirname(seen["kernel"]))
        assert folder == ("_kernels" if level == "baseline" else "_" + level.replace("-", "_"))
        with np.load(out) as f:
            results[level] = {k: f[k] for k in f.files}
    base = results[levels[0]]
    assert len(base) > 1000
    for level in levels[1:]:
        assert results[level].keys() == base.keys()
        differ = [k for k in base
                  if base[k].dtype != results[level][k].dtype
                  or base[k].tobytes() != results[level][k].tobytes()]
        assert not differ, f"{level} differs from {levels[0]} in {len(differ)}: {differ[:10]}"
    if len(levels) == 1:
        pytest.skip("this machine runs one CPU level only; nothing to compare")


def _import_error(level, cwd):
    # From a folder without the source tree: the installed package is imported.
    env = dict(os.environ, OPTIMIZERS_CPU_LEVEL=level)
    proc = subprocess.run([sys.executable, "-c", "import optimizers"], env=env, cwd=str(cwd),
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("value", ["x86-64-v5", "avx2", "BASELINE"])
def test_an_unknown_level_is_an_error_naming_the_variable_and_the_levels(value, tmp_path):
    code, err = _import_error(value, tmp_path)
    assert code != 0
    assert "RuntimeError" in err and "OPTIMIZERS_CPU_LEVEL" in err
    assert "auto, baseline, x86-64-v3, x86-64-v4" in err


def test_a_level_not_built_or_not_supported_is_an_error(monkeypatch):
    from optimizers import _kernels

    monkeypatch.setenv("OPTIMIZERS_CPU_LEVEL", "x86-64-v4")
    monkeypatch.setattr(_kernels, "BUILT_LEVELS", ("baseline",))
    with pytest.raises(RuntimeError, match="no kernels built for it"):
        _kernels._choose()
    monkeypatch.setattr(_kernels, "BUILT_LEVELS", _kernels.LEVELS)
    monkeypatch.setattr(_kernels, "SUPPORTED_LEVELS", ("baseline", "x86-64-v3"))
    with pytest.raises(RuntimeError, match="this CPU cannot run it"):
        _kernels._choose()
    monkeypatch.setenv("OPTIMIZERS_CPU_LEVEL", "auto")
    assert _kernels._choose() == ("x86-64-v3", False)


def test_the_default_is_the_highest_level_built_and_supported():
    from optimizers import _kernels
    from optimizers._kernels import adam

    if "OPTIMIZERS_CPU_LEVEL" not in os.environ:
        assert _kernels.CPU_LEVEL == _usable_levels()[-1]
        assert not _kernels.CPU_LEVEL_FORCED
    assert _kernels.SUPPORTED_LEVELS[0] == _kernels.BUILT_LEVELS[0] == "baseline"
    assert adam.__name__ == "optimizers._kernels.adam"
    if _kernels.CPU_LEVEL != "baseline":
        assert os.path.basename(os.path.dirname(adam.__file__)) != "_kernels"


def test_cpu_features_are_consistent():
    from optimizers._kernels import _cpu

    f = _cpu.features()
    supported = _cpu.supported_levels()
    if "x86-64-v4" in supported:
        assert f["avx512f"] and f["avx512vl"] and f["os_zmm"] and f["avx2"]
    if "x86-64-v3" in supported:
        assert f["avx2"] and f["fma"] and f["bmi2"] and f["os_ymm"]
    if not f:
        assert supported == ["baseline"]


def test_show_config(capsys):
    import numpy
    import scipy

    import optimizers

    info = optimizers.show_config(mode="dicts")
    assert capsys.readouterr().out == ""
    k = info["kernels"]
    assert k["cpu_level"] in k["levels_built"] and k["cpu_level"] in k["levels_supported"]
    assert k["threads"] == optimizers.get_num_threads()
    assert info["dependencies"] == {"numpy": numpy.__version__, "scipy": scipy.__version__}
    assert optimizers.show_config() is None
    text = capsys.readouterr().out
    assert f"CPU level in use: {k['cpu_level']}" in text
    assert "levels built: " + ", ".join(k["levels_built"]) in text
    assert "OpenMP: " + ("on" if k["openmp"] else "off") in text
    assert f"numpy: {numpy.__version__}" in text
    assert f"blocks of {info['dense']['block_elements']:,} elements" in text
    with pytest.raises(ValueError, match="mode"):
        optimizers.show_config(mode="json")


if __name__ == "__main__":
    import optimizers
    from optimizers import _kernels
    from optimizers._kernels import adam

    np.savez(sys.argv[1], **run_steps())
    print(json.dumps({"level": _kernels.CPU_LEVEL, "file": optimizers.__file__,
                      "kernel": adam.__file__}))
