"""Checkpoints of a 1,000,000 x 64 float32 table with Adam's two slots (768 MB),
against np.save / np.load of the same three arrays (the budget: 2x)."""
import os
import shutil
import tempfile

import numpy as np

import optimizers
from optimizers import Checkpoint, Variable


class TableCheckpoint:
    timeout = 300
    number = 1
    repeat = 3
    warmup_time = 0

    def setup(self):
        self.dir = tempfile.mkdtemp()
        rng = np.random.default_rng(0)
        self.table = Variable(rng.random((1_000_000, 64), dtype=np.float32), name="table")
        self.opt = optimizers.Adam(0.01)
        self.opt.build([self.table])
        for slot in self.opt.weights[1:]:
            np.asarray(slot)[...] = rng.random(slot.shape, dtype=np.float32)
        self.ckpt = Checkpoint(optimizer=self.opt, table=self.table)
        self.path = self.ckpt.save(os.path.join(self.dir, "ckpt"))
        self.arrays = [np.asarray(self.table)] + [np.asarray(w) for w in self.opt.weights[1:]]
        self.npy = [os.path.join(self.dir, f"a{i}.npy") for i in range(len(self.arrays))]
        for name, arr in zip(self.npy, self.arrays):
            np.save(name, arr)

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_save(self):
        self.ckpt.save(self.path)

    def time_restore(self):
        self.ckpt.restore(self.path)

    def time_np_save(self):
        for name, arr in zip(self.npy, self.arrays):
            np.save(name, arr)

    def time_np_load(self):
        for name in self.npy:
            np.load(name)
