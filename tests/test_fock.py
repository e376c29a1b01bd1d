"""Fock matrix elements of Gaussian unitaries and displacements (jiuzhang_emu.fock).

Oracles: thewalrus (``fock_tensor``, ``state_vector``, ``fock_gradients.displacement``),
the hafnian kernel entry by entry (``unitary_amplitudes_reference``), the PNR
probabilities of :mod:`jiuzhang_emu.probabilities`, mpmath Laguerre sums,
scipy's ``expm`` of the displacement generator at a large cutoff, and the
properties unitarity and composition.  All inputs are seeded; nothing is
statistical.
"""
import heapq
import itertools

import mpmath
import numpy as np
import pytest
import scipy.linalg
from scipy.special import gammaln
from thewalrus.fock_gradients import displacement
from thewalrus.quantum.fock_tensors import fock_tensor, state_vector

from jiuzhang_emu import fock
from jiuzhang_emu.detectors import PhotonNumberResolving
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import hafnian
from jiuzhang_emu.probabilities import detection_probability
from jiuzhang_emu.states import GaussianState

# Recurrence against the hafnian kernel: worst seen 2e-16 of the largest entry
# (1.3e-14 per entry) on random sets, 5e-14 per entry at r = 1.5 with 11-16 photons.
RTOL = 1e-12


def random_unitary(m, rng):
    z = (rng.normal(size=(m, m)) + 1j * rng.normal(size=(m, m))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def passive(u):
    return np.block([[u.real, -u.imag], [u.imag, u.real]])


def squeezer(r):
    return np.diag(np.concatenate([np.exp(-r), np.exp(r)]))


def random_symplectic(m, rng, r_max=1.0):
    """O2 Z(r) O1 with Haar O1, O2 and r uniform in [0, r_max], the first r_max."""
    r = rng.uniform(0, r_max, m)
    r[0] = r_max
    return passive(random_unitary(m, rng)) @ squeezer(r) @ passive(random_unitary(m, rng))


def box(cutoff, m):
    """All patterns of m modes with entries < cutoff, C order (downward closed)."""
    patterns = list(itertools.product(range(cutoff), repeat=m))
    return np.array(patterns, dtype=np.int64).reshape(len(patterns), m)


def simplex(total, m):
    """All patterns of m modes with at most ``total`` photons."""
    patterns = box(total + 1, m)
    return patterns[patterns.sum(axis=1) <= total]


def random_closed_set(m, rng, seeds=4, high=3):
    """The downward closure of a few random patterns, shuffled."""
    found = {(0,) * m}
    stack = [tuple(p) for p in rng.integers(0, high, size=(seeds, m))
             * (rng.random((seeds, m)) < 0.6)]
    while stack:
        p = stack.pop()
        if p in found and sum(p):
            continue
        found.add(p)
        for k in np.nonzero(p)[0]:
            stack.append(p[:k] + (p[k] - 1,) + p[k + 1:])
    patterns = np.array(sorted(found), dtype=np.int64).reshape(len(found), m)
    return patterns[rng.permutation(len(patterns))]


def top_patterns(mean_photons, chi):
    """The chi most likely patterns of a product of thermal distributions
    (best first: each pattern is less likely than its sub-patterns, so the
    set is downward closed)."""
    m = len(mean_photons)
    log_ratio = np.log(mean_photons / (1 + mean_photons))
    start = (0,) * m
    seen, heap, top = {start}, [(0.0, start)], []
    while heap and len(top) < chi:
        weight, p = heapq.heappop(heap)
        top.append(p)
        for k in range(m):
            q = p[:k] + (p[k] + 1,) + p[k + 1:]
            if q not in seen:
                seen.add(q)
                heapq.heappush(heap, (weight - log_ratio[k], q))
    return np.array(top, dtype=np.int64)


def up_to_phase(a, b):
    """Largest |a e^(i theta) - b| over one global phase theta (from the largest entry)."""
    k = np.unravel_index(np.argmax(np.abs(b)), b.shape)
    phase = b[k] / a[k]
    assert abs(abs(phase) - 1) < 1e-12
    return np.abs(a * phase - b).max()


def full_tensor(S, cutoff):
    """<p|U(S)|q> for all p, q in box(cutoff, m), as thewalrus's (p..., q...) tensor."""
    m = S.shape[0] // 2
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    block = fock.unitary_amplitudes(sigma, vacuum, cutoff, box(cutoff, m - 1), box(cutoff, m))
    return block.transpose(1, 2, 0).reshape((cutoff,) * (2 * m))


# ---------------------------------------------------------------- kernel


@pytest.mark.parametrize("m", [1, 2, 3])
@pytest.mark.parametrize("kind", ["active", "passive"])
def test_kernel_matches_thewalrus_fock_tensor(m, kind):
    rng = np.random.default_rng(10 + m)
    S = random_symplectic(m, rng, 0.8) if kind == "active" else passive(random_unitary(m, rng))
    cutoff = 5 if m < 3 else 4
    ours = full_tensor(S, cutoff)
    theirs = fock_tensor(S, np.zeros(m), cutoff)
    assert up_to_phase(ours, theirs) < 1e-12


def test_kernel_single_mode_squeezer_closed_form():
    # S(r)|0> = (cosh r)^(-1/2) sum_n (-tanh r)^n sqrt((2n)!) / (2^n n!) |2n>, x squeezed.
    r = 0.7
    sigma, vacuum = fock.gaussian_unitary_kernel(squeezer(np.array([r])))
    assert vacuum == pytest.approx(np.cosh(r) ** -0.5, rel=1e-14)
    column = fock.unitary_amplitudes(sigma, vacuum, 9, np.zeros((1, 0), int), [[0]])[0, :, 0]
    n = np.arange(5)
    expected = np.cosh(r) ** -0.5 * (-np.tanh(r)) ** n \
        * np.exp(0.5 * gammaln(2 * n + 1) - n * np.log(2) - gammaln(n + 1))
    assert np.abs(column[::2] - expected).max() < 1e-15
    assert np.abs(column[1::2]).max() == 0


def test_vacuum_column_is_the_state_of_covariance_S_ST():
    m, cutoff = 3, 5
    S = random_symplectic(m, np.random.default_rng(3), 0.6)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    assert vacuum > 0
    psi = fock.unitary_amplitudes(sigma, vacuum, cutoff, box(cutoff, m - 1),
                                  np.zeros((1, m), int))[0].reshape((cutoff,) * m)
    assert up_to_phase(psi, state_vector(np.zeros(2 * m), S @ S.T, cutoff=cutoff)) < 1e-13
    state = GaussianState(S @ S.T, np.zeros(2 * m))
    for pattern in [(0, 0, 0), (2, 0, 0), (1, 1, 0), (1, 2, 1), (0, 4, 0), (3, 1, 2)]:
        p = detection_probability(state, PhotonNumberResolving(), np.array(pattern),
                                  np.zeros(m)).value
        assert abs(psi[pattern]) ** 2 == pytest.approx(p, rel=1e-11, abs=1e-17)


def test_composition_is_one_global_phase():
    # <p|U(S1) U(S2)|q> = e^(i theta) <p|U(S1 S2)|q>, the sum over the intermediate
    # patterns cut at 40 photons per mode (at 24 the tail is still 2.5e-10).
    rng = np.random.default_rng(4)
    m, inner, outer = 2, 40, 4
    S1, S2 = random_symplectic(m, rng, 0.3), random_symplectic(m, rng, 0.3)
    small = box(outer, m)
    sigma2, vacuum2 = fock.gaussian_unitary_kernel(S2)
    right = fock.unitary_amplitudes(sigma2, vacuum2, inner, box(inner, 1), small)
    sigma1, vacuum1 = fock.gaussian_unitary_kernel(S1)
    left = fock.unitary_amplitudes(sigma1, vacuum1, outer, box(outer, 1), box(inner, m))
    product = np.einsum("qk,kjb->qjb", right.reshape(len(small), -1), left)
    sigma, vacuum = fock.gaussian_unitary_kernel(S1 @ S2)
    direct = fock.unitary_amplitudes(sigma, vacuum, outer, box(outer, 1), small)
    assert up_to_phase(product, direct) < 1e-13
    phase = product[0, 0, 0] / direct[0, 0, 0]
    assert abs(phase - 1) > 1e-3  # with real positive vacua the phase is not always 1


def test_kernel_refuses_bad_S():
    with pytest.raises(InputError, match="symplectic"):
        fock.gaussian_unitary_kernel(np.diag([2.0, 1.0]))
    with pytest.raises(InputError, match="2m x 2m"):
        fock.gaussian_unitary_kernel(np.eye(3))
    with pytest.raises(InputError, match="real"):
        fock.gaussian_unitary_kernel(np.eye(2) * (1 + 0j))


# ---------------------------------------------------------------- recurrence


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5])
def test_amplitudes_match_reference(m):
    rng = np.random.default_rng(20 + m)
    for _ in range(2):
        S = random_symplectic(m, rng, 1.0)
        sigma, vacuum = fock.gaussian_unitary_kernel(S)
        ins = random_closed_set(m, rng)
        outs = random_closed_set(m - 1, rng) if m > 1 else np.zeros((1, 0), int)
        d = int(rng.integers(1, 6))
        ours = fock.unitary_amplitudes(sigma, vacuum, d, outs, ins)
        assert ours.shape == (len(ins), d, len(outs)) and ours.dtype == np.complex128
        reference = fock.unitary_amplitudes_reference(sigma, vacuum, d, outs, ins)
        assert np.abs(ours - reference).max() <= RTOL * np.abs(reference).max()


def test_amplitudes_strong_squeezing_per_entry():
    # r = 1.5 (13 dB) with up to 4 + 4 + 3 = 11 photons: relative error per entry.
    rng = np.random.default_rng(30)
    m = 3
    S = random_symplectic(m, rng, 1.5)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    outs, ins = simplex(4, m - 1), simplex(4, m)
    ours = fock.unitary_amplitudes(sigma, vacuum, 4, outs, ins)
    reference = fock.unitary_amplitudes_reference(sigma, vacuum, 4, outs, ins)
    big = np.abs(reference) > 1e-10 * np.abs(reference).max()
    relative = np.abs(ours - reference)[big] / np.abs(reference)[big]
    assert relative.max() < 1e-12  # seen 5e-15 here, up to 5e-14 on other draws


def test_amplitudes_edge_cases():
    rng = np.random.default_rng(5)
    S = random_symplectic(1, rng, 0.5)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    empty = np.zeros((1, 0), int)
    one_mode = fock.unitary_amplitudes(sigma, vacuum, 5, empty, [[0], [1], [2]])
    assert np.abs(one_mode - fock.unitary_amplitudes_reference(sigma, vacuum, 5, empty,
                                                               [[0], [1], [2]])).max() < 1e-15
    only_vacuum = fock.unitary_amplitudes(sigma, vacuum, 1, empty, [[0]])
    assert only_vacuum.shape == (1, 1, 1) and only_vacuum[0, 0, 0] == vacuum
    S = random_symplectic(3, rng, 0.5)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    outs = random_closed_set(2, rng)
    ours = fock.unitary_amplitudes(sigma, vacuum, 3, outs, np.zeros((1, 3), int))
    assert np.abs(ours - fock.unitary_amplitudes_reference(
        sigma, vacuum, 3, outs, np.zeros((1, 3), int))).max() < 1e-15


def test_amplitudes_at_scale_against_hafnians():
    # 100 modes, the top Schmidt-like patterns (thermal, ~0.03 photons per mode
    # and a few brighter modes), 80 random entries against the hafnian kernel.
    rng = np.random.default_rng(6)
    m, chi, d = 100, 120, 4
    mean = rng.uniform(0.01, 0.05, m)
    mean[[3, 40, 77]] = [0.6, 0.4, 0.3]
    S = random_symplectic(m, rng, 0.8)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    ins, outs = top_patterns(mean, chi), top_patterns(mean[1:], chi)
    ours = fock.unitary_amplitudes(sigma, vacuum, d, outs, ins)
    for a, j, b in zip(rng.integers(0, chi, 80), rng.integers(0, d, 80), rng.integers(0, chi, 80)):
        reps = np.concatenate([[j], outs[b], ins[a]])
        if reps.sum() % 2:
            assert ours[a, j, b] == 0
            continue
        value = vacuum * hafnian(sigma, reps=reps) * np.exp(-0.5 * gammaln(reps + 1).sum())
        assert abs(ours[a, j, b] - value) <= RTOL * max(abs(value), 1e-3 * vacuum)


@pytest.mark.parametrize("m", [1, 2])
def test_unitarity(m):
    # sum over outputs with <= 40 photons (m = 1) or first mode < 40, second
    # <= 40 (m = 2) of |<out|U|in>|^2 = 1 for inputs of <= 3 photons; the tail
    # beyond is ~ tanh(0.4)^40 ~ 1e-14.
    rng = np.random.default_rng(40 + m)
    S = random_symplectic(m, rng, 0.4)
    sigma, vacuum = fock.gaussian_unitary_kernel(S)
    outs = box(41, m - 1)
    ins = simplex(3, m)
    block = fock.unitary_amplitudes(sigma, vacuum, 41, outs, ins)
    norms = (np.abs(block) ** 2).sum(axis=(1, 2))
    assert np.abs(norms - 1).max() < 1e-11
    gram = np.einsum("ajb,cjb->ac", block.conj(), block)  # orthonormal columns
    assert np.abs(gram - np.eye(len(ins))).max() < 1e-11


def test_pattern_sets_are_checked():
    sigma, vacuum = fock.gaussian_unitary_kernel(np.eye(4))
    with pytest.raises(InputError, match=r"downward closed.*\[1, 1\] is in it.*\[0, 1\]"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0]], [[0, 0], [1, 0], [1, 1]])
    with pytest.raises(InputError, match=r"out_patterns must be downward closed.*\[2\]"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0], [2]], [[0, 0]])
    with pytest.raises(InputError, match=r"downward closed.*\[0, 0\] is not"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0]], [[1, 0]])
    with pytest.raises(InputError, match="repeat"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0]], [[0, 0], [1, 0], [1, 0]])
    with pytest.raises(InputError, match=r"shape \(n, 1\)"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0, 0]], [[0, 0]])
    with pytest.raises(InputError, match="non-negative"):
        fock.unitary_amplitudes(sigma, vacuum, 2, [[0]], [[0, 0], [-1, 0]])
    with pytest.raises(InputError, match="first_cutoff"):
        fock.unitary_amplitudes(sigma, vacuum, 0, [[0]], [[0, 0]])
    with pytest.raises(InputError, match="symmetric"):
        fock.unitary_amplitudes(np.triu(np.ones((4, 4))), 1.0, 2, [[0]], [[0, 0]])


# ---------------------------------------------------------------- displacement


def _exact_displacement(alpha, n, k):
    """<n|D(alpha)|k> from the Laguerre sum in 60-digit arithmetic."""
    with mpmath.workdps(60):
        a = mpmath.mpc(alpha.real, alpha.imag)
        x = abs(a) ** 2
        low, high = min(n, k), abs(n - k)
        laguerre = mpmath.fsum((-1) ** i * mpmath.binomial(low + high, low - i) * x ** i
                               / mpmath.factorial(i) for i in range(low + 1))
        factor = a ** high if n >= k else (-mpmath.conj(a)) ** high
        return complex(mpmath.sqrt(mpmath.factorial(low) / mpmath.factorial(low + high))
                       * factor * mpmath.exp(-x / 2) * laguerre)


@pytest.mark.parametrize("alpha", [6 * np.exp(2.1j), 8j, 3 - 1j, 0.01j])
def test_displacement_exact_and_stable(alpha):
    rows, cols = 40, 12
    ours = fock.displacement_matrix(alpha, rows, cols)
    exact = np.array([[_exact_displacement(alpha, n, k) for k in range(cols)]
                      for n in range(rows)])
    assert np.abs(ours - exact).max() < 1e-14  # seen 4e-15; thewalrus's recurrence: 0.9
    big = np.abs(exact) > 1e-12
    assert (np.abs(ours - exact)[big] / np.abs(exact)[big]).max() < 1e-10  # seen 5e-12


def test_displacement_matches_thewalrus_at_small_alpha():
    alpha = 1.3 * np.exp(0.7j)
    theirs = displacement(abs(alpha), np.angle(alpha), 12)
    assert np.abs(fock.displacement_matrix(alpha, 12, 12) - theirs).max() < 1e-13


def test_displacement_block_of_expm_at_large_cutoff():
    alpha, cutoff = 0.8 - 1.1j, 120
    lowering = np.diag(np.sqrt(np.arange(1, cutoff)), 1)
    generator = alpha * lowering.T - np.conj(alpha) * lowering
    block = scipy.linalg.expm(generator)[:10, :6]
    assert np.abs(fock.displacement_matrix(alpha, 10, 6) - block).max() < 1e-12


def test_displacement_columns_are_normalised_and_vacuum_is_identity():
    alpha = np.array([0.0, 0.5, 2 + 1j, -4j])
    norms = (np.abs(fock.displacement_matrix(alpha, 80, 5)) ** 2).sum(axis=-2)
    assert np.abs(norms - 1).max() < 1e-13
    partial = [(np.abs(fock.displacement_matrix(alpha, rows, 5)) ** 2).sum(axis=-2)
               for rows in (5, 10, 20, 40)]
    assert np.all(np.diff(partial, axis=0) >= 0) and np.all(np.array(partial) <= 1 + 1e-13)
    assert partial[0][3].max() < 0.2  # |alpha|^2 = 16: little of the mass is below 5
    assert np.array_equal(fock.displacement_matrix(0, 7, 4), np.eye(7, 4))


def test_displacement_shapes_and_vectorisation():
    rng = np.random.default_rng(7)
    alpha = rng.normal(size=(3, 5)) + 1j * rng.normal(size=(3, 5))
    batch = fock.displacement_matrix(alpha, 10, 4)
    assert batch.shape == (3, 5, 10, 4) and batch.flags.c_contiguous
    assert np.abs(batch[2, 1] - fock.displacement_matrix(alpha[2, 1], 10, 4)).max() < 1e-15
    assert fock.displacement_matrix(0.3, 1, 1).shape == (1, 1)
    assert fock.displacement_matrix(np.zeros((2, 0)), 3, 7).shape == (2, 0, 3, 7)
    wide = fock.displacement_matrix(alpha[0, 0], 3, 9)
    assert np.abs(wide - fock.displacement_matrix(alpha[0, 0], 9, 9)[:3]).max() == 0
    with pytest.raises(InputError, match="rows"):
        fock.displacement_matrix(0.1, 0, 3)
    with pytest.raises(InputError, match="finite"):
        fock.displacement_matrix([np.nan], 3, 3)
