"""Train a matrix-factorisation recommender with sparse gradients.

Run ``optimizers-demo`` (or ``python -m optimizers.demo`` from outside the
source tree).  Without ``--ratings`` it makes a synthetic data set whose
users and items are Zipf-distributed, as in real catalogues; with
``--ratings FILE`` it reads MovieLens ``u.data`` (tab-separated
``user item rating timestamp``) or ``ratings.csv`` (``userId,movieId,rating,...``).

Each step draws a batch of ratings, computes the squared-error loss of
``dot(user_vec, item_vec) + user_bias + item_bias + mean`` and hands the
optimizer row-sparse gradients (`IndexedSlices` with repeated indices) for
the embedding tables, so only the touched rows are updated.
"""
import argparse
import os
import sys
import time

import numpy as np

from . import Checkpoint, CheckpointManager, IndexedSlices, Variable, get
from ._registry import _CLASSES

__all__ = ["main", "make_synthetic", "load_ratings", "MatrixFactorization"]


def make_synthetic(n_users, n_items, n_ratings, rank=8, zipf=1.1, noise=0.1, seed=0):
    """Synthetic ratings from a low-rank model, users and items Zipf-popular."""
    rng = np.random.default_rng(seed)
    user_f = rng.normal(0, 1 / np.sqrt(rank), (n_users, rank))
    item_f = rng.normal(0, 1 / np.sqrt(rank), (n_items, rank))
    users = _zipf_ids(rng, n_users, n_ratings, zipf)
    items = _zipf_ids(rng, n_items, n_ratings, zipf)
    ratings = np.einsum("ij,ij->i", user_f[users], item_f[items]) * 2 + 3
    ratings += rng.normal(0, noise, n_ratings)
    return users, items, ratings.astype(np.float32)


def _zipf_ids(rng, n, size, exponent):
    p = 1.0 / np.arange(1, n + 1) ** exponent
    ids = rng.choice(n, size=size, p=p / p.sum())
    return rng.permutation(n)[ids]          # popular ids spread over the table


def load_ratings(path):
    """Read MovieLens ``u.data`` or ``ratings.csv``; ids are re-numbered densely."""
    with open(path) as f:
        first = f.readline()
    csv = "," in first
    skip = 1 if csv and not first.split(",")[0].strip().isdigit() else 0
    data = np.loadtxt(path, delimiter="," if csv else None, skiprows=skip, usecols=(0, 1, 2))
    if data.ndim != 2 or len(data) == 0:
        raise ValueError(f"{path}: no ratings found (expected user, item, rating columns).")
    _, users = np.unique(data[:, 0].astype(np.int64), return_inverse=True)
    _, items = np.unique(data[:, 1].astype(np.int64), return_inverse=True)
    return users, items, data[:, 2].astype(np.float32)


class MatrixFactorization:
    """Biased matrix factorisation with embedding tables as `Variable` objects."""

    def __init__(self, n_users, n_items, dim, mean, seed=0):
        rng = np.random.default_rng(seed)
        self.user = Variable(rng.normal(0, 0.05, (n_users, dim)).astype(np.float32), name="user")
        self.item = Variable(rng.normal(0, 0.05, (n_items, dim)).astype(np.float32), name="item")
        self.user_bias = Variable(np.zeros(n_users, np.float32), name="user_bias")
        self.item_bias = Variable(np.zeros(n_items, np.float32), name="item_bias")
        self.mean = np.float32(mean)

    @property
    def variables(self):
        return [self.user, self.item, self.user_bias, self.item_bias]

    def predict(self, users, items):
        u, i = np.asarray(self.user)[users], np.asarray(self.item)[items]
        return (np.einsum("ij,ij->i", u, i) + np.asarray(self.user_bias)[users]
                + np.asarray(self.item_bias)[items] + self.mean)

    def loss_and_grads(self, users, items, ratings, l2=1e-4, global_batch=None):
        """Mean squared error and its row-sparse gradients (repeated ids kept).

        With data parallelism each rank passes its share of the batch and the
        size of the whole batch as ``global_batch``, so that the gradients
        summed over ranks are those of the whole batch.
        """
        u, i = np.asarray(self.user)[users], np.asarray(self.item)[items]
        err = self.predict(users, items) - ratings
        scale = np.float32(2.0 / (global_batch or len(ratings)))
        d = (err * scale).astype(np.float32)[:, None]
        l2 = np.float32(l2)
        grads = [
            IndexedSlices(d * i + l2 * u, users, self.user.shape),
            IndexedSlices(d * u + l2 * i, items, self.item.shape),
            IndexedSlices(d[:, 0], users, self.user_bias.shape),
            IndexedSlices(d[:, 0], items, self.item_bias.shape),
        ]
        return float(np.mean(err * err)), grads


def _progress(step, total, loss, rate, width=30):
    done = int(width * step / total)
    bar = "#" * done + "-" * (width - done)
    sys.stderr.write(f"\r[{bar}] {step}/{total}  loss {loss:.4f}  {rate:,.0f} steps/s ")
    sys.stderr.flush()


def train(users, items, ratings, optimizer, dim=32, batch_size=1024, steps=2000, seed=0,
          progress=True, comm=None, checkpoint_dir=None, checkpoint_every=100, resume=False):
    """Train on 90% of the ratings; return a dict of figures.

    With an MPI communicator ``comm``, every rank draws the same batches and
    takes a contiguous share of each; the optimizer sums the shares'
    gradients over the ranks (`optimizers.distribute.MPIAllReduce`), so the
    model follows the single-process run.

    With ``checkpoint_dir``, the model and the optimizer are saved every
    ``checkpoint_every`` steps (by rank 0) with a `CheckpointManager`; with
    ``resume`` too, training starts from the newest checkpoint there (every
    rank reads it).  Step ``k``'s batch depends only on ``seed`` and ``k``,
    so a resumed run ends with the same weights as an uninterrupted one.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ratings))
    n_test = max(1, len(ratings) // 10)
    test, train_idx = order[:n_test], order[n_test:]
    model = MatrixFactorization(users.max() + 1, items.max() + 1, dim,
                                ratings[train_idx].mean(), seed)
    opt = get(optimizer) if isinstance(optimizer, str) else optimizer
    rank, size = (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())
    if comm is not None:
        from .distribute import MPIAllReduce
        opt.gradient_aggregator = MPIAllReduce(comm)
    progress = progress and rank == 0
    first_test = float(np.mean((model.predict(users[test], items[test]) - ratings[test]) ** 2))
    manager, first_step = None, 1
    if checkpoint_dir is not None:
        ckpt = Checkpoint(optimizer=opt, user=model.user, item=model.item,
                          user_bias=model.user_bias, item_bias=model.item_bias)
        manager = CheckpointManager(ckpt, checkpoint_dir, max_to_keep=3)
        if resume and manager.latest_checkpoint is not None:
            manager.restore_or_initialize()
            first_step = int(opt.iterations) + 1
    opt_time, losses, start = 0.0, [], time.perf_counter()
    for step in range(first_step, steps + 1):
        step_rng = np.random.default_rng([seed, step])
        batch = train_idx[step_rng.integers(0, len(train_idx), batch_size)]
        share = np.array_split(batch, size)[rank]
        loss, grads = model.loss_and_grads(users[share], items[share], ratings[share],
                                           global_batch=batch_size)
        t0 = time.perf_counter()
        opt.apply_gradients(zip(grads, model.variables))
        opt_time += time.perf_counter() - t0
        if comm is not None:                       # the whole batch's mean loss
            loss = comm.allreduce(loss * len(share)) / batch_size
        losses.append(loss)
        if progress and (step % 50 == 0 or step == steps):
            _progress(step, steps, np.mean(losses[-50:]),
                      len(losses) / (time.perf_counter() - start))
        if manager is not None and rank == 0 and (step % checkpoint_every == 0
                                                  or step == steps):
            manager.save(checkpoint_number=step)
    if progress:
        sys.stderr.write("\n")
    test_mse = float(np.mean((model.predict(users[test], items[test]) - ratings[test]) ** 2))
    if not losses:                                 # resumed at the end: nothing left to run
        losses = [float("nan")]
    return {"optimizer": type(opt).__name__, "steps": len(losses), "batch_size": batch_size,
            "first_step": first_step,
            "first_loss": losses[0], "last_loss": float(np.mean(losses[-50:])),
            "test_mse_before": first_test, "test_mse_after": test_mse,
            "optimizer_ms_per_step": 1e3 * opt_time / steps,
            "wall_s": time.perf_counter() - start, "table_rows": int(model.user.shape[0]),
            "dim": dim, "ranks": size}


def _table(results):
    header = ("optimizer", "train loss (first -> last)", "held-out MSE (before -> after)",
              "optimizer ms/step", "steps/s", "ratings/s")
    rows = [(r["optimizer"], f"{r['first_loss']:.4f} -> {r['last_loss']:.4f}",
             f"{r['test_mse_before']:.4f} -> {r['test_mse_after']:.4f}",
             f"{r['optimizer_ms_per_step']:.3f}", f"{r['steps'] / r['wall_s']:,.0f}",
             f"{r['steps'] * r['batch_size'] / r['wall_s']:,.0f}") for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = [" | ".join(str(x).ljust(w) for x, w in zip(line, widths))
             for line in (header, *rows)]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="optimizers-demo",
        description="Train a matrix-factorisation recommender with sparse gradients.")
    parser.add_argument("--optimizer", default="lazyadam",
                        help="optimizer name, or several separated by commas "
                             f"(default: lazyadam; one of {', '.join(sorted(_CLASSES))})")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="learning rate (default: a value that suits the optimizer)")
    parser.add_argument("--ratings", default=None,
                        help="MovieLens u.data or ratings.csv; synthetic data if omitted")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--ratings-count", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--checkpoint", metavar="DIR", default=None,
                        help="save the model and optimizer state in DIR (one subfolder per "
                             "optimizer) every --checkpoint-every steps")
    parser.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                        help="steps between checkpoints (default: 100)")
    parser.add_argument("--resume", action="store_true",
                        help="start from the newest checkpoint in --checkpoint DIR")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over MPI: run as `mpiexec -n 2 optimizers-demo "
                             "--distributed` (needs the `mpi` extra)")
    args = parser.parse_args(argv)
    if args.resume and args.checkpoint is None:
        parser.error("--resume needs --checkpoint DIR")
    if args.checkpoint_every < 1:
        parser.error("--checkpoint-every must be at least 1")
    comm = None
    if args.distributed:
        from .distribute import _comm
        comm = _comm(None)
    say = print if comm is None or comm.Get_rank() == 0 else (lambda *a, **k: None)
    names = [n.strip().lower() for n in args.optimizer.split(",") if n.strip()]
    unknown = [n for n in names if n not in _CLASSES]
    if unknown or not names:
        parser.error(f"unknown optimizer {unknown}; choose from {', '.join(sorted(_CLASSES))}")
    if args.ratings:
        users, items, ratings = load_ratings(args.ratings)
    else:
        users, items, ratings = make_synthetic(args.users, args.items, args.ratings_count,
                                               seed=args.seed)
    say(f"{len(ratings):,} ratings, {users.max() + 1:,} users x {items.max() + 1:,} items, "
        f"dim {args.dim}, batch {args.batch_size}, {args.steps} steps"
        + (f", {comm.Get_size()} ranks" if comm is not None else ""))
    results = []
    for name in names:
        lr = args.learning_rate if args.learning_rate is not None else _DEFAULT_LR.get(name)
        config = {} if lr is None else {"learning_rate": lr}
        opt = get({"class_name": name, "config": config})
        say(f"{type(opt).__name__} {config}")
        directory = None if args.checkpoint is None else os.path.join(args.checkpoint, name)
        results.append(train(users, items, ratings, opt, args.dim, args.batch_size,
                             args.steps, args.seed, progress=not args.quiet, comm=comm,
                             checkpoint_dir=directory, checkpoint_every=args.checkpoint_every,
                             resume=args.resume))
    say(_table(results))
    return 0


# Learning rates that train this model well in a couple of thousand steps.
_DEFAULT_LR = {"sgd": 3.0, "adagrad": 0.5, "rowwiseadagrad": 0.5, "adam": 0.002,
               "lazyadam": 0.002, "adamw": 0.002, "adamax": 0.005, "nadam": 0.002,
               "rmsprop": 0.003, "adadelta": 20.0, "ftrl": 0.5}

if __name__ == "__main__":
    sys.exit(main())
