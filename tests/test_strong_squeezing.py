"""Strong squeezing and bright light: the supported range (squeezing r <= 4,
quadrature variances <= e^8, loop-torontonian exponents <= 700) is correct to
the stated tolerance and refused clearly beyond it (issue 13, item 5).

Oracles: closed forms of squeezed vacua (vacuum probability 1/cosh r per
single-mode squeezer, 1/cosh^2 r per two-mode squeezer, purity 1) and mpmath
at 60 digits (click probabilities by inclusion-exclusion over vacuum
probabilities of an exactly built covariance).
"""
import itertools
import warnings
from math import factorial

import mpmath
import numpy as np
import pytest

import jiuzhang_emu as jz
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.states import MAX_SQUEEZING, MAX_VARIANCE, GaussianState

R_MAX = MAX_SQUEEZING


def test_the_stated_range():
    assert R_MAX == 4.0
    assert MAX_VARIANCE == pytest.approx(np.exp(8))


# --- inside the range: closed forms ------------------------------------------

@pytest.mark.parametrize("r", [0.5, 2.0, 3.0, 3.7, R_MAX])
def test_vacuum_probabilities_closed_form(r):
    single = jz.Experiment([jz.SingleModeSqueezer(r, 0.7)], np.eye(1), jz.Threshold())
    assert single.probability([0]) == pytest.approx(1 / np.cosh(r), rel=1e-10)
    two = jz.Experiment([jz.TwoModeSqueezer(r, 0.3)], np.eye(2), jz.Threshold())
    assert two.probability([0, 0]) == pytest.approx(1 / np.cosh(r) ** 2, rel=1e-10)
    # both modes hold the same photon number: they click together or not at all
    assert two.probability([1, 1]) == pytest.approx(1 - 1 / np.cosh(r) ** 2, rel=1e-10)
    # A structural zero.  The threshold engine's O = I - Q^-1 is rounded in
    # float64, which moves it by ~1e-16 (measured for r >= 1), more than the
    # error estimate of its sum (1e-32 in double-double): the value comes out
    # tiny with a PrecisionWarning, or slightly negative, which is refused.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jz.PrecisionWarning)
        try:
            value = two.probability([1, 0])
        except jz.KernelError as error:
            assert "must lie in [0, 1]" in str(error)
        else:
            assert 0 <= value < 1e-10


@pytest.mark.parametrize("r", [3.0, R_MAX])
def test_photon_numbers_closed_form(r):
    """p(2n) = (2n)! / (2^n n!)^2 tanh^(2n) r / cosh r for squeezed vacuum."""
    e = jz.Experiment([jz.SingleModeSqueezer(r)], np.eye(1), jz.PhotonNumberResolving())
    for n in range(3):
        exact = factorial(2 * n) / (2 ** n * factorial(n)) ** 2 * np.tanh(r) ** (2 * n) / np.cosh(r)
        assert e.probability([2 * n]) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("n_modes", [2, 8, 32])
def test_purity_of_pure_states_at_the_limit(n_modes):
    rng = np.random.default_rng(n_modes)
    sources = [jz.TwoModeSqueezer(R_MAX, p) for p in rng.uniform(0, 2 * np.pi, n_modes // 2)]
    state = jz.Experiment(sources, haar_unitary(n_modes, rng=n_modes)).output_state()
    assert abs(state.purity() - 1) < 1e-8
    assert state.vacuum_probability() == pytest.approx(np.cosh(R_MAX) ** -n_modes, rel=1e-10)


@pytest.mark.slow
def test_purity_at_the_limit_100_modes():
    sources = [jz.TwoModeSqueezer(R_MAX, 0.1 * k) for k in range(50)]
    state = jz.Experiment(sources, haar_unitary(100, rng=7)).output_state()
    assert abs(state.purity() - 1) < 2e-8
    assert state.vacuum_probability() == pytest.approx(np.cosh(R_MAX) ** -100, rel=1e-9)


# --- inside the range: mpmath ------------------------------------------------

def _mp_covariance(r, phases, T):
    """Covariance (xxpp, hbar = 2) of Sgate(r, phase) squeezers behind T, at
    60 digits: cov = S diag(R (e^-2r, e^2r) R^T) S^T."""
    n = len(phases)
    cov = mpmath.zeros(2 * n, 2 * n)
    small, large = mpmath.exp(-2 * mpmath.mpf(r)), mpmath.exp(2 * mpmath.mpf(r))
    for k, phase in enumerate(phases):
        c, s = mpmath.cos(mpmath.mpf(phase) / 2), mpmath.sin(mpmath.mpf(phase) / 2)
        cov[k, k] = c ** 2 * small + s ** 2 * large
        cov[k + n, k + n] = s ** 2 * small + c ** 2 * large
        cov[k, k + n] = cov[k + n, k] = c * s * (small - large)
    S = mpmath.zeros(2 * n, 2 * n)
    for i in range(n):
        for j in range(n):
            w = mpmath.mpc(complex(T[j, i]))  # the real form of T^T
            S[i, j] = S[i + n, j + n] = w.real
            S[i, j + n], S[i + n, j] = -w.imag, w.imag
    return S * cov * S.T


def _mp_click_probability(cov, pattern):
    """sum_{Z in clicks} (-1)^|Z| P(dark modes and Z empty), P(A empty) =
    det((cov_A + I) / 2)^(-1/2)."""
    n = len(pattern)
    clicks = [j for j in range(n) if pattern[j]]
    dark = [j for j in range(n) if not pattern[j]]
    total = mpmath.mpf(0)
    for size in range(len(clicks) + 1):
        for Z in itertools.combinations(clicks, size):
            modes = dark + list(Z)
            idx = modes + [j + n for j in modes]
            if not idx:
                total += (-1) ** size
                continue
            G = mpmath.matrix([[(cov[i, j] + (i == j)) / 2 for j in idx] for i in idx])
            total += (-1) ** size / mpmath.sqrt(mpmath.det(G))
    return total


@pytest.mark.parametrize("r", [3.0, R_MAX])
def test_click_probabilities_against_mpmath(r):
    n = 4
    phases = np.random.default_rng(1).uniform(0, 2 * np.pi, n)
    T = haar_unitary(n, rng=2)
    e = jz.Experiment([jz.SingleModeSqueezer(r, p) for p in phases], T, jz.Threshold())
    with mpmath.workdps(60):
        cov = _mp_covariance(r, phases, T)
        for pattern in ([0, 0, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 1], [1, 1, 1, 1]):
            exact = float(_mp_click_probability(cov, pattern))
            assert e.probability(pattern) == pytest.approx(exact, rel=1e-9), pattern


# --- beyond the range: refused, naming the parameter and the limit -------------

@pytest.mark.parametrize("source", [jz.SingleModeSqueezer, jz.TwoModeSqueezer])
@pytest.mark.parametrize("r", [4.01, 10, 18, 20])
def test_squeezers_beyond_the_range_are_refused(source, r):
    with pytest.raises(InputError, match=r"r must be a number in \[0, 4\].*got"):
        source(r)


def test_two_mode_r18_reproducer_is_refused():
    """Was: p([0, 0]) 14 % off 1/cosh^2(18); LinAlgError at r = 20."""
    with pytest.raises(InputError, match="supported squeezing range"):
        jz.Experiment([jz.TwoModeSqueezer(18)], np.eye(2), jz.Threshold()).probability([0, 0])


@pytest.mark.parametrize("r", [5.0, 10.0])
def test_states_beyond_the_range_are_refused(r):
    """Was: purity() == inf at r = 10, 'O must be Hermitian' blamed on the user."""
    cov = np.diag([np.exp(-2 * r), np.exp(-2 * r), np.exp(2 * r), np.exp(2 * r)])
    with pytest.raises(InputError, match=rf"largest variance .*r = {r:g}\b"):
        GaussianState(cov)


def test_lossy_strong_squeezing_is_refused():
    """Loss hides squeezing but not the e^(2r) variance that costs the digits."""
    r, eta = 10.0, 0.5
    cov = np.diag([eta * np.exp(-2 * r) + 1 - eta, eta * np.exp(2 * r) + 1 - eta])
    with pytest.raises(InputError, match="every quadrature variance <="):
        GaussianState(cov)


def test_bright_classical_sources_beyond_the_range_are_refused():
    with pytest.raises(InputError, match=r"mean_photons must be a finite number in "
                                         r"\[0, 1489\.98\] \(the supported range"):
        jz.Thermal(2000)
    with pytest.raises(InputError, match=r"mean_photons must be a finite number in \[0, 744\.989\]"):
        jz.Squashed(800)
    with pytest.raises(InputError, match="mean_photons"):
        jz.TwoModeSquashed(800)


def test_classical_models_of_the_strongest_squeezer_are_supported():
    for source in (jz.SingleModeSqueezer(R_MAX), jz.TwoModeSqueezer(R_MAX)):
        for model in (source.squashed(), source.thermal()):
            assert model.state().mean_photon_number() == pytest.approx(
                source.n_modes * np.sinh(R_MAX) ** 2)


# --- displacements: no silent NaN ----------------------------------------------

def test_loop_torontonian_huge_displacement_is_refused():
    """Was: NaN (exp overflow, inf - inf)."""
    with pytest.raises(InputError, match=r"gamma must keep the exponent .* <= 700.*got 4e\+06"):
        jz.loop_torontonian(np.zeros((8, 8)), np.full(8, 1e3, complex))
    with pytest.raises(InputError, match=r"gammas .*item 1"):
        jz.loop_torontonian_batch(np.zeros((2, 8, 8)),
                                  np.stack([np.zeros(8), np.full(8, 1e3)]))


def test_loop_torontonian_large_displacement_inside_the_range():
    """ltor of O = 0: prod over modes of (exp(|g|^2) - 1) for gamma = (g, g^*)."""
    g = 12.0
    value = jz.loop_torontonian(np.zeros((2, 2)), np.array([g, g], complex))
    assert value == pytest.approx(np.expm1(g ** 2), rel=1e-12)


def test_bright_coherent_click_probability_is_refused_not_nan():
    e = jz.Experiment([jz.Coherent(30.0)], np.eye(1), jz.Threshold())
    with pytest.raises(InputError, match="exponent"):
        e.probability([1])


@pytest.mark.parametrize("kernel, name", [(jz.hafnian, "A"), (jz.loop_hafnian, "A"),
                                          (jz.permanent, "M")])
def test_kernel_overflow_is_refused_not_nan(kernel, name):
    with pytest.raises(InputError, match=rf"overflows float64 .* for {name} with largest"):
        kernel(np.full((4, 4), 1e200))


@pytest.mark.parametrize("kernel", [jz.hafnian_batch, jz.permanent_batch])
def test_batch_kernel_overflow_is_refused_not_nan(kernel):
    with pytest.raises(InputError, match="overflows float64"):
        kernel(np.full((2, 4, 4), 1e200))
