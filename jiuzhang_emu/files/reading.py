"""Reading sample files: the patterns, whole or chunk by chunk, the
experiment, a summary, and the check that a file fits a model.

Every reader decodes ``/patterns`` by the file's layout (version 1 or 2:
:mod:`~jiuzhang_emu.files.format`) one chunk of shots at a time:
:func:`iter_patterns` yields the chunks in the smallest exact integer type
(uint8 for threshold and pseudo-PNR detection, uint16 beyond 255 detectors
per mode, int32 for photon-number resolving), :func:`read_samples` gathers
them into one int64 array, and :func:`info` sums its statistics chunk by
chunk.  A chunk is by default about 64 MB of decoded patterns (8,192 shots
of 8176 modes), so :func:`iter_patterns` and :func:`info` hold one chunk
whatever the file's size.  Counts outside the detector's range
([0, 1] threshold, [0, n_detectors] pseudo-PNR, >= 0 photon-number
resolving) and set padding bits are damage (:class:`InputError`).
"""
import os

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.files.format import _metadata, _reading
from jiuzhang_emu.files.storage import _open_checked
from jiuzhang_emu.samplers import Samples
from jiuzhang_emu.validation.statistics import clicks_per_shot

_NO_DIGEST = "absent (a file written before the digest was stored: metadata not checked)"
_CHUNK_BYTES = 64 << 20  # decoded bytes per chunk of shots, chunk_shots=None


def _chunk_rows(meta, dataset, chunk_shots):
    """Shots per chunk: ``chunk_shots``, or a whole number of the file's
    HDF5 chunks holding about :data:`_CHUNK_BYTES` of decoded patterns."""
    if chunk_shots is not None:
        return chunk_shots
    layout = meta["layout"]
    rows = max(1, _CHUNK_BYTES // (layout.n_modes * layout.decoded.itemsize))
    stored = dataset.chunks[0] if dataset.chunks else 1
    return max(stored, rows // stored * stored)


def _decoded(handle, meta, path, start, stop, chunk_shots=None):
    """``(first row, patterns)`` of rows [start, stop) of the open file, in
    chunks of shots (:func:`_chunk_rows`)."""
    layout = meta["layout"]
    with _reading(path):
        dataset = handle["patterns"]
        step = _chunk_rows(meta, dataset, chunk_shots)
    for first in range(start, stop, step):
        with _reading(path):
            block = layout.decode(dataset[first:min(stop, first + step)], path, first)
        yield first, block


def _check_index(value, name, low, high=None, path=None):
    """``value`` as an int in [low, high], or InputError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        where = f" (the complete shots of {path!r})" if path and high is not None else ""
        raise InputError(f"{name} must be {bound}{where}, got {value}")
    return int(value)


def iter_patterns(path, *, chunk_shots=None, start=0, stop=None):
    """The patterns of a sample file's complete batches, chunk by chunk.

    The file's metadata is checked (as by :func:`read_samples`) and the
    arguments against it when this is called; the patterns are read as the
    chunks are taken, one chunk in memory at a time.

    Parameters
    ----------
    path : str or os.PathLike
    chunk_shots : int, optional
        Shots per chunk (the last may be shorter); None: about 64 MB of
        decoded patterns, a whole number of the file's HDF5 chunks (8,192
        shots at 8176 modes).
    start, stop : int, optional
        The shots [start, stop) of the complete batches; stop None: all.

    Yields
    ------
    ndarray of shape (shots in the chunk, modes)
        uint8 for threshold and pseudo-PNR detection (uint16 beyond 255
        detectors per mode), int32 for photon-number-resolving detection;
        concatenated, ``read_samples(path).patterns[start:stop]``.

    Raises
    ------
    InputError
        ``path`` is not a readable sample file, or is damaged (named), when
        called or when the damaged chunk is read; ``chunk_shots``,
        ``start`` or ``stop`` out of range.
    """
    path = os.fspath(path)
    if chunk_shots is not None:
        chunk_shots = _check_index(chunk_shots, "chunk_shots", 1)
    with _open_checked(path) as handle:
        meta = _metadata(handle, path)
    rows = meta["rows"]
    start = _check_index(start, "start", 0, rows, path)
    stop = rows if stop is None else _check_index(stop, "stop", start, rows, path)
    return _iterate(path, meta, start, stop, chunk_shots)


def _run_of(meta):
    return meta["fingerprint"], meta["method"], meta["seed_entropy"], meta["seed_spawn_key"]


def _iterate(path, checked, start, stop, chunk_shots):
    with _open_checked(path) as handle:
        meta = _metadata(handle, path)
        if _run_of(meta) != _run_of(checked) or meta["rows"] < stop:
            raise InputError(f"{path!r} was replaced by another file or run since "
                             f"iter_patterns checked it")
        for _, block in _decoded(handle, meta, path, start, stop, chunk_shots):
            yield block


def read_samples(path):
    """The patterns and metadata of a sample file.

    Only complete batches are returned; ``extra`` says whether the run is
    complete (``"complete"``, ``"requested_shots"``, ``"batch_size"``,
    ``"path"``, and ``"metadata_digest"``: the verified digest, None for an
    older file that has none).  The patterns are decoded chunk by chunk
    into the result (:func:`iter_patterns` reads a file without holding it
    whole).

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
        patterns = np.empty((meta["rows"], meta["layout"].n_modes), dtype=np.int64)
        for first, block in _decoded(handle, meta, path, 0, meta["rows"]):
            patterns[first:first + len(block)] = block
    return Samples(
        patterns, meta["experiment"], meta["method"], meta["seed_entropy"],
        meta["package_version"], meta["unresolved_mass"],
        extra={"path": path, "requested_shots": meta["shots"],
               "complete": meta["rows"] == meta["shots"], "batch_size": meta["batch_size"],
               "metadata_digest": meta["metadata_digest"],
               **({} if meta["mps"] is None else {"mps": meta["mps"]})},
        seed_spawn_key=meta["seed_spawn_key"])


def read_experiment(path):
    """The ``Experiment.describe()`` dict a sample file records (its
    ``"preset"`` rebuilds it where a preset made it)."""
    path = os.fspath(path)
    with _open_checked(path) as handle:
        return _metadata(handle, path)["experiment"]


def check_width(file, experiment):
    """Check, before any pattern is read, that a sample file's patterns fit
    ``experiment``: as many modes and the same detector.

    Parameters
    ----------
    file : str, os.PathLike or dict
        A sample file (only its metadata is read), or the ``describe()``
        dict it records (:func:`read_experiment`, ``Samples.experiment``).
    experiment : Experiment

    Returns
    -------
    dict
        The file's ``describe()`` dict.

    Raises
    ------
    InputError
        The widths (modes) or detectors differ (both named), or ``file`` is
        not a readable sample file.
    """
    if isinstance(file, dict):
        recorded, name = file, repr(file.get("name", "the sample file"))
        if not (isinstance(recorded.get("n_modes"), int)
                and isinstance(recorded.get("detector"), dict)):
            raise InputError(f"file must be a sample file or its experiment's describe() "
                             f"dict (with n_modes and detector), got keys {sorted(recorded)}")
    else:
        path = os.fspath(file)
        recorded, name = read_experiment(path), repr(path)
    width, detector = recorded["n_modes"], recorded["detector"]
    if width != experiment.n_modes:
        raise InputError(f"{name} holds patterns of {width} modes, but the model "
                         f"{experiment.name!r} has {experiment.n_modes} modes: compare the "
                         f"file with a model of {width} modes")
    model = experiment.detector
    model_detectors = getattr(model, "n_detectors", 1)
    if (detector.get("kind"), detector.get("n_detectors", 1)) != (model.kind, model_detectors):
        raise InputError(f"{name} holds {detector.get('kind')} patterns "
                         f"({detector.get('n_detectors', 1)} detectors per mode), but the "
                         f"model {experiment.name!r} has {model.kind} detection "
                         f"({model_detectors} per mode)")
    return recorded


def info(path, statistics=True):
    """A summary of a sample file (metadata and click statistics), read
    chunk by chunk: one chunk of patterns in memory at a time.

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
        batch_size, dtype`` (as stored), ``encoding`` (``"bitpacked"`` or
        ``"counts"``), ``unresolved_mass, metadata_digest`` ("verified",
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
        layout, rows = meta["layout"], meta["rows"]
        kind = meta["experiment"]["detector"]["kind"]
        histogram = np.zeros(0, dtype=np.int64)
        photons = 0
        for _, block in _decoded(handle, meta, path, 0, rows if statistics else 0):
            counts = np.bincount(clicks_per_shot(block, kind).astype(np.int64))  # numpy 1.x
            histogram = np.pad(histogram, (0, max(0, len(counts) - len(histogram))))
            histogram[:len(counts)] += counts
            photons += int(block.sum(dtype=np.int64))
        with _reading(path):
            dtype = str(handle["patterns"].dtype)
    clicks = np.arange(len(histogram))
    summary = {
        "path": path,
        "format_version": meta["format_version"],
        "package_version": meta["package_version"],
        "experiment": meta["experiment"]["name"],
        "n_modes": layout.n_modes,
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
        "encoding": layout.encoding,
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
