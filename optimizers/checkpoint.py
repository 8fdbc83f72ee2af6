"""Checkpoints: save and restore variables and optimizer state by name.

``Checkpoint(optimizer=opt, table=emb, bias=b)`` names what it tracks, as
TensorFlow's ``tf.train.Checkpoint`` does; ``save(path)`` writes one file and
``restore(path)`` reads it back.  `CheckpointManager` numbers the files of a
training run and keeps the last few.

The file is an uncompressed zip of ``.npy`` arrays (``np.load`` opens it)
plus ``manifest.json``: the format version, the optimizer's config and the
name, shape and dtype of every array.  Names are

- ``variables/<name>`` (``variables/<name>/<i>`` for the i-th of a list),
- ``optimizer/weights/<weight>`` for the optimizer's own weights
  (``iterations`` is ``optimizer/weights/iter``),
- ``optimizer/slots/<variable name>/<slot>`` for the slots of the tracked
  variables (slots of variables the checkpoint does not track are not saved,
  as in TensorFlow),
- ``optimizer/hyper/<name>`` for hyperparameters held as numbers (TensorFlow
  saves and restores those too; callables and schedules are code, not state).

Saving is atomic: the file is written beside the target, flushed and
fsynced, then renamed over it, so a crash or a full disk mid-save leaves the
previous file (or none), never a torn one.  Restoring is all or nothing:
every name, shape and dtype is checked and every array's CRC verified before
anything is assigned.
"""
import contextlib
import json
import os
import re
import tempfile
import threading
import zipfile

import numpy as np

from ._registry import serialize
from .base import Optimizer
from .variables import Variable, as_array

__all__ = ["Checkpoint", "CheckpointManager", "CheckpointError", "wait_for_deletions"]

FORMAT = "optimizers-checkpoint"
VERSION = 1
MANIFEST = "manifest.json"
CHUNK = 1 << 24          # bytes per read or write when streaming an array


class CheckpointError(ValueError):
    """A checkpoint file is unreadable, corrupted, or does not match what it is
    restored into.  Nothing was assigned."""


class _Restored:
    """What `Checkpoint.restore` returns: TensorFlow's status methods, which
    have nothing left to check (every name was matched before assigning)."""

    def __init__(self, path):
        self.path = path

    def assert_consumed(self):
        return self

    def assert_existing_objects_matched(self):
        return self

    def expect_partial(self):
        return self


def _is_variable(value):
    return isinstance(value, (Variable, np.ndarray))


def _flatten(name, value):
    """``[(path, variable)]`` for a variable, or a (nested) list or tuple of them."""
    if _is_variable(value):
        return [(name, value)]
    if isinstance(value, (list, tuple)):
        out = []
        for i, item in enumerate(value):
            out.extend(_flatten(f"{name}/{i}", item))
        return out
    raise TypeError(
        f"Checkpoint entry `{name}` must be a Variable, an ndarray or a list of them; "
        f"received {type(value).__name__}.")


class Checkpoint:
    """Variables and an optimizer's state, saved and restored by name.

    A checkpoint file is an uncompressed zip of ``.npy`` arrays (NumPy's
    `numpy.lib.format`) with a ``manifest.json``; `numpy.load` opens it.

    Parameters
    ----------
    optimizer : Optimizer, optional
        Its weights (``iterations``, slots of the tracked variables, other
        weights) and numeric hyperparameters are saved.
    **named
        Variables to save, each a `~optimizers.Variable`, a float (or complex)
        ndarray, or a (nested) list or tuple of them (``layers=[w1, w2]``).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from optimizers import Adam, Checkpoint, Variable
    >>> emb = Variable(np.zeros((4, 2), np.float32), name="emb")
    >>> opt = Adam(0.1)
    >>> _ = opt.apply_gradients([(np.ones((4, 2), np.float32), emb)])
    >>> path = Checkpoint(optimizer=opt, table=emb).save(
    ...     os.path.join(tempfile.mkdtemp(), "ckpt"))
    >>> emb2, opt2 = Variable(np.zeros((4, 2), np.float32)), Adam(0.1)
    >>> _ = Checkpoint(optimizer=opt2, table=emb2).restore(path)
    >>> int(opt2.iterations), bool((emb2.numpy() == emb.numpy()).all())
    (1, True)
    """

    def __init__(self, optimizer=None, **named):
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"`optimizer` must be an optimizers.Optimizer; received "
                f"{type(optimizer).__name__}.")
        variables = []
        for name, value in named.items():
            if "/" in name:
                raise ValueError(f"Checkpoint names cannot contain '/'; received {name!r}.")
            variables.extend(_flatten(name, value))
        seen = {}
        for path, var in variables:
            if id(var) in seen:
                raise ValueError(f"`{path}` and `{seen[id(var)]}` are the same variable.")
            seen[id(var)] = path
            if as_array(var).dtype.kind not in "fc":
                raise TypeError(f"`{path}` has dtype {as_array(var).dtype}; expected floats "
                                "or complex numbers.")
        self.optimizer = optimizer
        self._variables = variables

    # ------------------------------------------------------------------ #
    def _entries(self):
        """``{name: array}`` of everything this checkpoint saves, in order (after
        `~optimizers.Optimizer.build`, so ``iterations`` and the slots exist)."""
        entries = {f"variables/{path}": as_array(var) for path, var in self._variables}
        opt = self.optimizer
        if opt is None:
            return entries
        prefix = opt.name + "/"
        for path, var in self._variables:
            key = opt._slot_key(var)
            for slot_name, slot in (opt._slots.get(key, {}) if key is not None else {}).items():
                entries[f"optimizer/slots/{path}/{slot_name}"] = as_array(slot)
        owned = {id(s) for per_var in opt._slots.values() for s in per_var.values()}
        for weight in opt.weights:
            if id(weight) not in owned:
                name = weight.name[len(prefix):] if weight.name.startswith(prefix) \
                    else weight.name
                entries[f"optimizer/weights/{name}"] = as_array(weight)
        for name, value in sorted(opt._hyper.items()):
            if isinstance(value, Variable):
                entries[f"optimizer/hyper/{name}"] = as_array(value)
        return entries

    def _manifest(self, entries):
        config = None
        if self.optimizer is not None:
            config = serialize(self.optimizer)
            try:
                json.dumps(config)
            except TypeError:
                config = {"class_name": config["class_name"], "config": None}
        return {"format": FORMAT, "version": VERSION, "optimizer": config,
                "arrays": [{"name": name, "shape": list(arr.shape), "dtype": arr.dtype.str}
                           for name, arr in entries.items()]}

    # ------------------------------------------------------------------ #
    def save(self, path):
        """Write everything to the file ``path``, atomically; return ``path``.

        The file is written beside ``path`` under a temporary name, flushed
        and fsynced, then renamed over ``path`` (and the directory fsynced).
        An existing file at ``path`` is replaced only by a complete one.
        Slots the tracked variables do not have yet are created first
        (`~optimizers.Optimizer.build`), so that every checkpoint is complete.
        """
        path = os.fspath(path)
        lock = self.optimizer._lock if self.optimizer is not None else contextlib.nullcontext()
        with lock:
            if self.optimizer is not None:
                self.optimizer.build([var for _, var in self._variables])
            entries = self._entries()
            manifest = self._manifest(entries)
            directory = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(dir=directory,
                                       prefix=f".{os.path.basename(path)}.", suffix=".tmp")
            try:
                text = json.dumps(manifest, indent=1)
                _preallocate(fd, len(text) + sum(_member_bound(n, a) for n, a in entries.items()))
                with os.fdopen(fd, "wb") as f:
                    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
                        zf.writestr(MANIFEST, text)
                        for name, arr in entries.items():
                            _write_member(zf, name, arr)
                    f.truncate(f.tell())                # the preallocated tail
                    f.flush()
                    os.fsync(f.fileno())
                old = _keep_aside(path, tmp)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            _fsync_directory(directory)
            if old is not None:
                _unlink_later(old)
        return path

    def restore(self, path):
        """Read ``path`` back into the tracked variables and the optimizer.

        Missing slots are created first (`~optimizers.Optimizer.build`).  Every array the
        checkpoint should hold is matched by name; a missing, extra or
        mismatched (shape, dtype) array, a wrong format version or a
        corrupted or truncated file raises `CheckpointError` naming it, and
        nothing is assigned (slots created for the check are removed again).

        Returns an object with TensorFlow's ``assert_consumed()`` and
        ``expect_partial()`` (both have nothing left to check).
        """
        path = os.fspath(path)
        opt = self.optimizer
        lock = opt._lock if opt is not None else contextlib.nullcontext()
        with lock:
            try:
                zf = zipfile.ZipFile(path)
            except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
                raise CheckpointError(f"Cannot read checkpoint {path!r}: {exc}") from None
            with zf:
                manifest = _read_manifest(zf, path)
                mark = opt._mark() if opt is not None else None
                try:
                    if opt is not None:
                        opt.build([var for _, var in self._variables])
                    targets = self._entries()
                    plan = _match(manifest, targets, path)
                    for name, target in plan:
                        _verify_member(zf, name, target, path)
                except BaseException:
                    if opt is not None:
                        opt._undo(mark)
                    raise
                for name, target in plan:
                    _read_member_into(zf, name, target)
        return _Restored(path)

    def __repr__(self):
        names = [path for path, _ in self._variables]
        return f"<Checkpoint optimizer={self.optimizer!r} variables={names}>"


def _member_bound(name, arr):
    """An upper bound of the bytes member ``name`` takes in the file (its data,
    the .npy header and the zip records around it)."""
    return arr.nbytes + 512 + 2 * len(name.encode())


def _preallocate(fd, size):
    """Reserve ``size`` bytes for the file being written.  On file systems that
    allocate blocks lazily this makes writing a large new file several times
    faster (measured here: 3.0 s -> 0.6 s for 732 MiB with fsync).  Best effort:
    skipped where the system or the file system cannot do it."""
    if size <= 0 or not hasattr(os, "posix_fallocate"):
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError:
        pass


def _write_member(zf, name, arr):
    """Write ``arr`` as member ``name.npy``, streaming from its memory (no copy)."""
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    if arr.dtype.hasobject:
        raise TypeError(f"Checkpoint entry `{name}` holds Python objects; only numeric "
                        "arrays can be saved.")
    with zf.open(name + ".npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(
            member, np.lib.format.header_data_from_array_1_0(arr))
        view = memoryview(arr.reshape(-1)).cast("B") if arr.size else memoryview(b"")
        for start in range(0, len(view), CHUNK):
            member.write(view[start:start + CHUNK])


def _keep_aside(path, tmp):
    """Hard-link an existing ``path`` to a side name, so that replacing it does
    not free its blocks inside `save` (slow for large files on some file
    systems); `_unlink_later` removes it.  Returns the side name or None."""
    if not os.path.isfile(path):
        return None
    side = tmp + ".old"
    try:
        os.link(path, side)
    except OSError:         # no hard links here: the rename frees the blocks itself
        return None
    return side


_DELETIONS = []


def _unlink_later(path):
    """Delete ``path`` in a background thread (the interpreter waits for it at exit)."""
    def unlink():
        try:
            os.unlink(path)
        except OSError:
            pass
    thread = threading.Thread(target=unlink, name="optimizers-checkpoint-unlink")
    thread.start()
    _DELETIONS[:] = [t for t in _DELETIONS if t.is_alive()] + [thread]


def wait_for_deletions():
    """Wait until the files that saves replaced or pruned are deleted from disk
    (they are deleted in the background)."""
    while _DELETIONS:
        _DELETIONS.pop().join()


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:         # not possible everywhere (Windows); the rename stands
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_manifest(zf, path):
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise CheckpointError(f"{path!r} is not a checkpoint: it has no {MANIFEST}.") from None
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CheckpointError(f"Checkpoint {path!r} has a corrupted manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path!r} is not a checkpoint of this library.")
    if manifest.get("version") != VERSION:
        raise CheckpointError(
            f"Checkpoint {path!r} has format version {manifest.get('version')!r}; this "
            f"version of the library reads version {VERSION}.")
    arrays = manifest.get("arrays")
    if not isinstance(arrays, list) or not all(
            isinstance(a, dict) and {"name", "shape", "dtype"} <= set(a) for a in arrays):
        raise CheckpointError(f"Checkpoint {path!r} has a corrupted manifest.")
    return manifest


def _match(manifest, targets, path):
    """``[(name, target array)]``, every name, shape and dtype checked."""
    saved = {a["name"]: a for a in manifest["arrays"]}
    hypers = {n for n in saved if n.startswith("optimizer/hyper/")}
    # Hyperparameters are matched leniently: a schedule or callable in one
    # run and a number in the other is not an error (nothing to restore).
    missing = [n for n in targets if n not in saved and not n.startswith("optimizer/hyper/")]
    extra = [n for n in saved if n not in targets and n not in hypers]
    problems = []
    if missing:
        problems.append(f"missing from the file: {missing}")
    if extra:
        problems.append(f"in the file but not in this checkpoint's objects: {extra}")
    plan = []
    for name, target in targets.items():
        entry = saved.get(name)
        if entry is None:
            continue
        shape, dtype = tuple(entry["shape"]), np.dtype(entry["dtype"])
        if shape != target.shape or dtype != target.dtype:
            problems.append(f"`{name}` is {dtype.name} {shape} in the file, "
                            f"{target.dtype.name} {target.shape} here")
        elif not target.flags.writeable or not target.flags.c_contiguous:
            problems.append(f"`{name}` cannot be written in place (read-only or not "
                            "contiguous)")
        else:
            plan.append((name, target))
    if problems:
        raise CheckpointError(f"Checkpoint {path!r} does not match: " + "; ".join(problems)
                              + ". Nothing was restored.")
    return plan


def _read_npy_header(f):
    """Read an .npy header from ``f``; return ``(shape, fortran_order, dtype)``."""
    version = np.lib.format.read_magic(f)
    reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
              else np.lib.format.read_array_header_2_0)
    return reader(f)


def _open_array(zf, name, path):
    """Open member ``name``; return ``(file, shape, dtype)`` after its header."""
    try:
        f = zf.open(name + ".npy")
        shape, fortran, dtype = _read_npy_header(f)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CheckpointError(f"Checkpoint {path!r}: array `{name}` is unreadable "
                              f"({exc}).") from None
    if fortran:
        raise CheckpointError(f"Checkpoint {path!r}: array `{name}` is not in C order.")
    return f, shape, dtype


def _verify_member(zf, name, target, path):
    """Read ``name`` to its end (zip checks the CRC there) and check its header."""
    f, shape, dtype = _open_array(zf, name, path)
    with f:
        if shape != target.shape or dtype != target.dtype:
            raise CheckpointError(
                f"Checkpoint {path!r}: array `{name}` holds {dtype} {shape}, its manifest "
                f"says {target.dtype} {target.shape}.")
        size = 0
        try:
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CheckpointError(f"Checkpoint {path!r}: array `{name}` is corrupted "
                                  f"({exc}).") from None
    if size != target.nbytes:
        raise CheckpointError(f"Checkpoint {path!r}: array `{name}` has {size} bytes of data; "
                              f"expected {target.nbytes}.")


def _read_member_into(zf, name, target):
    """Read a verified member straight into ``target``'s memory.

    The member is stored uncompressed and its CRC was checked by
    `_verify_member`, so its bytes are read from the archive's own open file
    (the one verified: a file renamed over the path meanwhile is not read)
    at the member's data offset, with ``readinto``: no temporary, no second
    CRC pass.
    """
    info = zf.getinfo(name + ".npy")
    fp = zf.fp
    fp.seek(info.header_offset)
    local = fp.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04" or info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"Array `{name}` moved while restoring.")
    fp.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
            + int.from_bytes(local[28:30], "little"))
    _read_npy_header(fp)
    view = memoryview(target.reshape(-1)).cast("B") if target.size else memoryview(b"")
    pos = 0
    while pos < len(view):
        n = fp.readinto(view[pos:pos + CHUNK])
        if not n:
            raise CheckpointError(f"Array `{name}` ended early while restoring.")
        pos += n


class CheckpointManager:
    """Numbered checkpoints of one training run, the last ``max_to_keep`` kept.

    As TensorFlow's ``tf.train.CheckpointManager``: ``save()`` writes
    ``<directory>/<checkpoint_name>-<n>`` with ``n`` one more than the
    newest, then deletes the oldest beyond ``max_to_keep``.  The files in
    ``directory`` are the state: a new manager on the same directory (a
    resumed run) finds them.

    Parameters
    ----------
    checkpoint : Checkpoint
    directory : str or path
        Created if missing.
    max_to_keep : int or None, default=5
        ``None`` keeps every checkpoint.
    checkpoint_name : str, default="ckpt"
    """

    def __init__(self, checkpoint, directory, max_to_keep=5, checkpoint_name="ckpt"):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"`checkpoint` must be a Checkpoint; received "
                            f"{type(checkpoint).__name__}.")
        if max_to_keep is not None and (isinstance(max_to_keep, bool)
                                        or not isinstance(max_to_keep, (int, np.integer))
                                        or max_to_keep < 1):
            raise ValueError(f"`max_to_keep` must be a positive integer or None; received "
                             f"{max_to_keep!r}.")
        if not checkpoint_name or "/" in checkpoint_name or os.sep in checkpoint_name:
            raise ValueError(f"Invalid `checkpoint_name`: {checkpoint_name!r}.")
        self._checkpoint = checkpoint
        self.directory = os.fspath(directory)
        self.max_to_keep = max_to_keep
        self._name = checkpoint_name
        os.makedirs(self.directory, exist_ok=True)
        self._pattern = re.compile(re.escape(checkpoint_name) + r"-(\d+)")
        # Leftovers of saves or deletions that a crash interrupted.
        leftover = re.compile(r"\.?" + re.escape(checkpoint_name)
                              + r"-\d+(\..*\.tmp(\.old)?|\.deleted)")
        for entry in os.listdir(self.directory):
            if leftover.fullmatch(entry):
                try:
                    os.unlink(os.path.join(self.directory, entry))
                except OSError:
                    pass

    def _numbered(self):
        found = []
        for entry in os.listdir(self.directory):
            match = self._pattern.fullmatch(entry)
            if match and os.path.isfile(os.path.join(self.directory, entry)):
                found.append((int(match.group(1)), os.path.join(self.directory, entry)))
        return sorted(found)

    @property
    def checkpoints(self):
        """Paths of the kept checkpoints, oldest first."""
        return [path for _, path in self._numbered()]

    @property
    def latest_checkpoint(self):
        """Path of the newest checkpoint, or None."""
        numbered = self._numbered()
        return numbered[-1][1] if numbered else None

    def save(self, checkpoint_number=None):
        """Save the next checkpoint (or number ``checkpoint_number``); return its path."""
        numbered = self._numbered()
        if checkpoint_number is None:
            checkpoint_number = numbered[-1][0] + 1 if numbered else 1
        elif isinstance(checkpoint_number, bool) or not isinstance(
                checkpoint_number, (int, np.integer)) or checkpoint_number < 0:
            raise ValueError(f"`checkpoint_number` must be an integer >= 0; received "
                             f"{checkpoint_number!r}.")
        path = os.path.join(self.directory, f"{self._name}-{int(checkpoint_number)}")
        self._checkpoint.save(path)
        if self.max_to_keep is not None:
            for _, old in self._numbered()[:-self.max_to_keep]:
                side = old + ".deleted"
                try:
                    os.replace(old, side)       # gone from the list now, freed later
                except FileNotFoundError:
                    continue
                _unlink_later(side)
        return path

    def restore_or_initialize(self):
        """Restore the newest checkpoint if there is one; return its path or None."""
        latest = self.latest_checkpoint
        if latest is not None:
            self._checkpoint.restore(latest)
        return latest
