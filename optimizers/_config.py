"""Configs made of plain Python values.

`get_config` of every optimizer and schedule returns Python numbers, never
NumPy scalars, so ``json.dumps(serialize(opt))`` works and a config compares
equal to its round trip.  (A NumPy dtype given to a schedule is not kept:
Python numbers compute in float32, as TensorFlow's configs do.)
"""
import functools

import numpy as np

__all__ = ["plain", "returns_plain"]


def plain(value):
    """``value`` with NumPy scalars and 0-d arrays turned into Python numbers,
    recursively in dicts, lists and tuples."""
    if isinstance(value, np.generic) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    return value


def returns_plain(get_config):
    """Wrap a ``get_config`` so that what it returns is `plain`."""
    if getattr(get_config, "_returns_plain", False):
        return get_config

    @functools.wraps(get_config)
    def wrapper(self):
        return plain(get_config(self))

    wrapper._returns_plain = True
    return wrapper


def plain_configs_in_subclasses(cls, **kwargs):
    """``__init_subclass__`` body: every subclass's own `get_config` returns
    plain values, custom ones included."""
    if "get_config" in cls.__dict__:
        cls.get_config = returns_plain(cls.__dict__["get_config"])
