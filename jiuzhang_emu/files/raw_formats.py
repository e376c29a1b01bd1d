"""Readers (and writers) of the published Jiuzhang raw sample formats.

Jiuzhang 1.0 (USTC release of Zhong et al., Science 370, 1460 (2020)): one
128-bit record per sample, bytes in order, bits most significant first:
16 timestamp bits; 104 position bits of which four are unused (bits 22, 24,
25 and 43 of the record counting from 0, which the release's readme counts
from 1 as 23, 25, 26, 44) and the other 100 are the detectors, ordered
detector 100 -> 1; then 8 flag bits, the last of which marks an abnormal
sample.  The unused bits are always 0 in the release, so a record with one of
them set is reported as corrupt.

Jiuzhang 2.0 (USTC release of Zhong et al., PRL 127, 180502 (2021)): six
uint32 words per sample (machine byte order as written, little-endian),
read as one 192-bit string, word 0 first, each word most significant bit
first; 48 of the 192 ports are unused (1-based: 1-8, 17, 36, 60, 81-101,
177-192) and the other 144, in reverse order, are modes 1..144 (the layout
used by Oh et al., Nat. Phys. 20, 1461 (2024), in their loader).

Both readers stream the file in chunks (``iter_*``) or load a slice
(``read_*``), and stop with an InputError naming the record when the file is
truncated (a partial last record) or a record is corrupt.  The writers
produce the same formats from click patterns (for tests, and to hand
emulator samples to tools that read the USTC formats).
"""
import os
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.errors import InputError

JIUZHANG1_RECORD_BYTES = 16
JIUZHANG1_MODES = 100
_J1_UNUSED = np.array([22, 24, 25, 43])
_J1_DETECTORS = np.setdiff1d(np.arange(16, 120), _J1_UNUSED)[::-1]  # detector 1..100
_J1_ABNORMAL = 127

JIUZHANG2_RECORD_BYTES = 24
JIUZHANG2_MODES = 144
_J2_UNUSED = np.array([*range(1, 9), 17, 36, 60, *range(81, 102), *range(177, 193)]) - 1
_J2_MODES = np.setdiff1d(np.arange(192), _J2_UNUSED)[::-1]  # mode 1..144


@dataclass(frozen=True)
class RawSamples:
    """Click patterns read from a raw file.

    Attributes
    ----------
    clicks : ndarray of uint8, shape (samples, modes)
        Detector j at column j - 1.
    first_record : int
        Index in the file of the first record read.
    records : int
        Records read (normal and abnormal).
    abnormal : int
        Records flagged abnormal and left out (Jiuzhang 1.0; 0 otherwise).
    timestamps : ndarray of uint16 or None
        Jiuzhang 1.0: the 16 timestamp bits of each kept sample.
    """

    clicks: np.ndarray
    first_record: int
    records: int
    abnormal: int = 0
    timestamps: np.ndarray = None


def _check_path(path, record_bytes, name):
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size % record_bytes:
        raise InputError(f"{name} file {path!r} is truncated: {size} bytes is not a whole number "
                         f"of {record_bytes}-byte records; record {size // record_bytes} has only "
                         f"{size % record_bytes} bytes")
    return path, size // record_bytes


def _check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _chunks(path, record_bytes, name, start, count, chunk_records):
    """(first record index, raw bytes (records, record_bytes)) chunk by chunk,
    after checking the file and the arguments."""
    path, n_records = _check_path(path, record_bytes, name)
    start = _check_count(start, "start", 0)
    count = None if count is None else _check_count(count, "count", 0)
    chunk_records = _check_count(chunk_records, "chunk_records", 1)
    with open(path, "rb") as handle:
        handle.seek(start * record_bytes)
        first = start
        end = n_records if count is None else min(n_records, start + count)
        while first < end:
            n = min(chunk_records, end - first)
            raw = np.fromfile(handle, dtype=np.uint8, count=n * record_bytes)
            yield first, raw.reshape(n, record_bytes)
            first += n


def iter_jiuzhang1(path, *, start=0, count=None, chunk_records=1_000_000,
                   include_abnormal=False):
    """Yield RawSamples chunk by chunk from a Jiuzhang 1.0 raw file.

    Parameters
    ----------
    path : path-like
    start, count : int
        First record and number of records (default: to the end).
    chunk_records : int
    include_abnormal : bool
        Keep records flagged abnormal (default: left out and counted).
    """
    path = os.fspath(path)
    for first, raw in _chunks(path, JIUZHANG1_RECORD_BYTES, "Jiuzhang 1.0", start, count, chunk_records):
        bits = np.unpackbits(raw, axis=1)
        bad = np.flatnonzero(bits[:, _J1_UNUSED].any(axis=1))
        if bad.size:
            raise InputError(f"Jiuzhang 1.0 file {path!r}: record {first + bad[0]} is corrupt "
                             f"(unused bit positions {_J1_UNUSED.tolist()} must be 0)")
        abnormal = bits[:, _J1_ABNORMAL].astype(bool)
        keep = np.ones(len(raw), bool) if include_abnormal else ~abnormal
        timestamps = (raw[:, 0].astype(np.uint16) << 8) | raw[:, 1]
        yield RawSamples(bits[keep][:, _J1_DETECTORS], first, len(raw),
                         0 if include_abnormal else int(abnormal.sum()), timestamps[keep])


def iter_jiuzhang2(path, *, start=0, count=None, chunk_records=1_000_000, strict=True):
    """Yield RawSamples chunk by chunk from a Jiuzhang 2.0 raw file.

    Parameters
    ----------
    path : path-like
    start, count, chunk_records
        As for :func:`iter_jiuzhang1`.
    strict : bool
        Report a record with an unused port set as corrupt (pass False if
        your copy of the release uses those bits).
    """
    path = os.fspath(path)
    for first, raw in _chunks(path, JIUZHANG2_RECORD_BYTES, "Jiuzhang 2.0", start, count, chunk_records):
        words = raw.view("<u4").astype(">u4")  # each word most significant byte first
        bits = np.unpackbits(words.view(np.uint8), axis=1)
        if strict:
            bad = np.flatnonzero(bits[:, _J2_UNUSED].any(axis=1))
            if bad.size:
                raise InputError(f"Jiuzhang 2.0 file {path!r}: record {first + bad[0]} has an "
                                 f"unused port set (1-based ports {(_J2_UNUSED + 1).tolist()}); "
                                 f"pass strict=False to ignore them")
        yield RawSamples(bits[:, _J2_MODES], first, len(raw))


def _read(chunks):
    parts = list(chunks)
    if not parts:
        raise InputError("no records to read (empty file, or start beyond its end)")
    first = parts[0]
    timestamps = (None if first.timestamps is None
                  else np.concatenate([p.timestamps for p in parts]))
    return RawSamples(np.concatenate([p.clicks for p in parts]), first.first_record,
                      sum(p.records for p in parts), sum(p.abnormal for p in parts), timestamps)


def read_jiuzhang1(path, *, start=0, count=None, include_abnormal=False):
    """Click patterns (shape (samples, 100)) of a Jiuzhang 1.0 raw file or
    a slice of it; see :func:`iter_jiuzhang1`."""
    return _read(iter_jiuzhang1(path, start=start, count=count,
                                include_abnormal=include_abnormal))


def read_jiuzhang2(path, *, start=0, count=None, strict=True):
    """Click patterns (shape (samples, 144)) of a Jiuzhang 2.0 raw file or a
    slice of it; see :func:`iter_jiuzhang2`."""
    return _read(iter_jiuzhang2(path, start=start, count=count, strict=strict))


def _check_patterns(clicks, modes, name):
    clicks = np.asarray(clicks)
    if clicks.ndim != 2 or clicks.shape[1] != modes:
        raise InputError(f"{name} needs click patterns of shape (samples, {modes}), got "
                         f"{clicks.shape}")
    if clicks.dtype.kind not in "biu" or (clicks.size and clicks.min() < 0):
        raise InputError(f"{name} needs non-negative integer patterns")
    return (clicks > 0).astype(np.uint8)


def write_jiuzhang1(path, clicks, *, timestamps=None, abnormal=None):
    """Write click patterns (samples, 100) as Jiuzhang 1.0 records."""
    clicks = _check_patterns(clicks, JIUZHANG1_MODES, "write_jiuzhang1")
    n = len(clicks)
    bits = np.zeros((n, 128), np.uint8)
    bits[:, _J1_DETECTORS] = clicks
    if abnormal is not None:
        bits[:, _J1_ABNORMAL] = np.asarray(abnormal, bool)
    raw = np.packbits(bits, axis=1)
    if timestamps is not None:
        t = np.asarray(timestamps, dtype=np.uint16)
        raw[:, 0], raw[:, 1] = t >> 8, t & 0xFF
    raw.tofile(os.fspath(path))


def write_jiuzhang2(path, clicks):
    """Write click patterns (samples, 144) as Jiuzhang 2.0 records."""
    clicks = _check_patterns(clicks, JIUZHANG2_MODES, "write_jiuzhang2")
    bits = np.zeros((len(clicks), 192), np.uint8)
    bits[:, _J2_MODES] = clicks
    words = np.packbits(bits, axis=1).view(">u4").astype("<u4")
    words.tofile(os.fspath(path))
