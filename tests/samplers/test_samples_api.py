"""Samples behave like the array of their patterns; every method is priced
before it runs; a progress bar on request."""
import numpy as np
import pytest

from jiuzhang_emu import presets, samplers
from jiuzhang_emu.samplers import runtime
from jiuzhang_emu.samplers.boltzmann import fit_machine
from jiuzhang_emu.samplers.mps import build_mps


def test_samples_are_array_like():
    samples = presets.jiuzhang_like(6, rng=1).sample(100, rng=2)
    assert len(samples) == 100 == samples.shots
    array = np.asarray(samples)
    assert array.shape == (100, 6) and array.dtype == samples.patterns.dtype
    np.testing.assert_array_equal(array, samples.patterns)
    assert np.asarray(samples, dtype=float).dtype == float
    copy = np.array(samples, copy=True)
    copy[:] = -1
    assert samples.patterns.min() >= 0  # a copy was asked for


@pytest.mark.parametrize("method", samplers.METHODS[1:])
def test_every_method_has_a_positive_finite_prediction(method):
    experiment = presets.jiuzhang_like(6, rng=1)
    network = {"mps": lambda: build_mps(experiment, chi=8, progress=False),
               "boltzmann": lambda: fit_machine(experiment, rng=2)}.get(method, lambda: None)()
    seconds = runtime.run_seconds(experiment, 1000, method, network=network)
    assert np.isfinite(seconds) and seconds > 0
    assert runtime.run_seconds(experiment, 2000, method, network=network) > seconds


def test_a_pool_cannot_beat_one_batch_per_worker():
    experiment = presets.jiuzhang_like(6, rng=1)
    one = runtime.run_seconds(experiment, samplers.BATCH_SIZE, "thermal", n_workers=1)
    assert runtime.run_seconds(experiment, samplers.BATCH_SIZE, "thermal",
                                      n_workers=8) == one


def test_progress_bar_on_request(capsys):
    presets.jiuzhang_like(6, rng=1).sample(200, rng=2, progress=True)
    error = capsys.readouterr().err
    assert "sampling (predicted" in error and "200/200" in error
    presets.jiuzhang_like(6, rng=1).sample(200, rng=2, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("bad", [float("nan"), "x", 0, -1.0, True])
def test_a_run_limit_must_be_a_positive_number_or_none(tmp_path, bad):
    """NaN compared False and silently lifted the limit; a string reached
    numpy as a UFuncTypeError (issue 13, item 12)."""
    from jiuzhang_emu import files
    from jiuzhang_emu.errors import InputError

    experiment = presets.jiuzhang_like(6, rng=1)
    with pytest.raises(InputError, match="max_seconds must be None or a positive number"):
        experiment.sample(10, rng=1, max_seconds=bad)
    with pytest.raises(InputError, match="max_seconds must be None or a positive number"):
        files.write_samples(tmp_path / "run.h5", experiment, 10, rng=1, max_seconds=bad)
    assert list(tmp_path.iterdir()) == []
