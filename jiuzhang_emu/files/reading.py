"""Reading sample files: the patterns, the experiment, a summary."""
import os

import numpy as np

from jiuzhang_emu.files.format import _damaged, _metadata, _reading
from jiuzhang_emu.files.storage import _READ_ROWS, _open_checked
from jiuzhang_emu.samplers import Samples
from jiuzhang_emu.validation.statistics import clicks_per_shot

_NO_DIGEST = "absent (a file written before the digest was stored: metadata not checked)"


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
