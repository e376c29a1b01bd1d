"""The native click chain rule (csrc/click_sampler.c) against the reference
route: the same uniforms must select the same clicks, in every precision
tier, and shots whose sums cancel are redrawn in a higher tier."""
import numpy as np
import pytest

from jiuzhang_emu import (
    Coherent,
    Experiment,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
    presets,
)
from jiuzhang_emu.kernels import _kernels, precision
from jiuzhang_emu.samplers.threshold_chain import ThresholdChainSampler

U_EXTENDED = precision.UNIT_ROUNDOFF["extended"]  # 2**-64 where long double is x87's

EXPERIMENTS = {
    "pure": lambda: presets.random_experiment(7, r=0.6, transmission=1.0, rng=1),
    "lossy-displaced": lambda: Experiment(
        [TwoModeSqueezer(0.9, 0.4), Coherent(0.5 - 0.6j), SingleModeSqueezer(0.7)],
        haar_unitary(4, rng=2).T * 0.7, Threshold(dark_count=0.05)),
    "distinguishable": lambda: Experiment(
        [SingleModeSqueezer(0.8, indistinguishability=0.5), SingleModeSqueezer(0.6),
         SingleModeSqueezer(0.9, indistinguishability=0.2), Coherent(0.4)],
        haar_unitary(4, rng=3).T * 0.8, Threshold()),
    "jiuzhang-like": lambda: presets.jiuzhang_like(10, r=1.2, transmission=0.35, rng=4),
}


def _uniforms(experiment, shots, seed=7):
    return np.random.default_rng(seed).random((shots, experiment.n_modes))


@pytest.mark.parametrize("tier", ["double", "extended", "double-double"])
@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_native_equals_reference(name, tier):
    experiment = EXPERIMENTS[name]()
    sampler = ThresholdChainSampler(experiment)
    u = _uniforms(experiment, 25)
    native, condition = _kernels.sample_clicks(sampler._G, sampler._v, sampler._block, u,
                                               tier, 1)
    reference = np.array([sampler.clicks_reference(row) for row in u])
    np.testing.assert_array_equal(native, reference)
    assert native.sum() > 0 and np.all(np.isfinite(condition)) and np.all(condition >= 1)


def test_cancelling_shots_are_redrawn_in_higher_tiers(monkeypatch):
    """With an error budget no tier meets, every shot goes through
    double-double to the reference route, and the clicks still equal the
    reference's."""
    experiment = EXPERIMENTS["lossy-displaced"]()
    u = _uniforms(experiment, 12)
    expected = ThresholdChainSampler(experiment).clicks(u)
    monkeypatch.setattr(precision, "SAMPLING_ATOL", 1e-300)
    sampler = ThresholdChainSampler(experiment)
    np.testing.assert_array_equal(sampler.clicks(u), expected)
    assert sampler.redrawn == {"extended": 0, "double-double": 12, "reference": 12}


def test_each_shot_goes_to_the_cheapest_sufficient_tier(monkeypatch):
    experiment = presets.random_experiment(16, r=0.4, transmission=1.0, rng=3)
    u = _uniforms(experiment, 200, seed=0)
    sampler = ThresholdChainSampler(experiment)
    _, condition = _kernels.sample_clicks(sampler._G, sampler._v, sampler._block, u,
                                          "double", 1)
    budget = np.sort(condition)[150] * U_EXTENDED  # a quarter of the shots need double-double
    monkeypatch.setattr(precision, "SAMPLING_ATOL", budget)
    clicks = sampler.clicks(u)
    needs_extended = (condition * 2.0**-53 > budget) & (condition * U_EXTENDED <= budget)
    assert sampler.redrawn == {"extended": needs_extended.sum(),
                               "double-double": (condition * U_EXTENDED > budget).sum(),
                               "reference": 0}
    assert 0 < needs_extended.sum() < 150
    checked = np.flatnonzero(condition * U_EXTENDED > budget)[:3]
    np.testing.assert_array_equal(clicks[checked],
                                  [sampler.clicks_reference(u[i]) for i in checked])


def test_dim_light_escalates_only_the_shots_that_need_it():
    """Dim light cancels most (the sum is ~prod p_j, the terms ~1): some shots
    exceed float64's budget; they are redrawn, the rest are not."""
    experiment = presets.random_experiment(16, r=0.4, transmission=1.0, rng=3)
    sampler = ThresholdChainSampler(experiment)
    u = _uniforms(experiment, 200, seed=0)
    clicks = sampler.clicks(u)
    assert 0 < sampler.redrawn["extended"] < 20 and sampler.redrawn["reference"] == 0
    _, condition = _kernels.sample_clicks(sampler._G, sampler._v, sampler._block, u,
                                          "double", 1)
    redo = np.flatnonzero(condition * 2.0**-53 > precision.SAMPLING_ATOL)
    assert len(redo) == sampler.redrawn["extended"]
    np.testing.assert_array_equal(clicks[redo[:3]],
                                  [sampler.clicks_reference(u[i]) for i in redo[:3]])


def test_threads_do_not_change_clicks():
    sampler = ThresholdChainSampler(presets.random_experiment(12, r=0.9, transmission=0.6,
                                                              rng=5))
    u = np.random.default_rng(1).random((64, 12))
    one = _kernels.sample_clicks(sampler._G, sampler._v, sampler._block, u, "double", 1)
    two = _kernels.sample_clicks(sampler._G, sampler._v, sampler._block, u, "double", 2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
