"""The thread-count policy (`optimizers.threads`).

Decisions are checked with injected timings: a fake clock and a fake kernel
whose time depends on the thread count it is given; nothing here asserts on
wall-clock time.
"""
import numpy as np
import pytest

import optimizers
from optimizers import IndexedSlices, Variable, threads
from optimizers.threads import PARALLEL_MIN_ELEMENTS, threads_for

N = 1 << 16                      # elements a fake call touches (above the threshold)


@pytest.fixture
def policy(monkeypatch):
    """A fake clock, a team of 4 threads (whatever the build), fresh estimates."""
    clock = [0]
    monkeypatch.setattr(threads, "perf_counter_ns", lambda: clock[0])
    monkeypatch.setattr(threads, "_num_threads", 4)
    monkeypatch.setattr(threads, "_adaptive", True)
    monkeypatch.setattr(threads, "_estimates", {})
    return clock


class FakeOptimizer:
    """A sparse update whose kernel takes ``cost[threads]`` ns per element."""

    def __init__(self, clock, cost):
        self.clock, self.cost, self.choices = clock, cost, []

    def _sparse_rows(self, n_elements):
        k = threads_for(n_elements)
        self.choices.append(k)
        self.clock[0] += int(self.cost[k] * n_elements)

    def step(self, calls, n_elements=N):
        start = len(self.choices)
        for _ in range(calls):
            threads.timed(self._sparse_rows, n_elements)
        return self.choices[start:]

    def time_of(self, choices):
        return sum(self.cost[k] * N for k in choices)


def test_warm_up_alternates_starting_with_one_thread(policy):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 0.5})
    assert opt.step(2 * threads.WARMUP_CALLS) == [1, 4] * threads.WARMUP_CALLS


def test_a_fast_team_is_used_and_one_thread_is_rarely_tried(policy):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 0.4})
    opt.step(2 * threads.WARMUP_CALLS)
    choices = opt.step(2000)
    assert choices.count(4) > 0.95 * len(choices)
    assert 1 in choices                                   # still re-checked
    best = opt.cost[4] * N * len(choices)
    assert opt.time_of(choices) <= best * (1 + 2 * threads.PROBE_FRACTION)


def test_a_slow_team_costs_at_most_the_probe_fraction(policy):
    # A team 40 times slower than one thread (another process holds a core).
    opt = FakeOptimizer(policy, {1: 1.0, 4: 40.0})
    opt.step(2 * threads.WARMUP_CALLS)
    choices = opt.step(5000)
    assert choices.count(4) >= 1                          # still re-checked
    best = opt.cost[1] * N * len(choices)
    assert opt.time_of(choices) <= best * (1 + 2 * threads.PROBE_FRACTION)


def test_one_slow_call_does_not_switch_two_do(policy):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 0.4})
    opt.step(50)
    opt.cost[4] = 40.0                                    # one call preempted
    assert opt.step(1) == [4]
    opt.cost[4] = 0.4
    assert opt.step(3) == [4, 4, 4]
    opt.cost[4] = 40.0                                    # the other core gets busy
    assert opt.step(3) == [4, 4, 1]


def test_the_team_is_found_again_when_the_core_is_free(policy):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 0.4})
    opt.step(50)
    opt.cost[4] = 40.0                                    # busy for a while
    opt.step(3000)
    assert opt.step(20).count(1) >= 19
    opt.cost[4] = 0.4                                     # free again
    choices = opt.step(20000)
    first = choices.index(4)
    assert choices[first:first + 2] == [4, 4]             # two probes switch back
    assert choices[-100:].count(4) >= 95


def test_kernels_and_sizes_are_estimated_apart(policy):
    fast_team = FakeOptimizer(policy, {1: 1.0, 4: 0.4})
    slow_team = FakeOptimizer(policy, {1: 1.0, 4: 3.0})

    class Other(FakeOptimizer):                           # another kernel
        def _sparse_rows(self, n_elements):
            FakeOptimizer._sparse_rows(self, n_elements)

    other = Other(policy, {1: 1.0, 4: 3.0})
    for _ in range(100):
        fast_team.step(1)
        other.step(1)
        slow_team.step(1, n_elements=8 * N)              # another size class
    assert fast_team.choices[-20:].count(4) >= 18
    assert other.choices[-20:].count(1) >= 18
    assert slow_team.choices[-20:].count(1) >= 18


def test_small_untimed_and_explicit_calls(policy, monkeypatch):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 40.0})
    assert opt.step(5, n_elements=PARALLEL_MIN_ELEMENTS - 1) == [1] * 5
    assert threads._estimates == {}                       # small calls are not timed
    opt.step(100)
    assert threads_for(N) == 4                            # outside `timed`: all threads
    monkeypatch.setattr(threads, "_adaptive", False)      # set_num_threads(4)
    assert opt.step(3) == [4, 4, 4]
    monkeypatch.setattr(threads, "_num_threads", 1)
    assert opt.step(3) == [1, 1, 1]


def test_an_error_in_the_update_leaves_nothing_pending(policy):
    class Failing(FakeOptimizer):
        def _sparse_rows(self, n_elements):
            threads_for(n_elements)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        threads.timed(Failing(policy, {})._sparse_rows, N)
    assert threads._pending.call is None
    assert threads_for(N) == 4                            # not timed: all threads


def test_set_num_threads_modes():
    try:
        optimizers.set_num_threads(None)
        assert threads.is_adaptive()
        optimizers.set_num_threads(2)
        assert not threads.is_adaptive()
        assert optimizers.get_num_threads() == (2 if threads.openmp_enabled() else 1)
        optimizers.set_num_threads(2, adaptive=True)
        assert threads.is_adaptive()
        optimizers.set_num_threads(None, adaptive=False)
        assert not threads.is_adaptive()
        for bad in ("yes", 1, 0.5):
            with pytest.raises(ValueError, match="adaptive"):
                optimizers.set_num_threads(None, adaptive=bad)
        assert not threads.is_adaptive()                  # unchanged by the refusal
    finally:
        optimizers.set_num_threads(None)


def test_threadpoolctl_limits_still_apply():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not threads.openmp_enabled():
        pytest.skip("built without OpenMP")
    optimizers.set_num_threads(None)
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert optimizers.get_num_threads() == 1
        assert threads_for(1 << 20) == 1


@pytest.mark.parametrize("name", ["SGD", "Adagrad", "LazyAdam", "Ftrl", "Adam"])
def test_adaptive_steps_give_the_bits_of_one_thread(name, monkeypatch):
    # The fake clock makes every call as slow as the one before plus a random
    # amount, so the policy's choices vary from call to call.
    rng = np.random.default_rng(0)
    monkeypatch.setattr(threads, "perf_counter_ns",
                        lambda: int(rng.integers(0, 1 << 40)))
    monkeypatch.setattr(threads, "_estimates", {})
    var = rng.normal(size=(8192, 16)).astype(np.float32)
    indices = rng.integers(0, 8192, (30, 6000))
    values = rng.normal(size=(30, 6000, 16)).astype(np.float32)
    results = []
    try:
        for setting in ((1, None), (None, None)):
            optimizers.set_num_threads(*setting)
            w = Variable(var)
            opt = getattr(optimizers, name)()
            for i in range(30):
                opt.apply_gradients([(IndexedSlices(values[i], indices[i], var.shape), w)])
            results.append([w.numpy()] + [s.numpy() for s in opt.weights[1:]])
    finally:
        optimizers.set_num_threads(None)
    for a, b in zip(*results):
        assert a.tobytes() == b.tobytes()


def test_the_engine_times_large_sparse_steps_only(monkeypatch):
    if not threads.openmp_enabled():
        pytest.skip("built without OpenMP")
    monkeypatch.setattr(threads, "_estimates", {})
    monkeypatch.setattr(threads, "_num_threads", 2)
    monkeypatch.setattr(threads, "_adaptive", True)
    opt = optimizers.Adagrad()
    small = Variable(np.zeros((100, 8), np.float32))
    opt.apply_gradients([(IndexedSlices(np.ones((5, 8), np.float32), [1, 2, 3, 4, 5],
                                        small.shape), small)])
    assert threads._estimates == {}
    big = Variable(np.zeros((1 << 14, 8), np.float32))
    rows = np.arange(0, 1 << 14, 2)
    grad = IndexedSlices(np.ones((len(rows), 8), np.float32), rows, big.shape)
    for _ in range(4):
        opt.apply_gradients([(grad, big)])
    (kernel, size_class, n), = threads._estimates
    assert kernel is type(opt)._sparse_rows and n == 2
    assert size_class == (len(rows) * 8).bit_length()
    one, team = threads._estimates[kernel, size_class, n][:2]
    assert one and team                                   # both choices were timed


def test_a_very_slow_team_ends_the_warm_up(policy):
    opt = FakeOptimizer(policy, {1: 1.0, 4: 40.0})
    assert opt.step(10) == [1, 4] + [1] * 8
