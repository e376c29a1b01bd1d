"""Writing sample files: :func:`write_samples`, a sink of the run engine.

The run is planned (:func:`~jiuzhang_emu.samplers.plan_run`: arguments,
method, seed) and, once the file says where it resumes, priced and checked
against ``max_seconds`` before anything is created or replaced; its batches
then flow through :func:`~jiuzhang_emu.samplers.run` into a sink that
appends them.  A run appends each batch's rows, flushes them, and only then raises
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
A resumed file keeps the layout of its format version (a version 1 file
stays version 1), so no file mixes layouts.

A file that holds no complete batch holds no samples: a run that created it
and fails (an exception, not an interrupt) before its first batch removes
it, and one left by an interrupted or killed run is resumed by the same run
and replaced by a run of other parameters (after that run's checks).
How files are kept sound meanwhile (the run lock, temporaries, recovery):
:mod:`jiuzhang_emu.files.storage`.

A write that fails (a full disk, a file size limit) ends the run with
:class:`SampleFileWriteError` naming the shots that are in the file; the
file handle is then closed without writing to the file again, so the file
is left as a killed writer leaves it: readable, and resumed by the same call
once there is room.
"""
import contextlib
import json
import os
from dataclasses import dataclass, replace

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.files.format import (
    _DIGEST, _INTEGERS, DIGESTED, FORMAT, FORMAT_VERSION, SampleFileWriteError, _entropy_text,
    _h5py, _jsonable, _Layout, _metadata, _spawn_key_text, _text, check_sample_path,
    metadata_digest)
from jiuzhang_emu.files.storage import (
    _abandon, _create, _open_checked, _open_for_append, _remove_stale_temporaries, _RunLock,
    _WriteFailed)
from jiuzhang_emu.samplers import BATCH_SIZE, batch_sizes, engine


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


def prepared_file(path, method):
    """The side file in which a method of
    :data:`~jiuzhang_emu.samplers.engine.PREPARED_ROUTES` keeps what it
    prepares for the run of the sample file ``path``: ``path`` with its
    suffix replaced by ``.<method>.h5`` (OUT.h5 -> OUT.greedy.h5), so a
    stopped run resumes its preparation too."""
    return os.path.splitext(os.fspath(path))[0] + f".{method}.h5"


def _stored_seed(path):
    """The root SeedSequence stored in the sample file ``path``, or None
    (no file, or not a sample file: the checks below report it)."""
    if not os.path.isfile(path):
        return None
    try:
        with _open_checked(path, path) as handle:
            meta = _metadata(handle, path)
    except InputError:
        return None
    return np.random.SeedSequence(meta["seed_entropy"], spawn_key=meta["seed_spawn_key"])


def write_samples(path, experiment, shots, *, rng=None, method="auto", n_workers=1,
                  client=None, progress=None, max_seconds=3600.0, mps=None):
    """Sample ``experiment`` into the HDF5 file ``path``, or resume it.

    If ``path`` does not exist it is created (format: module docstring) and
    batches are appended as they are drawn.  If it exists it must be a sample
    file of the same run (experiment fingerprint, method, seed, batch size,
    package version, the "mps" route's network summary, and at most
    ``shots`` shots); sampling then continues
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
    progress : bool or sink, optional
        Show a progress bar; None: when stderr is a terminal.  A sink of the
        run engine (:func:`jiuzhang_emu.samplers.run`) is fed instead.
    max_seconds : float or None
        Refuse, before creating anything, a run predicted to take longer
        (:class:`~jiuzhang_emu.RuntimeLimitError` with the estimate); None
        lifts the limit.
    mps : LossyMPS, str or os.PathLike, optional
        Method "mps": as for :func:`jiuzhang_emu.samplers.sample`.

    Methods prepared once per run ("greedy": its whole-set construction;
    "boltzmann": its fitted machine, with the measured moment errors) keep
    what they prepare in the side file :func:`prepared_file` (OUT.greedy.h5,
    OUT.boltzmann.h5), so an interrupted call resumes the preparation
    (greedy: as it goes; boltzmann: once the fit is complete) as well as the
    batches; the side file is left in place (a rerun of the same run reads
    it instead of preparing again).

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
    from jiuzhang_emu._version import __version__

    prepared_path = None
    if method in engine.PREPARED_ROUTES:  # what the route prepares, kept beside the file
        prepared_path = prepared_file(path, method)
        if rng is None:  # resuming: the preparation needs the run's seed
            rng = _stored_seed(path)
        stored = getattr(engine.PREPARED_ROUTES[method], "stored_seed", None)
        if rng is None and stored is not None:  # stopped before the sample file existed
            rng = stored(prepared_path)
    plan = engine.plan_run(experiment, shots, rng=rng, method=method, n_workers=n_workers,
                           client=client, mps=mps, progress=progress,
                           prepared_path=prepared_path, max_seconds=max_seconds)
    network = {} if plan.mps is None else {
        "mps": json.dumps(plan.mps.summary(), sort_keys=True, default=_jsonable)}
    if plan.generator is not None:
        raise InputError("rng must be None, an int or a SeedSequence for a sample file, got a "
                         "Generator: the file stores the seed so that the run can resume")
    path = check_sample_path(path)
    if os.path.lexists(path) and not os.path.isfile(path):
        raise InputError(f"path {path!r} exists and is not a file"
                         + (" (a broken symbolic link)" if os.path.islink(path) else ""))
    target = os.path.realpath(path)  # a symbolic link stays a link: its file is written
    lock = _RunLock(target, path) if os.path.exists(target) else None
    try:
        first_batch, stale = 0, False
        if lock is not None:
            _remove_stale_temporaries(target)
            with _open_checked(target, path, locked=True) as handle:
                meta = _metadata(handle, path)
            if rng is None:  # the file's seed
                plan = replace(plan, seed_entropy=meta["seed_entropy"],
                               seed_spawn_key=meta["seed_spawn_key"])
            wanted = {"fingerprint": experiment.fingerprint(), "method": plan.method,
                      "batch_size": str(BATCH_SIZE), "package_version": __version__,
                      "seed_entropy": _entropy_text(plan.seed_entropy),
                      "seed_spawn_key": _spawn_key_text(plan.seed_spawn_key), **network}
            meta["mps"] = meta["mps"] and json.dumps(meta["mps"], sort_keys=True)
            meta["seed_entropy"] = _entropy_text(meta["seed_entropy"])
            meta["seed_spawn_key"] = _spawn_key_text(meta["seed_spawn_key"])
            # a file that holds no shots (a start that failed or was killed) is replaced
            stale = meta["completed_batches"] == 0 and (plan.shots < meta["shots"] or any(
                str(meta[k]) != v for k, v in wanted.items()))
            if not stale:
                _check_resume(meta, path, wanted, plan.shots)
                first_batch = _first_batch(meta["shots"], meta["completed_batches"], plan.shots)
        plan = plan.priced(max_seconds, first_batch)
        if stale:
            os.unlink(target)
            lock.release()
            lock = None
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    created = lock is None
    if created:
        attrs = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "package_version": __version__,
            "experiment": json.dumps(experiment.describe(), default=_jsonable),
            "fingerprint": experiment.fingerprint(), "method": plan.method,
            "seed_entropy": _entropy_text(plan.seed_entropy),
            "seed_spawn_key": _spawn_key_text(plan.seed_spawn_key), "batch_size": BATCH_SIZE,
            **network}
        attrs[_DIGEST] = metadata_digest(attrs)
        attrs.update(shots=plan.shots, completed_batches=0, unresolved_mass=0.0)
        lock = _create(target, experiment, attrs, path)
    with lock:
        handle = _open_for_append(target, lock, path)
        try:
            try:
                _extend(handle, plan.shots)
            except (OSError, RuntimeError) as exc:
                raise _WriteFailed(exc, sum(batch_sizes(int(handle.attrs["shots"]))[
                    :int(handle.attrs["completed_batches"])])) from exc
            if plan.first_shot < plan.shots:
                engine.run(plan, _FileSink(handle), engine.progress_sink(progress))
        except _WriteFailed as failure:
            _abandon(handle)
            cause = failure.__cause__
            raise SampleFileWriteError(
                failure.errno, f"cannot write {path!r}: {failure.reason}; the "
                f"{failure.rows} shots of its complete batches (of {plan.shots}) are intact",
                path, failure.rows, plan.shots) from cause
        except Exception:
            handle.close()
            if created and not _has_batches(target):
                os.unlink(target)  # no shots: a failed start leaves no file behind
            raise
        except BaseException:  # an interrupt: the same call resumes (any other replaces it)
            handle.close()
            raise
        handle.close()
    return WriteReport(path, plan.seed_entropy, plan.shots, plan.first_shot,
                       plan.seed_spawn_key)


def _has_batches(path):
    with contextlib.suppress(Exception), _h5py().File(path, "r", locking=False,
                                                      swmr=True) as handle:
        return int(handle.attrs["completed_batches"]) > 0
    return True  # cannot tell: keep it


def _first_batch(old_shots, done, shots):
    """The first batch that a run of ``shots`` draws into a file of a run of
    ``old_shots`` with ``done`` complete batches: a last, partial batch is
    redrawn whole when the run is extended."""
    if shots != old_shots and done and batch_sizes(old_shots)[done - 1] < BATCH_SIZE:
        return done - 1
    return done


def _extend(handle, shots):
    """Make the open file a run of ``shots`` (at least its own), from batch
    :func:`_first_batch` on.  The counter falls before the size grows, so a
    kill in between leaves a valid file."""
    attrs = handle.attrs
    old = int(attrs["shots"])
    if shots == old:
        return
    done = int(attrs["completed_batches"])
    first = _first_batch(old, done, shots)
    if first != done:
        attrs["completed_batches"] = first
        handle.flush()
    attrs["shots"] = shots
    handle.flush()


class _FileSink:
    """A sink of the run engine appending batches to the open file.  A failed
    write raises :class:`~jiuzhang_emu.files.storage._WriteFailed`."""

    def __init__(self, handle):
        self.handle = handle
        self.done = self.row = 0

    def start(self, plan):
        """Drop rows past the counter (a batch caught mid-write), add the
        digest to a file written before it was stored, enter SWMR mode."""
        attrs, dataset = self.handle.attrs, self.handle["patterns"]
        self.done, self.row = plan.first_batch, plan.first_shot
        # the file's own layout (a resumed version 1 file stays version 1)
        self.layout = _Layout.read(int(attrs["format_version"]),
                                   json.loads(_text(attrs["experiment"])), dataset,
                                   self.handle.filename)
        try:
            if dataset.shape[0] != self.row:
                dataset.resize(self.row, axis=0)
            if _DIGEST not in attrs:  # checked on (as read) from now on
                attrs["seed_spawn_key"] = _spawn_key_text(())
                values = {name: (int(attrs[name]) if name in _INTEGERS else _text(attrs[name]))
                          for name in DIGESTED}
                attrs[_DIGEST] = metadata_digest(values)
            self.handle.flush()
            self.handle.swmr_mode = True  # from here on, a kill leaves a readable file
        except (OSError, RuntimeError) as exc:
            raise _WriteFailed(exc, self.row) from exc

    def add(self, index, patterns, unresolved_mass):
        attrs, dataset = self.handle.attrs, self.handle["patterns"]
        if index != self.done:
            raise RuntimeError(f"batch {index} arrived, expected {self.done}")
        rows = self.layout.encode(patterns)
        try:
            dataset.resize(self.row + len(rows), axis=0)
            dataset[self.row:] = rows
            dataset.flush()  # the rows first, then the counter that validates them
            attrs["unresolved_mass"] = max(float(attrs["unresolved_mass"]), unresolved_mass)
            attrs["completed_batches"] = self.done + 1
            self.handle.flush()
        except (OSError, RuntimeError) as exc:
            raise _WriteFailed(exc, self.row) from exc
        self.done += 1
        self.row += len(patterns)

    def close(self):
        pass
