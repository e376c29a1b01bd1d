"""The exact photon sampler on bright light (issue 13): exact where rounding
allows (float64, long double, then quad where compiled), refused
(PrecisionLimitError) where it does not, never a wrong shot.

Oracles: photon-number parity (squeezed vacua through a lossless
interferometer give only even totals; a two-mode squeezed vacuum only equal
counts in its two modes), the closed-form total photon-number distribution of
a squeezed vacuum, P(2n) = (2n)! / (2^n n!)^2 tanh(r)^(2n) / cosh(r), and
mpmath evaluations of the normaliser and of a bright step's conditional
distribution (one mode's loop hafnian in closed form).
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
from jiuzhang_emu.samplers import batch_sizes, iter_batches, plan_run, root_seed
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
    # refused without quad: 0.7 % at r = 2.0, ~10 % at r = 2.5; with quad none at r = 2.0
    assert len(accepted) > shots // 2
    assert (accepted.sum(axis=1) % 2 == 0).all()
    assert (unresolved[~refused] <= MAX_MASS).all()
    assert (patterns[refused] == -1).any(axis=1).all()


@pytest.mark.skipif(_kernels.HAS_QUAD, reason="resolved by the quad tier")
def test_issue_reproducer_is_refused_not_returned():
    """Batch 31 of Experiment.sample(3000, rng=1) held the shot [91, 78]."""
    with pytest.raises(PrecisionLimitError, match=r"mode 1 .*budget of 1e-08"):
        for _ in iter_batches(plan_run(_splitter(2.0), 3000, rng=1).priced(3600.0, 31)):
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
def test_total_photons_of_bright_squeezed_vacuum_match_closed_form(any_seed):
    """r = 1.5 (4.5 photons on average, up to ~50 in a shot), inside the
    supported range: chi-square of the totals at p > ALPHA.  Against r = 1.4
    the same sample must fail: p = 2e-9 to 1e-24 over seeds 0-4 (5e-15 here)."""
    samples = _splitter(1.5).sample(4000, rng=any_seed(20261207))
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


# -- the quad tier: the issue's shot resolved, and checked against mpmath --

def _issue_shot():
    """B and the inputs of shot 62 of batch 31 of Experiment.sample(3000,
    rng=1) on a squeezer r = 2.0 into the splitter: 91 photons in mode 0."""
    entropy, _ = root_seed(1)
    sampler = PhotonNumberSampler(_splitter(2.0).output_state())
    generator = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(31,)))
    loops, beta, u = sampler._inputs(generator, batch_sizes(3000)[31])
    return sampler._B, loops[62:63], beta[62:63], u[62:63]


def _distribution_mpmath(ell, b, g, terms):
    """j! |[z^j] L(z) E(z)|^2 for j < ``terms`` (unnormalised)."""
    b, g = mpmath.mpc(b), mpmath.mpc(g)
    e = [mpmath.mpc(1)]
    for i in range(terms):  # (i + 1) e_{i+1} = g e_i + b e_{i-1}
        e.append((g * e[i] + (b * e[i - 1] if i else 0)) / (i + 1))
    return [mpmath.factorial(j) * abs(mpmath.fsum(
        ell[m] * e[j - m] for m in range(min(j, len(ell) - 1) + 1))) ** 2 for j in range(terms)]


@pytest.mark.slow  # ~40 s: the quad loop hafnian of 91 photons in one mode
@pytest.mark.skipif(not _kernels.HAS_QUAD, reason="quad tier not compiled (JZ_HAS_QUAD = 0)")
def test_issue_reproducer_is_resolved_in_quad(one_mode_polynomial_mpmath):
    """The shot refused without quad (float64 estimate 34, long double
    skipped as hopeless) comes back from the quad tier with an even total, and its draw at mode 1 is the one mpmath's
    conditional distribution gives for the same uniform."""
    B, loops, beta, u = _issue_shot()
    patterns, unresolved, refused = _kernels.sample_photons(B, loops, beta, u, 1)
    assert not refused[0] and unresolved[0] <= MAX_MASS
    n0, n1 = (int(n) for n in patterns[0])
    assert n0 == 91 and (n0 + n1) % 2 == 0
    # mode 1 given n0: loops with both modes out of the heterodyned set
    ell_loops = loops[0] - B[:, 0] * beta[0, 0].conjugate() - B[:, 1] * beta[0, 1].conjugate()
    with mpmath.workdps(60):
        ell = one_mode_polynomial_mpmath(B[0, 0], ell_loops[0], B[0, 1], n0)
        p = _distribution_mpmath(ell, B[1, 1], ell_loops[1], terms=600)
        total = mpmath.fsum(p)
        assert p[-1] < 1e-30 * total  # the tail is negligible
        # odd totals: only through the ~1e-8 residue left in the loops (7e-16 here)
        assert mpmath.fsum(p[0::2]) < 1e-12 * total
        cdf = np.cumsum([float(x / total) for x in p])
    assert int(np.argmax(cdf > u[0, 1])) == n1


def test_refused_where_no_tier_resolves():
    """Shot 200 of 1000 of three squeezers r = 1.5 through Haar(3, rng=2), seed 1: at
    mode 1, after 25 photons in mode 0, the coefficients resolve in long
    double but the normaliser's own float64 rounding is estimated at 1.2e-6,
    which no coefficient tier (quad included) changes: refused at once."""
    experiment = Experiment([SingleModeSqueezer(1.5)] * 3, haar_unitary(3, rng=2),
                            PhotonNumberResolving())
    sampler = PhotonNumberSampler(experiment.output_state())
    loops, beta, u = (a[200:201] for a in sampler._inputs(np.random.default_rng(1), 1000))
    patterns, unresolved, refused = _kernels.sample_photons(sampler._B, loops, beta, u, 1)
    assert refused[0] and patterns[0, :2].tolist() == [25, -1]
    assert unresolved[0] > MAX_MASS
