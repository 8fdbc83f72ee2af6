"""What one `apply_gradients` call costs beyond its arithmetic.

The smallest steps a model makes, one thread: one row of a 1,000 x 8
table, one 8-element dense variable, four rows (one repeated) of LazyAdam,
and float16 against float32 for a 64-row rows-only step on a 1,000,000 x 16
table (it must cost the rows, not the table).
"""
import time

import numpy as np

import optimizers
from optimizers import IndexedSlices, Variable


class CallOverhead:
    """Steps so small that the time is the Python and checks around the kernel."""

    params = [["sgd-sparse-1row", "sgd-dense-8", "lazy_adam-sparse-4rows",
               "adam-dense-200vars"]]
    param_names = ["step"]

    def setup(self, step):
        optimizers.set_num_threads(1)
        rng = np.random.default_rng(0)
        if step == "sgd-sparse-1row":
            var = Variable(rng.normal(size=(1000, 8)).astype(np.float32))
            self.pairs = [(IndexedSlices(np.ones((1, 8), np.float32), np.array([3]),
                                         var.shape), var)]
            self.opt = optimizers.SGD(0.01)
        elif step == "sgd-dense-8":
            self.pairs = [(np.ones(8, np.float32), Variable(np.ones(8, np.float32)))]
            self.opt = optimizers.SGD(0.01)
        elif step == "lazy_adam-sparse-4rows":
            var = Variable(rng.normal(size=(1000, 8)).astype(np.float32))
            self.pairs = [(IndexedSlices(np.ones((4, 8), np.float32), np.array([3, 5, 3, 9]),
                                         var.shape), var)]
            self.opt = optimizers.LazyAdam()
        else:                                   # D2: 100 (64, 64) + 100 (64,) variables
            shapes = [(64, 64)] * 100 + [(64,)] * 100
            self.pairs = [(np.full(s, 0.01, np.float32), Variable(np.zeros(s, np.float32)))
                          for s in shapes]
            self.opt = optimizers.Adam()
        self.opt.apply_gradients(self.pairs)    # slots made outside the timing

    def teardown(self, step):
        optimizers.set_num_threads(None)

    def time_call(self, step):
        self.opt.apply_gradients(self.pairs)

    def track_call_in_loop(self, step):
        """Microseconds per call in a loop of calls (the best of 7 runs).

        asv times `time_call` one call at a time, each right after `setup`
        (a fresh optimizer, caches cold); a training loop makes call after
        call, which this measures."""
        n = 20 if step == "adam-dense-200vars" else 2000
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(n):
                self.opt.apply_gradients(self.pairs)
            best = min(best, time.perf_counter() - start)
        return round(best / n * 1e6, 2)

    track_call_in_loop.unit = "us"


class Float16RowsStep:
    """A 64-row LazyAdam step on a 1,000,000 x 16 table, float16 vs float32."""

    params = [["float32", "float16"]]
    param_names = ["dtype"]

    def setup(self, dtype):
        optimizers.set_num_threads(1)
        rng = np.random.default_rng(0)
        self.var = Variable(np.zeros((1_000_000, 16), dtype))
        indices = rng.integers(0, 1_000_000, 64)
        self.grad = IndexedSlices(np.ones((64, 16), dtype), indices, self.var.shape)
        self.opt = optimizers.LazyAdam()
        self.opt.apply_gradients([(self.grad, self.var)])

    def teardown(self, dtype):
        optimizers.set_num_threads(None)

    def time_step(self, dtype):
        self.opt.apply_gradients([(self.grad, self.var)])
