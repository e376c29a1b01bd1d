"""Seeds in samples and sample files: the whole root SeedSequence (entropy and
spawn key) is kept, an int seed draws what it drew before, and files written
before the spawn key was stored still read and resume to the same samples.

The recorded digests and the legacy files in tests/data were written by the
code of commit 82fefd8 (tests/data/make_legacy_sample_files.py)."""
import hashlib
import json
import pathlib
import re
import shutil

import h5py
import numpy as np
import pytest

from jiuzhang_emu import __version__, files, presets, samplers
from jiuzhang_emu.samplers import engine
from jiuzhang_emu.errors import InputError

DATA = pathlib.Path(__file__).parent / "data"
RECORD = json.loads((DATA / "legacy_samples.json").read_text())
SHOTS = RECORD["shots"]


def _experiment():
    return presets.random_experiment(4, rng=3)


def _digest(patterns):
    return hashlib.sha256(np.asarray(patterns).astype("<i8").tobytes()).hexdigest()


def _attrs(path):
    with h5py.File(path, "r") as handle:
        return {key: (value.decode() if isinstance(value, bytes) else value)
                for key, value in handle.attrs.items()}


def _interrupted_write(monkeypatch, path, n_batches, **kwargs):
    """write_samples, stopped by Ctrl-C after ``n_batches`` batches."""
    real = engine.iter_batches

    def interrupted(*args, **kw):
        for k, item in enumerate(real(*args, **kw)):
            if k == n_batches:
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(engine, "iter_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, _experiment(), SHOTS, **kwargs)
    monkeypatch.undo()


def test_an_int_seed_draws_the_samples_it_drew_before():
    assert _digest(samplers.sample(_experiment(), SHOTS, rng=7).patterns) == \
        RECORD["sample_int_seed"]
    assert _digest(samplers.sample(_experiment(), SHOTS, rng=7, method="thermal").patterns) \
        == RECORD["sample_thermal_int_seed"]
    # a SeedSequence without a spawn key is the int seed
    assert _digest(samplers.sample(_experiment(), SHOTS,
                                   rng=np.random.SeedSequence(7)).patterns) == \
        RECORD["sample_int_seed"]


def test_a_generator_is_one_stream_as_before():
    samples = samplers.sample(_experiment(), SHOTS, rng=np.random.default_rng(5))
    assert _digest(samples.patterns) == RECORD["sample_generator_5"]
    assert (samples.seed_entropy, samples.seed_spawn_key, samples.seed) == (None, None, None)
    with pytest.raises(InputError, match="not a Generator"):
        samplers.sample(_experiment(), SHOTS, rng=np.random.default_rng(5), n_workers=2)


def test_spawned_children_give_different_and_reproducible_samples():
    children = np.random.SeedSequence(7).spawn(3)
    sets = [samplers.sample(_experiment(), SHOTS, rng=child) for child in children]
    digests = [_digest(s.patterns) for s in sets]
    assert len(set(digests + [RECORD["sample_int_seed"]])) == 4  # and none is rng=7's
    for j, samples in enumerate(sets):
        assert samples.seed_entropy == 7 and samples.seed_spawn_key == (j,)
        again = samplers.sample(_experiment(), SHOTS, rng=samples.seed)
        np.testing.assert_array_equal(again.patterns, samples.patterns)
    parallel = samplers.sample(_experiment(), SHOTS, rng=np.random.SeedSequence(7).spawn(3)[2],
                               n_workers=2)
    np.testing.assert_array_equal(parallel.patterns, sets[2].patterns)
    # a grandchild is another stream again
    grandchild = children[1].spawn(1)[0]
    assert grandchild.spawn_key == (1, 0)
    assert _digest(samplers.sample(_experiment(), SHOTS, rng=grandchild).patterns) not in digests


@pytest.mark.parametrize("child", [0, 1, 2])
def test_a_spawned_child_resumes_from_its_file_to_its_uninterrupted_run(tmp_path, monkeypatch,
                                                                        child):
    seed = np.random.SeedSequence(7).spawn(3)[child]
    expected = samplers.sample(_experiment(), SHOTS, rng=seed).patterns
    reference = tmp_path / "reference.h5"
    report = files.write_samples(reference, _experiment(), SHOTS, rng=seed)
    assert (report.seed_entropy, report.seed_spawn_key) == (7, (child,))
    np.testing.assert_array_equal(files.read_samples(reference).patterns, expected)
    assert json.loads(_attrs(reference)["seed_spawn_key"]) == [child]

    path = tmp_path / "run.h5"
    _interrupted_write(monkeypatch, path, 2, rng=seed)
    summary = files.info(path)
    assert (summary["seed_entropy"], summary["seed_spawn_key"]) == (7, (child,))
    assert summary["shots_written"] == 2 * samplers.BATCH_SIZE
    report = files.write_samples(path, _experiment(), SHOTS)  # no seed: the file's, spawn key too
    assert report.resumed_from == 2 * samplers.BATCH_SIZE and report.seed_spawn_key == (child,)
    samples = files.read_samples(path)
    np.testing.assert_array_equal(samples.patterns, expected)
    assert samples.seed_spawn_key == (child,) and samples.seed.spawn_key == (child,)
    assert _attrs(path) == _attrs(reference)


def test_another_child_or_the_parent_seed_is_a_different_run(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    children = np.random.SeedSequence(7).spawn(2)
    _interrupted_write(monkeypatch, path, 1, rng=children[0])
    for other, named in ((children[1], "seed_spawn_key '[0]' in the file, '[1]' requested"),
                         (7, "seed_spawn_key '[0]' in the file, '[]' requested")):
        with pytest.raises(InputError, match=re.escape(named)):
            files.write_samples(path, _experiment(), SHOTS, rng=other)


def _legacy_copy(tmp_path, name):
    """A copy of a file written by the old code; its package_version set to
    this one's (such files carry no digest, so this is allowed) so that it
    can be resumed by this version."""
    path = tmp_path / name
    shutil.copyfile(DATA / name, path)
    with h5py.File(path, "r+") as handle:
        assert "metadata_sha256" not in handle.attrs and "seed_spawn_key" not in handle.attrs
        handle.attrs["package_version"] = __version__
    return path


def test_an_old_file_reads_with_an_empty_spawn_key(tmp_path):
    path = _legacy_copy(tmp_path, "legacy_complete.h5")
    samples = files.read_samples(path)
    assert _digest(samples.patterns) == RECORD["file_complete"] == RECORD["sample_int_seed"]
    assert (samples.seed_entropy, samples.seed_spawn_key) == (7, ())
    assert samples.extra["metadata_digest"] is None
    summary = files.info(path)
    assert summary["seed_spawn_key"] == () and "absent" in summary["metadata_digest"]
    assert files.read_experiment(path)["name"] == _experiment().name
    report = files.write_samples(path, _experiment(), SHOTS, rng=7)  # complete: nothing to do
    assert report.sampled == 0


@pytest.mark.parametrize("rng", [None, 7])
def test_an_old_partial_file_resumes_to_the_uninterrupted_run(tmp_path, rng):
    path = _legacy_copy(tmp_path, "legacy_partial.h5")
    assert files.info(path)["shots_written"] == RECORD["partial_shots"]
    report = files.write_samples(path, _experiment(), SHOTS, rng=rng)
    assert report.resumed_from == RECORD["partial_shots"] and report.seed_spawn_key == ()
    assert _digest(files.read_samples(path).patterns) == RECORD["sample_int_seed"]
    reference = tmp_path / "reference.h5"
    files.write_samples(reference, _experiment(), SHOTS, rng=7)
    resumed, fresh = _attrs(path), _attrs(reference)
    assert (resumed.pop("format_version"), fresh.pop("format_version")) == (1, 2)
    assert (resumed.pop("metadata_sha256") != fresh.pop("metadata_sha256"))  # covers the version
    # the old file keeps the description it was written with (its mean photon
    # number summed in another order, equal to rounding)
    old, new = (json.loads(attrs.pop("experiment")) for attrs in (resumed, fresh))
    assert old.pop("mean_photon_number") == pytest.approx(new.pop("mean_photon_number"),
                                                          rel=1e-14)
    assert old == new
    assert resumed == fresh  # the resumed file got the digest and spawn key
    summary = files.info(path)
    assert summary["metadata_digest"] == "verified"
    assert (summary["format_version"], summary["dtype"]) == (1, "int16")  # its own layout


def test_an_old_partial_file_refuses_a_spawned_child(tmp_path):
    path = _legacy_copy(tmp_path, "legacy_partial.h5")
    with pytest.raises(InputError, match=re.escape("seed_spawn_key '[]' in the file, '[0]'")):
        files.write_samples(path, _experiment(), SHOTS, rng=np.random.SeedSequence(7).spawn(1)[0])
