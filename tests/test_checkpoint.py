"""Checkpoint and CheckpointManager: resumed runs are bit-identical, saves are
atomic, restores are all or nothing."""
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

import optimizers
from hostile import OPTIMIZERS, gradient, snapshot, variables
from optimizers import Checkpoint, CheckpointError, CheckpointManager, Variable, schedules
from optimizers.checkpoint import wait_for_deletions

RESUME_OPTIMIZERS = dict(OPTIMIZERS)
RESUME_OPTIMIZERS.update({
    "adam-schedule": lambda: optimizers.Adam(schedules.ExponentialDecay(0.05, 3, 0.7)),
    "sgd-decay": lambda: optimizers.SGD(0.1, momentum=0.9, decay=0.05),
    "rmsprop-cosine": lambda: optimizers.RMSprop(schedules.CosineDecayRestarts(0.01, 4)),
    "ftrl-decay": lambda: optimizers.Ftrl(0.1, decay=0.1, l2_shrinkage_regularization_strength=0.01),
})
STEPS, SAVE_AT = 7, 3


def _step(opt, vs, kind, step):
    opt.apply_gradients([(gradient(kind, v, seed=100 + 10 * step + i), v)
                         for i, v in enumerate(vs)])


def _comparable(state):
    return {k: v for k, v in state.items() if k != "hyper"}


@pytest.mark.parametrize("kind, dtype", [(k, d) for k in ("dense", "indexed", "csr")
                                         for d in (np.float32, np.float64, np.float16)
                                         if (k, d) != ("csr", np.float16)])   # no float16 CSR
@pytest.mark.parametrize("name", RESUME_OPTIMIZERS)
def test_resumed_run_is_bit_identical(tmp_path, name, kind, dtype):
    make = RESUME_OPTIMIZERS[name]
    opt, vs = make(), variables(dtype)
    path = tmp_path / "ckpt"
    for step in range(STEPS):
        if step == SAVE_AT:
            Checkpoint(optimizer=opt, table=vs[0], bias=vs[1]).save(path)
        _step(opt, vs, kind, step)
    expected = snapshot(opt, vs)

    resumed, fresh = make(), variables(dtype, seed=99)
    status = Checkpoint(optimizer=resumed, table=fresh[0], bias=fresh[1]).restore(path)
    status.assert_consumed()
    assert int(resumed.iterations) == SAVE_AT
    for step in range(SAVE_AT, STEPS):
        _step(resumed, fresh, kind, step)
    assert _comparable(snapshot(resumed, fresh)) == _comparable(expected)


def test_checkpoint_file_is_an_npz_with_a_manifest(tmp_path):
    opt, vs = optimizers.Adam(0.1), variables()
    _step(opt, vs, "dense", 0)
    path = Checkpoint(optimizer=opt, layers=vs).save(tmp_path / "c")
    assert path == str(tmp_path / "c")
    with np.load(path) as data:
        names = set(data.files)
        assert np.array_equal(data["variables/layers/0"], vs[0].numpy())
        assert int(data["optimizer/weights/iter"]) == 1
    assert {"optimizer/slots/layers/1/m", "optimizer/slots/layers/1/v",
            "optimizer/hyper/learning_rate"} <= names


def test_restore_sets_numeric_hyperparameters_back(tmp_path):
    opt, vs = optimizers.SGD(0.1, momentum=0.5), variables()
    _step(opt, vs, "dense", 0)
    path = Checkpoint(optimizer=opt, w=vs[0]).save(tmp_path / "c")
    opt.learning_rate = 0.7
    Checkpoint(optimizer=opt, w=vs[0]).restore(path)
    assert float(opt.learning_rate) == np.float32(0.1)
    scheduled = optimizers.SGD(schedules.ExponentialDecay(0.1, 2, 0.5), momentum=0.5)
    Checkpoint(optimizer=scheduled, w=vs[0]).restore(path)   # a schedule stays a schedule
    assert isinstance(scheduled.learning_rate, schedules.ExponentialDecay)


# ---------------------------------------------------------------------- #
# Mismatches and corruption: an error, and nothing changes
def _trained_checkpoint(tmp_path, name="adam"):
    opt, vs = OPTIMIZERS[name](), variables()
    _step(opt, vs, "indexed", 0)
    _step(opt, vs, "indexed", 1)
    return Checkpoint(optimizer=opt, table=vs[0], bias=vs[1]).save(tmp_path / "good")


def _target(fresh_optimizer=True, **named):
    opt = OPTIMIZERS["adam"]()
    vs = variables(seed=5)
    if not fresh_optimizer:
        _step(opt, vs, "dense", 7)
    return opt, vs


MISMATCHES = {
    "missing-variable": lambda vs: dict(table=vs[0]),
    "extra-variable": lambda vs: dict(table=vs[0], bias=vs[1],
                                      other=Variable(np.zeros(3, np.float32))),
    "renamed": lambda vs: dict(table=vs[0], biases=vs[1]),
    "shape": lambda vs: dict(table=vs[0], bias=Variable(np.zeros((8, 5), np.float32))),
    "dtype": lambda vs: dict(table=vs[0], bias=Variable(np.zeros((8, 4), np.float64))),
}


@pytest.mark.parametrize("stepped", [False, True], ids=["fresh", "stepped"])
@pytest.mark.parametrize("case", MISMATCHES)
def test_mismatched_checkpoint_is_refused_and_changes_nothing(tmp_path, case, stepped):
    path = _trained_checkpoint(tmp_path)
    opt, vs = _target(fresh_optimizer=not stepped)
    named = MISMATCHES[case](vs)
    tracked = list(named.values())
    before = snapshot(opt, tracked)
    with pytest.raises(CheckpointError, match="does not match"):
        Checkpoint(optimizer=opt, **named).restore(path)
    assert snapshot(opt, tracked) == before


def test_wrong_optimizer_is_refused(tmp_path):
    path = _trained_checkpoint(tmp_path)
    opt, vs = optimizers.Adagrad(), variables()
    before = snapshot(opt, vs)
    with pytest.raises(CheckpointError, match="accumulator"):
        Checkpoint(optimizer=opt, table=vs[0], bias=vs[1]).restore(path)
    assert snapshot(opt, vs) == before


def _corrupt_data(path):
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("optimizer/slots/table/m.npy")
    with open(path, "r+b") as f:
        f.seek(info.header_offset + 30 + len(info.filename) + len(info.extra) + 200)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


def _garbage(path):
    with open(path, "wb") as f:
        f.write(b"not a checkpoint" * 100)


def _rewrite_manifest(change):
    def corrupt(path):
        with zipfile.ZipFile(path) as zf:
            members = {n: zf.read(n) for n in zf.namelist()}
        import json
        manifest = json.loads(members["manifest.json"])
        change(manifest)
        members["manifest.json"] = json.dumps(manifest).encode()
        with zipfile.ZipFile(path, "w") as zf:
            for n, data in members.items():
                zf.writestr(n, data)
    return corrupt


def _replace_member(path, member="optimizer/weights/iter.npy"):
    import io
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    buffer = io.BytesIO()
    np.save(buffer, np.float64(1.0))                  # the manifest says int64
    members[member] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


def _drop_member(path):
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if not n.endswith("table/v.npy")}
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)


CORRUPTIONS = {
    "flipped-byte": (_corrupt_data, "corrupted|CRC"),
    "truncated": (_truncate, "Cannot read"),
    "garbage": (_garbage, "Cannot read"),
    "empty": (lambda p: open(p, "wb").close(), "Cannot read"),
    "future-version": (_rewrite_manifest(lambda m: m.update(version=99)), "version"),
    "other-format": (_rewrite_manifest(lambda m: m.update(format="x")), "not a checkpoint"),
    "manifest-shape": (_rewrite_manifest(lambda m: m["arrays"][1].update(shape=[9, 4])),
                       "does not match"),
    "member-differs-from-manifest": (_replace_member, "holds"),
    "member-missing": (_drop_member, "unreadable"),
}


@pytest.mark.parametrize("case", CORRUPTIONS)
def test_corrupted_checkpoint_is_refused_and_changes_nothing(tmp_path, case):
    path = _trained_checkpoint(tmp_path)
    corrupt, words = CORRUPTIONS[case]
    corrupt(path)
    opt, vs = _target()
    before = snapshot(opt, vs)
    with pytest.raises(CheckpointError, match=words):
        Checkpoint(optimizer=opt, table=vs[0], bias=vs[1]).restore(path)
    assert snapshot(opt, vs) == before


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="Cannot read"):
        Checkpoint(w=variables()[0]).restore(tmp_path / "nothing")


@pytest.mark.parametrize("bad", [dict(optimizer="adam"), dict(w=[1.0, 2.0]),
                                 dict(w=np.zeros(3, np.int32)), {"a/b": np.zeros(2)}])
def test_bad_checkpoint_arguments(bad):
    with pytest.raises((TypeError, ValueError)):
        Checkpoint(**bad)


def test_same_variable_twice_is_refused():
    v = variables()[0]
    with pytest.raises(ValueError, match="same variable"):
        Checkpoint(a=v, b=[v])


# ---------------------------------------------------------------------- #
# Atomic saves
WRITER = r"""
import sys, numpy as np
from optimizers import Adam, Checkpoint, Variable
table = Variable(np.full((2_000_000, 16), 2.0, np.float32), name="table")
opt = Adam(0.1)
opt.build([table])
print("ready", flush=True)
while True:
    Checkpoint(optimizer=opt, table=table).save(sys.argv[1])
"""


def test_a_writer_killed_mid_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt"
    table = Variable(np.ones((2_000_000, 16), np.float32), name="table")
    opt = optimizers.Adam(0.1)
    opt.build([table])
    Checkpoint(optimizer=opt, table=table).save(path)
    # The child imports the package this process imports, from a folder
    # without a source tree in it.
    root = os.path.dirname(os.path.dirname(os.path.abspath(optimizers.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while time.time() < deadline:       # wait until a temporary file is being written
            temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
            if temps and temps[0].stat().st_size > 10_000_000:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    restored = Variable(np.zeros((2_000_000, 16), np.float32))
    Checkpoint(optimizer=optimizers.Adam(0.1), table=restored).restore(path)
    values = np.unique(restored.numpy())
    assert len(values) == 1 and values[0] in (1.0, 2.0)     # whole, old or new, never torn


def test_a_failed_save_leaves_no_temporary_file(tmp_path):
    v = Variable(np.zeros(4, np.float32), name="v")
    ckpt = Checkpoint(w=v)
    ckpt._variables.append(("bad", np.zeros(2, object)))     # cannot be written
    with pytest.raises(TypeError, match="bad"):
        ckpt.save(tmp_path / "c")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------- #
# CheckpointManager
def test_manager_numbers_keeps_and_finds_checkpoints(tmp_path):
    opt, vs = optimizers.SGD(0.1), variables()
    ckpt = Checkpoint(optimizer=opt, w=vs[0])
    manager = CheckpointManager(ckpt, tmp_path / "run", max_to_keep=2)
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    assert manager.restore_or_initialize() is None
    paths = []
    for step in range(4):
        _step(opt, vs[:1], "dense", step)
        paths.append(manager.save())
    assert [os.path.basename(p) for p in paths] == ["ckpt-1", "ckpt-2", "ckpt-3", "ckpt-4"]
    assert manager.checkpoints == paths[-2:]
    assert manager.latest_checkpoint == paths[-1]
    again = CheckpointManager(ckpt, tmp_path / "run", max_to_keep=2)
    assert again.latest_checkpoint == paths[-1]
    assert os.path.basename(again.save()) == "ckpt-5"
    assert os.path.basename(again.save(checkpoint_number=40)) == "ckpt-40"
    resumed_opt, resumed = optimizers.SGD(0.1), Variable(np.zeros((8, 4), np.float32))
    manager3 = CheckpointManager(Checkpoint(optimizer=resumed_opt, w=resumed), tmp_path / "run")
    assert manager3.restore_or_initialize() == again.latest_checkpoint
    assert np.array_equal(resumed.numpy(), vs[0].numpy())


@pytest.mark.parametrize("bad", [dict(max_to_keep=0), dict(max_to_keep=1.5),
                                 dict(checkpoint_name=""), dict(checkpoint_name="a/b")])
def test_manager_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        CheckpointManager(Checkpoint(w=variables()[0]), tmp_path, **bad)


def test_replacing_and_pruning_leave_no_files_behind(tmp_path):
    opt, vs = optimizers.Adam(0.1), variables()
    ckpt = Checkpoint(optimizer=opt, w=vs[0])
    for _ in range(3):
        ckpt.save(tmp_path / "same")                 # replaces an existing file
    manager = CheckpointManager(ckpt, tmp_path / "run", max_to_keep=1)
    for _ in range(3):
        manager.save()
    wait_for_deletions()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "same"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["ckpt-3"]
    Checkpoint(optimizer=optimizers.Adam(0.1), w=variables()[0]).restore(tmp_path / "same")


def test_manager_removes_leftovers_of_interrupted_saves(tmp_path):
    for name in (".ckpt-4.x1y2.tmp", ".ckpt-4.x1y2.tmp.old", "ckpt-2.deleted"):
        (tmp_path / name).write_bytes(b"partial")
    (tmp_path / "notes.txt").write_text("kept")
    manager = CheckpointManager(Checkpoint(w=variables()[0]), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert manager.latest_checkpoint is None
