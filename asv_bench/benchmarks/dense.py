"""Dense steps: one large variable (D1) and many small ones (D2)."""
from .common import OPTIMIZERS, create_slots, dense_step, make_optimizer


class DenseStep:
    """One ``apply_gradients`` of dense NumPy gradients."""

    params = (["D1", "D2"], list(OPTIMIZERS))
    param_names = ["workload", "optimizer"]
    timeout = 300

    def setup(self, workload, optimizer):
        variables, grads = dense_step(workload)
        self.opt = make_optimizer(optimizer)
        create_slots(self.opt, variables)
        self.pairs = list(zip(grads, variables))

    def time_step(self, workload, optimizer):
        self.opt.apply_gradients(self.pairs)

    def peakmem_step(self, workload, optimizer):
        self.opt.apply_gradients(self.pairs)
