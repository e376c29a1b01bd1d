"""The cost model of the click fan-out route: pattern work by hand, the
per-shot mode order, the expected work against the sampler's own shots,
where the route is offered, the method "auto" takes, and the advantage
table's new rows."""
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
from jiuzhang_emu.states import GaussianState

K = routes.FANOUT_SUBDETECTORS


def _unit(term):
    """A calibration pricing one fan-out term at 1 s per unit, the rest at 0."""
    return cost.Calibration(fanout_mode_seconds=float(term == "modes"),
                            fanout_call_seconds=float(term == "calls"),
                            fanout_work_seconds=float(term == "work"),
                            fanout_substep_seconds=float(term == "substeps"))


# (pattern, n_detectors, order, calls, loop-hafnian work, sub-step units), by
# hand: rows D before each processed mode; a call where D > 0 of
# 2^ceil(D/2) ((D + 1) // 2 + 1)^2 (D + 1) (D = 1: 16, D = 2: 24), and
# n_detectors * K sub-steps of (D + 1)^2 at every mode.
HAND_COUNTS = [
    ([0, 0, 0], 1, None, 0, 0, K * 3),                 # all dark: no hafnian
    ([1, 1, 0], 1, None, 2, 16 + 24, K * (1 + 4 + 9)),
    ([1, 1, 0], 1, [2, 0, 1], 1, 16, K * (1 + 1 + 4)),  # the dark mode first
    ([0, 1, 1], 1, [1, 2, 0], 2, 16 + 24, K * (1 + 4 + 9)),
    ([2, 0, 3], 1, None, 2, 16 + 16, K * (1 + 4 + 4)),  # threshold: a count > 0 is one click
    ([2, 0, 1], 2, None, 2, 24 + 24, 2 * K * (1 + 9 + 9)),  # pseudo-PNR: a row per detector
    ([3, 0], 2, None, 1, 24, 2 * K * (1 + 9)),          # at most n_detectors rows
]


@pytest.mark.parametrize("pattern, n_detectors, order, calls, work, substeps", HAND_COUNTS)
def test_pattern_work_equals_hand_counts(pattern, n_detectors, order, calls, work, substeps):
    M = len(pattern)
    options = {"order": order, "n_detectors": n_detectors}
    np.testing.assert_allclose(routes.terms(pattern, "fan-out", **options),
                               [M, calls, work, substeps], rtol=1e-12)
    cal = cost.Calibration()
    seconds = (M * cal.fanout_mode_seconds + calls * cal.fanout_call_seconds
               + work * cal.fanout_work_seconds + substeps * cal.fanout_substep_seconds)
    assert cost.pattern_log10_seconds(pattern, "fan-out", **options) == pytest.approx(
        math.log10(seconds), abs=1e-12)


def test_loop_hafnian_work_has_the_photon_routes_leaves_on_clicks():
    """On 0/1 rows the fan-out's loop hafnian has the leaves of the photon
    route's fed the click pattern, each at D + 1 points instead of D + 2
    coefficients; the all-dark pattern calls nothing."""
    clicks = np.array(list(itertools.product([0, 1], repeat=7)))
    hafnian, substep = fanout_log2_work(clicks)
    D = np.cumsum(clicks, axis=-1) - clicks
    np.testing.assert_allclose(hafnian, zpoly_log2_work(clicks) + np.log2((D + 1) / (D + 2)))
    assert np.all(hafnian[0] == -np.inf) and np.all(substep[0] == 0)
    assert routes.log2_terms(np.zeros(5), "fan-out")[1:3].tolist() == [-np.inf, -np.inf]


def test_order_is_respected_and_checked():
    pattern = np.array([[1, 0, 0, 1], [0, 1, 1, 0]])
    order = [3, 1, 0, 2]
    np.testing.assert_array_equal(routes.log2_terms(pattern, "fan-out", order=order),
                                  routes.log2_terms(pattern[:, order], "fan-out"))
    per_shot = [[3, 1, 0, 2], [1, 2, 0, 3]]  # one order per pattern
    np.testing.assert_array_equal(
        routes.log2_terms(pattern, "fan-out", order=per_shot),
        [routes.log2_terms(p[o], "fan-out") for p, o in zip(pattern, per_shot)])
    for bad in ([0, 1, 2], [0, 0, 1, 2], [[0, 1, 2, 3], [0, 1, 1, 3]]):
        with pytest.raises(InputError, match="order must be a permutation of the 4 modes"):
            routes.log2_terms(pattern, "fan-out", order=bad)


def test_vacuum_orders_are_by_decreasing_vacuum_probability():
    """Per shot, the modes by decreasing vacuum probability of the pure state
    displaced by the shot's mu (the fan-out sampler's order)."""
    experiment = jiuzhang_like(8, r=1.2, transmission=0.4, rng=3)
    state = experiment.output_state()
    pure_cov, noise = state.pure_decomposition()
    mu = np.random.default_rng(1).standard_normal((5, 16)) @ noise.T
    orders = routes.vacuum_orders(pure_cov, mu)
    assert orders.shape == (5, 8)
    for m, order in zip(mu, orders):
        vacuum = GaussianState(pure_cov, m).mode_vacuum_probabilities()
        assert sorted(order.tolist()) == list(range(8))
        assert np.all(np.diff(vacuum[order]) <= 1e-12)
    with pytest.raises(InputError, match="pure_means must have last axis 2M = 16"):
        routes.vacuum_orders(pure_cov, mu[:, :8])
    assert routes.route_options(experiment, "fan-out") == {"n_detectors": 1}
    pseudo = jiuzhang_like(8, r=1.2, transmission=0.4, rng=3, detectors=PseudoPNR(n_detectors=3))
    assert routes.route_options(pseudo, "fan-out") == {"n_detectors": 3}


@pytest.mark.statistical  # 4.5 standard errors: p ~ 7e-6 per term
@pytest.mark.parametrize("detector, n_modes", [(Threshold(), 8), (PseudoPNR(n_detectors=2), 4)])
def test_expected_work_equals_the_samplers_mean(any_seed, detector, n_modes):
    """Each term of predict()'s fan-out estimate against the mean terms of
    the fan-out sampler's own shots, each in its own processing order."""
    from jiuzhang_emu.samplers.calibration import _fanout_terms
    from jiuzhang_emu.samplers.fanout import FanOutSampler

    experiment = jiuzhang_like(n_modes, r=1.2, transmission=0.4, rng=3, detectors=detector)
    shots = 6_000
    _, drawn = _fanout_terms(FanOutSampler(experiment), any_seed(5), shots)
    mean, spread = drawn.mean(axis=0), drawn.std(axis=0, ddof=1) / math.sqrt(shots)
    for i, term in enumerate(("modes", "calls", "work", "substeps")):
        value, error = cost.predict(experiment, samples=20_000, rng=any_seed(4),
                                    calibration=_unit(term)).routes["fan-out"]
        assert abs(value - mean[i]) < 4.5 * math.hypot(error, spread[i]) + 1e-9 * mean[i], term
        assert error < 0.02 * mean[i] or term == "modes"


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
    # fan-out only where cheaper than every other route by FANOUT_ROUTE_MARGIN
    routes_ = {"exact": (3.0, 0.1), "threshold-chain": (2.0, 0.1), "fan-out": (1.5, 0.1)}
    estimate = cost.CostEstimate("x", 4, routes_, cost.Calibration(), 2)
    assert estimate.route == "threshold-chain"
    routes_["fan-out"] = (0.9, 0.1)
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


@pytest.mark.slow  # prices Jiuzhang 4.0's model too (~25 s)
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


def test_check_against_sampler_times_the_fanout_sampler():
    """The drawn shots priced in their own orders match their measured time
    within the model's factor (a small, quick run)."""
    from jiuzhang_emu.samplers.calibration import check_against_sampler

    experiment = jiuzhang_like(10, r=1.2, transmission=0.4, rng=3)
    check = check_against_sampler(experiment, "fan-out", seconds=0.2, max_shots=200,
                                  samples=2_000)
    assert check.route == "fan-out" and check.shots >= 20
    assert check.measured > 0 and check.predicted_drawn > 0
    assert 0.05 < check.ratio_drawn < 20  # a loaded 2-core machine times it
