"""The machine's memory bandwidth, to read the other timings against.

A step that must read and write B bytes cannot take less than about
``B / bandwidth``; ``time_copy`` moves 2 x 256 MB (read + write).
"""
import numpy as np


class MemoryBandwidth:
    def setup(self):
        self.src = np.ones(64 * 2 ** 20, np.float32)      # 256 MB
        self.dst = np.ones_like(self.src)                 # pages touched outside the timing

    def time_copy(self):
        np.copyto(self.dst, self.src)

    def track_copy_gbytes_per_s(self):
        import timeit
        n = 5
        t = min(timeit.repeat(lambda: np.copyto(self.dst, self.src), number=1, repeat=n))
        return 2 * self.src.nbytes / t / 1e9

    track_copy_gbytes_per_s.unit = "GB/s"
