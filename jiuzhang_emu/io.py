"""Sample files: HDF5 (h5py), streamed batch by batch and resumable.

File format ``jiuzhang_emu.samples``, version 1
-----------------------------------------------
HDF5 with the 1.10+ file format (``libver="latest"``, needed for SWMR).

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
``shots``              shots requested for the whole run
``batch_size``         shots per batch; batch i is drawn with the child seed
                       ``SeedSequence(entropy, spawn_key=(i,))``
``completed_batches``  batches fully written
``unresolved_mass``    largest probability mass rounding may have misplaced
=====================  ===================================================

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
"""
import contextlib
import json
import os
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
SUFFIXES = (".h5", ".hdf5")
_CHUNK_BYTES = 1 << 16
_READ_ROWS = 1 << 16


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
    """

    path: str
    seed_entropy: object
    shots: int
    resumed_from: int

    @property
    def sampled(self):
        """Shots drawn by this call."""
        return self.shots - self.resumed_from


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
    """Root SeedSequence entropy of ``rng`` (None: fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        raise InputError("rng must be None, an int or a SeedSequence for a sample file, got a "
                         "Generator: the file stores the seed so that the run can resume")
    return samplers.root_seed(rng)[0]


def _open_checked(path):
    """Open an existing sample file read-only, or raise InputError.

    Files whose writer is running, or was killed, are opened with SWMR.
    HDF5's own file locks are not used: :class:`_RunLock` guards writers.
    """
    h5py = _h5py()
    if not os.path.isfile(path):
        raise InputError(f"path {path!r} is not an existing file")
    with open(path, "rb") as raw:
        if raw.read(len(_HDF5_SIGNATURE)) != _HDF5_SIGNATURE:
            raise InputError(f"{path!r} is not an HDF5 file (not a jiuzhang_emu sample file)")
    try:
        handle = h5py.File(path, "r", locking=False)
    except OSError as exc:
        if "already open for write" not in str(exc):  # not a killed writer's flags
            raise InputError(f"cannot read {path!r}: the file is damaged or truncated "
                             f"({exc})") from None
        try:
            handle = h5py.File(path, "r", swmr=True, locking=False)
        except OSError as exc:
            raise InputError(f"cannot read {path!r}: {exc}") from None
    fmt = _text(handle.attrs.get("format", ""))
    version = int(handle.attrs.get("format_version", 0))
    if fmt != FORMAT or "patterns" not in handle:
        handle.close()
        raise InputError(f"{path!r} is not a jiuzhang_emu sample file (format attribute "
                         f"{fmt or None!r}, expected {FORMAT!r})")
    if not 1 <= version <= FORMAT_VERSION:
        handle.close()
        raise InputError(f"{path!r} has sample file format version {version}; this "
                         f"jiuzhang_emu reads versions up to {FORMAT_VERSION}")
    return handle


@contextlib.contextmanager
def _reading(path):
    """Turn HDF5's read errors of a damaged file into an InputError."""
    try:
        yield
    except (OSError, KeyError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"cannot read {path!r}: the file is damaged or truncated "
                         f"({exc})") from None


def _rows_done(attrs):
    sizes = samplers.batch_sizes(int(attrs["shots"]))
    return sum(sizes[:int(attrs["completed_batches"])])


def _check_resume(handle, path, expected, shots):
    """Raise InputError naming every attribute of the file that differs, or
    when the file holds more shots than the ``shots`` requested."""
    attrs = handle.attrs
    differences = [f"{name} {_text(attrs[name])!r} in the file, {value!r} requested"
                   for name, value in expected.items() if _text(attrs[name]) != value]
    if differences:
        raise InputError(f"{path!r} belongs to a different run and is left unchanged: "
                         + "; ".join(differences))
    if shots < int(attrs["shots"]):
        raise InputError(f"{path!r} is a run of {int(attrs['shots'])} shots, more than the "
                         f"{shots} requested; left unchanged (a run can be extended, not "
                         f"shortened: read_samples(path).patterns[:{shots}] has the first "
                         f"{shots})")
    rows, done = handle["patterns"].shape[0], int(attrs["completed_batches"])
    if rows < _rows_done(attrs) or done > len(samplers.batch_sizes(int(attrs["shots"]))):
        raise InputError(f"{path!r} is inconsistent: completed_batches {done} but {rows} rows")


class _RunLock:
    """An exclusive advisory lock (``flock``) on a file, held by the one run
    that writes it; another run gets an InputError."""

    def __init__(self, path):
        self.fd = None
        self.move_to(path)

    def move_to(self, path):
        """Lock the file now at ``path`` and release the previous one."""
        fd = os.open(path, os.O_RDONLY)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise InputError(f"{path!r} is being written by another run") from None
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


def _new_file(path, n_modes, dtype, attrs):
    """An empty sample file with ``attrs`` under a fresh temporary name next
    to ``path``; returns that name."""
    h5py = _h5py()
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as exc:
        raise InputError(f"cannot create a file in {directory!r}: {exc}") from None
    try:
        chunk_rows = max(samplers.BATCH_SIZE, _CHUNK_BYTES // (n_modes * dtype.itemsize))
        with h5py.File(temporary, "w", libver="latest", locking=False) as handle:
            handle.create_dataset("patterns", shape=(0, n_modes), maxshape=(None, n_modes),
                                  dtype=dtype, chunks=(chunk_rows, n_modes), compression="gzip",
                                  compression_opts=1, shuffle=True)
            for key, value in attrs.items():
                handle.attrs[key] = value
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def _create(path, experiment, attrs):
    """Create the empty sample file at ``path``, never replacing a file;
    returns a :class:`_RunLock` on it."""
    temporary = _new_file(path, experiment.n_modes, _pattern_dtype(experiment), attrs)
    lock = None
    try:
        lock = _RunLock(temporary)
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise InputError(f"{path!r} appeared while it was being created; "
                             "left unchanged") from None
        except OSError:  # no hard links here: rename, after the existence check
            if os.path.lexists(path):
                raise InputError(f"{path!r} exists; left unchanged") from None
            os.replace(temporary, path)
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return lock


def _recover(path, lock):
    """Replace a file left open by a killed writer with a clean copy of its
    attributes and counted rows (built aside, then renamed over it)."""
    with _open_checked(path) as old:
        source = old["patterns"]
        rows = _rows_done(old.attrs)
        temporary = _new_file(path, source.shape[1], source.dtype, dict(old.attrs))
        try:
            with _h5py().File(temporary, "r+", locking=False) as new:
                target = new["patterns"]
                target.resize(rows, axis=0)
                for start in range(0, rows, _READ_ROWS):
                    stop = min(rows, start + _READ_ROWS)
                    target[start:stop] = source[start:stop]
            lock.move_to(temporary)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _open_for_append(path, lock):
    h5py = _h5py()
    if not os.access(path, os.W_OK):
        raise InputError(f"{path!r} is not writable")
    try:
        return h5py.File(path, "r+", libver="latest", locking=False)
    except OSError:  # the consistency flags of a killed SWMR writer
        _recover(path, lock)
    try:
        return h5py.File(path, "r+", libver="latest", locking=False)
    except OSError as exc:
        raise InputError(f"cannot open {path!r} for writing: {exc}") from None


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
    modified.

    Parameters
    ----------
    path : str or os.PathLike
    experiment : Experiment
    shots : int
        Shots of the whole run (more than the file holds: extend it).
    rng : None, int or SeedSequence
        Root seed.  None: the seed stored in ``path`` when it exists, else
        fresh entropy (stored in the file and returned).
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
        (the message names what differs); another run is writing it.
    """
    from jiuzhang_emu import __version__

    path = os.fspath(path)
    shots = samplers.check_shots(shots)
    method = samplers.check_method(method, experiment)
    n_workers = samplers.check_workers(n_workers)
    check_sample_path(path)
    requested = None if rng is None else _entropy_text(_seed(rng))
    expected = {"fingerprint": experiment.fingerprint(), "method": method,
                "batch_size": str(samplers.BATCH_SIZE), "package_version": __version__}
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise InputError(f"path {path!r} exists and is not a file")
        lock = _RunLock(path)
        try:
            with _open_checked(path) as handle, _reading(path):
                entropy_text = _text(handle.attrs["seed_entropy"])
                _check_resume(handle, path, {**expected, "seed_entropy": requested or entropy_text},
                              shots)
                remaining = shots - _rows_done(handle.attrs)
            predicted = remaining and samplers.planning.check_runtime(
                experiment, remaining, method, n_workers, max_seconds)
        except BaseException:
            lock.release()
            raise
    else:
        predicted = samplers.planning.check_runtime(experiment, shots, method, n_workers,
                                                    max_seconds)
        entropy_text = requested or _entropy_text(_seed(None))
        lock = _create(path, experiment, {
            "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
            "experiment": json.dumps(experiment.describe(), default=_jsonable),
            "fingerprint": expected["fingerprint"], "method": method,
            "seed_entropy": entropy_text, "shots": shots, "batch_size": samplers.BATCH_SIZE,
            "completed_batches": 0, "unresolved_mass": 0.0})
    with lock:
        entropy = json.loads(entropy_text)
        with _open_for_append(path, lock) as handle:
            _extend(handle, shots)
            row = _rows_done(handle.attrs)
            if row < shots:
                _append(handle, experiment, shots, np.random.SeedSequence(entropy), method,
                        n_workers, client, samplers.progress_bar(shots, row, progress,
                                                                 predicted=predicted))
    return WriteReport(path, entropy, shots, row)


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


def _append(handle, experiment, shots, seed, method, n_workers, client, bar):
    """Draw the batches after ``completed_batches`` into the open file."""
    attrs, dataset = handle.attrs, handle["patterns"]
    done, row = int(attrs["completed_batches"]), _rows_done(attrs)
    if dataset.shape[0] != row:  # rows of a batch caught mid-write
        dataset.resize(row, axis=0)
    handle.swmr_mode = True  # from here on, a kill leaves a readable file
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
            dataset.resize(row + len(patterns), axis=0)
            dataset[row:] = patterns
            dataset.flush()  # the rows first, then the counter that validates them
            attrs["unresolved_mass"] = max(float(attrs["unresolved_mass"]), unresolved)
            done += 1
            attrs["completed_batches"] = done
            handle.flush()
            row += len(patterns)
            bar.update(len(patterns))
    finally:
        bar.close()


def read_samples(path):
    """The patterns and metadata of a sample file.

    Only complete batches are returned; ``extra`` says whether the run is
    complete (``"complete"``, ``"requested_shots"``, ``"batch_size"``,
    ``"path"``).

    Returns
    -------
    Samples
        ``patterns`` as int64, ``experiment`` the ``describe()`` dict.
    """
    path = os.fspath(path)
    with _open_checked(path) as handle, _reading(path):
        attrs = handle.attrs
        rows = _rows_done(attrs)
        patterns = handle["patterns"][:rows].astype(np.int64)
        shots = int(attrs["shots"])
        return samplers.Samples(
            patterns, json.loads(_text(attrs["experiment"])), _text(attrs["method"]),
            json.loads(_text(attrs["seed_entropy"])), _text(attrs["package_version"]),
            float(attrs["unresolved_mass"]),
            extra={"path": path, "requested_shots": shots, "complete": rows == shots,
                   "batch_size": int(attrs["batch_size"])})


def read_experiment(path):
    """The ``Experiment.describe()`` dict a sample file records (its
    ``"preset"`` rebuilds it where a preset made it)."""
    path = os.fspath(path)
    with _open_checked(path) as handle, _reading(path):
        return json.loads(_text(handle.attrs["experiment"]))


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
        shots_requested, shots_written, complete, batch_size, dtype,
        unresolved_mass, mean_clicks, click_histogram`` (clicks -> shots,
        clicks as in :func:`clicks_per_shot`), and ``mean_photons`` for
        photon-number-resolving detectors; the last three only with
        ``statistics``.
    """
    path = os.fspath(path)
    with _open_checked(path) as handle, _reading(path):
        attrs, dataset = handle.attrs, handle["patterns"]
        experiment = json.loads(_text(attrs["experiment"]))
        kind = experiment["detector"]["kind"]
        rows = _rows_done(attrs)
        histogram = np.zeros(0, dtype=np.int64)
        photons = 0
        for start in range(0, rows if statistics else 0, _READ_ROWS):
            block = dataset[start:min(rows, start + _READ_ROWS)].astype(np.int64)
            counts = np.bincount(clicks_per_shot(block, kind))
            histogram = np.pad(histogram, (0, max(0, len(counts) - len(histogram))))
            histogram[:len(counts)] += counts
            photons += int(block.sum())
        clicks = np.arange(len(histogram))
        summary = {
            "path": path,
            "format_version": int(attrs["format_version"]),
            "package_version": _text(attrs["package_version"]),
            "experiment": experiment["name"],
            "n_modes": int(dataset.shape[1]),
            "detector": kind,
            "fingerprint": _text(attrs["fingerprint"]),
            "method": _text(attrs["method"]),
            "seed_entropy": json.loads(_text(attrs["seed_entropy"])),
            "shots_requested": int(attrs["shots"]),
            "shots_written": rows,
            "complete": rows == int(attrs["shots"]),
            "batch_size": int(attrs["batch_size"]),
            "dtype": str(dataset.dtype),
            "unresolved_mass": float(attrs["unresolved_mass"]),
        }
        if not statistics:
            return summary
        summary["mean_clicks"] = float(clicks @ histogram / rows) if rows else float("nan")
        summary["click_histogram"] = {int(c): int(n) for c, n in zip(clicks, histogram) if n}
        if kind == "photon-number-resolving":
            summary["mean_photons"] = photons / rows if rows else float("nan")
        return summary
