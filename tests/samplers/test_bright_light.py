"""The exact photon sampler on bright light (issue 13): exact where rounding
allows, refused (PrecisionLimitError) where it does not, never a wrong shot.

Oracles: photon-number parity (squeezed vacua through a lossless
interferometer give only even totals; a two-mode squeezed vacuum only equal
counts in its two modes), the closed-form total photon-number distribution of
a squeezed vacuum, P(2n) = (2n)! / (2^n n!)^2 tanh(r)^(2n) / cosh(r), and an
mpmath evaluation of the normaliser.
"""
from math import comb

import mpmath
import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Experiment,
    PhotonNumberResolving,
    PrecisionLimitError,
    SingleModeSqueezer,
    TwoModeSqueezer,
    Vacuum,
    haar_unitary,
)
from jiuzhang_emu.kernels import _kernels
from jiuzhang_emu.samplers import iter_batches
from jiuzhang_emu.samplers.exact import MAX_MASS, PhotonNumberSampler, _normaliser

ALPHA = 1e-4  # tests/conftest.py: chi-square goodness of fit at p > 1e-4
SPLITTER = (np.array([[1, -1], [1, 1]]) / 2**0.5).T


def _splitter(r):
    return Experiment([SingleModeSqueezer(r), Vacuum()], SPLITTER, PhotonNumberResolving())


def _native(experiment, shots, seed):
    """(patterns, unresolved, refused) of the native sampler, shot by shot."""
    sampler = PhotonNumberSampler(experiment.output_state())
    loops, beta, u = sampler._inputs(np.random.default_rng(seed), shots)
    return _kernels.sample_photons(sampler._B, loops, beta, u, 1)


@pytest.mark.parametrize("r, shots", [(2.0, 300), pytest.param(2.0, 3000, marks=pytest.mark.slow),
                                      pytest.param(2.5, 30, marks=pytest.mark.slow)])
def test_bright_splitter_returns_no_odd_total(r, shots):
    patterns, unresolved, refused = _native(_splitter(r), shots, seed=1)
    accepted = patterns[~refused]
    assert len(accepted) > shots // 2  # refused: 0.4 % at r = 2.0, ~10 % at r = 2.5
    assert (accepted.sum(axis=1) % 2 == 0).all()
    assert (unresolved[~refused] <= MAX_MASS).all()
    assert (patterns[refused] == -1).any(axis=1).all()


def test_issue_reproducer_is_refused_not_returned():
    """Batch 31 of Experiment.sample(3000, rng=1) held the shot [91, 78]."""
    with pytest.raises(PrecisionLimitError, match=r"mode 1 .*budget of 1e-08"):
        for _ in iter_batches(_splitter(2.0), 3000, rng=1, first_batch=31):
            pass


@pytest.mark.slow
def test_three_bright_squeezers_finish_or_refuse():
    """Ran > 200 s with memory growing past 8 GB (an unbounded walk)."""
    experiment = Experiment([SingleModeSqueezer(2.0)] * 3, haar_unitary(3, rng=2),
                            PhotonNumberResolving())
    try:
        samples = experiment.sample(64, rng=1)
    except PrecisionLimitError as error:
        assert "estimated" in str(error) and "mode" in str(error)
    else:
        assert (samples.patterns.sum(axis=1) % 2 == 0).all()


@pytest.mark.slow
def test_two_mode_squeezer_r25_pairs_photons():
    """Was KernelError status 3 at shot 15 of these inputs: the moments of
    the normaliser overflowed float64 at 281 photons in mode 0."""
    experiment = Experiment([TwoModeSqueezer(2.5)], np.eye(2), PhotonNumberResolving())
    sampler = PhotonNumberSampler(experiment.output_state())
    loops, beta, u = (a[10:20] for a in sampler._inputs(np.random.default_rng(1), 200))
    patterns, unresolved, refused = _kernels.sample_photons(sampler._B, loops, beta, u, 1)
    assert not refused.any() and (unresolved <= MAX_MASS).all()
    assert patterns.max() > 170
    np.testing.assert_array_equal(patterns[:, 0], patterns[:, 1])


def _total_photons(r, n_max):
    """P(total = 2n) of a squeezed vacuum, n < n_max (the closed form)."""
    t2 = np.tanh(r) ** 2
    return np.array([comb(2 * n, n) / 4**n * t2**n / np.cosh(r) for n in range(n_max)])


def _chi_square_pvalue(totals, r):
    shots = len(totals)
    counts = np.bincount(totals // 2)
    expected = shots * _total_photons(r, len(counts) + 200)
    kept = np.flatnonzero(expected >= 5)
    kept = kept[kept < len(counts)]
    observed = np.append(counts[kept], shots - counts[kept].sum())
    expected = np.append(expected[kept], shots - expected[kept].sum())
    return stats.chisquare(observed, expected).pvalue


@pytest.mark.statistical
def test_total_photons_of_bright_squeezed_vacuum_match_closed_form():
    """r = 1.5 (4.5 photons on average, up to ~50 in a shot), inside the
    supported range: chi-square of the totals at p > ALPHA.  Against r = 1.4
    the same sample must fail: p = 2e-9 to 1e-24 over seeds 0-4 (5e-15 here)."""
    samples = _splitter(1.5).sample(4000, rng=20261207)
    totals = samples.patterns.sum(axis=1)
    assert (totals % 2 == 0).all()
    assert samples.unresolved_mass <= MAX_MASS
    assert _chi_square_pvalue(totals, 1.5) > ALPHA
    assert _chi_square_pvalue(totals, 1.4) < ALPHA


def _normaliser_mpmath(ell, b, g, terms):
    """sum_j j! |[z^j] L(z) E(z)|^2 to ``terms`` terms, at 60 digits."""
    with mpmath.workdps(60):
        ell = [mpmath.mpc(x) for x in ell]
        b, g = mpmath.mpc(b), mpmath.mpc(g)
        e = [mpmath.mpc(1)]
        for i in range(terms):  # (i + 1) e_{i+1} = g e_i + b e_{i-1}
            e.append((g * e[i] + (b * e[i - 1] if i else 0)) / (i + 1))
        total = mpmath.mpf(0)
        for j in range(terms):
            c = mpmath.fsum(ell[m] * e[j - m] for m in range(min(j, len(ell) - 1) + 1))
            total += mpmath.factorial(j) * abs(c) ** 2
        return float(total)


@pytest.mark.parametrize("degree", [8, 60, 200])
def test_normaliser_matches_mpmath(degree):
    """Well-conditioned random coefficients of a bright step (the normaliser
    of 200 photons overflowed float64 moments before)."""
    rng = np.random.default_rng(degree)
    ell = (rng.normal(size=degree + 1) + 1j * rng.normal(size=degree + 1))
    ell /= np.sqrt([float(mpmath.factorial(m)) for m in range(degree + 1)])
    b, g = 0.45 - 0.2j, 1.5 + 0.7j
    expected = _normaliser_mpmath(ell, b, g, terms=6 * degree + 200)
    assert _normaliser(ell, b, g) == pytest.approx(expected, rel=1e-11)
