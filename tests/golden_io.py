"""Read the golden fixtures of ``tests/golden/`` (see ``tools/make_tf_fixtures.py``).

Only NumPy and JSON: TensorFlow is needed to write the fixtures, not to read
them.
"""
import json
import os

import numpy as np

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
VARIABLES = ("table", "bias")
# Fixture files that are not one optimizer's (see ``tools/make_tf_fixtures.py``).
NOT_OPTIMIZERS = {"schedules.npz", "experimental_schedules.npz", "loss_scale_optimizer.npz",
                  "complex.npz"}


def available():
    """Lowercase optimizer names that have a fixture file."""
    if not os.path.isdir(GOLDEN):
        return []
    return sorted(f[:-4] for f in os.listdir(GOLDEN)
                  if f.endswith(".npz") and f not in NOT_OPTIMIZERS)


class Golden:
    """The fixtures of one optimizer."""

    def __init__(self, name):
        self.name = name
        self._data = np.load(os.path.join(GOLDEN, f"{name}.npz"))
        self.meta = json.loads(str(self._data["meta"]))
        self.class_name = self.meta["class_name"]
        self.steps = self.meta["steps"]
        self._keys = set(self._data.files)

    def cases(self):
        return list(self.meta["cases"])

    def config(self, case):
        """Constructor arguments of ``case`` (schedules as serialized dicts)."""
        return dict(self.meta["cases"][case]["kwargs"])

    def weight_names(self, case):
        return list(self.meta["cases"][case]["weight_names"])

    def runs(self, case):
        """``(kind, dtype)`` pairs stored for ``case``."""
        out = []
        for key in sorted(self._keys):
            parts = key.split("/")
            if len(parts) == 4 and parts[0] == case and parts[3] == "init_table":
                out.append((parts[1], parts[2]))
        return out

    def _get(self, case, kind, dtype, name):
        return self._data[f"{case}/{kind}/{dtype}/{name}"]

    def init(self, case, kind, dtype):
        return {v: self._get(case, kind, dtype, f"init_{v}") for v in VARIABLES}

    def gradients(self, case, kind, dtype, step):
        """Gradients of step ``step`` (1-based), per variable: an ndarray (dense),
        ``("sparse", values, indices)`` or ``("csr", dense_with_zero_rows)``."""
        out, prefix = {}, f"{case}/{kind}/{dtype}/g_"
        for v in VARIABLES:
            if prefix + v in self._keys:
                out[v] = self._data[prefix + v][step - 1]
            elif prefix + v + "_dense" in self._keys:
                out[v] = ("csr", self._data[prefix + v + "_dense"][step - 1])
            else:
                out[v] = ("sparse", self._data[prefix + v + "_values"][step - 1],
                          self._data[prefix + v + "_indices"][step - 1])
        return out

    def has_expected(self, case, kind, dtype, step):
        return f"{case}/{kind}/{dtype}/step{step:02d}_table" in self._keys

    def expected(self, case, kind, dtype, step):
        """TensorFlow's variables and ``get_weights()`` after ``step``."""
        out = {v: self._get(case, kind, dtype, f"step{step:02d}_{v}") for v in VARIABLES}
        weights, i = [], 0
        while f"{case}/{kind}/{dtype}/step{step:02d}_weights_{i}" in self._keys:
            weights.append(self._get(case, kind, dtype, f"step{step:02d}_weights_{i}"))
            i += 1
        out["weights"] = weights
        return out


def load(name):
    return Golden(name)
