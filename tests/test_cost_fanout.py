"""The cost model of the click fan-out route: pattern work by hand, the
expected work against exact enumeration, where the route is offered, the
method "auto" takes, and the advantage table's new rows."""
import itertools
import math

import numpy as np
import pytest

from jiuzhang_emu import cost, presets
from jiuzhang_emu.cost import routes
from jiuzhang_emu.detectors import PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.kernels.work import fanout_log2_work, zpoly_log2_work
from jiuzhang_emu.presets import jiuzhang_like
from jiuzhang_emu.presets.advantage import SF_C_FUGAKU, sf_runtime_seconds
from jiuzhang_emu.sources import TwoModeSqueezer

K = routes.FANOUT_SUBDETECTORS


def _unit(term):
    """A calibration pricing one fan-out term at 1 s per unit, the rest at 0."""
    return cost.Calibration(fanout_mode_seconds=float(term == "modes"),
                            call_seconds=float(term == "calls"),
                            work_seconds=float(term == "work"),
                            fanout_substep_seconds=float(term == "substeps"))


# (pattern, n_detectors, order, calls, loop-hafnian work, sub-step units), by
# hand: rows D before each processed mode; a call where D > 0 of
# 2^ceil(D/2) ((D + 1) // 2 + 1)^2 (D + 2) (D = 1: 24, D = 2: 32), and
# n_detectors * K sub-steps of (D + 1)^2 at every mode.
HAND_COUNTS = [
    ([0, 0, 0], 1, None, 0, 0, K * 3),                 # all dark: no hafnian
    ([1, 1, 0], 1, None, 2, 24 + 32, K * (1 + 4 + 9)),
    ([1, 1, 0], 1, [2, 0, 1], 1, 24, K * (1 + 1 + 4)),  # the dark mode first
    ([0, 1, 1], 1, [1, 2, 0], 2, 24 + 32, K * (1 + 4 + 9)),
    ([2, 0, 3], 1, None, 2, 24 + 24, K * (1 + 4 + 4)),  # threshold: a count > 0 is one click
    ([2, 0, 1], 2, None, 2, 32 + 32, 2 * K * (1 + 9 + 9)),  # pseudo-PNR: a row per detector
    ([3, 0], 2, None, 1, 32, 2 * K * (1 + 9)),          # at most n_detectors rows
]


@pytest.mark.parametrize("pattern, n_detectors, order, calls, work, substeps", HAND_COUNTS)
def test_pattern_work_equals_hand_counts(pattern, n_detectors, order, calls, work, substeps):
    M = len(pattern)
    options = {"order": order, "n_detectors": n_detectors}
    np.testing.assert_allclose(routes.terms(pattern, "fan-out", **options),
                               [M, calls, work, substeps], rtol=1e-12)
    cal = cost.Calibration()
    seconds = (M * cal.fanout_mode_seconds + calls * cal.call_seconds
               + work * cal.work_seconds + substeps * cal.fanout_substep_seconds)
    assert cost.pattern_log10_seconds(pattern, "fan-out", **options) == pytest.approx(
        math.log10(seconds), abs=1e-12)


def test_loop_hafnian_work_is_the_photon_routes_on_clicks():
    """On 0/1 rows the fan-out's loop hafnian is the photon route's kernel
    fed the click pattern; the all-dark pattern calls nothing."""
    clicks = np.array(list(itertools.product([0, 1], repeat=7)))
    hafnian, substep = fanout_log2_work(clicks)
    np.testing.assert_array_equal(hafnian, zpoly_log2_work(clicks))
    assert np.all(hafnian[0] == -np.inf) and np.all(substep[0] == 0)
    assert routes.log2_terms(np.zeros(5), "fan-out")[1:3].tolist() == [-np.inf, -np.inf]


def test_order_is_respected_and_checked():
    pattern = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    order = [3, 1, 0, 2]
    np.testing.assert_array_equal(routes.log2_terms(pattern, "fan-out", order=order),
                                  routes.log2_terms(pattern[:, order], "fan-out"))
    for bad in ([0, 1, 2], [0, 0, 1, 2]):
        with pytest.raises(InputError, match="order must be a permutation of the 4 modes"):
            routes.log2_terms(pattern, "fan-out", order=bad)


def test_processing_order_is_by_increasing_brightness():
    experiment = jiuzhang_like(8, r=1.2, transmission=0.4, rng=3)
    order = routes.processing_order(experiment)
    n = experiment.output_state().mean_photon_numbers()
    assert sorted(order.tolist()) == list(range(8))
    assert np.all(np.diff(n[order]) >= 0)
    np.testing.assert_array_equal(routes.processing_order(experiment.output_state()), order)
    pseudo = jiuzhang_like(8, r=1.2, transmission=0.4, rng=3, detectors=PseudoPNR(n_detectors=3))
    options = routes.route_options(pseudo, "fan-out")
    assert options["n_detectors"] == 3
    np.testing.assert_array_equal(options["order"], order)
    assert routes.route_options(experiment, "fan-out")["n_detectors"] == 1


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6 per term
@pytest.mark.parametrize("detector, values, n_modes", [(Threshold(), (0, 1), 8),
                                                       (PseudoPNR(n_detectors=2), (0, 1, 2), 4)])
def test_expected_work_equals_enumeration(any_seed, detector, values, n_modes):
    """Each term of predict()'s fan-out estimate against sum_x p(x) terms(x)
    in the processing order, over every pattern of the light (no dark counts)."""
    experiment = jiuzhang_like(n_modes, r=1.2, transmission=0.4, rng=3, detectors=detector)
    patterns = np.array(list(itertools.product(values, repeat=n_modes)))
    p = np.array([experiment.probability(x) for x in patterns])
    assert p.sum() == pytest.approx(1, abs=1e-9)
    exact = p @ routes.terms(patterns, "fan-out", **routes.route_options(experiment, "fan-out"))
    for i, term in enumerate(("modes", "calls", "work", "substeps")):
        value, error = cost.predict(experiment, samples=20_000, rng=any_seed(4),
                                    calibration=_unit(term)).routes["fan-out"]
        assert abs(value - exact[i]) < 4.5 * error + 1e-9 * exact[i], term
        assert error < 0.02 * exact[i] or term == "modes"


def test_offered_for_threshold_and_pseudo_pnr_only():
    T = haar_unitary(4, rng=2)[:2] * 0.7
    offered = {}
    for name, detector, v in (("threshold", Threshold(), 1.0),
                              ("pseudo-PNR", PseudoPNR(n_detectors=2), 1.0),
                              ("PNR", PhotonNumberResolving(), 1.0),
                              ("distinguishable", Threshold(), 0.5)):
        experiment = Experiment([TwoModeSqueezer(0.8, indistinguishability=v)], T, detector)
        estimate = cost.predict(experiment, samples=200)
        offered[name] = "fan-out" in estimate.routes
        assert estimate.route in estimate.routes
    assert offered == {"threshold": True, "pseudo-PNR": True, "PNR": False,
                       "distinguishable": False}


def test_auto_picks_the_cheapest_route():
    estimate = cost.predict(presets.jiuzhang1(), samples=1_000)  # kept for the table below
    assert estimate.route == "fan-out"
    assert estimate.routes["threshold-chain"][0] > 1e5 * estimate.routes["fan-out"][0]
    # fan-out only where cheaper than every other route
    routes_ = {"exact": (3.0, 0.1), "threshold-chain": (2.0, 0.1), "fan-out": (2.5, 0.1)}
    estimate = cost.CostEstimate("x", 4, routes_, cost.Calibration(), 2)
    assert estimate.route == "threshold-chain"
    routes_["fan-out"] = (1.0, 0.1)
    assert cost.CostEstimate("x", 4, routes_, cost.Calibration(), 2).route == "fan-out"
    # the photon route's margin over the click chain is kept
    assert cost.CostEstimate("x", 4, {"exact": (1.0, 0), "threshold-chain": (1.2, 0),
                                      "fan-out": (1.1, 0)}, cost.Calibration(), 2).route \
        == "threshold-chain"


def test_sf_runtime_model():
    """Strawberry Fields' model on Jiuzhang 1.0's measured click histogram:
    0.0119 s per sample on Fugaku, 6.9 days for 5e7 samples."""
    histogram = presets.jiuzhang1_measured().click_number_histogram
    seconds = sf_runtime_seconds(histogram, 100)
    assert seconds == pytest.approx(0.01187, rel=1e-3)
    assert 5e7 * seconds / 86400 == pytest.approx(6.87, abs=0.01)
    assert sf_runtime_seconds([0, 0, 1], 3) == pytest.approx(0.5 * SF_C_FUGAKU * 3 * 8 * 2)


def test_advantage_table_has_the_fanout_rows():
    table = presets.advantage_table(samples=1_000)
    text = table.markdown()
    rows = [row for row in table.rows if row.claim.experiment == "Jiuzhang 1.0"
            and row.claim.machine == "Fugaku"]
    bulmer = [row for row in rows if row.claim.claim == "several months"]
    model = [row for row in rows if row.claim.runtime_model]
    assert len(bulmer) == len(model) == 1
    assert bulmer[0].route == model[0].route == "fan-out"
    assert "| fan-out |" in text and "several months (Bulmer et al. 2022)" in text
    # the model's click numbers (mean 41.0) give a little less than the measured 6.9 days
    assert 2 * 86400 < model[0].claim_seconds < 6.9 * 86400
    assert "days: runtime model" in text
    assert np.isfinite(model[0].log10_years)
