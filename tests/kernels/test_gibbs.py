"""The Gibbs-sweep kernel (csrc/gibbs.c): equal to its numpy twin for the same
uniforms, independent of the thread count, and sampling the Boltzmann
distribution exactly (chi-square against enumeration)."""
import itertools

import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import InputError
from jiuzhang_emu.kernels.gibbs import gibbs_sweeps, gibbs_sweeps_reference


def _machine(M, scale, rng):
    A = rng.normal(scale=scale, size=(M, M))
    J = np.triu(A, 1) + np.triu(A, 1).T  # zero diagonal
    h = rng.normal(loc=-0.5, size=M)  # asymmetric: most sites prefer 0
    return J.astype(np.float32), h


def test_kernel_equals_numpy_reference_for_the_same_uniforms():
    rng = np.random.default_rng(11)
    J, h = _machine(9, 1.0, rng)
    u = rng.random((13, 8, 9))
    x = rng.integers(0, 2, size=(13, 9))
    records, last = gibbs_sweeps(J, h, u, x, burn_in=1, thin=3, n_threads=1)
    ref_records, ref_last = gibbs_sweeps_reference(J, h, u, x, burn_in=1, thin=3)
    assert records.shape == (13, 3, 9)  # after sweeps 2, 5, 8
    np.testing.assert_array_equal(records, ref_records)
    np.testing.assert_array_equal(last, ref_last)
    np.testing.assert_array_equal(records[:, -1], last)
    for threads in (2, 5):  # chains in blocks of 8 over the threads
        again, again_last = gibbs_sweeps(J, h, u, x, burn_in=1, thin=3, n_threads=threads)
        np.testing.assert_array_equal(again, records)
        np.testing.assert_array_equal(again_last, last)


def test_no_records_before_the_burn_in_ends():
    rng = np.random.default_rng(1)
    J, h = _machine(4, 1.0, rng)
    records, last = gibbs_sweeps(J, h, rng.random((3, 2, 4)), np.zeros((3, 4), int), burn_in=2)
    assert records.shape == (3, 0, 4) and last.shape == (3, 4)


@pytest.mark.statistical
def test_gibbs_samples_the_boltzmann_distribution():
    """Independent chains (one state each after 30 sweeps) against the exact
    probabilities of all 2^8 states; chi-square, bins with expected count < 5
    merged; significance level 1e-4."""
    M, chains = 8, 20000
    rng = np.random.default_rng(2026)
    J, h = _machine(M, 0.8, rng)
    states = np.array(list(itertools.product((0, 1), repeat=M)))
    energy = states @ h + 0.5 * np.einsum("sj,jk,sk->s", states, J.astype(np.float64), states)
    prob = np.exp(energy - energy.max())
    prob /= prob.sum()
    x = rng.integers(0, 2, size=(chains, M))
    records, _ = gibbs_sweeps(J, h, rng.random((chains, 30, M)), x, burn_in=29)
    index = records[:, 0] @ (1 << np.arange(M - 1, -1, -1))
    observed = np.bincount(index, minlength=2**M).astype(float)
    expected = chains * prob
    keep = expected >= 5
    observed = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(expected[keep], expected[~keep].sum())
    assert keep.sum() >= 20
    statistic = np.sum((observed - expected) ** 2 / expected)
    assert stats.chi2.sf(statistic, len(observed) - 1) > 1e-4
    # the swapped machine (h -> -h) must fail the same test
    swapped = chains * prob[::-1]
    assert np.sum((np.bincount(index, minlength=2**M)[keep] - swapped[keep]) ** 2
                  / expected[:-1]) > stats.chi2.isf(1e-4, len(observed) - 1)


@pytest.mark.parametrize("change, message", [
    (lambda J, h, u, x: (J + np.eye(4, dtype=np.float32), h, u, x), "zero diagonal"),
    (lambda J, h, u, x: (np.triu(J), h, u, x), "symmetric"),
    (lambda J, h, u, x: (J[:3], h, u, x), "square"),
    (lambda J, h, u, x: (J, h[:3], u, x), "h must have shape"),
    (lambda J, h, u, x: (J, h, u + 1.5, x), "u must hold uniform"),
    (lambda J, h, u, x: (J, h, u, x + 2), "0 / 1"),
    (lambda J, h, u, x: (J, h, u, x[:2]), "x must have shape"),
    (lambda J, h, u, x: (J * np.nan, h, u, x), "finite"),
])
def test_bad_input_is_refused_before_the_kernel(change, message):
    rng = np.random.default_rng(0)
    J, h = _machine(4, 1.0, rng)
    args = change(J, h, rng.random((3, 2, 4)), np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(InputError, match=message):
        gibbs_sweeps(*args)


def test_burn_in_and_thin_are_checked():
    rng = np.random.default_rng(0)
    J, h = _machine(4, 1.0, rng)
    with pytest.raises(InputError, match="thin"):
        gibbs_sweeps(J, h, rng.random((1, 2, 4)), np.zeros((1, 4), int), thin=0)
    with pytest.raises(InputError, match="burn_in"):
        gibbs_sweeps(J, h, rng.random((1, 2, 4)), np.zeros((1, 4), int), burn_in=-1)
