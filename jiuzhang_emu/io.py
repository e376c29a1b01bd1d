"""Sample files: HDF5 (h5py), streamed batch by batch and resumable.

File format ``jiuzhang_emu.samples``, version 1
-----------------------------------------------
HDF5 in the 1.10 file format (``libver=("v110", "v110")``: SWMR needs at
least 1.10, and capping it keeps files that HDF5 2.0 writes readable by the
HDF5 1.14 of older h5py releases; "latest" under HDF5 2.0 writes layout
messages HDF5 1.14 cannot read).

Dataset ``/patterns``
    Detection patterns, shape (shots written, modes); int16 when the
    detector's largest count fits (threshold, pseudo-PNR), else int32
    (photon-number resolving).  Chunked along shots, maxshape
    (None, modes), gzip level 1 with shuffle.  Only the first
    sum(batch sizes[:completed_batches]) rows are valid.

Attributes of the root group

=====================  ===================================================
``format``             ``"jiuzhang_emu.samples"``
``format_version``     1
``package_version``    jiuzhang_emu version that wrote the file
``experiment``         ``Experiment.describe()`` as JSON (name, modes,
                       sources, detector model, provenance, fingerprint)
``fingerprint``        the experiment's SHA-256 fingerprint (also in the
                       JSON)
``method``             sampling method (``"auto"`` is stored resolved)
``seed_entropy``       the root ``SeedSequence`` entropy as JSON text (an
                       integer may exceed 64 bits)
``seed_spawn_key``     the root ``SeedSequence`` spawn key as JSON text,
                       ``"[]"`` for an int seed, ``"[1]"`` for
                       ``SeedSequence(e).spawn(2)[1]``; absent in files
                       written before it was stored: read as ``[]``
``shots``              shots requested for the whole run
``batch_size``         shots per batch; batch i is drawn with the child seed
                       ``SeedSequence(entropy, spawn_key=(*spawn_key, i))``
``completed_batches``  batches fully written
``unresolved_mass``    largest probability mass rounding may have misplaced
``metadata_sha256``    SHA-256 (hex) of the canonical JSON of the
                       run-defining attributes (all above but ``shots``,
                       ``completed_batches`` and ``unresolved_mass``, which
                       change while a run is written and are checked for
                       consistency instead): see :func:`metadata_digest`.
                       Checked by every reader; a mismatch is an
                       :class:`InputError` ("metadata damaged").  Absent in
                       files written before it was stored: such files are
                       read unchecked (``info`` says so) and get it, with
                       ``seed_spawn_key``, when a run resumes them; a file
                       with ``seed_spawn_key`` but no digest is damaged.
=====================  ===================================================

Every reader checks the file's structure: a missing or ill-typed attribute
or dataset, metadata that is not the JSON it should be, a dataset of the
wrong shape or type, or HDF5 that cannot be read is an :class:`InputError`
naming the file and what is wrong.

Streaming and resuming
----------------------
A run appends each batch's rows, flushes them, and only then raises
``completed_batches`` and flushes again, so the counter never counts rows
that are not on disk.  The file is written in HDF5's single-writer /
multiple-reader (SWMR) mode, whose ordered metadata flushes leave it readable
when the writing process is killed at any instant; such a file is read with
SWMR (plain HDF5 tools refuse it until it is resumed).  Rerunning with the
same file, experiment, method, seed and shots checks all of them against the
file (any difference: :class:`InputError`, the file untouched), drops rows
past the counter (a batch caught mid-write) and continues with batch
``completed_batches``; a file left by a killed writer is first copied, rows
up to the counter and attributes, to a clean file that atomically replaces
it.  Batch seeds depend only on the root seed and the batch index, so the
finished file holds exactly the patterns and attributes of an uninterrupted
run.  Rerunning with more shots extends a run (complete or not): the
batches after the last full one are drawn, so the file again equals an
uninterrupted run of the new size (a last, partial batch is redrawn whole).
New files are built under a temporary name and hard-linked into
place, so an existing file is never overwritten, and an advisory lock
(``flock``) keeps two runs from writing one file.

A file that holds no complete batch holds no samples: a run that created it
and fails (an exception, not an interrupt) before its first batch removes
it, and one left by an interrupted or killed run is resumed by the same run
and replaced by a run of other parameters (after that run's checks).
A path that is a symbolic link stays one: the file it points to is written
(and replaced on recovery).  Temporary files this module names
``.NAME.<12 hex digits>.tmp`` next to ``NAME`` that a killed run left are
removed by the next run that holds the lock on ``NAME``.

A write that fails (a full disk, a file size limit) ends the run with
:class:`SampleFileWriteError` naming the shots that are in the file; the
file handle is then closed without writing to the file again, so the file
is left as a killed writer leaves it: readable, and resumed by the same call
once there is room.
"""
import contextlib
import errno
import hashlib
import json
import math
import os
import re
import time
import uuid
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu import samplers
from jiuzhang_emu.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None

FORMAT = "jiuzhang_emu.samples"
FORMAT_VERSION = 1
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_WRITER_WAIT = 10.0  # seconds a reader waits for a running writer's file to become readable
SUFFIXES = (".h5", ".hdf5")
LIBVER = ("v110", "v110")
_CHUNK_BYTES = 1 << 16
_READ_ROWS = 1 << 16
#: The attributes that define a run, covered by ``metadata_sha256``.
DIGESTED = ("format", "format_version", "package_version", "experiment", "fingerprint",
            "method", "seed_entropy", "seed_spawn_key", "batch_size")
_INTEGERS = ("format_version", "batch_size", "shots", "completed_batches")
_DIGEST = "metadata_sha256"
_NO_DIGEST = "absent (a file written before the digest was stored: metadata not checked)"
_DETECTORS = ("threshold", "pseudo-PNR", "photon-number-resolving")


@dataclass(frozen=True)
class WriteReport:
    """What :func:`write_samples` did.

    Attributes
    ----------
    path : str
    seed_entropy : int or list of int
        The root seed: pass it again (or nothing) to resume.
    shots : int
        Shots requested for the whole run (all written on return).
    resumed_from : int
        Shots already in the file when the call started.
    seed_spawn_key : tuple of int
        The root seed's spawn key (() for an int seed).
    """

    path: str
    seed_entropy: object
    shots: int
    resumed_from: int
    seed_spawn_key: tuple = ()

    @property
    def sampled(self):
        """Shots drawn by this call."""
        return self.shots - self.resumed_from

    @property
    def seed(self):
        """The root ``SeedSequence``."""
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.seed_spawn_key)


class SampleFileWriteError(OSError):
    """Writing a sample file failed (a full disk, a file size limit, ...).

    The complete batches written before the failure are intact and counted
    in the file; the same call resumes it once the cause is gone.
    ``shots_written`` and ``shots_requested`` say how far the run got.
    """

    def __init__(self, code, message, path, shots_written, shots_requested):
        super().__init__(code, message, path)
        self.shots_written, self.shots_requested = shots_written, shots_requested

    def __str__(self):
        return self.strerror


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - a core dependency
        raise ImportError("sample files need h5py: pip install h5py") from None
    return h5py


def _entropy_text(entropy):
    if isinstance(entropy, (int, np.integer)):
        return json.dumps(int(entropy))
    return json.dumps([int(e) for e in entropy])


def _spawn_key_text(key):
    return json.dumps([int(k) for k in key])


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def _pattern_dtype(experiment):
    max_count = experiment.detector.max_count
    if max_count is not None and max_count <= np.iinfo(np.int16).max:
        return np.dtype(np.int16)
    return np.dtype(np.int32)


def _seed(rng):
    """(entropy, spawn key) of the root SeedSequence of ``rng`` (None: fresh
    entropy)."""
    if isinstance(rng, np.random.Generator):
        raise InputError("rng must be None, an int or a SeedSequence for a sample file, got a "
                         "Generator: the file stores the seed so that the run can resume")
    entropy, root = samplers.root_seed(rng)
    return entropy, samplers.spawn_key(root)


def metadata_digest(values):
    """SHA-256 (hex) of the run-defining attributes :data:`DIGESTED`:
    ``values`` maps each name to its text (str) or integer value; the digest
    is taken of ``json.dumps(values, sort_keys=True, separators=(",", ":"))``
    encoded as UTF-8."""
    canonical = {name: int(values[name]) if isinstance(values[name], (int, np.integer))
                 else _text(values[name]) for name in DIGESTED}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _damaged(path, what):
    return InputError(f"{path!r} is damaged: {what}")


def _open_checked(path, name=None, *, locked=False):
    """Open an existing sample file read-only, or raise InputError.

    Files whose writer is running, or was killed, are opened with SWMR.
    HDF5's own file locks are not used: :class:`_RunLock` guards writers.
    ``name`` is the path as the caller gave it (for messages); ``locked``
    says the caller holds the file's run lock (no other writer to wait for).
    """
    h5py = _h5py()
    name = path if name is None else name
    if not os.path.isfile(path):
        raise InputError(f"path {name!r} is not an existing file")
    try:
        with open(path, "rb") as raw:
            signature = raw.read(len(_HDF5_SIGNATURE))
    except OSError as exc:
        raise InputError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    if signature != _HDF5_SIGNATURE:
        raise InputError(f"{name!r} is not an HDF5 file (not a jiuzhang_emu sample file)")
    deadline = time.monotonic() + _WRITER_WAIT
    while True:
        running = not locked and _being_written(path)
        try:
            handle = _open_readable(h5py, path, running)
            break
        except OSError as exc:
            if running and time.monotonic() < deadline:
                time.sleep(0.05)  # a writer's file is unreadable until it is in SWMR mode
                continue
            if running:
                raise InputError(f"cannot read {name!r}: a run writing it has not made it "
                                 f"readable within {_WRITER_WAIT:g} s ({exc})") from None
            if "already open for write" in str(exc):
                raise InputError(f"cannot read {name!r}: {exc}") from None
            raise InputError(f"cannot read {name!r}: the file is damaged or truncated "
                             f"({exc})") from None
    try:
        with _reading(name):
            fmt = _text(handle.attrs.get("format", ""))
            version = handle.attrs.get("format_version", 0)
            is_ours = fmt == FORMAT and "patterns" in handle
        if not is_ours:
            raise InputError(f"{name!r} is not a jiuzhang_emu sample file (format attribute "
                             f"{fmt or None!r}, expected {FORMAT!r})")
        if (isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer))
                or not 1 <= version <= FORMAT_VERSION):
            raise InputError(f"{name!r} has sample file format version {version!r}; this "
                             f"jiuzhang_emu reads versions 1 to {FORMAT_VERSION}")
    except BaseException:
        handle.close()
        raise
    return handle


def _open_readable(h5py, path, running):
    """Open with SWMR when a writer is ``running`` or the flags say one (maybe
    killed) has the file open."""
    if not running:
        try:
            return h5py.File(path, "r", locking=False)
        except OSError as exc:
            if "already open for write" not in str(exc):  # not a writer's flags
                raise
    return h5py.File(path, "r", swmr=True, locking=False)


def _being_written(path):
    """Whether a run holds the lock of the file at ``path`` (:class:`_RunLock`)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock taken here
    return False


@contextlib.contextmanager
def _reading(path):
    """Turn HDF5's read errors of a damaged file into an InputError."""
    try:
        yield
    except (InputError, SampleFileWriteError):
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, UnicodeError) as exc:
        raise InputError(f"cannot read {path!r}: the file is damaged or truncated "
                         f"({type(exc).__name__}: {exc})") from None


def _integer(attrs, name, path, low=0):
    value = attrs[name]
    if (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))
            or value < low):
        raise _damaged(path, f"attribute {name!r} must be an integer >= {low}, got {value!r}")
    return int(value)


def _json(attrs, name, path):
    text = attrs[name]
    if not isinstance(text, (str, bytes)):
        raise _damaged(path, f"attribute {name!r} must be JSON text, got {text!r}")
    try:
        return json.loads(_text(text))
    except ValueError as exc:
        raise _damaged(path, f"attribute {name!r} is not valid JSON ({exc}): "
                             f"{_text(text)[:60]!r}") from None


def _is_int(value, low=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_experiment(experiment, fingerprint, path):
    """The parts of ``Experiment.describe()`` that readers use, type-checked."""
    what = "attribute 'experiment'"
    if not isinstance(experiment, dict):
        raise _damaged(path, f"{what} must be a JSON object, got {type(experiment).__name__}")
    expected = {"name": str, "n_modes": int, "fingerprint": str, "detector": dict,
                "sources": (list, str), "mean_photon_number": (int, float),
                "provenance": dict, "preset": (dict, type(None))}
    for key, kinds in expected.items():
        if key not in experiment:
            raise _damaged(path, f"{what} has no {key!r}")
        if not isinstance(experiment[key], kinds) or isinstance(experiment[key], bool):
            raise _damaged(path, f"{what}: {key!r} has the wrong type "
                                 f"({type(experiment[key]).__name__})")
    if experiment["fingerprint"] != fingerprint:
        raise _damaged(path, f"the fingerprint in {what} ({experiment['fingerprint'][:16]!r}) "
                             f"differs from attribute 'fingerprint' ({fingerprint[:16]!r})")
    detector = experiment["detector"]
    if detector.get("kind") not in _DETECTORS or not _is_int(detector.get("n_detectors"), 1):
        raise _damaged(path, f"{what}: detector {detector!r} is not a detector model")
    for key in ("efficiency", "dark_count"):
        values = detector.get(key)
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in values)):
            raise _damaged(path, f"{what}: detector {key} {values!r} is not a list of numbers")
    preset = experiment["preset"]
    if preset is not None and not (isinstance(preset.get("name"), str)
                                   and isinstance(preset.get("options"), dict)):
        raise _damaged(path, f"{what}: preset {preset!r} has no name and options")


def _metadata(handle, path):
    """The file's metadata, checked; every failure is an InputError naming
    ``path`` and what is wrong.

    Returns a dict: the attributes parsed (``experiment``, ``seed_entropy``,
    ``seed_spawn_key`` from JSON; integers as int; ``metadata_digest`` the
    verified digest or None), plus ``rows``, the valid rows.
    """
    attrs = handle.attrs
    with _reading(path):
        names = set(attrs.keys())
        required = set(DIGESTED) | {"shots", "completed_batches", "unresolved_mass"}
        has_digest = _DIGEST in names
        if "seed_spawn_key" in names:  # written with the digest since both were stored
            required.add(_DIGEST)
        elif not has_digest:
            required.discard("seed_spawn_key")  # an older file: read as []
        missing = sorted(required - names)
        if missing:
            raise _damaged(path, f"attribute{'s' if len(missing) > 1 else ''} "
                                 f"{', '.join(map(repr, missing))} missing")
        raw = {name: attrs[name] for name in required}
        canonical = {}
        for name in DIGESTED:
            value = raw.get(name, "[]")
            if name in _INTEGERS:
                canonical[name] = _integer(raw, name, path)
            elif isinstance(value, (str, bytes)):
                canonical[name] = _text(value)
            else:
                raise _damaged(path, f"attribute {name!r} must be text, got {value!r}")
        try:
            meta = _structure(handle, raw, canonical, path)
            damage = None
        except InputError as exc:
            meta, damage = None, exc
        digest = None
        if has_digest:
            stored = attrs[_DIGEST]
            digest = metadata_digest(canonical)
            if not isinstance(stored, (str, bytes)) or _text(stored) != digest:
                detail = f"; {str(damage).split(': ', 1)[-1]}" if damage else ""
                raise InputError(f"{path!r}: metadata damaged: the run-defining attributes "
                                 f"({', '.join(DIGESTED)}) do not match their stored digest "
                                 f"{_DIGEST} {_text(stored)[:16]!r}... (computed "
                                 f"{digest[:16]!r}...){detail}; the file cannot be "
                                 f"trusted") from None
        if damage is not None:
            raise damage
        meta["metadata_digest"] = digest
    return meta


def _structure(handle, raw, canonical, path):
    """The parsed metadata of :func:`_metadata`, each part's type and range
    checked."""
    with _reading(path):
        meta = dict(canonical)
        meta["experiment"] = _json(canonical, "experiment", path)
        _check_experiment(meta["experiment"], canonical["fingerprint"], path)
        if canonical["method"] not in samplers.METHODS or canonical["method"] == "auto":
            raise _damaged(path, f"attribute 'method' {canonical['method']!r} is not a "
                                 f"sampling method (one of {samplers.METHODS[1:]})")
        entropy = _json(canonical, "seed_entropy", path)
        if not (_is_int(entropy) or (isinstance(entropy, list) and entropy
                                     and all(_is_int(e) for e in entropy))):
            raise _damaged(path, f"attribute 'seed_entropy' {entropy!r} is not a seed entropy "
                                 f"(an integer >= 0 or a list of them)")
        key = _json(canonical, "seed_spawn_key", path)
        if not (isinstance(key, list) and all(_is_int(k) for k in key)):
            raise _damaged(path, f"attribute 'seed_spawn_key' {key!r} is not a spawn key "
                                 f"(a list of integers >= 0)")
        meta["seed_entropy"], meta["seed_spawn_key"] = entropy, tuple(key)
        if canonical["batch_size"] != samplers.BATCH_SIZE:
            raise _damaged(path, f"attribute 'batch_size' is {canonical['batch_size']}, this "
                                 f"jiuzhang_emu writes and reads {samplers.BATCH_SIZE}")
        meta["shots"] = shots = _integer(raw, "shots", path, low=1)
        n_batches = len(samplers.batch_sizes(shots))
        meta["completed_batches"] = done = _integer(raw, "completed_batches", path)
        if done > n_batches:
            raise _damaged(path, f"attribute 'completed_batches' is {done}, more than the "
                                 f"{n_batches} batches of {shots} shots")
        mass = raw["unresolved_mass"]
        if (not isinstance(mass, (float, np.floating)) or not math.isfinite(mass)
                or not 0 <= mass <= 1):
            raise _damaged(path, f"attribute 'unresolved_mass' must be a probability, "
                                 f"got {mass!r}")
        meta["unresolved_mass"] = float(mass)
        dataset = handle.get("patterns")
        if not isinstance(dataset, _h5py().Dataset):
            raise _damaged(path, "'/patterns' is not a dataset")
        n_modes = meta["experiment"]["n_modes"]
        if dataset.ndim != 2 or dataset.shape[1] != n_modes or dataset.dtype.kind != "i":
            raise _damaged(path, f"dataset '/patterns' must be integers of shape (shots, "
                                 f"{n_modes}), got {dataset.dtype} of shape {dataset.shape}")
        meta["rows"] = rows = sum(samplers.batch_sizes(shots)[:done])
        if dataset.shape[0] < rows:
            raise _damaged(path, f"completed_batches {done} counts {rows} rows, but "
                                 f"'/patterns' has {dataset.shape[0]}")
    return meta


def _check_resume(meta, path, expected, shots):
    """Raise InputError naming every attribute of the file that differs, or
    when the file holds more shots than the ``shots`` requested."""
    differences = [f"{name} {meta[name]!r} in the file, {value!r} requested"
                   for name, value in expected.items() if str(meta[name]) != value]
    if differences:
        raise InputError(f"{path!r} belongs to a different run and is left unchanged: "
                         + "; ".join(differences))
    if shots < meta["shots"]:
        raise InputError(f"{path!r} is a run of {meta['shots']} shots, more than the "
                         f"{shots} requested; left unchanged (a run can be extended, not "
                         f"shortened: read_samples(path).patterns[:{shots}] has the first "
                         f"{shots})")


class _RunLock:
    """An exclusive advisory lock (``flock``) on a file, held by the one run
    that writes it; another run gets an InputError."""

    def __init__(self, path, name=None):
        self.fd = None
        self.move_to(path, name)

    def move_to(self, path, name=None):
        """Lock the file now at ``path`` and release the previous one."""
        fd = os.open(path, os.O_RDONLY)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InputError(f"{name or path!r} is being written by another run") from None
        self.release()
        self.fd = fd

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _temporary_name(path):
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")


def _remove_stale_temporaries(path):
    """Remove the temporary files (``.NAME.<12 hex>.tmp``) a killed run left
    next to ``path``; called with the run lock on ``path`` held.  A file
    another process holds locked is left alone."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            if not pattern.fullmatch(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(entry.path)
                finally:
                    os.close(fd)


def _new_file(path, n_modes, dtype, attrs):
    """An empty sample file with ``attrs`` under a fresh temporary name next
    to ``path``; returns that name."""
    h5py = _h5py()
    temporary = _temporary_name(path)
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as exc:
        raise InputError(f"cannot create a file in {os.path.dirname(temporary)!r}: "
                         f"{exc}") from None
    try:
        chunk_rows = max(samplers.BATCH_SIZE, _CHUNK_BYTES // (n_modes * dtype.itemsize))
        handle = None
        try:
            handle = h5py.File(temporary, "w", libver=LIBVER, locking=False, rdcc_nbytes=0)
            handle.create_dataset("patterns", shape=(0, n_modes), maxshape=(None, n_modes),
                                  dtype=dtype, chunks=(chunk_rows, n_modes), compression="gzip",
                                  compression_opts=1, shuffle=True)
            for key, value in attrs.items():
                handle.attrs[key] = value
            handle.flush()
        except (OSError, RuntimeError) as exc:
            if handle is not None:
                _abandon(handle)
            failure = _WriteFailed(exc, 0)
            raise SampleFileWriteError(failure.errno, f"cannot write a new file next to "
                                       f"{path!r}: {failure.reason}", path, 0,
                                       int(attrs.get("shots", 0))) from exc
        except BaseException:
            if handle is not None:
                _abandon(handle)
            raise
        handle.close()
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _create(path, experiment, attrs, name):
    """Create the empty sample file at ``path``, never replacing a file;
    returns a :class:`_RunLock` on it."""
    temporary = _new_file(path, experiment.n_modes, _pattern_dtype(experiment), attrs)
    lock = None
    try:
        lock = _RunLock(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise InputError(f"{name!r} appeared while it was being created; "
                             "left unchanged") from None
        except OSError:  # no hard links here: rename, after the existence check
            if os.path.lexists(path):
                raise InputError(f"{name!r} exists; left unchanged") from None
            os.replace(temporary, path)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return lock


def _recover(path, lock, name):
    """Replace a file left open by a killed writer with a clean copy of its
    attributes and counted rows (built aside, then renamed over it)."""
    with _open_checked(path, name, locked=True) as old:
        meta = _metadata(old, name)
        with _reading(name):
            source = old["patterns"]
            rows = meta["rows"]
            temporary = _new_file(path, source.shape[1], source.dtype, dict(old.attrs))
            try:
                new = _h5py().File(temporary, "r+", locking=False, rdcc_nbytes=0)
                try:
                    target = new["patterns"]
                    target.resize(rows, axis=0)
                    for start in range(0, rows, _READ_ROWS):
                        stop = min(rows, start + _READ_ROWS)
                        target[start:stop] = source[start:stop]
                    new.flush()
                except (OSError, RuntimeError) as exc:
                    _abandon(new)
                    failure = _WriteFailed(exc, rows)
                    raise SampleFileWriteError(
                        failure.errno, f"cannot copy {name!r} to recover it from a killed "
                        f"or failed run: {failure.reason}; the file is unchanged, with "
                        f"{rows} shots", name, rows, meta["shots"]) from exc
                except BaseException:
                    _abandon(new)
                    raise
                new.close()
                lock.move_to(temporary)
                os.replace(temporary, path)
            finally:
                if os.path.exists(temporary):
                    os.unlink(temporary)


def _open_for_append(path, lock, name):
    """The file opened for writing, without a chunk cache: a failed write
    fails at once, in the write call, and leaves nothing pending that a
    later flush or close would have to write."""
    h5py = _h5py()
    if not os.access(path, os.W_OK):
        raise InputError(f"{name!r} is not writable")
    options = {"libver": LIBVER, "locking": False, "rdcc_nbytes": 0}
    try:
        return h5py.File(path, "r+", **options)
    except OSError:  # the consistency flags of a killed SWMR writer
        _recover(path, lock, name)
    try:
        return h5py.File(path, "r+", **options)
    except OSError as exc:
        raise InputError(f"cannot open {name!r} for writing: {exc}") from None


def check_sample_path(path):
    """``path`` as a string, if it names an HDF5 sample file (.h5, .hdf5)."""
    path = os.fspath(path)
    if not path.lower().endswith(SUFFIXES):
        raise InputError(f"path must end in {' or '.join(SUFFIXES)} (an HDF5 sample file), "
                         f"got {path!r}")
    return path


def write_samples(path, experiment, shots, *, rng=None, method="auto", n_workers=1,
                  client=None, progress=None, max_seconds=3600.0):
    """Sample ``experiment`` into the HDF5 file ``path``, or resume it.

    If ``path`` does not exist it is created (format: module docstring) and
    batches are appended as they are drawn.  If it exists it must be a sample
    file of the same run (experiment fingerprint, method, seed, batch size,
    package version, and at most ``shots`` shots); sampling then continues
    after the last complete batch (more shots: the run is extended), and a
    complete file is left as it is.  A file that does not match is never
    modified, except one that holds no complete batch (a failed or killed
    start), which is replaced.

    Parameters
    ----------
    path : str or os.PathLike
        A symbolic link is followed: the file it names is written.
    experiment : Experiment
    shots : int
        Shots of the whole run (more than the file holds: extend it).
    rng : None, int or SeedSequence
        Root seed (a SeedSequence's entropy and spawn key are stored).
        None: the seed stored in ``path`` when it exists, else fresh entropy
        (stored in the file and returned).
    method : str
        As for :func:`jiuzhang_emu.samplers.sample`.
    n_workers : int
        Local worker processes; the samples do not depend on it.
    client : dask.distributed.Client, optional
    progress : bool, optional
        Show a progress bar; None: when stderr is a terminal.
    max_seconds : float or None
        Refuse, before creating anything, a run predicted to take longer
        (:class:`~jiuzhang_emu.RuntimeLimitError` with the estimate); None
        lifts the limit.

    Returns
    -------
    WriteReport

    Raises
    ------
    InputError
        Bad arguments; ``path`` exists and is not a sample file of this run
        (the message names what differs) or is damaged; another run is
        writing it.
    SampleFileWriteError
        A write failed (e.g. the disk is full); the shots of the complete
        batches are in the file, and the same call resumes it.
    """
    from jiuzhang_emu import __version__

    path = os.fspath(path)
    shots = samplers.check_shots(shots)
    method = samplers.check_method(method, experiment)
    n_workers = samplers.check_workers(n_workers)
    check_sample_path(path)
    requested = None if rng is None else _seed(rng)
    expected = {"fingerprint": experiment.fingerprint(), "method": method,
                "batch_size": str(samplers.BATCH_SIZE), "package_version": __version__}
    if os.path.lexists(path) and not os.path.isfile(path):
        raise InputError(f"path {path!r} exists and is not a file"
                         + (" (a broken symbolic link)" if os.path.islink(path) else ""))
    target = os.path.realpath(path)  # a symbolic link stays a link: its file is written
    lock = None
    if os.path.exists(target):
        lock = _RunLock(target, path)
        try:
            _remove_stale_temporaries(target)
            with _open_checked(target, path, locked=True) as handle:
                meta = _metadata(handle, path)
            seed = requested or (meta["seed_entropy"], meta["seed_spawn_key"])
            wanted = {**expected, "seed_entropy": _entropy_text(seed[0]),
                      "seed_spawn_key": _spawn_key_text(seed[1])}
            meta["seed_entropy"] = _entropy_text(meta["seed_entropy"])
            meta["seed_spawn_key"] = _spawn_key_text(meta["seed_spawn_key"])
            if meta["completed_batches"] == 0 and (shots < meta["shots"] or any(
                    str(meta[k]) != v for k, v in wanted.items())):
                # holds no shots (a start that failed or was killed): replace it
                samplers.runtime.check_run_seconds(experiment, shots, method, n_workers,
                                                   max_seconds)
                os.unlink(target)
                lock.release()
                lock = None
            else:
                _check_resume(meta, path, wanted, shots)
                remaining = shots - meta["rows"]
                predicted = remaining and samplers.runtime.check_run_seconds(
                    experiment, remaining, method, n_workers, max_seconds)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
    created = lock is None
    if created:
        predicted = samplers.runtime.check_run_seconds(experiment, shots, method, n_workers,
                                                       max_seconds)
        seed = requested or _seed(None)
        attrs = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
            "experiment": json.dumps(experiment.describe(), default=_jsonable),
            "fingerprint": expected["fingerprint"], "method": method,
            "seed_entropy": _entropy_text(seed[0]), "seed_spawn_key": _spawn_key_text(seed[1]),
            "batch_size": samplers.BATCH_SIZE}
        attrs[_DIGEST] = metadata_digest(attrs)
        attrs.update(shots=shots, completed_batches=0, unresolved_mass=0.0)
        lock = _create(target, experiment, attrs, path)
    entropy, key = seed
    with lock:
        handle = _open_for_append(target, lock, path)
        try:
            try:
                _extend(handle, shots)
            except (OSError, RuntimeError) as exc:
                raise _WriteFailed(exc, sum(samplers.batch_sizes(int(handle.attrs["shots"]))[
                    :int(handle.attrs["completed_batches"])])) from exc
            row = sum(samplers.batch_sizes(shots)[:int(handle.attrs["completed_batches"])])
            if row < shots:
                _append(handle, experiment, shots, np.random.SeedSequence(entropy, spawn_key=key),
                        method, n_workers, client, path,
                        samplers.progress_bar(shots, row, progress, predicted=predicted))
        except _WriteFailed as failure:
            _abandon(handle)
            cause = failure.__cause__
            raise SampleFileWriteError(
                failure.errno, f"cannot write {path!r}: {failure.reason}; the "
                f"{failure.rows} shots of its complete batches (of {shots}) are intact",
                path, failure.rows, shots) from cause
        except Exception:
            handle.close()
            if created and not _has_batches(target):
                os.unlink(target)  # no shots: a failed start leaves no file behind
            raise
        except BaseException:  # an interrupt: the same call resumes (any other replaces it)
            handle.close()
            raise
        handle.close()
    return WriteReport(path, entropy, shots, row, tuple(key))


def _has_batches(path):
    with contextlib.suppress(Exception), _h5py().File(path, "r", locking=False,
                                                      swmr=True) as handle:
        return int(handle.attrs["completed_batches"]) > 0
    return True  # cannot tell: keep it


class _WriteFailed(Exception):
    """A write to the open sample file failed (internal)."""

    def __init__(self, exc, rows):
        super().__init__(str(exc))
        self.rows = rows
        code = getattr(exc, "errno", None)
        if code is None:  # h5py's RuntimeError of a failed flush names errno in its text
            found = re.search(r"errno = (\d+)", str(exc))
            code = int(found.group(1)) if found else errno.EIO
        self.errno = code
        self.reason = f"[Errno {code}] {os.strerror(code)}"


def _abandon(handle):
    """Close a file handle whose writes failed, without writing to the file
    again.

    HDF5 cannot close a file whose pending writes fail: the close fails, and
    the half-closed objects crash the interpreter at exit (a segfault).  So
    the file descriptor HDF5 writes to is first pointed at an anonymous
    in-memory file (Linux), where the close's writes succeed; the file on
    disk keeps the state of the failure, which the SWMR write order leaves
    readable (as after a kill) and which the next run recovers.
    """
    with contextlib.suppress(Exception):
        fd = handle.id.get_vfd_handle()
        if hasattr(os, "memfd_create") and isinstance(fd, int) and fd > 2:
            scratch = os.memfd_create("jiuzhang_emu-abandoned")
            try:
                os.dup2(scratch, fd)
            finally:
                os.close(scratch)
    for _ in range(3):
        try:
            handle.close()
            return
        except Exception:  # noqa: BLE001 - closing what can be closed
            continue


def _extend(handle, shots):
    """Make the open file a run of ``shots`` (at least its own): a last,
    partial batch is dropped first, so that it is redrawn whole.  The counter
    falls before the size grows, so a kill in between leaves a valid file."""
    attrs = handle.attrs
    old = int(attrs["shots"])
    if shots == old:
        return
    sizes = samplers.batch_sizes(old)
    done = int(attrs["completed_batches"])
    if done and sizes[done - 1] < samplers.BATCH_SIZE:
        attrs["completed_batches"] = done - 1
        handle.flush()
    attrs["shots"] = shots
    handle.flush()


def _append(handle, experiment, shots, seed, method, n_workers, client, path, bar):
    """Draw the batches after ``completed_batches`` into the open file.  A
    failed write raises :class:`_WriteFailed`."""
    attrs, dataset = handle.attrs, handle["patterns"]
    done = int(attrs["completed_batches"])
    row = sum(samplers.batch_sizes(shots)[:done])
    try:
        if dataset.shape[0] != row:  # rows of a batch caught mid-write
            dataset.resize(row, axis=0)
        if _DIGEST not in attrs:  # a file written before the digest: add it, checked on
            attrs["seed_spawn_key"] = _spawn_key_text(())  # (as read) from now on
            values = {name: (int(attrs[name]) if name in _INTEGERS else _text(attrs[name]))
                      for name in DIGESTED}
            attrs[_DIGEST] = metadata_digest(values)
        handle.flush()
        handle.swmr_mode = True  # from here on, a kill leaves a readable file
    except (OSError, RuntimeError) as exc:
        raise _WriteFailed(exc, row) from exc
    limit = np.iinfo(dataset.dtype).max
    try:
        for index, patterns, unresolved in samplers.iter_batches(
                experiment, shots, rng=seed, method=method, first_batch=done,
                n_workers=n_workers, client=client, max_seconds=None):
            if index != done:
                raise RuntimeError(f"batch {index} arrived, expected {done}")
            if patterns.size and patterns.max() > limit:
                raise InputError(f"a pattern count {patterns.max()} exceeds the file's "
                                 f"{dataset.dtype} range")
            try:
                dataset.resize(row + len(patterns), axis=0)
                dataset[row:] = patterns
                dataset.flush()  # the rows first, then the counter that validates them
                attrs["unresolved_mass"] = max(float(attrs["unresolved_mass"]), unresolved)
                attrs["completed_batches"] = done + 1
                handle.flush()
            except (OSError, RuntimeError) as exc:
                raise _WriteFailed(exc, row) from exc
            done += 1
            row += len(patterns)
            bar.update(len(patterns))
    finally:
        bar.close()


def read_samples(path):
    """The patterns and metadata of a sample file.

    Only complete batches are returned; ``extra`` says whether the run is
    complete (``"complete"``, ``"requested_shots"``, ``"batch_size"``,
    ``"path"``, and ``"metadata_digest"``: the verified digest, None for an
    older file that has none).

    Returns
    -------
    Samples
        ``patterns`` as int64, ``experiment`` the ``describe()`` dict,
        ``seed_entropy`` and ``seed_spawn_key`` the root seed
        (``Samples.seed``).

    Raises
    ------
    InputError
        ``path`` is not a readable sample file (the message names the file
        and what is wrong).
    """
    path = os.fspath(path)
    with _open_checked(path) as handle:
        meta = _metadata(handle, path)
        with _reading(path):
            patterns = handle["patterns"][:meta["rows"]].astype(np.int64)
    return samplers.Samples(
        patterns, meta["experiment"], meta["method"], meta["seed_entropy"],
        meta["package_version"], meta["unresolved_mass"],
        extra={"path": path, "requested_shots": meta["shots"],
               "complete": meta["rows"] == meta["shots"], "batch_size": meta["batch_size"],
               "metadata_digest": meta["metadata_digest"]},
        seed_spawn_key=meta["seed_spawn_key"])


def read_experiment(path):
    """The ``Experiment.describe()`` dict a sample file records (its
    ``"preset"`` rebuilds it where a preset made it)."""
    path = os.fspath(path)
    with _open_checked(path) as handle:
        return _metadata(handle, path)["experiment"]


def clicks_per_shot(patterns, detector_kind):
    """Clicks in each shot, counted as ``Experiment.mean_clicks`` does:
    clicking detectors (threshold, pseudo-PNR), or modes with at least one
    photon (photon-number resolving)."""
    patterns = np.asarray(patterns)
    if detector_kind == "photon-number-resolving":
        return np.count_nonzero(patterns, axis=1)
    return patterns.sum(axis=1)


def info(path, statistics=True):
    """A summary of a sample file (metadata and click statistics).

    Parameters
    ----------
    path : str or os.PathLike
    statistics : bool
        Read the patterns for ``mean_clicks`` and ``click_histogram``
        (False: metadata only).

    Returns
    -------
    dict
        ``path, format_version, package_version, experiment`` (name),
        ``n_modes, detector, fingerprint, method, seed_entropy,
        seed_spawn_key, shots_requested, shots_written, complete,
        batch_size, dtype, unresolved_mass, metadata_digest`` ("verified",
        or that an older file has none), ``mean_clicks, click_histogram``
        (clicks -> shots, clicks as in :func:`clicks_per_shot`), and
        ``mean_photons`` for photon-number-resolving detectors; the last
        three only with ``statistics``.

    Raises
    ------
    InputError
        ``path`` is not a readable sample file.
    """
    path = os.fspath(path)
    with _open_checked(path) as handle:
        meta = _metadata(handle, path)
        with _reading(path):
            dataset = handle["patterns"]
            kind = meta["experiment"]["detector"]["kind"]
            rows = meta["rows"]
            histogram = np.zeros(0, dtype=np.int64)
            photons = 0
            for start in range(0, rows if statistics else 0, _READ_ROWS):
                block = dataset[start:min(rows, start + _READ_ROWS)].astype(np.int64)
                if block.size and block.min() < 0:
                    raise _damaged(path, f"'/patterns' holds a negative count in rows "
                                         f"{start}-{start + len(block) - 1}")
                counts = np.bincount(clicks_per_shot(block, kind))
                histogram = np.pad(histogram, (0, max(0, len(counts) - len(histogram))))
                histogram[:len(counts)] += counts
                photons += int(block.sum())
            dtype, n_modes = str(dataset.dtype), int(dataset.shape[1])
    clicks = np.arange(len(histogram))
    summary = {
        "path": path,
        "format_version": meta["format_version"],
        "package_version": meta["package_version"],
        "experiment": meta["experiment"]["name"],
        "n_modes": n_modes,
        "detector": kind,
        "fingerprint": meta["fingerprint"],
        "method": meta["method"],
        "seed_entropy": meta["seed_entropy"],
        "seed_spawn_key": meta["seed_spawn_key"],
        "shots_requested": meta["shots"],
        "shots_written": rows,
        "complete": rows == meta["shots"],
        "batch_size": meta["batch_size"],
        "dtype": dtype,
        "unresolved_mass": meta["unresolved_mass"],
        "metadata_digest": "verified" if meta["metadata_digest"] else _NO_DIGEST,
    }
    if not statistics:
        return summary
    summary["mean_clicks"] = float(clicks @ histogram / rows) if rows else float("nan")
    summary["click_histogram"] = {int(c): int(n) for c, n in zip(clicks, histogram) if n}
    if kind == "photon-number-resolving":
        summary["mean_photons"] = photons / rows if rows else float("nan")
    return summary
