"""The cost model: expected work against exact enumeration, pattern costs
against the planner's work counts, extrapolation and the claims table."""
import itertools
import math

import numpy as np
import pytest

from jiuzhang_emu import cost
from jiuzhang_emu.detectors import PhotonNumberResolving, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.presets import jiuzhang_like
from jiuzhang_emu.samplers import planning
from jiuzhang_emu.sources import TwoModeSqueezer

#: one unit per term, so that predicted seconds are work counts
UNIT = cost.Calibration(subset_seconds=1.0, click_mode_seconds=0.0, schur_seconds=0.0,
                        work_seconds=1.0, call_seconds=0.0, mode_seconds=0.0,
                        extended_factor=0.0, double_double_factor=0.0, reference_factor=0.0)
CALLS = cost.Calibration(subset_seconds=0.0, click_mode_seconds=0.0, schur_seconds=0.0,
                         work_seconds=0.0, call_seconds=1.0, mode_seconds=0.0)


def _smooth_photon_work(pattern):
    """The photon route's work with the floors of planning._chain_rule_work
    averaged over parity, as the phase-space estimate counts it."""
    total, leaves, photons = 0.0, 1.0, 0
    for n in pattern:
        if photons:
            total += leaves * (photons + 2.5) ** 2 * (photons + 2) / 4 * 2**0.25
        leaves *= (n // 2 + 1) * (math.sqrt(2) if n % 2 else 1)
        photons += n
    return total


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6
def test_click_work_equals_enumeration():
    experiment = jiuzhang_like(10, r=1.2, transmission=0.4, rng=3,
                               detectors=Threshold(dark_count=0.02))
    patterns = np.array(list(itertools.product([0, 1], repeat=10)))
    p = np.array([experiment.probability(x) for x in patterns])
    exact = p @ planning._click_chain_work(patterns)
    estimate = cost.predict(experiment, samples=60_000, rng=1, calibration=UNIT)
    value, error = estimate.routes["click"]
    assert abs(value - exact) < 4.5 * error
    assert error < 0.02 * exact


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6
def test_photon_work_equals_enumeration():
    U = haar_unitary(3, rng=5)
    experiment = Experiment([TwoModeSqueezer(0.4)], U[:2] * np.sqrt(0.7), PhotonNumberResolving())
    cutoff = 15
    patterns = np.array(list(itertools.product(range(cutoff), repeat=3)))
    patterns = patterns[patterns.sum(axis=1) < cutoff]
    p = np.array([experiment.probability(x) for x in patterns])
    assert 1 - p.sum() < 1e-6  # the enumeration misses almost nothing
    smooth = p @ [_smooth_photon_work(x) for x in patterns]
    calls = p @ [planning._chain_rule_work(x)[0] for x in patterns]
    work = p @ [planning._chain_rule_work(x)[1] for x in patterns]
    value, error = cost.predict(experiment, samples=60_000, rng=2,
                                calibration=UNIT).routes["photon"]
    assert abs(value - smooth) < 4.5 * error + 1e-3 * smooth
    assert abs(value / work - 1) < 0.1  # the parity average against the floors
    value, error = cost.predict(experiment, samples=60_000, rng=2,
                                calibration=CALLS).routes["photon"]
    assert abs(value - calls) < 4.5 * error + 1e-9
    assert "click" not in cost.predict(experiment, samples=100).routes


def test_pattern_cost_equals_planning_work():
    rng = np.random.default_rng(0)
    cal = cost.Calibration()
    for _ in range(20):
        pattern = rng.poisson(0.8, size=12)
        calls, work = planning._chain_rule_work(pattern)
        photon = (12 * cal.mode_seconds + calls * cal.call_seconds + work * cal.work_seconds)
        click = (12 * cal.click_mode_seconds + 12**3 * cal.schur_seconds
                 + planning._click_chain_work(pattern > 0) * cal.subset_seconds)
        assert cost.pattern_log10_seconds(pattern, "photon") == pytest.approx(
            math.log10(photon), abs=1e-12)
        assert cost.pattern_log10_seconds(pattern, "click") == pytest.approx(
            math.log10(click), abs=1e-12)
    # no photons, and rates measured as zero
    assert cost.pattern_log10_seconds([0, 0, 0], "photon", calibration=UNIT) == -math.inf
    # thousands of events do not overflow
    assert 600 < cost.pattern_log10_seconds(cost.spread(8176, 2200), "click") < 700


def test_precision_tiers_take_over_in_order():
    experiment = jiuzhang_like(28, r=1.5, transmission=0.3, rng=28)
    counts = [cost._escalating_clicks(experiment, tier, np.random.default_rng(0))
              for tier in ("extended", "double-double", "reference")]
    assert 0 < counts[0] <= counts[1] <= counts[2] <= 29
    estimate = cost.predict(experiment, samples=2000)
    assert estimate.tier_factors[0] == 1 and estimate.tier_factors[-1] > 1
    assert estimate.work_by_clicks.sum() == pytest.approx(1)


def test_spread():
    assert cost.spread(5, 3).tolist() == [0, 1, 0, 1, 1]
    assert cost.spread(4, 10).tolist() == [2, 3, 2, 3]
    with pytest.raises(InputError, match="count must be >= 0"):
        cost.spread(4, -1)


def test_extrapolation_scales_by_sustained_rate():
    estimate = cost.predict(jiuzhang_like(8, rng=0), samples=200)
    cal = estimate.calibration
    here = estimate.seconds(1000)
    assert here == pytest.approx(1000 * estimate.seconds_per_sample)
    fugaku = estimate.seconds(1000, "Fugaku")
    assert fugaku == pytest.approx(here * cal.flops_per_core / 442.01e15)
    assert estimate.years(1000, "Fugaku") == pytest.approx(fugaku / cost.SECONDS_PER_YEAR)
    assert estimate.route in ("click", "photon")


def test_bad_input():
    experiment = jiuzhang_like(4, rng=0)
    with pytest.raises(InputError, match="machine must be one of"):
        cost.predict(experiment, samples=10).seconds(1, "Summit")
    with pytest.raises(InputError, match="samples must be an integer >= 2, got 1"):
        cost.predict(experiment, samples=1)
    with pytest.raises(InputError, match="route must be 'click' or 'photon', got 'x'"):
        cost.pattern_log10_seconds([1, 0], "x")


def test_format_years():
    assert cost.format_years(3.5) == "3.2e+03 years"
    assert cost.format_years(661.2) == "10^661 years"


@pytest.mark.slow
def test_advantage_table():
    table = cost.advantage_table(samples=1000)
    assert len(table.rows) == len(cost.CLAIMS)
    text = table.markdown()
    for claim in cost.CLAIMS:
        assert claim.claim in text
    taihulight, fugaku = table.rows[0], table.rows[1]
    assert fugaku.log10_years - taihulight.log10_years == pytest.approx(
        math.log10(93.01 / 442.01))
    for row in table.rows:
        assert np.isfinite(row.log10_years)


@pytest.mark.slow
def test_calibrate_measures_positive_rates():
    cal = cost.calibrate(batches=2)
    assert cal.subset_seconds > 0 and cal.work_seconds > 0 and cal.flops_per_core > 0
    assert cal.machine.startswith("measured")
