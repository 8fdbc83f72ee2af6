"""Keras-style optimizers (TensorFlow 2.4 semantics) for NumPy and SciPy.

Dense gradients are applied with NumPy; row-sparse gradients
(`IndexedSlices`, any ``scipy.sparse`` matrix) with compiled kernels whose
cost is that of the touched rows.
"""
from . import constraints, schedules
from ._registry import deserialize, get, register, serialize
from .base import Optimizer
from .checkpoint import Checkpoint, CheckpointError, CheckpointManager
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .lazy_adam import LazyAdam
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adamax import Adamax
from .rowwise_adagrad import RowwiseAdagrad
from .ftrl import Ftrl
from .nadam import Nadam
from .partial_rowwise_adam import PartialRowwiseAdam
from .rmsprop import RMSprop
from . import mixed_precision
from .mixed_precision import LossScaleOptimizer
from .sparse import IndexedSlices
from ._sysinfo import show_config
from .threads import get_num_threads, set_num_threads
from .variables import DType, Variable

__all__ = ["Optimizer", "SGD", "Adagrad", "RowwiseAdagrad", "Adadelta", "Adamax", "Adam",
           "LazyAdam", "AdamW", "RMSprop", "Ftrl", "Nadam", "PartialRowwiseAdam",
           "LossScaleOptimizer", "Variable", "DType", "IndexedSlices", "get", "serialize",
           "deserialize", "register", "schedules", "constraints", "mixed_precision",
           "get_num_threads", "set_num_threads", "show_config", "Checkpoint",
           "CheckpointManager",
           "CheckpointError"]

from ._version import __version__  # noqa: F401  (re-exported)
