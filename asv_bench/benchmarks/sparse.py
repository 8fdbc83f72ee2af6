"""Sparse steps: embedding tables (S1, S2) and a CSR gradient (C1)."""
import optimizers

from .common import (OPTIMIZERS, SPARSE_PARAMS, WORKLOADS, create_slots, csr_step,
                     make_optimizer, sparse_step, step_peak_mib)


class EmbeddingStep:
    """One ``apply_gradients`` of an IndexedSlices gradient with repeated rows."""

    params = (SPARSE_PARAMS, list(OPTIMIZERS))
    param_names = ["workload", "optimizer"]
    timeout = 300

    def setup(self, workload, optimizer):
        self.var, self.grad = sparse_step(WORKLOADS[workload])
        self.opt = make_optimizer(optimizer)
        create_slots(self.opt, [self.var])
        self.pairs = [(self.grad, self.var)]

    def time_step(self, workload, optimizer):
        self.opt.apply_gradients(self.pairs)

    def track_step_peak_mib(self, workload, optimizer):
        return step_peak_mib(self.opt, self.pairs)

    track_step_peak_mib.unit = "MiB"


class CSRStep:
    """One ``apply_gradients`` of a scipy CSR gradient (C1): a (2**20, 16) weight,
    a 512-example batch with 40 features each."""

    params = [list(OPTIMIZERS)]
    param_names = ["optimizer"]
    timeout = 300

    def setup(self, optimizer):
        self.var, self.grad = csr_step()
        self.opt = make_optimizer(optimizer)
        create_slots(self.opt, [self.var])
        self.pairs = [(self.grad, self.var)]

    def time_step(self, optimizer):
        self.opt.apply_gradients(self.pairs)

    def track_step_peak_mib(self, optimizer):
        return step_peak_mib(self.opt, self.pairs)

    track_step_peak_mib.unit = "MiB"


class Threads:
    """embedding-1Mx64-zipf16k (S1) rows-only steps with one and two threads
    (results are identical)."""

    params = (["sgd", "momentum", "adagrad", "lazy_adam", "ftrl"], [1, 2])
    param_names = ["optimizer", "threads"]
    timeout = 300

    def setup(self, optimizer, threads):
        self.var, self.grad = sparse_step("S1")
        self.opt = make_optimizer(optimizer)
        create_slots(self.opt, [self.var])
        self.pairs = [(self.grad, self.var)]
        optimizers.set_num_threads(threads)

    def teardown(self, optimizer, threads):
        optimizers.set_num_threads(None)

    def time_step(self, optimizer, threads):
        self.opt.apply_gradients(self.pairs)
