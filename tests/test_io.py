"""Sample files: round trip, metadata, resume after a kill, refusal to touch
files of other runs."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from jiuzhang_emu import __version__, files, presets, samplers
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.files import storage
from jiuzhang_emu.samplers import engine

SHOTS = 5 * samplers.BATCH_SIZE + 17  # a short last batch


def _experiment(n_modes=4, detectors="threshold"):
    return presets.random_experiment(n_modes, rng=3, detectors=detectors)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _attrs(path):
    with h5py.File(path, "r") as handle:
        return {key: (value.decode() if isinstance(value, bytes) else value)
                for key, value in handle.attrs.items()}


def _rewrite(path, **values):
    """Set attributes as a writer of other values would have, digest included."""
    with h5py.File(path, "r+") as handle:
        for key, value in values.items():
            handle.attrs[key] = value
        handle.attrs["metadata_sha256"] = files.metadata_digest(
            {key: (value.decode() if isinstance(value, bytes) else value)
             for key, value in handle.attrs.items()})


@pytest.fixture
def reference(tmp_path):
    """An uninterrupted run's file and its patterns."""
    path = tmp_path / "reference.h5"
    files.write_samples(path, _experiment(), SHOTS, rng=11)
    return path, files.read_samples(path).patterns


def _interrupt_after(monkeypatch, n_batches):
    """Make iter_batches raise KeyboardInterrupt after yielding n batches."""
    real = engine.iter_batches

    def interrupted(*args, **kwargs):
        for k, item in enumerate(real(*args, **kwargs)):
            if k == n_batches:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(engine, "iter_batches", interrupted)


@pytest.mark.parametrize("detectors, dtype, width, encoding", [
    ("threshold", "uint8", 1, "bitpacked"), ("pnr", "int32", 4, "counts"),
    ("pseudo-pnr", "uint8", 4, "counts")])
def test_round_trip_equals_in_memory_sampling(tmp_path, detectors, dtype, width, encoding):
    experiment = _experiment(detectors=detectors)
    path = tmp_path / "run.h5"
    report = files.write_samples(path, experiment, SHOTS, rng=11)
    assert (report.shots, report.resumed_from, report.sampled, report.seed_entropy) == (
        SHOTS, 0, SHOTS, 11)
    samples = files.read_samples(path)
    in_memory = experiment.sample(SHOTS, rng=11)
    np.testing.assert_array_equal(samples.patterns, in_memory.patterns)
    assert samples.patterns.dtype == np.int64
    assert samples.experiment == json.loads(json.dumps(experiment.describe()))
    expected_method = samplers.check_method("auto", experiment)
    assert (samples.method, in_memory.method) == (expected_method, expected_method)
    assert (samples.seed_entropy, samples.version) == (11, __version__)
    assert samples.extra["complete"]
    with h5py.File(path, "r") as handle:
        dataset = handle["patterns"]
        assert str(dataset.dtype) == dtype and dataset.attrs["encoding"] == encoding
        assert dataset.attrs["n_modes"] == experiment.n_modes
        assert dataset.maxshape == (None, width)
        assert dataset.chunks == (samplers.BATCH_SIZE, width) and dataset.compression == "gzip"


def test_metadata_attributes(tmp_path):
    experiment = _experiment()
    path = tmp_path / "run.h5"
    big_seed = 2**100 + 7  # SeedSequence entropy may exceed 64 bits
    files.write_samples(path, experiment, SHOTS, rng=big_seed)
    attrs = _attrs(path)
    assert attrs["format"] == files.FORMAT and attrs["format_version"] == files.FORMAT_VERSION
    assert attrs["package_version"] == __version__
    assert json.loads(attrs["experiment"])["fingerprint"] == experiment.fingerprint()
    assert attrs["fingerprint"] == experiment.fingerprint()
    assert attrs["method"] == samplers.check_method("auto", experiment)  # what "auto" became
    assert json.loads(attrs["seed_entropy"]) == big_seed
    assert attrs["shots"] == SHOTS and attrs["batch_size"] == samplers.BATCH_SIZE
    assert attrs["completed_batches"] == len(samplers.batch_sizes(SHOTS))
    assert 0 <= attrs["unresolved_mass"] < 1e-9
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  experiment.sample(SHOTS, rng=big_seed).patterns)


def test_info_summarises_the_file(tmp_path, reference):
    path, patterns = reference
    summary = files.info(path)
    assert summary["shots_written"] == summary["shots_requested"] == SHOTS
    assert summary["complete"] and summary["seed_entropy"] == 11
    assert summary["mean_clicks"] == pytest.approx(patterns.sum(axis=1).mean())
    assert sum(summary["click_histogram"].values()) == SHOTS
    assert "click_histogram" not in files.info(path, statistics=False)


def test_fresh_seed_is_stored_and_reused_on_resume(tmp_path, monkeypatch):
    experiment = _experiment()
    path = tmp_path / "run.h5"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, experiment, SHOTS)  # rng=None: fresh entropy
    monkeypatch.undo()
    seed = files.info(path)["seed_entropy"]
    report = files.write_samples(path, experiment, SHOTS)  # no seed: the stored one
    assert report.seed_entropy == seed and report.resumed_from == 2 * samplers.BATCH_SIZE
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  experiment.sample(SHOTS, rng=seed).patterns)


def test_resume_after_interrupt_equals_uninterrupted_run(tmp_path, monkeypatch, reference):
    reference_path, expected = reference
    path = tmp_path / "run.h5"
    _interrupt_after(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    partial = files.read_samples(path)
    assert not partial.extra["complete"] and partial.shots == 3 * samplers.BATCH_SIZE
    report = files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert report.resumed_from == 3 * samplers.BATCH_SIZE
    np.testing.assert_array_equal(files.read_samples(path).patterns, expected)
    assert _attrs(path) == _attrs(reference_path)


def test_rows_past_the_counter_are_redrawn_not_duplicated(tmp_path, reference):
    """A kill between a batch's rows and its counter: the rows are dropped."""
    _, expected = reference
    path = tmp_path / "run.h5"
    files.write_samples(path, _experiment(), SHOTS, rng=11)
    with h5py.File(path, "r+") as handle:  # as if killed before counting 2 batches
        handle.attrs["completed_batches"] = len(samplers.batch_sizes(SHOTS)) - 2
        handle["patterns"][-40:] = 7  # and the uncounted rows half written
    assert files.read_samples(path).shots == SHOTS - 17 - samplers.BATCH_SIZE
    files.write_samples(path, _experiment(), SHOTS, rng=11)
    np.testing.assert_array_equal(files.read_samples(path).patterns, expected)


def test_complete_file_is_not_resampled(tmp_path, reference, monkeypatch):
    path, _ = reference
    before = _digest(path)
    monkeypatch.setattr(engine, "iter_batches", lambda *a, **k: pytest.fail("resampled"))
    report = files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert report.sampled == 0 and report.resumed_from == SHOTS
    assert _digest(path) == before


@pytest.mark.parametrize("change, named", [
    ({"rng": 12}, "seed_entropy"),
    ({"shots": SHOTS - 1}, f"more than the {SHOTS - 1} requested"),
    ({"experiment": presets.random_experiment(4, rng=4)}, "fingerprint"),
])
def test_resume_of_a_different_run_is_refused_and_file_untouched(tmp_path, monkeypatch,
                                                                 change, named):
    path = tmp_path / "run.h5"
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    before = _digest(path)
    arguments = {"experiment": _experiment(), "shots": SHOTS, "rng": 11, **change}
    with pytest.raises(InputError, match=named):
        files.write_samples(path, arguments.pop("experiment"), arguments.pop("shots"), **arguments)
    assert _digest(path) == before


def test_resume_with_a_different_method_is_refused(tmp_path, monkeypatch, reference):
    path, _ = reference
    _rewrite(path, method="thermal")  # a file written by another sampler
    before = _digest(path)
    resolved = samplers.check_method("auto", _experiment())
    with pytest.raises(InputError, match=f"method 'thermal' in the file, '{resolved}' requested"):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert _digest(path) == before


@pytest.mark.parametrize("content", [b"", b"not an HDF5 file\n"])
def test_other_files_are_never_overwritten(tmp_path, content):
    path = tmp_path / "precious.h5"
    path.write_bytes(content)
    with pytest.raises(InputError, match="not an HDF5 file"):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert path.read_bytes() == content


def test_foreign_hdf5_files_are_refused(tmp_path):
    path = tmp_path / "foreign.h5"
    with h5py.File(path, "w") as handle:
        handle["data"] = np.arange(3)
    before = _digest(path)
    with pytest.raises(InputError, match="not a jiuzhang_emu sample file"):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    with pytest.raises(InputError, match="not a jiuzhang_emu sample file"):
        files.read_samples(path)
    assert _digest(path) == before


@pytest.mark.parametrize("arguments, named", [
    ({"shots": 0}, "shots"), ({"shots": -3}, "shots"), ({"method": "magic"}, "method"),
    ({"n_workers": 0}, "n_workers"), ({"rng": np.random.default_rng(1)}, "rng"),
])
def test_bad_arguments_create_no_file_and_leave_files_alone(tmp_path, reference, arguments,
                                                            named):
    new = tmp_path / "new.h5"
    existing, _ = reference
    before = _digest(existing)
    for path in (new, existing):
        call = {"shots": SHOTS, "rng": 11, **arguments}
        with pytest.raises(InputError, match=named):
            files.write_samples(path, _experiment(), call.pop("shots"), **call)
    assert not new.exists() and _digest(existing) == before
    assert [p.name for p in tmp_path.iterdir()] == ["reference.h5"]  # no temporary left


def test_reading_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not an existing file"):
        files.read_samples(tmp_path / "missing.h5")


_CHILD = textwrap.dedent("""
    import sys, time
    from jiuzhang_emu import files, presets
    from jiuzhang_emu.samplers import engine

    real = engine.iter_batches

    def slow(*args, **kwargs):  # report each batch, and give the parent time to kill
        for item in real(*args, **kwargs):
            print(item[0], flush=True)
            time.sleep(0.05)
            yield item

    engine.iter_batches = slow
    files.write_samples(sys.argv[1], presets.random_experiment(4, rng=3), int(sys.argv[2]), rng=11)
""")


def test_resume_after_sigkill_equals_uninterrupted_run(tmp_path):
    shots = 40 * samplers.BATCH_SIZE + 5
    path = tmp_path / "killed.h5"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), str(shots)],
                             stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        for line in child.stdout:
            if int(line) >= 3:  # batch 3 was handed over: batches 0-2 are counted
                break
        child.kill()
    finally:
        child.stdout.close()
        child.wait()
    assert child.returncode == -9
    completed = files.info(path, statistics=False)["shots_written"] // samplers.BATCH_SIZE
    assert 3 <= completed < 40
    report = files.write_samples(path, _experiment(), shots, rng=11)
    assert report.resumed_from == completed * samplers.BATCH_SIZE
    reference = tmp_path / "reference.h5"
    files.write_samples(reference, _experiment(), shots, rng=11)
    resumed, uninterrupted = files.read_samples(path), files.read_samples(reference)
    np.testing.assert_array_equal(resumed.patterns, uninterrupted.patterns)
    assert _attrs(path) == _attrs(reference)
    with h5py.File(path, "r") as handle:
        assert handle["patterns"].shape == (shots, 1)  # 4 modes bit-packed into a byte


def test_workers_do_not_change_the_file(tmp_path, reference):
    _, expected = reference
    path = tmp_path / "parallel.h5"
    files.write_samples(path, _experiment(), SHOTS, rng=11, n_workers=2)
    np.testing.assert_array_equal(files.read_samples(path).patterns, expected)


def test_no_temporary_files_are_left(tmp_path, reference):
    assert sorted(os.listdir(tmp_path)) == ["reference.h5"]


def test_two_runs_never_write_one_file(tmp_path, monkeypatch, reference):
    path = tmp_path / "run.h5"
    _interrupt_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    before = _digest(path)
    with storage._RunLock(str(path)):  # as another process writing it
        with pytest.raises(InputError, match="being written by another run"):
            files.write_samples(path, _experiment(), SHOTS, rng=11)
        assert files.info(path)["shots_written"] == samplers.BATCH_SIZE  # readers still read
    assert _digest(path) == before


def test_new_files_follow_the_umask(tmp_path, reference):
    path, _ = reference
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("interrupted", [False, True])
def test_more_shots_extend_a_run_to_an_uninterrupted_run_of_the_new_size(
        tmp_path, monkeypatch, interrupted):
    path, longer = tmp_path / "run.h5", SHOTS + 3 * samplers.BATCH_SIZE
    if interrupted:
        _interrupt_after(monkeypatch, 2)
        with pytest.raises(KeyboardInterrupt):
            files.write_samples(path, _experiment(), SHOTS, rng=11)
        monkeypatch.undo()
    else:  # complete, with a short last batch that must be redrawn whole
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    report = files.write_samples(path, _experiment(), longer)  # the file's seed
    kept = 2 if interrupted else SHOTS // samplers.BATCH_SIZE
    assert report.resumed_from == kept * samplers.BATCH_SIZE and report.shots == longer
    reference = tmp_path / "reference.h5"
    files.write_samples(reference, _experiment(), longer, rng=11)
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns)
    assert _attrs(path) == _attrs(reference)


def test_a_sample_file_needs_an_hdf5_suffix(tmp_path):
    with pytest.raises(InputError, match=r"path must end in \.h5 or \.hdf5.*out\.txt"):
        files.write_samples(tmp_path / "out.txt", _experiment(), SHOTS, rng=11)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["cut at 60 %", "cut at 512 bytes", "byte 34 flipped"])
def test_a_damaged_file_is_an_input_error_naming_it(tmp_path, reference, damage):
    """HDF5's SWMR mode, meant for a killed writer's file, would wait for
    missing bytes or retry a bad checksum for minutes: used for that alone."""
    path, _ = reference
    data = bytearray(path.read_bytes())
    if damage == "byte 34 flipped":
        data[34] ^= 89
    else:
        data = data[:512 if "512" in damage else int(0.6 * len(data))]
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(bytes(data))
    for read in (files.read_samples, files.info):
        with pytest.raises(InputError, match="damaged.h5.*damaged or truncated"):
            read(damaged)
    with pytest.raises(InputError, match="damaged.h5.*damaged or truncated"):
        files.write_samples(damaged, _experiment(), SHOTS, rng=11)
