"""The second-order greedy spoofer reproduces first- and second-order click
statistics (better than independent exact samples do) and nothing more."""
import numpy as np
import pytest

from jiuzhang_emu import InputError, Threshold, presets


def _targets(experiment):
    p = experiment.click_probabilities()
    M = len(p)
    pij = np.diag(p)
    for i in range(M):
        for j in range(i + 1, M):
            pij[i, j] = pij[j, i] = experiment.probability([1, 1], modes=[i, j])
    return p, pij


def test_greedy_matches_low_order_marginals():
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.3, rng=2)
    patterns = experiment.sample(2000, rng=1, method="greedy").patterns
    p, pij = _targets(experiment)
    assert set(np.unique(patterns)) <= {0, 1}
    # batches of 64 rows each match the targets to ~1/64
    assert np.abs(patterns.mean(axis=0) - p).max() < 0.01
    assert np.abs(patterns.T @ patterns / len(patterns) - pij).max() < 0.015


def test_greedy_includes_dark_counts_in_its_targets():
    experiment = presets.jiuzhang_like(4, r=0.8, transmission=0.3, rng=2,
                                       detectors=Threshold(dark_count=0.2))
    patterns = experiment.sample(640, rng=3, method="greedy").patterns
    assert np.abs(patterns.mean(axis=0) - experiment.click_probabilities()).max() < 0.02


def test_greedy_reproducible_and_threshold_only():
    experiment = presets.jiuzhang_like(4, rng=2)
    a = experiment.sample(100, rng=5, method="greedy").patterns
    np.testing.assert_array_equal(a, experiment.sample(100, rng=5, method="greedy").patterns)
    with pytest.raises(InputError, match="greedy"):
        presets.jiuzhang_like(4, rng=2, detectors="pnr").sample(10, method="greedy")
