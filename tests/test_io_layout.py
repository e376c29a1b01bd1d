"""Sample-file layouts (format version 2 and version 1): bit-packed threshold
patterns, small integer counts, reading chunk by chunk (iter_patterns, info),
files of version 1, damaged encodings, and the width check against a model.

Wide files (8176, 8177 modes) are written by the writer's own sink
(``writer._FileSink``, batch by batch as a run appends them) under the
metadata of a small run whose ``n_modes`` and detector are rewritten (the
digest recomputed): an experiment of 8176 modes would take long to build.
"""
import json
import os
import types

import h5py
import numpy as np
import pytest

from jiuzhang_emu import cli, files, presets, samplers
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.files import format as file_format
from jiuzhang_emu.files import reading, storage, writer

BATCH = samplers.BATCH_SIZE
DETECTORS = {"threshold": 1, "pseudo-PNR": 8, "photon-number-resolving": 1}


def _patterns(shots, n_modes, kind="threshold", seed=0, n_detectors=8):
    """Seeded patterns: Bernoulli(0.27) clicks, binomial pseudo-PNR counts
    (the same click rate), Poisson photon numbers."""
    rng = np.random.default_rng(seed)
    if kind == "threshold":
        return (rng.random((shots, n_modes)) < 0.27).astype(np.int64)
    if kind == "pseudo-PNR":
        return rng.binomial(n_detectors, 1 - 0.73 ** (1 / n_detectors), (shots, n_modes))
    return rng.poisson(0.4, (shots, n_modes))


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The attributes of a small run's file."""
    path = tmp_path_factory.mktemp("template") / "template.h5"
    files.write_samples(path, presets.random_experiment(4, rng=3), BATCH, rng=1, method="uniform")
    with h5py.File(path, "r") as handle:
        return {key: (value.decode() if isinstance(value, bytes) else value)
                for key, value in handle.attrs.items()}


def _write(path, patterns, template, kind="threshold", version=file_format.FORMAT_VERSION,
           n_detectors=None, complete=True):
    """A sample file of ``patterns`` written batch by batch by the writer's
    sink, in the layout of format ``version``."""
    shots, n_modes = patterns.shape
    n_detectors = n_detectors or DETECTORS[kind]
    experiment = json.loads(template["experiment"])
    experiment["n_modes"] = n_modes
    experiment["detector"].update(kind=kind, n_detectors=n_detectors)
    attrs = dict(template, experiment=json.dumps(experiment), format_version=version,
                 shots=shots, completed_batches=0)
    attrs["metadata_sha256"] = files.metadata_digest(attrs)
    max_count = {"threshold": 1, "pseudo-PNR": n_detectors}.get(kind)
    stored = (np.int16 if max_count else np.int32) if version == 1 else None
    layout = file_format._Layout(version, n_modes, kind, max_count, stored)
    os.replace(storage._new_file(str(path), layout, attrs), path)
    with h5py.File(path, "r+", libver=files.LIBVER, locking=False) as handle:
        sink = writer._FileSink(handle)
        sink.start(types.SimpleNamespace(first_batch=0, first_shot=0))
        sizes = samplers.batch_sizes(shots)
        for index, first in enumerate(np.cumsum([0, *sizes[:-1]])):
            if not complete and index == len(sizes) - 1:
                break
            sink.add(index, patterns[first:first + sizes[index]], 0.0)
    return path


def _chunks(path, **options):
    return list(files.iter_patterns(path, **options))


@pytest.mark.parametrize("n_modes", [13, 8177])
def test_bit_packed_rows_of_widths_not_a_multiple_of_8(tmp_path, template, n_modes):
    patterns = _patterns(3 * BATCH + 5, n_modes)
    path = _write(tmp_path / "run.h5", patterns, template)
    with h5py.File(path, "r") as handle:
        dataset = handle["patterns"]
        raw = dataset[...]
        assert (dataset.dtype, dataset.shape) == (np.uint8, (len(patterns), -(-n_modes // 8)))
        assert dict(dataset.attrs) == {"encoding": "bitpacked", "n_modes": n_modes,
                                       "bitorder": "big"}
    # mode 8k + b is bit 7 - b of byte k: mode 0 the most significant bit of byte 0
    for mode in (0, 1, 7, 8, 12, n_modes - 1):
        np.testing.assert_array_equal((raw[:, mode // 8] >> (7 - mode % 8)) & 1,
                                      patterns[:, mode])
    assert not np.any(raw[:, -1] & ((1 << (8 * raw.shape[1] - n_modes)) - 1))  # padding: 0
    np.testing.assert_array_equal(files.read_samples(path).patterns, patterns)


@pytest.mark.parametrize("kind, n_detectors, dtype, stored", [
    ("threshold", 1, np.uint8, np.uint8), ("pseudo-PNR", 8, np.uint8, np.uint8),
    ("pseudo-PNR", 300, np.uint16, np.uint16),
    ("photon-number-resolving", 1, np.int32, np.int32)])
def test_every_detector_round_trips_and_chunks_concatenate_to_read_samples(
        tmp_path, template, kind, n_detectors, dtype, stored):
    patterns = _patterns(5 * BATCH + 17, 21, kind, n_detectors=n_detectors)
    path = _write(tmp_path / "run.h5", patterns, template, kind, n_detectors=n_detectors)
    samples = files.read_samples(path)
    assert samples.patterns.dtype == np.int64
    np.testing.assert_array_equal(samples.patterns, patterns)
    with h5py.File(path, "r") as handle:
        assert handle["patterns"].dtype == stored
        assert handle["patterns"].chunks[0] == BATCH
    for chunk_shots in (None, 1, 7, BATCH, 100, 10_000):
        chunks = _chunks(path, chunk_shots=chunk_shots)
        assert all(c.dtype == dtype and c.ndim == 2 for c in chunks)
        assert [len(c) for c in chunks[:-1]] == [chunk_shots or len(patterns)] * (len(chunks) - 1)
        np.testing.assert_array_equal(np.concatenate(chunks), patterns)
    for start, stop in [(0, None), (5, 130), (BATCH, 2 * BATCH), (len(patterns), None)]:
        chunks = _chunks(path, chunk_shots=50, start=start, stop=stop)
        joined = np.concatenate(chunks) if chunks else np.zeros((0, 21), dtype)
        np.testing.assert_array_equal(joined, patterns[start:stop])


def test_only_complete_batches_are_read(tmp_path, template):
    patterns = _patterns(3 * BATCH + 5, 10)
    path = _write(tmp_path / "run.h5", patterns, template, complete=False)
    assert len(files.read_samples(path).patterns) == 3 * BATCH
    np.testing.assert_array_equal(np.concatenate(_chunks(path)), patterns[:3 * BATCH])
    with pytest.raises(InputError, match=r"stop must be in \[0, 192\].*run.h5"):
        files.iter_patterns(path, stop=3 * BATCH + 1)


@pytest.mark.parametrize("options, message", [
    ({"chunk_shots": 0}, "chunk_shots must be >= 1"), ({"chunk_shots": 2.5}, "integer"),
    ({"start": -1}, "start must be in"), ({"start": 10, "stop": 5}, r"stop must be in \[10,"),
    ({"stop": True}, "integer")])
def test_bad_arguments_of_iter_patterns_are_named_before_reading(tmp_path, template, options,
                                                                  message):
    path = _write(tmp_path / "run.h5", _patterns(BATCH, 9), template)
    with pytest.raises(InputError, match=message):
        files.iter_patterns(path, **options)


def test_iter_patterns_checks_the_file_when_called(tmp_path):
    (tmp_path / "other.h5").write_bytes(b"not hdf5")
    for name in ("missing.h5", "other.h5"):
        with pytest.raises(InputError, match=name):
            files.iter_patterns(tmp_path / name)


def test_iter_patterns_refuses_a_file_replaced_before_reading(tmp_path, template):
    path = _write(tmp_path / "run.h5", _patterns(2 * BATCH, 9), template)
    chunks = files.iter_patterns(path)
    _write(tmp_path / "other.h5", _patterns(BATCH, 9), template)
    os.replace(tmp_path / "other.h5", path)
    with pytest.raises(InputError, match="replaced"):
        next(chunks)


@pytest.mark.parametrize("change, named", [
    (("attrs", "encoding", "bitpack"), "'encoding'"), (("attrs", "encoding", None), "'encoding'"),
    (("attrs", "encoding", 1), "'encoding'"), (("attrs", "encoding", "counts"), "'encoding'"),
    (("attrs", "n_modes", 12), "'n_modes'"), (("attrs", "n_modes", 13.0), "'n_modes'"),
    (("attrs", "bitorder", "little"), "'bitorder'"), (("dtype", np.int16), "uint8"),
    (("width", 1), "shape"), (("padding", 1), "padding bits")])
def test_a_damaged_encoding_is_named_by_every_reader(tmp_path, template, change, named):
    patterns = _patterns(BATCH + 3, 13)
    path = _write(tmp_path / "run.h5", patterns, template)
    with h5py.File(path, "r+") as handle:
        dataset = handle["patterns"]
        if change[0] == "attrs":
            if change[2] is None:
                del dataset.attrs[change[1]]
            else:
                dataset.attrs[change[1]] = change[2]
        else:
            raw, attrs = dataset[...], dict(dataset.attrs)
            del handle["patterns"]
            if change[0] == "dtype":
                raw = raw.astype(change[1])
            elif change[0] == "width":
                raw = raw[:, :change[1]]
            else:
                raw[3, -1] |= change[1]  # the last of the 3 unused bits
            handle["patterns"] = raw
            handle["patterns"].attrs.update(attrs)
    before = path.read_bytes()
    readers = [files.read_samples, files.info, lambda p: _chunks(p, chunk_shots=2),
               lambda p: files.write_samples(p, presets.random_experiment(4, rng=3), 2 * BATCH,
                                             method="uniform")]
    for read in readers[:3] if change[0] == "padding" else readers:
        with pytest.raises(InputError) as caught:
            read(path)
        assert "run.h5" in str(caught.value) and named in str(caught.value), str(caught.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("kind, value", [("threshold", 2), ("threshold", -1),
                                         ("pseudo-PNR", 9), ("photon-number-resolving", -3)])
def test_counts_out_of_the_detector_range_are_damage(tmp_path, template, kind, value):
    for version in (1, 2):
        if kind == "threshold" and version == 2:
            continue  # every bit is a count in range
        path = _write(tmp_path / f"v{version}.h5", _patterns(BATCH, 6, kind), template, kind,
                      version=version)
        with h5py.File(path, "r+") as handle:
            if handle["patterns"].dtype.kind == "u":
                value = np.iinfo(handle["patterns"].dtype).max if value < 0 else value
            handle["patterns"][10, 3] = value
        for read in (files.read_samples, files.info, _chunks):
            with pytest.raises(InputError, match=rf"v{version}\.h5.*count .* rows 0-"):
                read(path)


def test_the_writer_refuses_counts_its_layout_cannot_hold(tmp_path, template):
    with pytest.raises(InputError, match=r"count 2 is outside \[0, 1\]"):
        _write(tmp_path / "run.h5", _patterns(BATCH, 6) * 2, template)


@pytest.mark.parametrize("kind", ["threshold", "pseudo-PNR", "photon-number-resolving"])
def test_version_1_files_are_read_by_every_reader(tmp_path, template, kind):
    patterns = _patterns(3 * BATCH + 5, 11, kind)
    path = _write(tmp_path / "v1.h5", patterns, template, kind, version=1)
    with h5py.File(path, "r") as handle:
        assert handle["patterns"].dtype == (np.int32 if kind[0] == "p" and kind[1] == "h"
                                            else np.int16)
        assert handle["patterns"].shape == patterns.shape and not handle["patterns"].attrs
    np.testing.assert_array_equal(files.read_samples(path).patterns, patterns)
    chunks = _chunks(path, chunk_shots=50)
    assert chunks[0].dtype == (np.int32 if kind == "photon-number-resolving" else np.uint8)
    np.testing.assert_array_equal(np.concatenate(chunks), patterns)
    summary = files.info(path)
    assert (summary["format_version"], summary["encoding"]) == (1, "counts")
    assert sum(summary["click_histogram"].values()) == len(patterns)


def test_a_version_1_file_resumes_in_its_own_layout(tmp_path):
    """A version 1 file written by the code of that format (tests/data,
    threshold, 4 modes, int16): resumed and extended, it stays version 1."""
    import shutil

    from jiuzhang_emu import __version__

    path = tmp_path / "legacy.h5"
    shutil.copyfile(os.path.join(os.path.dirname(__file__), "data", "legacy_partial.h5"), path)
    with h5py.File(path, "r+") as handle:
        handle.attrs["package_version"] = __version__
    experiment = presets.random_experiment(4, rng=3)
    written = files.info(path)["shots_written"]
    files.write_samples(path, experiment, 8 * BATCH, rng=7)
    reference = tmp_path / "reference.h5"
    files.write_samples(reference, experiment, 8 * BATCH, rng=7)
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns)
    with h5py.File(path, "r") as handle:
        assert handle.attrs["format_version"] == 1 and handle["patterns"].dtype == np.int16
        assert handle["patterns"].shape == (8 * BATCH, 4)
    with h5py.File(reference, "r") as handle:
        assert handle.attrs["format_version"] == 2 and handle["patterns"].shape == (8 * BATCH, 1)
    assert written < 8 * BATCH and files.info(path)["metadata_digest"] == "verified"
    np.testing.assert_array_equal(np.concatenate(_chunks(path, chunk_shots=100)),
                                  files.read_samples(reference).patterns)


@pytest.mark.parametrize("kind", ["threshold", "pseudo-PNR", "photon-number-resolving"])
def test_info_streams_and_equals_the_in_memory_statistics(tmp_path, template, monkeypatch, kind):
    patterns = _patterns(6 * BATCH + 9, 30, kind)
    path = _write(tmp_path / "run.h5", patterns, template, kind)
    blocks = []
    real = reading.clicks_per_shot
    monkeypatch.setattr(reading, "clicks_per_shot",
                        lambda block, k: blocks.append(len(block)) or real(block, k))
    monkeypatch.setattr(reading, "_CHUNK_BYTES", 100 * 30)  # 100 shots: rounded to 64
    summary = files.info(path)
    assert blocks == [BATCH] * 6 + [9]  # chunk by chunk, whole HDF5 chunks
    clicks = np.count_nonzero(patterns, axis=1) if kind[0:2] == "ph" else patterns.sum(axis=1)
    assert summary["mean_clicks"] == pytest.approx(clicks.mean(), rel=1e-12)
    histogram = np.bincount(clicks)
    assert summary["click_histogram"] == {c: int(n) for c, n in enumerate(histogram) if n}
    if kind == "photon-number-resolving":
        assert summary["mean_photons"] == pytest.approx(patterns.sum(axis=1).mean(), rel=1e-12)
    assert summary["encoding"] == ("bitpacked" if kind == "threshold" else "counts")


def test_8176_wide_threshold_files_are_8_times_smaller_than_int16(tmp_path, template):
    """2,000 shots of 8176 Bernoulli(0.27) clicks: the bit-packed file holds
    ~884 bytes a shot (the entropy bound is 858), 18x less than the 16,352
    bytes of an int16 row; the gzip-compressed int16 file of version 1
    holds ~1,755 (shuffle and gzip squeeze its 0/1 bytes to ~2 bits)."""
    patterns = _patterns(2000, 8176, seed=5).astype(np.int8)
    packed = _write(tmp_path / "v2.h5", patterns, template)
    wide = _write(tmp_path / "v1.h5", patterns, template, version=1)
    sizes = os.path.getsize(packed), os.path.getsize(wide)
    assert sizes[0] * 8 <= patterns.size * 2 and sizes[0] * 1.8 <= sizes[1], sizes
    assert sizes[0] < 900 * 2000, sizes
    np.testing.assert_array_equal(files.read_samples(packed).patterns, patterns)
    np.testing.assert_array_equal(np.concatenate(_chunks(packed, chunk_shots=700)), patterns)


def test_check_width_names_both_widths_and_detectors(tmp_path, template):
    path = _write(tmp_path / "run.h5", _patterns(BATCH, 4), template)
    experiment = presets.random_experiment(4, rng=3)
    assert files.check_width(path, experiment)["n_modes"] == 4
    assert files.check_width(files.read_experiment(path), experiment)["n_modes"] == 4
    with pytest.raises(InputError, match=r"run.h5' holds patterns of 4 modes, but the model "
                                         r"'.*' has 5 modes"):
        files.check_width(path, presets.random_experiment(5, rng=3))
    with pytest.raises(InputError, match="threshold patterns .* model .* pseudo-PNR"):
        files.check_width(path, presets.random_experiment(4, rng=3, detectors="pseudo-pnr"))
    with pytest.raises(InputError, match="describe"):
        files.check_width({"name": "x"}, experiment)


def test_validate_refuses_a_model_of_another_width_before_reading_patterns(tmp_path,
                                                                           monkeypatch, capsys):
    path = tmp_path / "run.h5"
    assert cli.main(["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6", "--shots",
                     "100", "--out", str(path), "--no-progress"]) == 0
    monkeypatch.setattr(files, "read_samples", None)  # reading patterns would fail
    status = cli.main(["validate", str(path), "--model", "jiuzhang_like", "--option",
                       "n_modes=8", "--other-model", "--out", str(tmp_path / "report")])
    error = capsys.readouterr().err
    assert status == 2 and "holds patterns of 6 modes" in error and "has 8 modes" in error
    assert not (tmp_path / "report").exists()


def test_the_sample_file_benchmark_runs_quick(capsys):
    """benchmarks/sample_files.py --quick (640 shots of 1000 modes): every
    layout's row, the bit-packed file the smallest threshold one."""
    import importlib.util
    import pathlib

    script = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "sample_files.py"
    spec = importlib.util.spec_from_file_location("sample_files_benchmark", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--quick"])
    assert [row["layout"] for row in rows] == ["v1", "v2", "v2, 1024-shot chunks", "v1", "v2"]
    sizes = {(row["kind"], row["layout"]): row["bytes_per_shot"] for row in rows}
    assert sizes["threshold", "v2"] < sizes["threshold", "v1"]
    assert sizes["pseudo-PNR", "v2"] < sizes["pseudo-PNR", "v1"]
    assert "B/shot" in capsys.readouterr().out
