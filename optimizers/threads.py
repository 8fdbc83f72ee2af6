"""How many threads the sparse kernels use.

Kernels split their work by row: each row of a variable (and of its slots)
is updated by exactly one thread, in the same order as with one thread, so
results are bit-identical whatever the thread count.  The thread count is
therefore only a matter of speed, and the library picks it per call.

Policy
------
* Below `PARALLEL_MIN_ELEMENTS` elements touched a kernel runs on one thread:
  starting a team costs more than it saves there, and such calls are not timed.
* ``n``, the most threads a call may use, is `get_num_threads`: OpenMP's
  count read on every call (``OMP_NUM_THREADS`` when set, else the cores this
  process may run on; a limit set at run time with ``threadpoolctl`` or
  ``omp_set_num_threads`` applies), or the count given to `set_num_threads`.
* By default (adaptive) a call above the threshold runs on either 1 or ``n``
  threads, whichever has been faster for the same kernel (the optimizer's
  sparse update method) and the same size class (elements touched, rounded
  down to a power of two).  The engine times each such call
  (``perf_counter_ns`` before and after the kernel, see `timed`); a choice's
  estimate is the median of its last `SAMPLES` times per element, so one
  slow call (the process preempted) does not switch, two do.  At first each
  choice is timed `WARMUP_CALLS` times, alternately, unless the team is
  `SLOW_TEAM` times slower than one thread.  While one thread is the
  faster choice only one call in `ONE_THREAD_TIMING_EVERY` is timed.
* The slower choice is tried again now and then, on a time budget: each call
  on the faster choice adds `PROBE_FRACTION` of its estimated time to the
  budget, and a trial is made when the budget covers its estimated extra
  cost, which is then paid from the budget as measured.  So the time lost
  to trials is about `PROBE_FRACTION` of the kernel time, however slow the
  other choice is: a team slowed down by another process (on a busy core a
  static split waits for its slowest thread; steps 2x to 40x slower than
  one thread have been measured) costs little, and a team that becomes fast
  again (the other process ended) is found again.
* ``set_num_threads(n)`` runs every call above the threshold on exactly ``n``
  threads (an explicit choice is respected); ``set_num_threads(n,
  adaptive=True)`` picks between 1 and ``n`` as above.  ``None`` goes back to
  the default: adaptive, up to OpenMP's count.

The OpenMP runtime's wait policy is left as the user sets it
(``OMP_WAIT_POLICY``, ``GOMP_SPINCOUNT``): it is process-wide, shared with
every other OpenMP library in the process, and fixed when the runtime starts.

Builds without OpenMP always use one thread.
"""
import os
import threading
from time import perf_counter_ns

import numpy as np

from ._kernels.parallel import openmp_enabled, openmp_max_threads

__all__ = ["get_num_threads", "set_num_threads", "max_threads", "openmp_enabled", "threads_for",
           "is_adaptive"]

# Below this many elements touched, a step runs on one thread (measured:
# starting a parallel region costs a few microseconds, about as much as
# updating this many float32 elements).
PARALLEL_MIN_ELEMENTS = 1 << 15

# Time spent trying the choice that is currently slower, as a fraction of the
# time spent in the kernel with the faster one.
PROBE_FRACTION = 0.03

# Calls each choice is timed on before choosing; then a choice's estimate is
# the median of its last `SAMPLES` timings (one slow call, e.g. the process
# being preempted, does not switch the choice; two do).
WARMUP_CALLS = 3
SAMPLES = 3

# A team this many times slower than one thread ends the warm-up at once
# (a busy core makes it 10 to 100 times slower; twice is within the noise of
# a loaded machine).
SLOW_TEAM = 4.0

_num_threads = None
_adaptive = True
_caps = None

# While one thread is the faster choice, one call in this many is timed.
ONE_THREAD_TIMING_EVERY = 8

# (kernel, size class, n) -> [timings on 1 thread, timings on n threads
# (ns per element, the last SAMPLES of each), probe budget (ns), the faster
# choice (1 or n; 0 while warming up), how much faster it is and its time (ns
# per element), n, calls on one thread]
_estimates = {}


class _Pending(threading.local):
    # In this Python thread: None outside a timed update; inside one, the
    # kernel's name (a function) until `threads_for` chooses, then the choice
    # it made: (estimates, threads, elements, probe, start ns).
    call = None


_pending = _Pending()


def max_threads():
    """The most threads `set_num_threads` accepts: 4 per core, at least 64.

    More only costs (each thread needs a stack, and creating tens of
    thousands fails and kills the process inside the OpenMP runtime).
    """
    return _limits()[1]


def _limits():
    # (default cap, max_threads()), read once: the cores this process may run
    # on (unless OMP_NUM_THREADS is set: OpenMP reads it once, at start) and
    # the core count (os.cpu_count reads a file each time: ~10 us).
    global _caps
    if _caps is None:
        most = max(64, 4 * (os.cpu_count() or 1))
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        _caps = (most if "OMP_NUM_THREADS" in os.environ else min(cores, most), most)
    return _caps


def _default_threads():
    # OpenMP's count is read on every call, so that limits set at run time
    # (threadpoolctl's threadpool_limits, omp_set_num_threads) apply.
    n = openmp_max_threads()             # 1 without OpenMP
    cap = (_caps or _limits())[0]
    return n if 1 <= n <= cap else (cap if n > cap else 1)


def get_num_threads():
    """Most threads a kernel call may use."""
    return _default_threads() if _num_threads is None else _num_threads


def is_adaptive():
    """Whether each call above the threshold picks 1 or `get_num_threads`
    threads from measured times (see the module's docstring)."""
    return _adaptive


def set_num_threads(n, adaptive=None):
    """Set the number of threads the kernels may use (``None``: the default).

    With a count, every call large enough to be split runs on exactly ``n``
    threads, unless ``adaptive=True``: then each call runs on 1 or ``n``
    threads, whichever has been measured faster.  ``None`` goes back to
    OpenMP's count, adaptive unless ``adaptive=False``.

    Raises `ValueError` unless ``n`` is None or an integer in
    ``[1, max_threads()]``, or when ``adaptive`` is not None or a bool.
    """
    global _num_threads, _adaptive
    if adaptive is not None and not isinstance(adaptive, (bool, np.bool_)):
        raise ValueError(f"`adaptive` must be None, True or False; received {adaptive!r}.")
    if n is None:
        _num_threads = None
        _adaptive = True if adaptive is None else bool(adaptive)
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer or None; received {n!r}.")
    if n > max_threads():
        raise ValueError(
            f"`n` must be at most {max_threads()} on this machine; received {n}.")
    n = int(n)
    _num_threads = n if openmp_enabled() else 1
    _adaptive = bool(adaptive)


def threads_for(n_elements):
    """Threads to use for a kernel call that touches ``n_elements`` elements.

    Called just before the kernel call.  Adaptive choices are made only for
    calls the library times (inside `timed` or `kernel_timer`); others use
    `get_num_threads` threads above the threshold.
    """
    if n_elements < PARALLEL_MIN_ELEMENTS:
        return 1
    n = get_num_threads()
    if n == 1 or not _adaptive:
        return n
    local = _pending
    kernel = local.call
    if kernel is None or kernel.__class__ is tuple:      # not timed
        return n
    key = (kernel, int(n_elements).bit_length(), n)
    est = _estimates.get(key)
    if est is None:
        est = _estimates[key] = [[], [], 0.0, 0, 0.0, n, 0.0, 0]
    best = est[3]
    if not best:                         # warming up: alternate, one thread first
        choice, probe = (1 if len(est[0]) <= len(est[1]) else n), False
    elif est[2] >= est[4] * n_elements:  # the budget pays for trying the other
        choice, probe = (n if best == 1 else 1), True
    else:
        est[2] += PROBE_FRACTION * est[6] * n_elements
        if best == 1:
            # One thread does not depend on the other cores: timing one
            # call in ONE_THREAD_TIMING_EVERY is enough.
            est[7] += 1
            if est[7] % ONE_THREAD_TIMING_EVERY:
                return 1
        choice, probe = best, False
    local.call = (est, choice, n_elements, probe, perf_counter_ns())
    return choice


def _median(samples):
    return sorted(samples)[len(samples) // 2]


def timed(update, *args):
    """``update(*args)``, timing the kernel call inside it that `threads_for`
    chose threads for: the engine runs each sparse update (``update``, a
    bound method, is its kernel's name in the estimates) through it."""
    with kernel_timer(update.__func__):
        update(*args)


class kernel_timer:
    """``with kernel_timer(kernel): kernel(..., threads_for(n))``: times the
    kernel call that `threads_for` chose threads for (``kernel`` names its
    estimates); nothing is recorded if the block raises."""

    def __init__(self, kernel):
        self.kernel = kernel

    def __enter__(self):
        _pending.call = self.kernel

    def __exit__(self, exc_type, exc, tb):
        call, _pending.call = _pending.call, None
        if exc_type is None and call.__class__ is tuple:
            end = perf_counter_ns()
            est, threads, n_elements, probe, start = call
            _record(est, threads, end - start, n_elements, probe)


def _record(est, threads, ns, n_elements, probe):
    """Fold one call's time (``ns`` for ``n_elements`` elements on
    ``threads`` threads) into its kernel's estimates ``est``."""
    team = threads != 1
    samples, others = (est[1], est[0]) if team else (est[0], est[1])
    samples.append(ns / n_elements)
    if len(samples) > SAMPLES:
        del samples[0]
    # While warming up nothing is decided, unless the team is `SLOW_TEAM`
    # times slower: it is not tried again (on a busy machine each try can
    # cost 10 to 100 one-thread calls).
    if ((len(others) < WARMUP_CALLS or len(samples) < WARMUP_CALLS)
            and not (team and others and samples[-1] > SLOW_TEAM * min(others))):
        return
    mine, theirs = _median(samples), _median(others)
    if probe:
        # Paid from the budget: what the probe cost beyond the other choice.
        est[2] -= max(0.0, ns - theirs * n_elements)
    if mine <= theirs:
        est[3], est[4], est[6] = threads, theirs - mine, mine
    else:
        est[3], est[4], est[6] = (1 if team else est[5]), mine - theirs, theirs


def reset_estimates():
    """Forget every measured time (each kernel starts measuring again)."""
    _estimates.clear()
