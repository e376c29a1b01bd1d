"""validation.compare_samples: its figures recomputed by hand, exact samples
scoring near the ideal and the thermal imitation far from it, measured data as
a row without cumulants."""
from itertools import combinations

import numpy as np
import pytest

from jiuzhang_emu import presets, validation
from jiuzhang_emu.presets.jiuzhang import MeasuredData
from jiuzhang_emu.validation.statistics import max_z_test, pair_covariance_variance


@pytest.fixture(scope="module")
def case():
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.5, rng=4)
    samples = {"exact": experiment.sample(4000, rng=1).patterns,
               "thermal": experiment.sample(4000, rng=1, method="thermal").patterns}
    return experiment, samples, validation.compare_samples(experiment, samples, rng=2)


def test_figures_recomputed(case):
    experiment, samples, comparison = case
    row = {r["name"]: r for r in comparison.rows}["exact"]
    patterns = samples["exact"]
    clicks = (patterns > 0).sum(axis=1)
    frequencies = np.bincount(clicks, minlength=9) / len(patterns)
    assert comparison.distribution.method == "exact"
    assert row["total_variation"] == pytest.approx(
        0.5 * np.abs(frequencies - comparison.distribution.probabilities).sum())
    rates = experiment.click_probabilities()
    assert row["rate_rms_deviation"] == pytest.approx(
        np.sqrt(np.mean(((patterns > 0).mean(axis=0) / rates - 1) ** 2)))
    pairs = np.array(list(combinations(range(8), 2)))
    _, ideal = validation.click_correlators(experiment, 2, subsets=pairs)
    c = (patterns > 0).astype(float)
    sampled = np.array([np.cov(c[:, i], c[:, j], bias=True)[0, 1] for i, j in pairs])
    assert row["l2_2"] == pytest.approx(np.linalg.norm(sampled - ideal), rel=1e-9)
    assert row["slope_2"] == pytest.approx(sampled @ ideal / (ideal @ ideal), rel=1e-9)
    assert len(comparison.subsets[3]) == 56  # all triples of 8 modes (fewer than 2000)


def test_exact_samples_beat_the_thermal_imitation(case):
    _, _, comparison = case
    rows = {r["name"]: r for r in comparison.rows}
    assert abs(rows["exact"]["slope_2"] - 1) < 0.1 < abs(rows["thermal"]["slope_2"] - 1)
    assert rows["exact"]["l2_2"] < rows["thermal"]["l2_2"] / 2
    assert rows["exact"]["total_variation"] < rows["thermal"]["total_variation"]
    assert "| exact | 4000 |" in comparison.table()


def test_tests_match_the_separate_tests(case):
    """The ``tests`` entries are those of click_number_test and of the pair
    z-scores against the exact standard errors; the exact samples pass every
    one at alpha = 0.01 (a seeded draw: each test's false alarm rate is 1%),
    the thermal imitation none of the pair and click-number tests."""
    experiment, samples, comparison = case
    rows = {r["name"]: r for r in comparison.rows}
    numbers = validation.click_number_test(samples["thermal"], comparison.distribution)
    assert rows["thermal"]["tests"]["click numbers"] == pytest.approx(
        (numbers.z_score, numbers.pvalue))
    pairs, ideal = validation.click_correlators(experiment, 2)
    _, rates = validation.click_correlators(experiment, 1)
    _, sampled, _ = validation.sample_click_correlators(samples["thermal"], 2)
    z = (sampled - ideal) / np.sqrt(pair_covariance_variance(rates, pairs, ideal) / 4000)
    assert rows["thermal"]["tests"]["pair cumulants"] == pytest.approx(
        (np.sqrt(np.mean(z ** 2)), max_z_test(z).pvalue), rel=1e-6)
    assert all(p > 0.01 for _, p in rows["exact"]["tests"].values())
    assert rows["thermal"]["tests"]["pair cumulants"][1] < 0.01
    assert rows["thermal"]["tests"]["click numbers"][1] < 0.01
    table = comparison.tests_table()
    assert "| exact | 4000 |" in table and "click rates, pair cumulants, triple cumulants, " \
        "click numbers |" in table


def test_measured_data_row(case):
    experiment, samples, _ = case
    exact = validation.click_number_distribution(experiment).probabilities
    measured = MeasuredData(experiment.click_probabilities(), np.round(exact * 1e6), 0.0, "model")
    comparison = validation.compare_samples(experiment, {"exact": samples["exact"]},
                                            measured=measured, triples=10, rng=3)
    data = comparison.rows[0]
    assert data["name"] == "data" and data["shots"] == pytest.approx(1e6, abs=10)
    assert data["rate_rms_deviation"] < 1e-12 and data["total_variation"] < 1e-5
    assert data["slope_2"] is None and "| data |" in comparison.table()
    assert data["tests"] is None and "| data |" not in comparison.tests_table()
    assert len(comparison.subsets[3]) == 10


def test_pseudo_pnr_counts_clicked_modes():
    """Pseudo-PNR patterns count detectors; the click-number distribution
    counts modes with a click, and so does the comparison."""
    experiment = presets.jiuzhang_like(6, r=1.0, transmission=0.5, detectors="pseudo-pnr", rng=5)
    samples = experiment.sample(3000, rng=2).patterns
    assert samples.max() > 1
    row = validation.compare_samples(experiment, {"exact": samples}, rng=1).rows[0]
    assert row["mean_clicks"] == pytest.approx((samples > 0).sum(axis=1).mean())
    assert row["total_variation"] < 0.05
