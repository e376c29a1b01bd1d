"""The Jiuzhang 4.0 preset and the output moments it is used through."""
import numpy as np
import pytest

from jiuzhang_emu import Coherent, Experiment, SingleModeSqueezer, Threshold, TwoModeSqueezer
from jiuzhang_emu.detectors import PseudoPNR
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.presets import PRESETS, jiuzhang4
from jiuzhang_emu.presets.jiuzhang import jiuzhang4_transfer_matrix


def _mixed_experiment(detector=None):
    """Displaced, thermalised, partly distinguishable light with dark counts."""
    return Experiment(
        [TwoModeSqueezer(0.8, thermal_fraction=0.2), Coherent(0.4 + 0.3j),
         SingleModeSqueezer(0.6, phase=0.4, indistinguishability=0.5)],
        haar_unitary(6, rng=3)[:4] * 0.85,
        detector or Threshold(dark_count=[0.02, 0, 0.05, 0.01, 0, 0.03]))


@pytest.mark.parametrize("detector", [None, PseudoPNR(n_detectors=3, dark_count=0.01)])
def test_output_moments_equal_the_output_state(detector):
    experiment = _mixed_experiment(detector)
    state = experiment.output_state()
    moments = experiment.output_moments()
    np.testing.assert_allclose(moments.mean_photon_numbers(), state.mean_photon_numbers(),
                               atol=1e-14)
    for modes in ([0, 3], [5, 1, 2], [4]):
        copies = (np.arange(experiment.internal_modes)[:, None] * 6 + np.array(modes)).ravel()
        marginal = moments.state(copies)
        np.testing.assert_allclose(marginal.cov, state.reduced(copies).cov, atol=1e-13)
        np.testing.assert_allclose(marginal.means, state.reduced(copies).means, atol=1e-14)


def test_pair_click_probabilities_equal_two_mode_marginals():
    experiment = _mixed_experiment()
    rows, cols = np.array([0, 2, 5]), np.array([5, 1, 2, 3])
    pairs = experiment.pair_click_probabilities(rows, cols)
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            expected = (experiment.probability([1], modes=[i]) if i == j else
                        experiment.probability([1, 1], modes=[i, j]))
            assert pairs[a, b] == pytest.approx(expected, rel=1e-10, abs=1e-14)


def test_pair_click_probabilities_single_internal_mode():
    experiment = Experiment([TwoModeSqueezer(0.9), SingleModeSqueezer(0.5)],
                            haar_unitary(5, rng=4)[:3] * 0.9, Threshold(dark_count=0.02))
    pairs = experiment.pair_click_probabilities()
    np.testing.assert_allclose(pairs, pairs.T, atol=1e-15)
    np.testing.assert_allclose(np.diag(pairs), experiment.click_probabilities(), atol=1e-14)
    for i, j in [(0, 1), (2, 4), (3, 1)]:
        assert pairs[i, j] == pytest.approx(experiment.probability([1, 1], modes=[i, j]),
                                            rel=1e-10)


def test_reduced_jiuzhang4_against_its_output_state():
    experiment = jiuzhang4(spatial_modes=2, cube_side=3)
    assert (experiment.n_inputs, experiment.n_modes) == (18, 52)
    assert np.linalg.norm(experiment.transfer_matrix, 2) == pytest.approx(np.sqrt(0.51))
    state = experiment.output_state()
    np.testing.assert_allclose(experiment.mean_photon_numbers(), state.mean_photon_numbers(),
                               atol=1e-13)
    assert experiment.mean_photon_number() == pytest.approx(18 * np.sinh(1.5) ** 2 * 0.51)
    np.testing.assert_allclose(experiment.click_probabilities(),
                               1 - state.mode_vacuum_probabilities(), atol=1e-13)
    assert experiment.preset == {"name": "jiuzhang4", "options": {
        "spatial_modes": 2, "cube_side": 3, "squeezing": 1.5, "transmission": 0.51,
        "n_detectors": 1, "thermal_fraction": 0.0}}
    assert PRESETS["jiuzhang4"] is jiuzhang4
    assert "stand-in" in experiment.provenance["transfer_matrix"]


def test_jiuzhang4_interferometer_reaches_every_mode():
    T = jiuzhang4_transfer_matrix(3, 4, transmission=1.0)
    assert T.shape == (3 * 16, 3 * 63)
    np.testing.assert_allclose(T @ T.conj().T, np.eye(48), atol=1e-12)  # isometric rows
    assert np.all(np.abs(T) ** 2 @ np.ones(T.shape[1]) > 0.999)
    assert np.all((np.abs(T) ** 2).sum(axis=0) > 1e-3)  # light reaches every mode


@pytest.mark.parametrize("option, value", [("spatial_modes", 0), ("spatial_modes", 65),
                                           ("cube_side", 1), ("cube_side", 2.5),
                                           ("n_detectors", 0), ("transmission", 1.2)])
def test_jiuzhang4_refuses_bad_sizes(option, value):
    with pytest.raises(InputError, match=option):
        jiuzhang4(**{option: value})


@pytest.mark.slow
def test_full_jiuzhang4_first_and_second_moments():
    """8176 modes, 1024 squeezers: built and its click rates and a block of pair
    click probabilities computed without the output state."""
    experiment = jiuzhang4()
    assert (experiment.n_inputs, experiment.n_modes) == (1024, 8176)
    assert experiment._output_state is None
    rates = experiment.click_probabilities()
    assert 1500 < rates.sum() < 2200
    assert experiment.mean_photon_number() == pytest.approx(1024 * np.sinh(1.5) ** 2 * 0.51)
    rows = np.array([0, 4000, 8175])
    pairs = experiment.pair_click_probabilities(rows, np.arange(8176))
    np.testing.assert_allclose(pairs[np.arange(3), rows], rates[rows], atol=1e-14)
    assert pairs[0, 1] == pytest.approx(experiment.probability([1, 1], modes=[0, 1]), rel=1e-10)
    assert experiment._output_state is None
