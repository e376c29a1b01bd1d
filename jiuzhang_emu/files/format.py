"""The sample-file format and the checks every reader makes.

File format ``jiuzhang_emu.samples``, version 2 (reads versions 1 and 2)
------------------------------------------------------------------------
HDF5 in the 1.10 file format (``libver=("v110", "v110")``: SWMR needs at
least 1.10, and capping it keeps files that HDF5 2.0 writes readable by the
HDF5 1.14 of older h5py releases; "latest" under HDF5 2.0 writes layout
messages HDF5 1.14 cannot read).

Dataset ``/patterns``
    Detection patterns, one row per shot; only the first
    sum(batch sizes[:completed_batches]) rows are valid.  Its layout by
    version and detector (M modes):

    =======  ===================  ==============================  =========
    version  detector             dtype, shape                    chunks
    =======  ===================  ==============================  =========
    2        threshold            uint8 (shots, ceil(M / 8)),     (64, W)
                                  bit-packed along modes
    2        pseudo-PNR           uint8 (shots, M) (uint16 for    (64, M)
                                  more than 255 detectors)
    2        photon-number-       int32 (shots, M)                (64, M)
             resolving
    1        threshold,           int16 (shots, M)                ~64 KiB
             pseudo-PNR
    1        photon-number-       int32 (shots, M)                ~64 KiB
             resolving
    =======  ===================  ==============================  =========

    Bit-packed rows are ``numpy.packbits(pattern, bitorder="big")``: mode
    ``8 k + b`` is bit ``7 - b`` (``b = 0`` the most significant) of byte
    ``k``; the unused low bits of the last byte are 0.  Version 2 datasets
    carry the attributes ``encoding`` (``"bitpacked"`` or ``"counts"``),
    ``n_modes`` (M) and, bit-packed, ``bitorder`` (``"big"``), which must
    agree with the experiment's detector and modes.  Version 2 chunks hold
    one batch (64 shots: 65 KB of bit-packed rows at 8176 modes), so that
    each batch is appended as whole chunks: a chunk rewritten by later
    batches would be reallocated in the file at every batch (measured: 1 MB
    chunks made a 10,000 x 8176 file 8.4x larger).  Compression: gzip level
    4 (with shuffle for int32; version 1: level 1 with shuffle), maxshape
    (None, width).  On Bernoulli(0.27) rows of 8176 modes, gzip saves 14 %
    of the bit-packed bytes (880 bytes per shot; lzf saves nothing), and on
    144 modes x 8 pseudo-PNR counts level 4 stores 17 % less than level 1.
    A file that is resumed keeps its version's layout.

Attributes of the root group

=====================  ===================================================
``format``             ``"jiuzhang_emu.samples"``
``format_version``     2 (files of version 1 are read and resumed as such)
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
                       (method ``"mps"``: that its truncation left out of a
                       shot)
``mps``                method ``"mps"`` only: the network's summary as JSON
                       (``LossyMPS.summary()``: parameters, experiment
                       fingerprint, pure part's photons, bonds and discarded
                       Schmidt weights);
                       run-defining (digested, compared on resume)
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

The metadata checks here are shared by every reader and by a writer that
resumes; :mod:`jiuzhang_emu.files.storage` keeps files sound while they are
written.
"""
import contextlib
import hashlib
import json
import math
import os

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.samplers import BATCH_SIZE, METHODS, batch_sizes

FORMAT = "jiuzhang_emu.samples"
FORMAT_VERSION = 2
SUFFIXES = (".h5", ".hdf5")
LIBVER = ("v110", "v110")
#: The attributes that define a run, covered by ``metadata_sha256``.
DIGESTED = ("format", "format_version", "package_version", "experiment", "fingerprint",
            "method", "seed_entropy", "seed_spawn_key", "batch_size")
#: Run-defining attributes of some methods only, digested where present.
DIGESTED_IF_PRESENT = ("mps",)
_INTEGERS = ("format_version", "batch_size", "shots", "completed_batches")
_DIGEST = "metadata_sha256"
_DETECTORS = ("threshold", "pseudo-PNR", "photon-number-resolving")


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

def _count_dtype(max_count):
    """The smallest integer type that holds counts up to ``max_count`` (None:
    unbounded, int32)."""
    for dtype in (np.uint8, np.uint16):
        if max_count is not None and max_count <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int32)

def _max_count(detector):
    """The largest count of a ``describe()`` detector dict (None: unbounded)."""
    return {"threshold": 1, "pseudo-PNR": detector["n_detectors"]}.get(detector["kind"])


class _Layout:
    """How ``/patterns`` stores one file's patterns (module docstring):
    creating the dataset, encoding rows for it and decoding them, checked.

    ``decoded`` is the type :meth:`decode` returns: uint8 for threshold and
    pseudo-PNR (uint16 beyond 255 detectors), int32 for photon-number
    resolving.
    """

    CHUNK_BYTES_V1 = 1 << 16

    def __init__(self, version, n_modes, kind, max_count, stored=None):
        self.version, self.n_modes, self.kind, self.max_count = version, n_modes, kind, max_count
        self.decoded = _count_dtype(max_count)
        self.bitpacked = version >= 2 and kind == "threshold"
        if stored is None:  # this version's type
            stored = np.uint8 if self.bitpacked else self.decoded
        self.stored = np.dtype(stored)
        self.width = -(-n_modes // 8) if self.bitpacked else n_modes
        self.encoding = "bitpacked" if self.bitpacked else "counts"

    @classmethod
    def new(cls, experiment):
        """The layout of a new file (this version) of ``experiment``."""
        detector = experiment.detector
        return cls(FORMAT_VERSION, experiment.n_modes, detector.kind, detector.max_count)

    @classmethod
    def read(cls, version, experiment, dataset, path):
        """The layout of a file's dataset ``/patterns``, checked against its
        format ``version`` and ``experiment`` (the ``describe()`` dict):
        InputError naming ``path`` and what does not match."""
        n_modes, kind = experiment["n_modes"], experiment["detector"]["kind"]
        layout = cls(version, n_modes, kind, _max_count(experiment["detector"]),
                     dataset.dtype if version == 1 else None)
        if version == 1:
            expected, matches = "integers", dataset.dtype.kind == "i"
        else:
            expected, matches = str(layout.stored), dataset.dtype == layout.stored
            wanted = {"encoding": layout.encoding, "n_modes": n_modes}
            if layout.bitpacked:
                wanted["bitorder"] = "big"
            for name, value in wanted.items():
                found = dataset.attrs.get(name)
                if isinstance(found, bytes):
                    found = found.decode(errors="replace")
                kinds = (int, np.integer) if isinstance(value, int) else str
                if (not isinstance(found, kinds) or isinstance(found, (bool, np.bool_))
                        or found != value):
                    raise _damaged(path, f"dataset '/patterns' attribute {name!r} must be "
                                         f"{value!r} for {kind} detection of {n_modes} modes "
                                         f"(format version {version}), got {found!r}")
        if dataset.ndim != 2 or dataset.shape[1] != layout.width or not matches:
            raise _damaged(path, f"dataset '/patterns' must be {expected} of shape (shots, "
                                 f"{layout.width}), got {dataset.dtype} of shape "
                                 f"{dataset.shape}")
        return layout

    @property
    def chunk_rows(self):
        """Rows per HDF5 chunk: one batch (version 2), ~64 KiB (version 1)."""
        if self.version == 1:
            return max(BATCH_SIZE, self.CHUNK_BYTES_V1 // (self.width * self.stored.itemsize))
        return BATCH_SIZE

    def create(self, handle):
        """Create the empty dataset ``/patterns`` in the open file."""
        level, shuffle = (1, True) if self.version == 1 else (4, self.stored.itemsize > 1)
        dataset = handle.create_dataset(
            "patterns", shape=(0, self.width), maxshape=(None, self.width), dtype=self.stored,
            chunks=(self.chunk_rows, self.width), compression="gzip", compression_opts=level,
            shuffle=shuffle)
        if self.version >= 2:
            dataset.attrs["encoding"] = self.encoding
            dataset.attrs["n_modes"] = self.n_modes
            if self.bitpacked:
                dataset.attrs["bitorder"] = "big"
        return dataset

    def encode(self, patterns):
        """Rows of counts as stored; InputError if a count is out of range."""
        patterns = np.asarray(patterns)
        limit = self.max_count if self.max_count is not None else np.iinfo(self.stored).max
        if patterns.size and (patterns.min() < 0 or patterns.max() > limit):
            bad = patterns.max() if patterns.max() > limit else patterns.min()
            raise InputError(f"a pattern count {bad} is outside [0, {limit}], the range of "
                             f"{self.kind} detection in this file")
        if self.bitpacked:
            return np.packbits(patterns.astype(bool, copy=False), axis=1, bitorder="big")
        return patterns.astype(self.stored, copy=False)

    def decode(self, block, path, first_row):
        """Stored rows (from row ``first_row`` on) as counts of type
        ``decoded``; InputError naming ``path`` for counts out of range."""
        if self.bitpacked:
            spare = self.width * 8 - self.n_modes
            if spare and block.size and np.any(block[:, -1] & ((1 << spare) - 1)):
                raise _damaged(path, f"'/patterns' sets padding bits past mode {self.n_modes} "
                                     f"in rows {first_row}-{first_row + len(block) - 1}")
            return np.unpackbits(block, axis=1, count=self.n_modes, bitorder="big")
        if block.size:
            low, high = block.min(), block.max()
            if low < 0 or (self.max_count is not None and high > self.max_count):
                raise _damaged(path, f"'/patterns' holds a count "
                                     f"{low if low < 0 else high} outside [0, "
                                     f"{self.max_count if self.max_count is not None else 'inf'}"
                                     f"] ({self.kind} detection) in rows {first_row}-"
                                     f"{first_row + len(block) - 1}")
        return block.astype(self.decoded, copy=False)

def metadata_digest(values):
    """SHA-256 (hex) of the run-defining attributes :data:`DIGESTED`:
    ``values`` maps each name to its text (str) or integer value; the digest
    is taken of ``json.dumps(values, sort_keys=True, separators=(",", ":"))``
    encoded as UTF-8."""
    names = DIGESTED + tuple(name for name in DIGESTED_IF_PRESENT if name in values)
    canonical = {name: int(values[name]) if isinstance(values[name], (int, np.integer))
                 else _text(values[name]) for name in names}
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()

def _damaged(path, what):
    return InputError(f"{path!r} is damaged: {what}")

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
        required |= names & set(DIGESTED_IF_PRESENT)
        raw = {name: attrs[name] for name in required}
        canonical = {}
        for name in DIGESTED + tuple(sorted(names & set(DIGESTED_IF_PRESENT))):
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
        meta["mps"] = _json(canonical, "mps", path) if "mps" in canonical else None
        if (meta["mps"] is None) != (canonical["method"] != "mps"):
            raise _damaged(path, "attribute 'mps' must be present exactly for method 'mps'")
        _check_experiment(meta["experiment"], canonical["fingerprint"], path)
        if canonical["method"] not in METHODS or canonical["method"] == "auto":
            raise _damaged(path, f"attribute 'method' {canonical['method']!r} is not a "
                                 f"sampling method (one of {METHODS[1:]})")
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
        if canonical["batch_size"] != BATCH_SIZE:
            raise _damaged(path, f"attribute 'batch_size' is {canonical['batch_size']}, this "
                                 f"jiuzhang_emu writes and reads {BATCH_SIZE}")
        meta["shots"] = shots = _integer(raw, "shots", path, low=1)
        n_batches = len(batch_sizes(shots))
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
        meta["layout"] = _Layout.read(canonical["format_version"], meta["experiment"], dataset,
                                      path)
        meta["rows"] = rows = sum(batch_sizes(shots)[:done])
        if dataset.shape[0] < rows:
            raise _damaged(path, f"completed_batches {done} counts {rows} rows, but "
                                 f"'/patterns' has {dataset.shape[0]}")
    return meta

def check_sample_path(path):
    """``path`` as a string, if it names an HDF5 sample file (.h5, .hdf5)."""
    path = os.fspath(path)
    if not path.lower().endswith(SUFFIXES):
        raise InputError(f"path must end in {' or '.join(SUFFIXES)} (an HDF5 sample file), "
                         f"got {path!r}")
    return path
