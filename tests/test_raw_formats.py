"""Readers of the published Jiuzhang raw formats, on files written in those
formats (bit layouts checked by hand-built records)."""
import numpy as np
import pytest

from jiuzhang_emu import InputError
from jiuzhang_emu.files import raw_formats as rf


def test_jiuzhang1_hand_built_records(tmp_path):
    """Detector 1 is the last detector bit (record bit 119); the abnormal
    flag is bit 127; the timestamp is the first two bytes."""
    records = np.zeros((3, 16), np.uint8)
    records[0, 14] = 0x01                  # bit 119: detector 1
    records[0, 0], records[0, 1] = 0x12, 0x34
    records[1, 2] = 0x80                   # bit 16: detector 100
    records[2, 14] = 0x03                  # bits 118, 119: detectors 2 and 1
    records[2, 15] = 0x01                  # abnormal
    path = tmp_path / "j1.bin"
    records.tofile(path)
    data = rf.read_jiuzhang1(path)
    assert data.records == 3 and data.abnormal == 1 and data.clicks.shape == (2, 100)
    assert np.flatnonzero(data.clicks[0]).tolist() == [0]
    assert np.flatnonzero(data.clicks[1]).tolist() == [99]
    assert data.timestamps.tolist() == [0x1234, 0]
    everything = rf.read_jiuzhang1(path, include_abnormal=True)
    assert np.flatnonzero(everything.clicks[2]).tolist() == [0, 1]


def test_jiuzhang1_round_trip_and_chunks(tmp_path):
    rng = np.random.default_rng(1)
    clicks = (rng.random((1000, 100)) < 0.4).astype(np.uint8)
    abnormal = rng.random(1000) < 0.05
    path = tmp_path / "j1.bin"
    rf.write_jiuzhang1(path, clicks, timestamps=np.arange(1000), abnormal=abnormal)
    data = rf.read_jiuzhang1(path)
    np.testing.assert_array_equal(data.clicks, clicks[~abnormal])
    np.testing.assert_array_equal(data.timestamps, np.arange(1000)[~abnormal])
    chunks = list(rf.iter_jiuzhang1(path, chunk_records=300, include_abnormal=True))
    assert [c.first_record for c in chunks] == [0, 300, 600, 900]
    np.testing.assert_array_equal(np.concatenate([c.clicks for c in chunks]), clicks)
    part = rf.read_jiuzhang1(path, start=100, count=50, include_abnormal=True)
    np.testing.assert_array_equal(part.clicks, clicks[100:150])


def test_jiuzhang2_hand_built_records(tmp_path):
    """Mode 1 is 1-based port 176 (word 5, bit 16 of its value); mode 144
    is port 9 (word 0, value bit 23); words little-endian on disk."""
    words = np.zeros((2, 6), "<u4")
    words[0, 5] = 1 << 16
    words[1, 0] = 1 << 23
    path = tmp_path / "j2.bin"
    words.tofile(path)
    data = rf.read_jiuzhang2(path)
    assert data.clicks.shape == (2, 144)
    assert np.flatnonzero(data.clicks[0]).tolist() == [0]
    assert np.flatnonzero(data.clicks[1]).tolist() == [143]


def test_jiuzhang2_round_trip(tmp_path):
    clicks = (np.random.default_rng(2).random((500, 144)) < 0.3).astype(np.uint8)
    path = tmp_path / "j2.bin"
    rf.write_jiuzhang2(path, clicks)
    assert path.stat().st_size == 500 * 24
    np.testing.assert_array_equal(rf.read_jiuzhang2(path).clicks, clicks)


def test_truncated_files_name_the_partial_record(tmp_path):
    path = tmp_path / "j1.bin"
    rf.write_jiuzhang1(path, np.zeros((4, 100), int))
    with open(path, "ab") as handle:
        handle.write(b"\x00" * 5)
    with pytest.raises(InputError, match="truncated.*record 4 has only 5 bytes"):
        rf.read_jiuzhang1(path)
    path2 = tmp_path / "j2.bin"
    path2.write_bytes(b"\x00" * 30)
    with pytest.raises(InputError, match="record 1 has only 6 bytes"):
        rf.read_jiuzhang2(path2)


def test_corrupt_records_are_reported(tmp_path):
    records = np.zeros((5, 16), np.uint8)
    records[3, 2] = 0x02  # bit 22: unused
    path = tmp_path / "j1.bin"
    records.tofile(path)
    with pytest.raises(InputError, match="record 3 is corrupt"):
        rf.read_jiuzhang1(path)
    words = np.zeros((3, 6), "<u4")
    words[2, 0] = 1 << 31  # port 1: unused
    path2 = tmp_path / "j2.bin"
    words.tofile(path2)
    with pytest.raises(InputError, match="record 2 has an unused port set"):
        rf.read_jiuzhang2(path2)
    assert rf.read_jiuzhang2(path2, strict=False).clicks.sum() == 0


@pytest.mark.parametrize("call, match", [
    (lambda p: rf.read_jiuzhang1(p, start=-1), "start"),
    (lambda p: rf.read_jiuzhang1(p, count=1.5), "count"),
    (lambda p: rf.write_jiuzhang1(p, np.zeros((2, 99), int)), r"\(samples, 100\)"),
    (lambda p: rf.write_jiuzhang2(p, np.full((2, 144), -1)), "non-negative"),
])
def test_bad_arguments(tmp_path, call, match):
    path = tmp_path / "j1.bin"
    rf.write_jiuzhang1(path, np.zeros((2, 100), int))
    with pytest.raises(InputError, match=match):
        call(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="no records"):
        rf.read_jiuzhang1(path)
