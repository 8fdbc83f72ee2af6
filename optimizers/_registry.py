"""`get`, `serialize` and `deserialize` for optimizers (Keras' lookup rules)."""
import inspect

__all__ = ["register", "get", "serialize", "deserialize"]

_CLASSES = {}


def register(cls, *aliases):
    """Make ``cls`` known to `deserialize` by its lowercase name and aliases."""
    for name in (cls.__name__,) + aliases:
        _CLASSES[name.lower()] = cls
    return cls


def serialize(optimizer):
    """Return ``{"class_name": ..., "config": optimizer.get_config()}``."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """Create an optimizer from a `serialize` dict.

    ``class_name`` is looked up in ``custom_objects`` first, then among the
    built-in optimizers, case-insensitively.
    """
    if not isinstance(config, dict) or "class_name" not in config or "config" not in config:
        raise ValueError(f"Improper config format: {config!r}")
    class_name = config["class_name"]
    custom_objects = dict(custom_objects or {})
    cls = custom_objects.get(class_name)
    if cls is None:
        cls = _CLASSES.get(str(class_name).lower())
    if cls is None:
        raise ValueError(
            f"Unknown optimizer: {class_name}. Known optimizers: {sorted(_CLASSES)}; pass "
            "others through `custom_objects`.")
    params = inspect.signature(cls.from_config).parameters
    if "custom_objects" in params:
        return cls.from_config(dict(config["config"]), custom_objects=custom_objects)
    return cls.from_config(dict(config["config"]))


def get(identifier):
    """Return an optimizer from an instance, a name (``"adam"``) or a config dict."""
    from .base import Optimizer
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
