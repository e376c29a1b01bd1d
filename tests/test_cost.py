"""The cost model: expected work against exact enumeration, pattern work
against hand counts and an instrumented run, extrapolation and the claims
table."""
import itertools
import math

import numpy as np
import pytest

from jiuzhang_emu import cost, presets
from jiuzhang_emu.cost import routes
from jiuzhang_emu.cost.precision import escalating_clicks
from jiuzhang_emu.detectors import PhotonNumberResolving, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.presets import jiuzhang_like
from jiuzhang_emu.samplers import exact as exact_sampler
from jiuzhang_emu.samplers.calibration import calibrate
from jiuzhang_emu.sources import TwoModeSqueezer

#: one unit per term, so that predicted seconds are work counts
UNIT = cost.Calibration(subset_seconds=1.0, click_mode_seconds=0.0, schur_seconds=0.0,
                        work_seconds=1.0, call_seconds=0.0, mode_seconds=0.0,
                        extended_factor=0.0, double_double_factor=0.0, reference_factor=0.0)
CALLS = cost.Calibration(subset_seconds=0.0, click_mode_seconds=0.0, schur_seconds=0.0,
                         work_seconds=0.0, call_seconds=1.0, mode_seconds=0.0)


def _smooth_photon_work(pattern):
    """The photon route's work with the floors of routes.terms averaged over
    parity, as the phase-space estimate counts it."""
    total, leaves, photons = 0.0, 1.0, 0
    for n in pattern:
        if photons:
            total += leaves * (photons + 2.5) ** 2 * (photons + 2) / 4 * 2**0.25
        leaves *= (n // 2 + 1) * (math.sqrt(2) if n % 2 else 1)
        photons += n
    return total


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6
def test_click_work_equals_enumeration(any_seed):
    """The click chain draws the light's clicks and adds dark counts after:
    its work is enumerated over the clicks of the light alone."""
    experiment = jiuzhang_like(10, r=1.2, transmission=0.4, rng=3,
                               detectors=Threshold(dark_count=0.02))
    light = jiuzhang_like(10, r=1.2, transmission=0.4, rng=3, detectors=Threshold())
    patterns = np.array(list(itertools.product([0, 1], repeat=10)))
    p = np.array([light.probability(x) for x in patterns])
    exact = p @ routes.terms(patterns, "threshold-chain")[:, 2]
    estimate = cost.predict(experiment, samples=60_000, rng=any_seed(1), calibration=UNIT)
    value, error = estimate.routes["threshold-chain"]
    assert abs(value - exact) < 4.5 * error
    assert error < 0.02 * exact


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6
def test_photon_work_equals_enumeration(any_seed):
    U = haar_unitary(3, rng=5)
    experiment = Experiment([TwoModeSqueezer(0.4)], U[:2] * np.sqrt(0.7), PhotonNumberResolving())
    cutoff = 15
    patterns = np.array(list(itertools.product(range(cutoff), repeat=3)))
    patterns = patterns[patterns.sum(axis=1) < cutoff]
    p = np.array([experiment.probability(x) for x in patterns])
    assert 1 - p.sum() < 1e-6  # the enumeration misses almost nothing
    smooth = p @ [_smooth_photon_work(x) for x in patterns]
    calls = p @ routes.terms(patterns, "exact")[:, 1]
    work = p @ routes.terms(patterns, "exact")[:, 2]
    value, error = cost.predict(experiment, samples=60_000, rng=any_seed(2),
                                calibration=UNIT).routes["exact"]
    assert abs(value - smooth) < 4.5 * error + 1e-3 * smooth
    assert abs(value / work - 1) < 0.1  # the parity average against the floors
    value, error = cost.predict(experiment, samples=60_000, rng=any_seed(2),
                                calibration=CALLS).routes["exact"]
    assert abs(value - calls) < 4.5 * error + 1e-9
    assert "threshold-chain" not in cost.predict(experiment, samples=100).routes


# (pattern, loop-hafnian calls, their work, click-chain subsets), counted by
# hand: at mode k, D_k photons before it give prod (n_j // 2 + 1) 2^ceil(s/2)
# leaves (s odd n_j) of ((D_k + 1) // 2 + 1)^2 (D_k + 2) each, and c_k clicks
# before it 2^(c_k) subsets.  [1, 1, 0]: 2 * 4 * 3 + 2 * 4 * 4 = 56 and
# 1 + 2 + 4 = 7; [2, 0, 1, 0]: 2 * 16 + 2 * 16 + 4 * 45 = 244 and 1 + 2 + 2 + 4;
# [3, 0]: 4 * 45 and 1 + 2; [0, 3]: no photon precedes a mode.
HAND_COUNTS = [([0, 0, 0], 0, 0, 3), ([1, 1, 0], 2, 56, 7), ([2, 0, 1, 0], 3, 244, 9),
               ([3, 0], 1, 180, 3), ([0, 3], 0, 0, 2)]


@pytest.mark.parametrize("pattern, calls, work, subsets", HAND_COUNTS)
def test_pattern_work_equals_hand_counts(pattern, calls, work, subsets):
    M = len(pattern)
    np.testing.assert_allclose(routes.terms(pattern, "exact"), [M, calls, work], rtol=1e-12)
    np.testing.assert_allclose(routes.terms(pattern, "threshold-chain"), [M, M**3, subsets],
                               rtol=1e-12)
    np.testing.assert_allclose(routes.terms(pattern, "threshold-chain", internal_modes=3),
                               [M, 9 * M**3, 9 * subsets], rtol=1e-12)
    cal = cost.Calibration()
    photon = M * cal.mode_seconds + calls * cal.call_seconds + work * cal.work_seconds
    click = M * cal.click_mode_seconds + M**3 * cal.schur_seconds + subsets * cal.subset_seconds
    assert cost.pattern_log10_seconds(pattern, "exact") == pytest.approx(
        math.log10(photon), abs=1e-12)
    assert cost.pattern_log10_seconds(pattern, "threshold-chain") == pytest.approx(
        math.log10(click), abs=1e-12)


def test_pattern_work_in_logarithms():
    # no photons, and rates measured as zero
    assert cost.pattern_log10_seconds([0, 0, 0], "exact", calibration=UNIT) == -math.inf
    # n clicks in a row: sum_k 2^k = 2^n - 1 subsets, far past float64 for n = 2000
    assert routes.log2_terms(np.ones(50), "threshold-chain")[2] == pytest.approx(
        math.log2(2.0**50 - 1), abs=1e-12)
    assert routes.log2_terms(np.ones(2000), "threshold-chain")[2] == pytest.approx(
        2000, abs=1e-9)
    # thousands of events do not overflow
    assert 600 < cost.pattern_log10_seconds(cost.spread(8176, 2200), "threshold-chain") < 700


def test_calls_equal_an_instrumented_run(monkeypatch):
    """The Python chain rule evaluates L(z) at every mode; the native one
    calls the loop hafnian only where photons precede the mode.  Count those
    calls in a real run and compare with the calls term of each drawn pattern."""
    experiment = jiuzhang_like(6, r=0.7, transmission=0.6, detectors="pnr", rng=4)
    sampler = exact_sampler.PhotonNumberSampler(experiment.output_state())
    calls = []
    polynomial = exact_sampler._polynomial

    def counted(B_sub, loops, column, reps):
        calls.append(int(reps.sum() > 0))
        return polynomial(B_sub, loops, column, reps)

    monkeypatch.setattr(exact_sampler, "_polynomial", counted)
    patterns = sampler.sample_reference(np.random.default_rng(6), 20)
    per_shot = np.array(calls).reshape(20, 6).sum(axis=1)
    assert per_shot.max() > 1
    np.testing.assert_allclose(routes.terms(patterns, "exact")[:, 1], per_shot, rtol=1e-12)


def test_precision_tiers_take_over_in_order():
    experiment = jiuzhang_like(28, r=1.5, transmission=0.3, rng=28)
    counts = [escalating_clicks(experiment, tier, np.random.default_rng(0))
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
    # one core as fast as all of Fugaku (HPL Rmax 442.01 PFLOP/s): the same time there
    cal = cost.Calibration(flops_per_core=442.01e15)
    estimate = cost.predict(jiuzhang_like(8, rng=0), samples=200, calibration=cal)
    here = estimate.seconds(1000)
    assert here == pytest.approx(1000 * estimate.seconds_per_sample)
    assert estimate.seconds(1000, "Fugaku") == pytest.approx(here)
    # TaihuLight sustains 93.01 PFLOP/s
    assert estimate.seconds(1000, "TaihuLight") == pytest.approx(here * 442.01 / 93.01)
    assert estimate.years(1000, "Fugaku") == pytest.approx(here / (365.25 * 86400))
    assert estimate.route in ("threshold-chain", "exact")


def test_bad_input():
    experiment = jiuzhang_like(4, rng=0)
    with pytest.raises(InputError, match="machine must be one of"):
        cost.predict(experiment, samples=10).seconds(1, "Summit")
    with pytest.raises(InputError, match="samples must be an integer >= 2, got 1"):
        cost.predict(experiment, samples=1)
    with pytest.raises(InputError, match="route must be one of .*, got 'x'"):
        cost.pattern_log10_seconds([1, 0], "x")


def test_format_years():
    assert cost.format_years(3.5) == "3.2e+03 years"
    assert cost.format_years(661.2) == "10^661 years"
    assert cost.format_years(math.log10(1 / 365.25)) == "24 h"  # under two years
    assert cost.format_years(math.log10(1.5)) == "548 days"


@pytest.mark.slow
def test_advantage_table():
    table = presets.advantage_table(samples=1000)
    assert len(table.rows) == len(presets.CLAIMS)
    text = table.markdown()
    for claim in presets.CLAIMS:
        assert claim.claim in text
    taihulight, fugaku = table.rows[0], table.rows[1]
    assert fugaku.log10_years - taihulight.log10_years == pytest.approx(
        math.log10(93.01 / 442.01))
    for row in table.rows:
        assert np.isfinite(row.log10_years)


@pytest.mark.slow
def test_calibrate_measures_positive_rates():
    cal = calibrate(batches=2)
    assert cal.subset_seconds > 0 and cal.work_seconds > 0 and cal.flops_per_core > 0
    assert cal.fanout_work_seconds > 0 and cal.fanout_mode_seconds > 0
    assert cal.machine.startswith("measured")
