"""Shared fixtures: random matrices and Gaussian states for the kernel tests.

Conventions: covariance matrices are xxpp-ordered with hbar = 2 (vacuum = I),
as in thewalrus; O matrices are in the complex basis (a..., a^dag...), with
Q = thewalrus.quantum.Qmat(cov) and O = I - Q^-1.

Every fixture returns a function, so that tests can build as many inputs as
they need from explicit seeds.

Randomised tests (marked ``statistical``) draw from fixed seeds, but a seeded
draw moves whenever numpy or a sampler changes how it uses its stream, so
each states its significance level and sets its limits from it:
- a check that correct code passes has a stated false-alarm level, from the
  statistic's true distribution: |z| < 4.5 for a normal z (two-sided 7e-6 per
  statistic), Student t limits for batch-means errors, chi-square
  goodness-of-fit at p > 1e-4, each with the covariance of correlated
  estimates where it has one.  Summed over the suite (~30 chi-square tests,
  a few hundred z-scores) a redraw of every seed fails one with < 1 %
  probability; at p > 1e-3 it was ~3 %.
- a check that a wrong model is caught uses enough shots that its statistic
  clears the limit by a wide margin for any seed (the typical value is
  stated next to the limit).

The ``any_seed`` fixture shows that they do not depend on one lucky draw: a
statistical test draws through ``rng=any_seed(8)`` instead of ``rng=8``.  By
default ``any_seed(8)`` is 8, so the suite is deterministic.  With the
environment variable JIUZHANG_EMU_TEST_SEED set to an integer S, it is a seed
derived from (S, 8) (SeedSequence: the same default gives the same seed, so
paired draws stay paired); with JIUZHANG_EMU_TEST_SEED=random, S is drawn once
per session.  The session's S is in the report header, and a failing test's
report lists its seeds, so ``JIUZHANG_EMU_TEST_SEED=S pytest -m statistical``
repeats the draw::

    JIUZHANG_EMU_TEST_SEED=random python -m pytest -m statistical tests/validation
"""
import itertools
import os
import secrets

import numpy as np
import pytest
from thewalrus.quantum import Qmat
from thewalrus.random import random_covariance

import jiuzhang_emu as jz

SEED_VARIABLE = "JIUZHANG_EMU_TEST_SEED"
_SESSION_SEED = pytest.StashKey()  # S, or None
_USED_SEEDS = pytest.StashKey()  # per test: [(default, drawn), ...]


def _session_seed():
    """S from JIUZHANG_EMU_TEST_SEED (None when unset; drawn for "random")."""
    value = os.environ.get(SEED_VARIABLE, "").strip()
    if not value:
        return None
    if value == "random":
        return secrets.randbits(32)
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if seed < 0:
        raise pytest.UsageError(f"{SEED_VARIABLE} must be a non-negative integer or 'random', "
                                f"got {value!r}")
    return seed


def pytest_configure(config):
    config.stash[_SESSION_SEED] = _session_seed()


def pytest_report_header(config):
    seed = config.stash[_SESSION_SEED]
    return (f"{SEED_VARIABLE}={seed}: statistical tests draw derived seeds" if seed is not None
            else f"{SEED_VARIABLE} unset: statistical tests draw their fixed seeds")


@pytest.fixture
def any_seed(request):
    """``any_seed(default)``: ``default``, or with JIUZHANG_EMU_TEST_SEED set
    a seed derived from the session's seed and ``default`` (module docstring)."""
    session = request.config.stash[_SESSION_SEED]
    used = request.node.stash.setdefault(_USED_SEEDS, [])

    def seed(default):
        if session is None:
            drawn = default
        else:
            drawn = int(np.random.SeedSequence([session, default]).generate_state(1)[0])
        used.append((default, drawn))
        return drawn

    return seed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test that drew through ``any_seed`` reports its seeds."""
    outcome = yield
    report = outcome.get_result()
    used = item.stash.get(_USED_SEEDS, None)
    if report.failed and used:
        session = item.config.stash[_SESSION_SEED]
        setting = " unset" if session is None else f"={session}"
        seeds = ", ".join(f"{default} -> {drawn}" for default, drawn in used)
        report.sections.append(("any_seed", f"{SEED_VARIABLE}{setting}; seeds (default -> "
                                            f"drawn): {seeds}"))


def _random_symmetric(n, rng, complex_=False, scale=1.0):
    A = rng.normal(size=(n, n))
    if complex_:
        A = A + 1j * rng.normal(size=(n, n))
    return scale * (A + A.T) / 2


def _haar_unitary(m, rng):
    z = (rng.normal(size=(m, m)) + 1j * rng.normal(size=(m, m))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def _thewalrus_covariance(n_modes, seed, pure=False):
    """thewalrus.random.random_covariance, which draws from the global
    np.random state: seed it, and restore the state afterwards."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return random_covariance(n_modes, pure=pure)
    finally:
        np.random.set_state(state)


def _lossy_covariance(r, U, eta):
    """Squeezed vacua r (x squeezed), interferometer U, then uniform loss
    (transmission eta)."""
    r = np.asarray(r, dtype=float)
    m = len(r)
    S = np.diag(np.concatenate([np.exp(-r), np.exp(r)]))
    Orth = np.block([[U.real, -U.imag], [U.imag, U.real]])
    cov = Orth @ S @ S.T @ Orth.T
    return eta * cov + (1 - eta) * np.eye(2 * m)


def _exact_structure(O):
    """Round O to an exactly Hermitian matrix with the block structure of a
    physical O, [[A, B], [conj B, conj A]] with A Hermitian, B symmetric."""
    n = O.shape[0] // 2
    A = O[:n, :n]
    A = (A + A.conj().T) / 2
    B = O[:n, n:]
    B = (B + B.T) / 2
    return np.block([[A, B], [B.conj(), A.conj()]])


def _o_matrix(cov, means=None, exact=True):
    """O matrix of a Gaussian state, and for displaced states the loop vector.

    Returns
    -------
    O : ndarray of shape (2n, 2n)
    gamma : ndarray of shape (2n,)
        Zero for ``means=None``.
    vacuum : float
        The probability that no detector clicks, sqrt(det Q)^-1 times
        exp(-alpha^H Q^-1 alpha / 2).

    For means (xxpp, hbar = 2) the convention is thewalrus's
    ``threshold_detection_prob``: alpha = (x + ip, x - ip) / 2,
    sigma = conj(Q), O = I - sigma^-1, gamma = conj(sigma^-1 alpha).
    """
    n = cov.shape[0] // 2
    Q = Qmat(cov)
    if means is None:
        O = np.eye(2 * n) - np.linalg.inv(Q)
        gamma = np.zeros(2 * n, dtype=complex)
        vacuum = 1 / np.sqrt(np.linalg.det(Q).real)
    else:
        means = np.asarray(means, dtype=float)
        x, p = means[:n], means[n:]
        alpha = np.concatenate([x + 1j * p, x - 1j * p]) / 2
        sigma = Q.conj()
        inv_sigma = np.linalg.inv(sigma)
        O = np.eye(2 * n) - inv_sigma
        gamma = (inv_sigma @ alpha).conj()
        vacuum = float(
            np.exp(-0.5 * (alpha.conj() @ inv_sigma @ alpha).real)
            / np.sqrt(np.linalg.det(sigma).real)
        )
    if exact:
        O = _exact_structure(O)
        gamma = np.concatenate([gamma[:n], gamma[:n].conj()])
    return O, gamma, vacuum


def _threshold_probabilities(cov, means=None, **kwargs):
    """All 2^n threshold-detector click probabilities of a Gaussian state,
    {pattern tuple: probability}, from the package's (loop) torontonian."""
    n = cov.shape[0] // 2
    O, gamma, vacuum = _o_matrix(cov, means)
    probs = {}
    for pattern in itertools.product((0, 1), repeat=n):
        S = [i for i in range(n) if pattern[i]]
        keep = S + [i + n for i in S]
        OS = O[np.ix_(keep, keep)]
        if means is None:
            value = jz.torontonian(OS, **kwargs)
        else:
            value = jz.loop_torontonian(OS, gamma[keep], **kwargs)
        probs[pattern] = vacuum * value
    return probs


@pytest.fixture
def random_symmetric():
    """f(n, rng, complex_=False, scale=1.0): a random symmetric n x n matrix."""
    return _random_symmetric


@pytest.fixture
def haar_unitary():
    """f(m, rng): a Haar-random m x m unitary."""
    return _haar_unitary


@pytest.fixture
def thewalrus_covariance():
    """f(n_modes, seed, pure=False): thewalrus.random.random_covariance
    drawn reproducibly from ``seed`` (global numpy state restored)."""
    return _thewalrus_covariance


@pytest.fixture
def lossy_covariance():
    """f(r, U, eta): squeezed vacua through U with transmission eta."""
    return _lossy_covariance


@pytest.fixture
def o_matrix():
    """f(cov, means=None, exact=True) -> (O, gamma, vacuum probability)."""
    return _o_matrix


@pytest.fixture
def random_o_matrix():
    """f(n_modes, seed, pure=False) -> O of a random (mixed) thewalrus state."""

    def make(n_modes, seed, pure=False):
        return _o_matrix(_thewalrus_covariance(n_modes, seed, pure=pure))[0]

    return make


@pytest.fixture
def exact_structure():
    """f(O): O rounded to exact Hermitian physical block structure."""
    return _exact_structure


@pytest.fixture
def threshold_probabilities():
    """f(cov, means=None, **kernel_kwargs) -> {click pattern: probability}."""
    return _threshold_probabilities


@pytest.fixture
def assert_close():
    """f(got, want, rtol, scale=None): |got - want| <= rtol * max(|want|, scale).

    ``scale`` is the magnitude the rounding errors are relative to (e.g. the
    sum of the moduli of the terms), when it exceeds |want|.
    """

    def check(got, want, rtol, scale=None, what=""):
        ref = abs(complex(want))
        if scale is not None:
            ref = max(ref, abs(scale))
        err = abs(complex(got) - complex(want))
        assert err <= rtol * ref, (
            f"{what} got {got!r}, want {want!r}: |diff| = {err:.3g} > {rtol:g} * {ref:.3g}"
        )

    return check


# --- physics layer: small random experiments ---------------------------------

def _random_experiment(n_modes, seed, detector=None, *, displaced=False, lossy=True,
                       thermal=True, r_max=0.6):
    """A small random GBS experiment, reproducible from ``seed``.

    Sources fill the ``n_modes`` inputs in the cycle TwoModeSqueezer (with a
    random thermal_fraction if ``thermal``), Coherent (if ``displaced``, else a
    SingleModeSqueezer), SingleModeSqueezer (also when only one input is
    left for a TwoModeSqueezer); squeezing r is drawn
    from [0.2, r_max].  The transfer matrix is a Haar unitary
    (jiuzhang_emu.haar_unitary) times sqrt(eta_j) on output column j, eta_j
    drawn from [0.5, 0.95] if ``lossy`` (else 1: a pure output state when
    ``thermal`` is also off).
    """
    rng = np.random.default_rng(seed)
    sources = []
    kinds = ["two-mode", "coherent" if displaced else "single-mode", "single-mode"]
    k = 0
    while sum(s.n_modes for s in sources) < n_modes:
        left = n_modes - sum(s.n_modes for s in sources)
        kind = kinds[k % len(kinds)]
        k += 1
        r = rng.uniform(0.2, r_max)
        phase = rng.uniform(0, 2 * np.pi)
        if kind == "two-mode" and left >= 2:
            eps = rng.uniform(0.1, 0.5) if thermal else 0.0
            sources.append(jz.TwoModeSqueezer(r, phase, thermal_fraction=eps))
        elif kind == "coherent":
            sources.append(jz.Coherent(complex(*rng.normal(scale=0.4, size=2))))
        else:
            sources.append(jz.SingleModeSqueezer(r, phase))
    U = jz.haar_unitary(n_modes, rng=rng)
    eta = rng.uniform(0.5, 0.95, size=n_modes) if lossy else np.ones(n_modes)
    T = U * np.sqrt(eta)[None, :]
    return jz.Experiment(sources, T, detector)


@pytest.fixture
def random_experiment():
    """f(n_modes, seed, detector=None, *, displaced=False, lossy=True,
    thermal=True, r_max=0.6) -> a small random jiuzhang_emu.Experiment."""
    return _random_experiment


def _one_mode_polynomial_mpmath(a, l0, l1, n):
    """Coefficients (mpmath, at the caller's precision) of the z-polynomial
    L(z) = lhaf of one vertex repeated n times with edge weight a and loop
    l0 + z l1: sum_k n! / (k! 2^k (n - 2k)!) a^k (l0 + z l1)^(n - 2k)."""
    import mpmath

    a, l0, l1 = mpmath.mpc(a), mpmath.mpc(l0), mpmath.mpc(l1)
    ell = [mpmath.mpc(0)] * (n + 1)
    for k in range(n // 2 + 1):
        w = mpmath.factorial(n) / (mpmath.factorial(k) * 2**k * mpmath.factorial(n - 2 * k))
        for m in range(n - 2 * k + 1):
            ell[m] += w * a**k * mpmath.binomial(n - 2 * k, m) * l0**(n - 2 * k - m) * l1**m
    return ell


@pytest.fixture
def one_mode_polynomial_mpmath():
    """f(a, l0, l1, n) -> the n + 1 mpmath coefficients of the loop hafnian of
    one vertex repeated n times, edge a and loop l0 + z l1, as a polynomial in z."""
    return _one_mode_polynomial_mpmath
