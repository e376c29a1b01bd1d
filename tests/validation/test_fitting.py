"""Model fitting to click-number moments, and the Jiuzhang 1.0 reproduction."""
import numpy as np
import pytest

from jiuzhang_emu import Experiment, InputError, Threshold, TwoModeSqueezer, haar_unitary
from jiuzhang_emu import presets, validation
from jiuzhang_emu.cli import main

U = haar_unitary(10, rng=11)


def _family(transmission, thermal_fraction):
    return Experiment([TwoModeSqueezer(1.1, thermal_fraction=thermal_fraction)] * 5,
                      U.T * np.sqrt(transmission), Threshold())


def test_click_moments_are_those_of_the_exact_distribution():
    experiment = _family(0.4, 0.2)
    dist = validation.click_number_distribution(experiment, method="exact").probabilities
    c = np.arange(len(dist))
    mean, var = validation.click_moments(experiment)
    assert mean == pytest.approx(c @ dist, abs=1e-12)
    assert var == pytest.approx((c - mean) ** 2 @ dist, abs=1e-11)


def test_histogram_moments():
    moments = validation.histogram_moments([0, 3, 0, 1])  # clicks 1, 1, 1, 3
    assert moments["mean"] == 1.5 and moments["variance"] == 0.75 and moments["shots"] == 4
    assert moments["mean_error"] == pytest.approx(np.sqrt(0.75 / 4))


def test_fit_recovers_the_parameters_of_a_synthetic_histogram():
    truth = {"transmission": 0.45, "thermal_fraction": 0.25}
    dist = validation.click_number_distribution(_family(**truth), method="exact").probabilities
    histogram = np.round(1e9 * dist)
    fit = validation.fit_click_moments(
        _family, {"transmission": (0.3, 0.1, 0.9), "thermal_fraction": (0.0, 0.0, 0.9)},
        histogram)
    assert fit.success
    assert fit.parameters["transmission"] == pytest.approx(0.45, abs=1e-4)
    assert fit.parameters["thermal_fraction"] == pytest.approx(0.25, abs=1e-3)
    assert np.all(np.abs(fit.residuals) < 1)


@pytest.mark.parametrize("parameters, match", [
    ({}, "at least one"),
    ({"transmission": (0.5, 0.6, 0.9)}, "low <= initial"),
    ({"transmission": 0.5}, r"\(initial, low, high\)"),
])
def test_fit_bad_input(parameters, match):
    with pytest.raises(InputError, match=match):
        validation.fit_click_moments(_family, parameters, [1, 2, 3])


def test_bad_histogram():
    with pytest.raises(InputError, match="histogram"):
        validation.histogram_moments([[1, 2]])


@pytest.mark.slow
def test_jiuzhang1_reproduction_prefers_the_fitted_model():
    comparison = presets.jiuzhang1_comparison(samples=20_000, rng=3)
    ideal, squashed, fitted = comparison.models
    assert [m.name for m in comparison.models] == ["ideal", "squashed", "fitted"]
    assert fitted.mean_clicks == pytest.approx(comparison.data["mean"], abs=1e-3)
    assert fitted.click_variance == pytest.approx(comparison.data["variance"], abs=1e-2)
    assert fitted.total_variation < min(ideal.total_variation, squashed.total_variation) / 5
    assert fitted.rate_rms_deviation < ideal.rate_rms_deviation
    assert ideal.z_score > 50  # 3 million shots: the ideal model is clearly rejected
    assert "| fitted |" in comparison.table()


@pytest.mark.slow
def test_reproduce_command(capsys):
    import io

    out = io.StringIO()
    assert main(["reproduce", "--samples", "4000", "--seed", "2"], out=out) == 0
    text = out.getvalue()
    assert "| ideal |" in text and "| squashed |" in text and "thermal_fraction=" in text
