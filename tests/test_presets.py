"""Presets: the published Jiuzhang 1.0 figures and the stand-ins' bookkeeping."""
import numpy as np
import pytest

from jiuzhang_emu import InputError, PseudoPNR, Threshold, presets
from jiuzhang_emu.sources import TwoModeSqueezer


@pytest.fixture(scope="module")
def jiuzhang1():
    return presets.jiuzhang1()


def test_jiuzhang1_structure(jiuzhang1):
    assert (jiuzhang1.n_inputs, jiuzhang1.n_modes) == (50, 100)
    assert isinstance(jiuzhang1.detector, Threshold)
    assert all(isinstance(s, TwoModeSqueezer) for s in jiuzhang1.sources)
    r = [s.r for s in jiuzhang1.sources]
    assert min(r) == pytest.approx(1.3389267197532349) and max(r) == pytest.approx(1.8395638626723685)
    singular = np.linalg.svd(jiuzhang1.transfer_matrix, compute_uv=False)
    assert singular.max() == pytest.approx(0.6695, abs=1e-4)
    assert "published" in jiuzhang1.provenance["transfer_matrix"]


def test_jiuzhang1_ideal_model_figures(jiuzhang1):
    # README of the shipped data: mean photon number 78.6, expected clicks 41.04.
    assert jiuzhang1.mean_photon_number() == pytest.approx(78.6155, abs=1e-3)
    assert jiuzhang1.mean_clicks() == pytest.approx(41.0423, abs=1e-3)


def test_jiuzhang1_click_rates_against_measurement(jiuzhang1):
    measured = presets.jiuzhang1_measured()
    assert measured.mean_clicks == pytest.approx(42.53, abs=5e-3)
    assert measured.click_number_histogram.sum() == 2_995_852
    model = jiuzhang1.click_probabilities()
    rms = np.sqrt(np.mean((model / measured.click_rates - 1) ** 2))
    # The ideal model underestimates the measured rates by ~3.5% on average
    # (41.04 vs 42.53 clicks); per detector the RMS relative deviation is 3.6%.
    assert rms == pytest.approx(0.0358, abs=5e-4)
    assert np.corrcoef(model, measured.click_rates)[0, 1] > 0.95


def test_jiuzhang1_single_mode_marginal_matches_click_probability(jiuzhang1):
    p = jiuzhang1.probability([1], modes=[7])
    assert p == pytest.approx(jiuzhang1.click_probabilities()[7], rel=1e-12)


def test_jiuzhang1_parameters_move_clicks_the_right_way(jiuzhang1):
    base = jiuzhang1.mean_clicks()
    assert presets.jiuzhang1(transmission_scale=1.1).mean_clicks() > base
    # Thermalising at fixed photon number raises the click number (thermal
    # light is less bunched than squeezed light).
    assert presets.jiuzhang1(thermal_fraction=0.5).mean_clicks() > base
    assert presets.jiuzhang1(thermal_fraction=0.5).mean_photon_number() == pytest.approx(
        jiuzhang1.mean_photon_number())


def test_jiuzhang1_rejects_non_contractive_scale():
    with pytest.raises(InputError, match="contractive"):
        presets.jiuzhang1(transmission_scale=2.5)
    with pytest.raises(InputError, match="transmission_scale"):
        presets.jiuzhang1(transmission_scale=-1)


@pytest.mark.parametrize("setting, mean_r", [(1, 0.495), (2, 0.692), (3, 0.977), (4, 1.260), (5, 1.608)])
def test_jiuzhang2_settings(setting, mean_r):
    assert presets.jiuzhang2_squeezing(setting).mean() == pytest.approx(mean_r, abs=5e-4)
    experiment = presets.jiuzhang2(setting)
    assert (experiment.n_inputs, experiment.n_modes) == (50, 144)
    assert "stand-in" in experiment.provenance["transfer_matrix"]
    assert "published" in experiment.provenance["squeezing"]
    transmission = (np.abs(experiment.transfer_matrix) ** 2).sum(axis=1)
    np.testing.assert_allclose(transmission, presets.jiuzhang.JIUZHANG1_MEAN_TRANSMISSION)


def test_jiuzhang2_is_one_fixed_experiment():
    np.testing.assert_array_equal(presets.jiuzhang2(3).transfer_matrix,
                                  presets.jiuzhang2(3).transfer_matrix)


@pytest.mark.parametrize("setting", [0, 6, 2.5, True, "1"])
def test_jiuzhang2_rejects_unknown_setting(setting):
    with pytest.raises(InputError, match="setting"):
        presets.jiuzhang2(setting)


def test_jiuzhang3_pseudo_pnr():
    experiment = presets.jiuzhang3()
    assert isinstance(experiment.detector, PseudoPNR)
    assert experiment.detector.n_detectors == 8
    assert experiment.n_modes == 144
    # Splitting over 8 detectors: more clicks than modes with a click.
    assert experiment.mean_clicks() > experiment.click_probabilities().sum()
    assert "stand-in" in experiment.provenance["squeezing"]


def test_jiuzhang1_measured_mean_matches_histogram():
    measured = presets.jiuzhang1_measured()
    k = np.arange(measured.click_number_histogram.size)
    mean = (k * measured.click_number_histogram).sum() / measured.click_number_histogram.sum()
    assert mean == pytest.approx(measured.mean_clicks, abs=0.01)


@pytest.mark.parametrize("detectors", ["threshold", "pnr", "pseudo-pnr"])
def test_random_experiment(detectors):
    experiment = presets.random_experiment(4, r=0.5, transmission=0.5, detectors=detectors, rng=1)
    assert experiment.n_modes == 4
    # All inputs squeezed with r = 0.5, half the light lost.
    assert experiment.mean_photon_number() == pytest.approx(4 * 0.5 * np.sinh(0.5) ** 2)
    again = presets.random_experiment(4, detectors=detectors, rng=1)
    np.testing.assert_array_equal(experiment.transfer_matrix, again.transfer_matrix)


def test_random_experiment_threshold_probabilities_sum_to_one():
    experiment = presets.random_experiment(6, r=0.8, transmission=0.6, rng=7)
    patterns = (np.arange(64)[:, None] >> np.arange(6)) & 1
    total = sum(experiment.probability(p) for p in patterns)
    assert total == pytest.approx(1, abs=1e-12)


def test_jiuzhang_like():
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.3, rng=2)
    assert all(isinstance(s, TwoModeSqueezer) for s in experiment.sources)
    assert experiment.mean_photon_number() == pytest.approx(8 * 0.3 * np.sinh(1.0) ** 2)
    with pytest.raises(InputError, match="n_modes"):
        presets.jiuzhang_like(7)


@pytest.mark.parametrize("bad, match", [({"detectors": "photon"}, "detectors"),
                                        ({"transmission": 1.2}, "transmission"),
                                        ({"n_modes": 0}, "n_modes")])
def test_random_experiment_bad_input(bad, match):
    options = {"n_modes": 3, **bad}
    with pytest.raises(InputError, match=match):
        presets.random_experiment(**options)


def test_get_by_name():
    assert presets.get("random_experiment", n_modes=3, rng=0).n_modes == 3
    with pytest.raises(InputError, match="preset"):
        presets.get("jiuzhang9")
