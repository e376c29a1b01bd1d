"""Grouped (joint) click counts: exact against brute force, phase space
against exact within Z_MAX = 4.5 standard errors per bin (two-sided 7e-6 per
bin, < 1e-4 over a test's 12 bins), and the grouped count test at
ALPHA = 1e-4 on ideal samples (the suite's policy: tests/conftest.py); on
distinguishable light Z > 6 (Z ~ 44 over ten seeds)."""
import itertools

import numpy as np
import pytest

from jiuzhang_emu import (
    Coherent,
    Experiment,
    InputError,
    PseudoPNR,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
    presets,
)
from jiuzhang_emu import validation
from jiuzhang_emu.validation.grouped_counts import grouped_click_distribution, grouped_count_test

Z_MAX = 4.5
ALPHA = 1e-4
GROUPS = [[0, 2], [3], [1]]

MODELS = {
    "threshold": lambda: Experiment(
        [TwoModeSqueezer(0.9, thermal_fraction=0.2), Coherent(0.5j),
         SingleModeSqueezer(0.7, indistinguishability=0.5)],
        haar_unitary(4, rng=2).T * 0.7, Threshold(dark_count=[0.03, 0.0, 0.1, 0.02])),
    "pseudo-pnr": lambda: Experiment(
        [TwoModeSqueezer(0.8), SingleModeSqueezer(0.6), SingleModeSqueezer(0.5)],
        haar_unitary(4, rng=4).T * 0.75, PseudoPNR(n_detectors=2, dark_count=0.02)),
}


def _brute_force(experiment, groups):
    k = getattr(experiment.detector, "n_detectors", 1)
    out = np.zeros([len(g) + 1 for g in groups])
    for pattern in itertools.product(range(k + 1), repeat=experiment.n_modes):
        index = tuple(sum(pattern[m] > 0 for m in g) for g in groups)
        out[index] += experiment.probability(np.array(pattern))
    return out


@pytest.mark.parametrize("name", sorted(MODELS))
def test_exact_equals_brute_force(name):
    experiment = MODELS[name]()
    exact = grouped_click_distribution(experiment, GROUPS, method="exact")
    np.testing.assert_allclose(exact.probabilities, _brute_force(experiment, GROUPS), atol=1e-13)
    one = grouped_click_distribution(experiment, [[0, 1, 2, 3]], method="exact")
    total = validation.click_number_distribution(experiment, method="exact")
    np.testing.assert_allclose(one.probabilities, total.probabilities, atol=1e-13)


@pytest.mark.statistical
@pytest.mark.parametrize("name", sorted(MODELS))
def test_phase_space_agrees_with_exact(name, any_seed):
    experiment = MODELS[name]()
    exact = grouped_click_distribution(experiment, GROUPS, method="exact").probabilities
    ps = grouped_click_distribution(experiment, GROUPS, method="phase-space", samples=100_000,
                                    rng=any_seed(3))
    z = (ps.probabilities - exact) / ps.standard_errors
    assert np.all(np.abs(z) < Z_MAX), z


@pytest.mark.statistical
def test_grouped_test_passes_ideal_samples_and_catches_distinguishable_light(any_seed):
    experiment = presets.jiuzhang_like(8, r=1.2, transmission=0.5, rng=4)
    groups = [[0, 1, 2, 3], [4, 5, 6, 7]]
    model = grouped_click_distribution(experiment, groups)
    ideal = grouped_count_test(experiment.sample(10000, rng=any_seed(1)).patterns, model)
    assert ideal.pvalue > ALPHA
    imitation = experiment.sample(10000, rng=any_seed(1), method="distinguishable").patterns
    assert grouped_count_test(imitation, model).z_score > 6


@pytest.mark.parametrize("groups, match", [
    ([[0, 1], [1, 2]], "disjoint"),
    ([[0], []], "non-empty"),
    ([[0, 9]], r"\[0, 4\)"),
    ([], "non-empty"),
])
def test_bad_groups(groups, match):
    with pytest.raises(InputError, match=match):
        grouped_click_distribution(presets.random_experiment(4, rng=1), groups)
