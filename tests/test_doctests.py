"""The examples in the docstrings run and give what they show."""
import doctest
import importlib
import pkgutil

import pytest

import optimizers

MODULES = sorted(name for _, name, _ in pkgutil.iter_modules(optimizers.__path__, "optimizers.")
                 if not name.startswith("optimizers._kernels"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_examples_exist():
    attempted = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES)
    assert attempted >= 20
