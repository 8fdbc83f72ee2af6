"""Built-in optimizers register themselves; user subclasses do not."""
import pytest

import optimizers


@pytest.mark.parametrize("name, cls", [
    ("lazy_adam", optimizers.LazyAdam), ("LazyAdam", optimizers.LazyAdam),
    ("rowwise_adagrad", optimizers.RowwiseAdagrad), ("RMSProp", optimizers.RMSprop),
    ("partial_rowwise_adam", optimizers.PartialRowwiseAdam), ("adamw", optimizers.AdamW),
])
def test_names_and_module_names(name, cls):
    assert type(optimizers.get(name)) is cls


def test_every_exported_optimizer_is_registered():
    exported = [getattr(optimizers, n) for n in optimizers.__all__]
    classes = [c for c in exported if isinstance(c, type)
               and issubclass(c, optimizers.Optimizer) and c is not optimizers.Optimizer]
    assert len(classes) == 13
    for cls in classes:
        if cls is optimizers.LossScaleOptimizer:    # a wrapper: needs its inner optimizer
            assert optimizers._registry._CLASSES["lossscaleoptimizer"] is cls
            continue
        assert type(optimizers.get(cls.__name__.lower())) is cls


def test_user_subclass_needs_custom_objects():
    class Mine(optimizers.SGD):
        pass

    config = optimizers.serialize(Mine())
    with pytest.raises(ValueError, match="Unknown optimizer: Mine"):
        optimizers.deserialize(config)
    assert type(optimizers.deserialize(config, custom_objects={"Mine": Mine})) is Mine
