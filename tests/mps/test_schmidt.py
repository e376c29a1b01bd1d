"""Schmidt data of the cuts: the top patterns against brute force, the
Schmidt weights against the eigenvalues of the reduced density matrix
(thewalrus, Fock basis)."""
import itertools

import numpy as np
import pytest
from thewalrus.quantum import density_matrix

from jiuzhang_emu import Experiment, SingleModeSqueezer, TwoModeSqueezer, haar_unitary
from jiuzhang_emu.mps import schmidt


def _brute_force(occupations, max_photons):
    m = len(occupations)
    patterns = np.array(list(itertools.product(range(max_photons + 1), repeat=m)))
    p = occupations ** patterns / (1 + occupations) ** (patterns + 1)
    weights = p.prod(axis=1)
    order = np.argsort(-weights, kind="stable")
    return patterns[order], weights[order]


@pytest.mark.parametrize("seed", range(4))
def test_top_patterns_are_the_largest_weights(seed):
    occupations = np.sort(np.random.default_rng(seed).uniform(0, 0.6, 3))[::-1]
    patterns, weights = schmidt.top_patterns(occupations, chi=40, min_weight=1e-12)
    expected_patterns, expected_weights = _brute_force(occupations, 12)
    np.testing.assert_allclose(weights, expected_weights[:40], rtol=1e-12)
    assert np.all(np.diff(weights) <= 1e-15)
    brute = {tuple(p): w for p, w in zip(expected_patterns, expected_weights)}
    np.testing.assert_allclose([brute[tuple(p)] for p in patterns], weights, rtol=1e-12)


def test_top_patterns_are_downward_closed_and_stop_at_min_weight():
    occupations = np.array([0.3, 0.1, 0.02, 0.0])
    patterns, weights = schmidt.top_patterns(occupations, chi=10_000, min_weight=1e-6)
    kept = {tuple(p) for p in patterns}
    for pattern in patterns:
        for mode in np.flatnonzero(pattern):
            lower = pattern.copy()
            lower[mode] -= 1
            assert tuple(lower) in kept
    assert not patterns[:, 3].any()  # an empty mode never holds a photon
    assert 1 - weights.sum() <= 1e-6 < 1 - weights[:-1].sum()  # the last one was needed


def _pure_experiment():
    return Experiment([TwoModeSqueezer(0.5), SingleModeSqueezer(0.4, 0.4)],
                      haar_unitary(3, rng=11).T)


@pytest.mark.parametrize("position", [1, 2])
def test_schmidt_weights_are_the_reduced_states_eigenvalues(position):
    state = _pure_experiment().output_state()
    cut = schmidt.cut(state.cov, position, chi=8)
    M = state.n_modes
    block = np.r_[position:M, M + position:2 * M]
    rho = density_matrix(np.zeros(len(block)), state.cov[np.ix_(block, block)], cutoff=14,
                         normalize=False, hbar=2)
    m, size = M - position, 14 ** (M - position)
    rho = rho.transpose(*range(0, 2 * m, 2), *range(1, 2 * m, 2))  # (n_1, m_1, ...) -> (n, m)
    eigenvalues = np.sort(np.linalg.eigvalsh(rho.reshape(size, size)))[::-1]
    np.testing.assert_allclose(cut.weights, eigenvalues[:cut.bond], atol=1e-6)  # Fock cutoff
    assert cut.discarded_weight == pytest.approx(1 - eigenvalues[:cut.bond].sum(), abs=1e-6)


def test_cuts_at_the_ends():
    state = _pure_experiment().output_state()
    cuts = schmidt.cuts(state.cov, chi=5)
    assert [c.position for c in cuts] == [0, 1, 2, 3]
    assert cuts[0].bond == 1 and not cuts[0].patterns.any()  # a pure state: vacuum only
    assert cuts[-1].bond == 1 and cuts[-1].patterns.shape == (1, 0)
    assert all(c.bond <= 5 for c in cuts)
    M = state.n_modes
    for c in cuts[1:-1]:  # both sides of a cut of a pure state: the same occupations
        nu = state.reduced(range(c.position)).williamson()[1]
        shared = min(c.position, M - c.position)
        assert np.all(np.diff(c.occupations) <= 0)
        np.testing.assert_allclose(np.sort((nu - 1) / 2)[::-1][:shared],
                                   c.occupations[:shared], atol=1e-9)
        assert np.all(c.occupations[shared:] < 1e-9)
