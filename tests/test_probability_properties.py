"""Experiment.probability against an independent mpmath oracle over a
deterministic grid (issue 13): squeezing, loss, displacement, repetitions.

Setting: one displaced squeezed source D(alpha) S(r)|0> on input 0, vacuum on
the other M - 1 inputs, transfer matrix sqrt(eta) U (U unitary), photon-number
resolving detectors.  Uniform loss commutes with U, and U conserves photon
number, so with N = sum(n)

    p(n) = p_1(N) * N! / prod n_j! * prod_j |U_j0|^(2 n_j),
    p_1(N) = sum_{m >= N} |c_m|^2 C(m, N) eta^N (1 - eta)^(m - N),

c_m = <m|D(alpha) S(r)|0> from the recursion
sqrt(m + 1) cosh(r) c_{m+1} = gamma c_m - sinh(r) sqrt(m) c_{m-1},
gamma = alpha cosh r + conj(alpha) sinh r (phase 0: <a a> = -sinh r cosh r),
c_0 = exp(-|alpha|^2 / 2 - conj(alpha)^2 tanh(r) / 2) / sqrt(cosh r), all at
50 digits.  None of it shares code with the hafnian kernels.

Stated supported range (checked here, documented in
:mod:`jiuzhang_emu.kernels._expansion`): r <= 2, eta in [0.3, 1],
|alpha| <= 1, patterns of up to 100 photons on 1-3 modes: the relative error is
below PROBABILITY_RTOL = 1e-8, or the call warns (PrecisionWarning) or refuses
(KernelError, RuntimeLimitError) -- it never returns a wrong value silently.
"""
import itertools
import warnings

import mpmath
import numpy as np
import pytest

from jiuzhang_emu.detectors import PhotonNumberResolving
from jiuzhang_emu.errors import KernelError, PrecisionWarning, RuntimeLimitError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.kernels.precision import PROBABILITY_RTOL
from jiuzhang_emu.sources import SingleModeSqueezer
from jiuzhang_emu.states import GaussianState


def _unitary(M):
    """A fixed real orthogonal M x M matrix with no zero in column 0."""
    if M == 1:
        return np.eye(1)
    theta = np.linspace(0.4, 1.1, M * (M - 1) // 2)
    U = np.eye(M)
    for (i, j), t in zip(itertools.combinations(range(M), 2), theta):
        G = np.eye(M)
        G[[i, i, j, j], [i, j, i, j]] = [np.cos(t), -np.sin(t), np.sin(t), np.cos(t)]
        U = G @ U
    return U


def oracle(r, eta, alpha, U, pattern, dps=50):
    N = int(sum(pattern))
    with mpmath.workdps(dps):
        r, eta, alpha = mpmath.mpf(r), mpmath.mpf(eta), mpmath.mpmathify(alpha)
        ch, sh = mpmath.cosh(r), mpmath.sinh(r)
        gamma = alpha * ch + mpmath.conj(alpha) * sh
        c = [mpmath.exp(-abs(alpha) ** 2 / 2 - mpmath.conj(alpha) ** 2 * mpmath.tanh(r) / 2)
             / mpmath.sqrt(ch)]
        c.append(gamma * c[0] / ch)
        top = N if eta == 1 else N + 2000
        for m in range(1, top):
            c.append((gamma * c[m] - sh * mpmath.sqrt(m) * c[m - 1]) / (mpmath.sqrt(m + 1) * ch))
        if eta == 1:
            p1 = abs(c[N]) ** 2
        else:
            # the terms peak near m ~ N / (1 - (1 - eta) tanh r) and then fall
            # geometrically; 2000 more than N leaves < 1e-30 of the sum for eta >= 0.3
            p1 = mpmath.fsum(abs(c[m]) ** 2 * mpmath.binomial(m, N) * eta**N
                             * (1 - eta) ** (m - N) for m in range(N, top + 1))
        split = mpmath.factorial(N) * mpmath.fprod(
            mpmath.mpf(U[j, 0]) ** (2 * n) / mpmath.factorial(n) for j, n in enumerate(pattern))
        return float(p1 * split)


def experiment(r, eta, alpha, M):
    state = SingleModeSqueezer(r).state()
    if alpha:
        state = state.displace([alpha])
    if M > 1:
        state = state.tensor(GaussianState.vacuum(M - 1))
    T = np.sqrt(eta) * _unitary(M).T  # rows: inputs, b_j = sum_i T[i, j] a_i
    return Experiment(state, T, PhotonNumberResolving())


def check(r, eta, alpha, pattern):
    """Relative error below PROBABILITY_RTOL, or a warning / clear refusal;
    returns which happened."""
    M = len(pattern)
    want = oracle(r, eta, alpha, _unitary(M), pattern)
    e = experiment(r, eta, alpha, M)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = e.probability(pattern, return_info=True)
        except (KernelError, RuntimeLimitError):
            return "refused"
    if any(issubclass(w.category, PrecisionWarning) for w in caught):
        return "warned"
    assert 0 <= got.value <= 1
    assert abs(got.value - want) <= PROBABILITY_RTOL * want, \
        f"r={r} eta={eta} alpha={alpha} pattern={pattern}: got {got} want {want}"
    return "ok"


PATTERNS = [[0], [1], [6], [31], [40], [2, 3], [20, 20], [50, 50], [0, 25], [3, 4, 5],
            [10, 0, 12]]
FAST = [(r, eta, alpha) for r in (0.3, 2.0) for eta in (1.0, 0.6) for alpha in (0.0, 0.7)]


@pytest.mark.parametrize("r, eta, alpha", FAST)
def test_grid_default(r, eta, alpha):
    outcomes = [check(r, eta, alpha, p) for p in PATTERNS
                if eta == 1 or len(p) == 1 or sum(p) <= 24]
    # inside the stated range nothing needs to warn or refuse
    assert outcomes.count("ok") == len(outcomes), list(zip(PATTERNS, outcomes))


def test_issue_reproducer_squeezer_through_splitter():
    """r = 2 through a 50:50 splitter, pattern [50, 50]: was 9.6e4 ("auto",
    a warning only) and 8.8e10 ("double"); true 4.3e-5."""
    from jiuzhang_emu.sources import Vacuum

    e = Experiment([SingleModeSqueezer(2.0), Vacuum()],
                   (np.array([[1, -1], [1, 1]]) / 2**.5).T, PhotonNumberResolving())
    want = oracle(2.0, 1.0, 0.0, np.array([[1, 1], [-1, 1]]) / 2**.5, [50, 50])
    assert want == pytest.approx(4.317e-5, rel=1e-3)
    for precision in ("auto", "double", "extended"):
        got = e.probability([50, 50], precision=precision)
        assert got == pytest.approx(want, rel=PROBABILITY_RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("r", [0.1, 0.5, 1.5, 2.0])
@pytest.mark.parametrize("eta", [1.0, 0.8, 0.3])
@pytest.mark.parametrize("alpha", [0.0, 0.4, 1.0j])
def test_grid_slow(r, eta, alpha):
    patterns = PATTERNS + [[100], [60, 40], [7, 7, 7], [20, 1, 20]]
    outcomes = [check(r, eta, alpha, p) for p in patterns
                if eta == 1 or len(p) == 1 or sum(p) <= 30]
    assert outcomes.count("ok") == len(outcomes), outcomes
