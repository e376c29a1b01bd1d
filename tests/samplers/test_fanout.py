"""The fan-out route (exact threshold and pseudo-PNR clicks) against exact
probabilities, its Python reference and the other exact routes.

Statistical tests use significance ALPHA = 1e-4 (as tests/samplers/
test_exact_sampling.py: chi-square with bins merged to expected >= 5 by the
`chi_square_pvalue` fixture; two-sample chi-square on contingency tables with
patterns seen fewer than 10 times in both samples merged into one bin).
"""
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Coherent,
    Experiment,
    InputError,
    PhotonNumberResolving,
    PseudoPNR,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
    presets,
)
from jiuzhang_emu.samplers.exact import MAX_MASS
from jiuzhang_emu.samplers.fanout import FanOutSampler

ALPHA = 1e-4


def _lossy(n_modes, seed, transmission):
    return haar_unitary(n_modes, rng=seed).T * np.sqrt(transmission)


CASES = {
    "threshold-lossy-displaced": lambda: Experiment(
        [TwoModeSqueezer(0.9), Coherent(0.4j), SingleModeSqueezer(0.7, 0.3)],
        _lossy(4, 4, 0.5), Threshold()),
    "threshold-dark": lambda: Experiment(
        [TwoModeSqueezer(0.8), TwoModeSqueezer(0.6)], _lossy(4, 5, 0.4),
        Threshold(dark_count=[0.02, 0.1, 0.0, 0.05])),
    "threshold-thermalised": lambda: Experiment(
        [TwoModeSqueezer(0.8, thermal_fraction=0.3), SingleModeSqueezer(0.5)],
        _lossy(3, 3, 0.5), Threshold(efficiency=0.9)),
    "pseudo-pnr-dark": lambda: Experiment(
        [TwoModeSqueezer(1.0), SingleModeSqueezer(0.6)], _lossy(3, 6, 0.6),
        PseudoPNR(n_detectors=3, dark_count=0.02)),
    "pseudo-pnr-displaced-thermalised": lambda: Experiment(
        [TwoModeSqueezer(0.9, thermal_fraction=0.2), Coherent(0.5 - 0.2j)],
        _lossy(3, 8, 0.7), PseudoPNR(n_detectors=2)),
    "jiuzhang-like": lambda: presets.jiuzhang_like(6, r=1.2, transmission=0.4, rng=8),
}


@pytest.mark.statistical
@pytest.mark.parametrize("case", sorted(CASES))
def test_fanout_matches_probabilities(case, chi_square_pvalue, any_seed):
    experiment = CASES[case]()
    samples = experiment.sample(1500, rng=any_seed(20261207), method="fan-out")
    assert samples.method == "fan-out"
    assert samples.unresolved_mass <= MAX_MASS
    assert chi_square_pvalue(experiment, samples.patterns) > ALPHA


@pytest.mark.statistical
@pytest.mark.parametrize("sub_detectors", [1, 2, 40])
def test_any_number_of_sub_detectors_is_exact(sub_detectors, chi_square_pvalue, any_seed):
    """F = 1 is the photon route coarse-grained; F = 40 nearly always one row
    per click: every F samples the same distribution."""
    experiment = CASES["threshold-lossy-displaced"]()
    sampler = FanOutSampler(experiment, sub_detectors=sub_detectors)
    clicks = sampler.counts(1500, np.random.default_rng(any_seed(3)))
    assert chi_square_pvalue(experiment, clicks) > ALPHA


@pytest.mark.parametrize("case, sub_detectors", [("threshold-lossy-displaced", 1),
                                                 ("threshold-lossy-displaced", 5),
                                                 ("pseudo-pnr-dark", 3),
                                                 ("pseudo-pnr-displaced-thermalised", 1),
                                                 ("jiuzhang-like", 16)])
def test_native_route_and_python_reference_draw_the_same_clicks(case, sub_detectors):
    """Same numbers in, same clicks out (the reference computes each
    coefficient as its own loop hafnian and the shifts in float64)."""
    sampler = FanOutSampler(CASES[case](), sub_detectors=sub_detectors)
    native = sampler.counts(60, np.random.default_rng(5))
    reference = sampler.counts_reference(60, np.random.default_rng(5))
    np.testing.assert_array_equal(native, reference)
    assert native.sum() > 0


def test_clicks_do_not_depend_on_threads():
    """Threads over the shots of a small experiment, and inside the shots of a
    large one (its loop hafnians of 20+ rows)."""
    small = presets.jiuzhang_like(14, r=1.4, transmission=0.4, rng=2)
    one = FanOutSampler(small, n_threads=1).counts(12, np.random.default_rng(1))
    two = FanOutSampler(small, n_threads=2).counts(12, np.random.default_rng(1))
    np.testing.assert_array_equal(one, two)
    large = presets.jiuzhang_like(52, r=1.577, transmission=0.2937, rng=2)
    one = FanOutSampler(large, n_threads=1).counts(1, np.random.default_rng(3))
    two = FanOutSampler(large, n_threads=2).counts(1, np.random.default_rng(3))
    assert one.sum() >= 21  # rows >= 20 before the last click: threads were used
    np.testing.assert_array_equal(one, two)


def test_same_seed_same_samples_for_any_worker_count():
    experiment = presets.jiuzhang_like(6, r=1.0, transmission=0.5, rng=4)
    one = experiment.sample(130, rng=9, method="fan-out").patterns
    two = experiment.sample(130, rng=9, method="fan-out", n_workers=2).patterns
    np.testing.assert_array_equal(one, two)


def _two_sample_pvalue(first, second):
    keys = sorted(set(map(tuple, first)) | set(map(tuple, second)))
    table = np.array([[Counter(map(tuple, x))[k] for k in keys] for x in (first, second)])
    rare = table.sum(axis=0) < 10
    if rare.any():
        table = np.column_stack([table[:, ~rare], table[:, rare].sum(axis=1)])
    assert table.shape[1] >= 4, "too few bins for a meaningful test"
    return stats.chi2_contingency(table)[1]


def _click_numbers(patterns):
    """Clicks per shot: a statistic with enough counts per bin at 16+ modes."""
    return np.asarray(patterns).sum(axis=1, keepdims=True)


@pytest.mark.slow
@pytest.mark.statistical
def test_agrees_with_the_click_chain_rule_at_16_modes(any_seed):
    """Two-sample chi-square of the click-number distributions and of each
    mode's click rate (z-scores, |z| < 4.5 over 16 modes: union bound 1e-4)."""
    experiment = presets.jiuzhang_like(16, r=1.3, transmission=0.35, rng=3)
    fan = experiment.sample(1200, rng=any_seed(1), method="fan-out").patterns
    chain = experiment.sample(1200, rng=any_seed(2), method="threshold-chain").patterns
    assert _two_sample_pvalue(_click_numbers(fan), _click_numbers(chain)) > ALPHA
    p1, p2 = fan.mean(axis=0), chain.mean(axis=0)
    pooled = (p1 + p2) / 2
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * 2 / len(fan))
    assert np.all(np.abs(z) < 4.5), z


@pytest.mark.statistical
def test_agrees_with_the_photon_route(any_seed):
    """Pseudo-PNR patterns of the fan-out route against the photon route's
    coarse-grained photon numbers (two-sample chi-square of the patterns)."""
    experiment = Experiment([TwoModeSqueezer(0.9), SingleModeSqueezer(0.5, 0.4)],
                            _lossy(3, 12, 0.6), PseudoPNR(n_detectors=2, dark_count=0.01))
    fan = experiment.sample(2000, rng=any_seed(4), method="fan-out").patterns
    photons = experiment.sample(2000, rng=any_seed(5), method="exact").patterns
    assert _two_sample_pvalue(fan, photons) > ALPHA


def test_refuses_what_it_cannot_sample():
    pnr = presets.random_experiment(3, detectors="pnr", rng=1)
    with pytest.raises(InputError, match="fan-out.*photon-number-resolving"):
        pnr.sample(5, method="fan-out")
    distinguishable = Experiment([TwoModeSqueezer(0.6, indistinguishability=0.5)],
                                 _lossy(2, 1, 0.8), Threshold())
    with pytest.raises(InputError, match="partly distinguishable"):
        distinguishable.sample(5, method="fan-out")


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_number_of_sub_detectors(bad):
    with pytest.raises(InputError, match="sub_detectors"):
        FanOutSampler(CASES["threshold-dark"](), sub_detectors=bad)


def test_pseudo_pnr_dark_counts_fire_only_unlit_detectors():
    detector = PseudoPNR(n_detectors=3, dark_count=1.0)
    clicks = np.array([[0, 1, 3]])
    np.testing.assert_array_equal(detector.fire_dark(clicks, np.ones(3), np.random.default_rng(0)),
                                  [[3, 3, 3]])
    quiet = PseudoPNR(n_detectors=3)
    np.testing.assert_array_equal(quiet.fire_dark(clicks, np.zeros(3), np.random.default_rng(0)),
                                  clicks)
    with pytest.raises(InputError, match="no clicks"):
        PhotonNumberResolving().fire_dark(clicks, np.zeros(3), np.random.default_rng(0))
