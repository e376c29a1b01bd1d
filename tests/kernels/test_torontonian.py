"""Torontonian and loop torontonian.

Conventions (thewalrus ``tor``/``ltor``): O = I - Q^-1 in the complex basis,
hbar = 2, xxpp covariances; P(exactly the modes S click) = Tor(O_S) / sqrt(det Q).
Oracles: closed forms (zero O, one mode, two-mode and single-mode squeezed
vacua, displaced thermal states), normalisation over all 2^M click patterns,
marginals, the brute-force subset sum of ``reference``, thewalrus.
"""
import itertools

import numpy as np
import pytest
import thewalrus
from thewalrus.quantum import Qmat

import jiuzhang_emu as jz
from jiuzhang_emu.kernels import reference as ref


def restrict(O, S):
    """O restricted to the modes S (rows/columns i and i + n)."""
    n = O.shape[0] // 2
    keep = list(S) + [i + n for i in S]
    return O[np.ix_(keep, keep)]


def random_hpd_o(n_modes, rng, complex_=True):
    """An O matrix without physical block structure: I - M, M Hermitian PD."""
    d = 2 * n_modes
    X = rng.normal(size=(d, d)) + (1j * rng.normal(size=(d, d)) if complex_ else 0)
    M = X @ X.conj().T / d + 0.3 * np.eye(d)
    M = (M + M.conj().T) / 2
    return np.eye(d) - M


def tmsv_covariance(r):
    c, s = np.cosh(2 * r), np.sinh(2 * r)
    return np.array([[c, s, 0, 0], [s, c, 0, 0], [0, 0, c, -s], [0, 0, -s, c]])


def product_covariance(variances):
    """Independent single modes with (var_x, var_p) each, xxpp order."""
    vx, vp = zip(*variances)
    return np.diag(np.concatenate([vx, vp]))


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", range(0, 7))
def test_zero_matrix(n):
    # sum_Z (-1)^(n-|Z|) = 0 for n >= 1; the empty torontonian is 1
    assert jz.torontonian(np.zeros((2 * n, 2 * n))) == (1.0 if n == 0 else 0.0)
    assert jz.loop_torontonian(np.zeros((2 * n, 2 * n)), np.zeros(2 * n)) == (
        1.0 if n == 0 else 0.0
    )


@pytest.mark.parametrize("seed", range(6))
def test_one_mode(seed, thewalrus_covariance, o_matrix):
    O = o_matrix(thewalrus_covariance(1, seed))[0]
    want = 1 / np.sqrt(np.linalg.det(np.eye(2) - O).real) - 1
    assert jz.torontonian(O) == pytest.approx(want, rel=1e-13)
    O = random_hpd_o(1, np.random.default_rng(seed))
    want = 1 / np.sqrt(np.linalg.det(np.eye(2) - O).real) - 1
    assert jz.torontonian(O) == pytest.approx(want, rel=1e-13)


@pytest.mark.parametrize("n", [1, 3, 6, 10])
def test_zero_gamma_is_torontonian(n, random_o_matrix):
    O = random_o_matrix(n, seed=n)
    assert jz.loop_torontonian(O, np.zeros(2 * n)) == jz.torontonian(O)
    assert jz.loop_torontonian(O, np.zeros(2 * n, dtype=complex)) == jz.torontonian(O)
    O = random_hpd_o(n, np.random.default_rng(n))
    assert jz.loop_torontonian(O, np.zeros(2 * n)) == pytest.approx(jz.torontonian(O), rel=1e-13)


# r = asinh(1) gives mean photon number 1, where swapped parameters pass unnoticed
@pytest.mark.parametrize("r", [0.35, 0.7, 1.3])
def test_two_mode_squeezed_vacuum(r, o_matrix, threshold_probabilities):
    """Photons come in pairs: both or neither click.  P(neither) = 1/cosh^2 r."""
    cov = tmsv_covariance(r)
    probs = threshold_probabilities(cov)
    assert probs[(0, 0)] == pytest.approx(1 / np.cosh(r) ** 2, rel=1e-13)
    assert probs[(1, 0)] == pytest.approx(0, abs=1e-14)
    assert probs[(0, 1)] == pytest.approx(0, abs=1e-14)
    assert probs[(1, 1)] == pytest.approx(np.tanh(r) ** 2, rel=1e-12)
    mean_clicks = sum(sum(k) * p for k, p in probs.items())
    assert mean_clicks == pytest.approx(2 * np.tanh(r) ** 2, rel=1e-12)
    # the torontonian itself: Tor(O) = sqrt(det Q) P(11) = cosh^2 r tanh^2 r = sinh^2 r
    O = o_matrix(cov)[0]
    assert jz.torontonian(O) == pytest.approx(np.sinh(r) ** 2, rel=1e-12)


def test_independent_squeezed_and_thermal_modes(threshold_probabilities):
    """Product states: every pattern probability factorises.  Single-mode
    squeezed vacuum: P(dark) = 1/cosh r; thermal: P(dark) = 1/(1 + nbar)."""
    rs = [0.3, 1.1, 0.6]
    nbars = [0.25, 2.0]
    variances = [(np.exp(-2 * r), np.exp(2 * r)) for r in rs]
    variances += [(2 * nb + 1, 2 * nb + 1) for nb in nbars]
    p_dark = [1 / np.cosh(r) for r in rs] + [1 / (1 + nb) for nb in nbars]
    probs = threshold_probabilities(product_covariance(variances))
    for pattern, p in probs.items():
        want = np.prod([1 - q if c else q for c, q in zip(pattern, p_dark)])
        assert p == pytest.approx(want, rel=1e-12), pattern


def test_independent_displaced_thermal_modes(threshold_probabilities):
    """Displaced thermal states: P(dark) = exp(-|alpha|^2 / (1 + nbar)) / (1 + nbar)."""
    alphas = [0.4 + 0.3j, -1.2j, 0.8, 0.1 - 0.5j]
    nbars = [0.0, 0.5, 1.5, 0.2]
    variances = [(2 * nb + 1, 2 * nb + 1) for nb in nbars]
    means = np.concatenate([2 * np.real(alphas), 2 * np.imag(alphas)])
    p_dark = [np.exp(-abs(a) ** 2 / (1 + nb)) / (1 + nb) for a, nb in zip(alphas, nbars)]
    probs = threshold_probabilities(product_covariance(variances), means)
    for pattern, p in probs.items():
        want = np.prod([1 - q if c else q for c, q in zip(pattern, p_dark)])
        assert p == pytest.approx(want, rel=1e-12), pattern


# ---------------------------------------------------------------- normalisation


def _check_distribution(probs, atol=1e-10):
    values = np.array(list(probs.values()))
    assert np.all(values > -atol), values.min()
    assert np.all(values < 1 + atol), values.max()
    assert values.sum() == pytest.approx(1, abs=atol)


@pytest.mark.parametrize("n_modes", [1, 2, 4, 5, 6])
@pytest.mark.parametrize("seed", [0, 1])
def test_probabilities_sum_to_one_random_mixed(n_modes, seed, thewalrus_covariance,
                                                threshold_probabilities):
    cov = thewalrus_covariance(n_modes, seed=10 * n_modes + seed)
    _check_distribution(threshold_probabilities(cov))


@pytest.mark.parametrize("n_modes", [4, 5, 6])
@pytest.mark.parametrize("eta", [0.3, 0.9])
def test_probabilities_sum_to_one_lossy(n_modes, eta, haar_unitary, lossy_covariance,
                                         threshold_probabilities):
    rng = np.random.default_rng(n_modes)
    cov = lossy_covariance(rng.uniform(0.3, 1.5, n_modes), haar_unitary(n_modes, rng), eta)
    _check_distribution(threshold_probabilities(cov))


@pytest.mark.parametrize("n_modes", [1, 2, 4, 5, 6])
def test_probabilities_sum_to_one_displaced(n_modes, thewalrus_covariance,
                                             threshold_probabilities):
    rng = np.random.default_rng(n_modes)
    cov = thewalrus_covariance(n_modes, seed=100 + n_modes)
    means = rng.normal(scale=0.7, size=2 * n_modes)
    probs = threshold_probabilities(cov, means)
    _check_distribution(probs)
    # the displacement must matter: compare with the undisplaced state
    undisplaced = threshold_probabilities(cov)
    assert max(abs(probs[k] - undisplaced[k]) for k in probs) > 1e-3


@pytest.mark.parametrize("n_modes", [3, 5])
@pytest.mark.parametrize("displaced", [False, True])
def test_marginals(n_modes, displaced, thewalrus_covariance, threshold_probabilities):
    """Summing over the last detector gives the probabilities of the state
    with that mode traced out."""
    cov = thewalrus_covariance(n_modes, seed=200 + n_modes)
    means = np.random.default_rng(n_modes).normal(scale=0.5, size=2 * n_modes) if displaced else None
    full = threshold_probabilities(cov, means)
    keep = list(range(n_modes - 1)) + list(range(n_modes, 2 * n_modes - 1))
    reduced = threshold_probabilities(
        cov[np.ix_(keep, keep)], None if means is None else means[keep]
    )
    for pattern, p in reduced.items():
        assert full[pattern + (0,)] + full[pattern + (1,)] == pytest.approx(p, rel=1e-10, abs=1e-13)


# ---------------------------------------------------------------- brute force


@pytest.mark.parametrize("n", range(1, 6))
@pytest.mark.parametrize("seed", [0, 1])
def test_physical_matches_brute_force(n, seed, random_o_matrix, assert_close):
    O = random_o_matrix(n, seed=1000 + 10 * n + seed)
    terms = ref.torontonian_terms(O)
    assert_close(jz.torontonian(O), ref.torontonian(O), 1e-12, scale=np.abs(terms).sum() * 1e-2)


@pytest.mark.parametrize("n", range(1, 6))
@pytest.mark.parametrize("complex_", [False, True])
def test_general_hermitian_matches_brute_force(n, complex_, assert_close):
    """O without the physical block structure (the kernel's general path)."""
    rng = np.random.default_rng(1100 + n)
    O = random_hpd_o(n, rng, complex_)
    terms = ref.torontonian_terms(O)
    assert_close(jz.torontonian(O), ref.torontonian(O), 1e-12, scale=np.abs(terms).sum() * 1e-2)
    gamma = rng.normal(scale=0.5, size=2 * n)
    if complex_:
        gamma = gamma + 1j * rng.normal(scale=0.5, size=2 * n)
    terms = ref.torontonian_terms(O, gamma)
    assert_close(jz.loop_torontonian(O, gamma), ref.loop_torontonian(O, gamma), 1e-12,
                 scale=np.abs(terms).sum() * 1e-2)


@pytest.mark.parametrize("n", range(1, 6))
@pytest.mark.parametrize("structured", [True, False])
def test_loop_matches_brute_force(n, structured, thewalrus_covariance, o_matrix, assert_close):
    """Displaced physical states: structured gamma = (g, conj g) (real-basis
    path) and an unstructured complex gamma (general path)."""
    rng = np.random.default_rng(1200 + n)
    cov = thewalrus_covariance(n, seed=1200 + n)
    O, gamma, _ = o_matrix(cov, rng.normal(scale=0.6, size=2 * n))
    if not structured:
        gamma = gamma + 0.2 * (rng.normal(size=2 * n) + 1j * rng.normal(size=2 * n))
    terms = ref.torontonian_terms(O, gamma)
    assert_close(jz.loop_torontonian(O, gamma), ref.loop_torontonian(O, gamma), 1e-12,
                 scale=np.abs(terms).sum() * 1e-2)


# ---------------------------------------------------------------- thewalrus


@pytest.mark.parametrize("n", range(1, 11))
def test_matches_thewalrus_tor(n, random_o_matrix, haar_unitary, lossy_covariance, o_matrix,
                               assert_close):
    rng = np.random.default_rng(2000 + n)
    lossy = lossy_covariance(rng.uniform(0.2, 1.6, n), haar_unitary(n, rng), 0.6)
    for O in (random_o_matrix(n, seed=2000 + n), o_matrix(lossy)[0], random_hpd_o(n, rng)):
        info = jz.torontonian(O, return_info=True)
        rtol = 1e-10 * max(1.0, info.condition / 1e4)
        assert_close(info.value, thewalrus.tor(O).real, rtol, what=f"n={n}")


@pytest.mark.parametrize("n", range(1, 10))
@pytest.mark.parametrize("structured", [True, False])
def test_matches_thewalrus_ltor(n, structured, thewalrus_covariance, o_matrix, assert_close):
    rng = np.random.default_rng(2100 + n)
    O, gamma, _ = o_matrix(thewalrus_covariance(n, seed=2100 + n),
                           rng.normal(scale=0.4, size=2 * n))
    if not structured:
        gamma = 0.3 * (rng.normal(size=2 * n) + 1j * rng.normal(size=2 * n))
    info = jz.loop_torontonian(O, gamma, return_info=True)
    rtol = 1e-10 * max(1.0, info.condition / 1e4)
    assert_close(info.value, thewalrus.ltor(O, gamma).real, rtol, what=f"n={n}")


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("n", [3, 6, 9])
def test_mode_permutation_invariance(n, thewalrus_covariance, o_matrix, assert_close):
    rng = np.random.default_rng(3000 + n)
    O, gamma, _ = o_matrix(thewalrus_covariance(n, seed=3000 + n), rng.normal(scale=0.5, size=2 * n))
    perm = rng.permutation(n)
    idx = np.concatenate([perm, perm + n])
    Op, gp = O[np.ix_(idx, idx)], gamma[idx]
    assert_close(jz.torontonian(Op), jz.torontonian(O), 1e-12)
    # exp(gamma^T M^-1 conj(gamma) / 2) amplifies rounding: looser tolerance
    assert_close(jz.loop_torontonian(Op, gp), jz.loop_torontonian(O, gamma), 1e-10)
    gu = 0.1 * (rng.normal(size=2 * n) + 1j * rng.normal(size=2 * n))
    assert_close(jz.loop_torontonian(Op, gu[idx]), jz.loop_torontonian(O, gu), 1e-10)
    # permuting one block only breaks the pairing of a_i with a_i^dag
    half = np.concatenate([perm, np.arange(n) + n])
    assert not np.array_equal(perm, np.arange(n))
    Obad = O[np.ix_(half, half)]  # still Hermitian with I - O positive definite
    assert abs(jz.torontonian(Obad) - jz.torontonian(O)) > 1e-6 * abs(jz.torontonian(O))


@pytest.mark.parametrize("na,nb", [(1, 1), (2, 3), (4, 2)])
def test_direct_sum_of_states(na, nb, thewalrus_covariance):
    """Independent subsystems: Tor of the joint O is the product of the
    torontonians (each factor sums over its own subsets)."""
    def o_of(cov):
        return np.eye(len(cov)) - np.linalg.inv(Qmat(cov))

    ca = thewalrus_covariance(na, seed=na)
    cb = thewalrus_covariance(nb, seed=50 + nb)
    idx_a = list(range(na)) + list(range(na + nb, 2 * na + nb))
    idx_b = list(range(na, na + nb)) + list(range(2 * na + nb, 2 * (na + nb)))
    cov = np.zeros((2 * (na + nb),) * 2)
    cov[np.ix_(idx_a, idx_a)] = ca
    cov[np.ix_(idx_b, idx_b)] = cb
    got = jz.torontonian(o_of(cov))
    assert got == pytest.approx(jz.torontonian(o_of(ca)) * jz.torontonian(o_of(cb)), rel=1e-10)


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("n", [12, 13])
@pytest.mark.parametrize("precision", ["double", "extended", "double-double"])
@pytest.mark.parametrize("kind", ["physical", "general", "real"])
def test_thread_count_invariance(n, precision, kind, random_o_matrix):
    """Bitwise equal results for 1 and 2 threads.  The double-double tier
    exists for O (and gamma) with physical block structure only."""
    rng = np.random.default_rng(4000 + n)
    if kind == "physical":
        O = random_o_matrix(n, seed=4000 + n)
        g = 0.2 * (rng.normal(size=n) + 1j * rng.normal(size=n))
        gammas = [(np.concatenate([g, g.conj()]), True),
                  (0.2 * (rng.normal(size=2 * n) + 1j * rng.normal(size=2 * n)), False)]
    else:
        O = random_hpd_o(n, rng, complex_=kind == "general")
        gammas = [(0.2 * rng.normal(size=2 * n), False)]
    if precision == "double-double" and kind != "physical":
        with pytest.raises(jz.InputError, match="precision"):
            jz.torontonian(O, precision=precision)
    else:
        values = [jz.torontonian(O, n_threads=k, precision=precision) for k in (1, 2, -1)]
        assert values[0] != 0
        assert all(v == values[0] for v in values), values
    for gamma, structured in gammas:
        if precision == "double-double" and not structured:
            with pytest.raises(jz.InputError, match="precision"):
                jz.loop_torontonian(O, gamma, precision=precision)
            continue
        values = [jz.loop_torontonian(O, gamma, n_threads=k, precision=precision) for k in (1, 2)]
        assert values[0] != 0
        assert values[0] == values[1]


def test_subset_probabilities_agree_with_brute_force_patterns(thewalrus_covariance, o_matrix):
    """Every pattern probability of a 4-mode state from the kernel equals the
    brute-force reference on the same restricted O."""
    cov = thewalrus_covariance(4, seed=5)
    O, _, vacuum = o_matrix(cov)
    for k in range(5):
        for S in itertools.combinations(range(4), k):
            OS = restrict(O, S)
            assert jz.torontonian(OS) == pytest.approx(ref.torontonian(OS), rel=1e-10, abs=1e-14)
