"""Dense steps: one large variable (D1) and many small ones (D2)."""
from .common import (DENSE_PARAMS, OPTIMIZERS, WORKLOADS, create_slots, dense_step,
                     make_optimizer, step_peak_mib)


class DenseStep:
    """One ``apply_gradients`` of dense NumPy gradients."""

    params = (DENSE_PARAMS, list(OPTIMIZERS))
    param_names = ["workload", "optimizer"]
    timeout = 300

    def setup(self, workload, optimizer):
        variables, grads = dense_step(WORKLOADS[workload])
        self.opt = make_optimizer(optimizer)
        create_slots(self.opt, variables)
        self.pairs = list(zip(grads, variables))

    def time_step(self, workload, optimizer):
        self.opt.apply_gradients(self.pairs)

    def track_step_peak_mib(self, workload, optimizer):
        return step_peak_mib(self.opt, self.pairs)

    track_step_peak_mib.unit = "MiB"
