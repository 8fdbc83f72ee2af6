"""Run under ``mpiexec -n 2``: `broadcast_optimizer_state` gives every rank the
loss scale and counter of a `LossScaleOptimizer` as well as its inner
optimizer's state, and an inf on one rank makes every rank skip the step
(the aggregator sums before the finiteness check).  Prints "OK" on rank 0
when every check passes on every rank.
"""
import numpy as np
from mpi4py import MPI

import optimizers
from optimizers import IndexedSlices, LossScaleOptimizer, Variable, distribute

comm = MPI.COMM_WORLD
rank = comm.Get_rank()
failures = []


def check(condition, what):
    if not condition:
        failures.append(f"rank {rank}: {what}")


def make():
    opt = LossScaleOptimizer(optimizers.Adam(0.05), initial_scale=64.0, dynamic_growth_steps=2)
    return opt, [Variable(np.zeros((6, 3), np.float32), name="table"),
                 Variable(np.zeros(3, np.float32), name="bias")]


opt, vs = make()
if rank == 0:           # only rank 0 has trained: scale 32, counter 1, slots
    for bad in (False, True, False):
        g = np.full(3, np.inf if bad else 1.0, np.float32)
        opt.apply_gradients([(IndexedSlices(np.ones((2, 3), np.float32), [1, 4], (6, 3)),
                              vs[0]), (g, vs[1])])
distribute.broadcast_variables(vs, comm=comm)
distribute.broadcast_optimizer_state(opt, comm=comm, var_list=vs)
check(opt.loss_scale == np.float32(32.0), f"loss scale {opt.loss_scale}")
check(int(opt.dynamic_counter) == 1, f"counter {int(opt.dynamic_counter)}")
check(int(opt.iterations) == 3, f"iterations {int(opt.iterations)}")
check(opt.get_slot_names() == ["m", "v"], "slots")

states = comm.allgather([np.asarray(w).tobytes() for w in opt.get_weights()])
check(states[0] == states[1], "weights differ after the broadcast")

opt.gradient_aggregator = distribute.MPIAllReduce(comm)
g = np.full(3, np.inf if rank == 1 else 1.0, np.float32)
before = vs[1].numpy()
opt.apply_gradients([(np.ones((6, 3), np.float32), vs[0]), (g, vs[1])])
check(opt.loss_scale == np.float32(16.0), f"not skipped: loss scale {opt.loss_scale}")
check((vs[1].numpy() == before).all(), "bias changed on a skipped step")
opt.apply_gradients([(np.ones((6, 3), np.float32), vs[0]), (np.ones(3, np.float32), vs[1])])
states = comm.allgather([np.asarray(w).tobytes() for w in opt.get_weights()]
                        + [v.numpy().tobytes() for v in vs])
check(states[0] == states[1], "replicas differ")

all_failures = comm.gather(failures, root=0)
if rank == 0:
    flat = [f for fs in all_failures for f in fs]
    print("OK" if not flat else "\n".join(flat))
