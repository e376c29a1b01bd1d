"""Loop hafnian: telephone numbers, reduction to the hafnian, brute force,
thewalrus, properties, thread invariance."""
import mpmath
import numpy as np
import pytest
import thewalrus

import jiuzhang_emu as jz
from jiuzhang_emu.kernels import reference as ref

# number of involutions of n elements (OEIS A000085)
TELEPHONE = [1, 1, 2, 4, 10, 26, 76, 232, 764, 2620, 9496]


@pytest.mark.parametrize("n", range(len(TELEPHONE)))
def test_all_ones_is_telephone_number(n):
    value = jz.loop_hafnian(np.ones((n, n)))
    assert isinstance(value, float)
    assert value == pytest.approx(TELEPHONE[n], rel=1e-13)


@pytest.mark.parametrize("n", [12, 15])
def test_telephone_recurrence(n):
    # T(n) = T(n-1) + (n-1) T(n-2)
    t = TELEPHONE[:]
    while len(t) <= n:
        k = len(t)
        t.append(t[k - 1] + (k - 1) * t[k - 2])
    assert jz.loop_hafnian(np.ones((n, n))) == pytest.approx(t[n], rel=1e-12)


@pytest.mark.parametrize("n", range(0, 15))
@pytest.mark.parametrize("complex_", [False, True])
def test_zero_diagonal_is_hafnian(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(100 + n)
    A = random_symmetric(n, rng, complex_)
    np.fill_diagonal(A, 0)
    want = jz.hafnian(A)  # exactly 0 for odd n
    # magnitude of the terms, for the rounding errors of odd n (value 0)
    scale = 1e-2 * ref.loop_hafnian(np.abs(A), np.ones(n))
    assert_close(jz.loop_hafnian(A), want, 1e-12, scale=scale)
    # an explicit zero diag overrides a nonzero diagonal of A
    B = A.copy()
    np.fill_diagonal(B, rng.normal(size=n))
    assert_close(jz.loop_hafnian(B, diag=np.zeros(n)), want, 1e-12, scale=scale)


def test_diagonal_matrix_is_product_of_loops():
    d = np.array([1.5, -2.0, 0.5, 3.0, 1j])
    assert jz.loop_hafnian(np.diag(d)) == pytest.approx(np.prod(d), rel=1e-14)


def test_empty_and_single():
    assert jz.loop_hafnian(np.zeros((0, 0))) == 1.0
    assert jz.loop_hafnian(np.array([[2.5]])) == 2.5
    assert jz.loop_hafnian(np.array([[2.5]]), diag=[-4.0]) == -4.0
    assert jz.loop_hafnian(np.array([[2.5 + 1j]])) == 2.5 + 1j


def test_complex_diag_with_real_matrix(random_symmetric, assert_close):
    rng = np.random.default_rng(7)
    A = random_symmetric(6, rng)
    d = rng.normal(size=6) + 1j * rng.normal(size=6)
    got = jz.loop_hafnian(A, diag=d)
    assert isinstance(got, complex)
    assert_close(got, ref.loop_hafnian(A, d), 1e-12)


# ---------------------------------------------------------------- brute force


@pytest.mark.parametrize("n", range(0, 12))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_brute_force(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(1000 + n)
    A = random_symmetric(n, rng, complex_)
    assert_close(jz.loop_hafnian(A), ref.loop_hafnian(A), 1e-11,
                 scale=1e-3 * ref.loop_hafnian(np.abs(A)))
    d = rng.normal(size=n) + (1j * rng.normal(size=n) if complex_ else 0)
    assert_close(jz.loop_hafnian(A, diag=d), ref.loop_hafnian(A, d), 1e-11,
                 scale=1e-3 * ref.loop_hafnian(np.abs(A), np.abs(d)))


@pytest.mark.parametrize("seed", range(40))
def test_reps_match_brute_force(seed, random_symmetric, assert_close):
    """Repetition counts 0..4 (odd totals allowed) against the expanded matrix."""
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 6))
    reps = rng.integers(0, 5, size=dim)
    while reps.sum() > 11:
        reps[int(np.argmax(reps))] -= 1
    A = random_symmetric(dim, rng, complex_=bool(seed % 2))
    d = rng.normal(size=dim)
    E, Ed = ref.expand_reps(A, reps, np.diag(A))
    assert_close(jz.loop_hafnian(A, reps=reps), ref.loop_hafnian(E, Ed), 1e-11,
                 scale=1e-3 * ref.loop_hafnian(np.abs(E), np.abs(Ed)), what=f"reps={reps}")
    E, Ed = ref.expand_reps(A, reps, d)
    assert_close(jz.loop_hafnian(A, d, reps=reps), ref.loop_hafnian(E, Ed), 1e-11,
                 scale=1e-3 * ref.loop_hafnian(np.abs(E), np.abs(Ed)), what=f"reps={reps}")


@pytest.mark.parametrize(
    "reps", [[0, 0, 0], [1, 0, 0], [3, 0, 0], [0, 4, 0], [1, 1, 1], [2, 1, 0], [3, 3, 3], [4, 0, 1],
             [4, 4, 3], [0, 2, 1]],
)
def test_reps_fixed_patterns(reps, random_symmetric, assert_close):
    rng = np.random.default_rng(sum(r * 5**i for i, r in enumerate(reps)))
    A = random_symmetric(3, rng, complex_=True)
    E, Ed = ref.expand_reps(A, reps, np.diag(A))
    assert_close(jz.loop_hafnian(A, reps=reps), ref.loop_hafnian(E, Ed), 1e-11,
                 what=f"reps={reps}")


def test_single_row_repeated():
    # one vertex repeated m times, edge weight a between copies, loop weight d:
    # sum_k C(m, 2k) (2k-1)!! a^k d^(m-2k) = He-like polynomial
    a, d = 0.7, 1.3
    for m in range(9):
        want = ref.loop_hafnian(np.full((m, m), a), np.full(m, d))
        assert jz.loop_hafnian(np.array([[a]]), diag=[d], reps=[m]) == pytest.approx(want, rel=1e-13)


# ---------------------------------------------------------------- thewalrus


@pytest.mark.parametrize("n", range(1, 19))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_thewalrus(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(2000 + n)
    for _ in range(2):
        A = random_symmetric(n, rng, complex_)
        info = jz.loop_hafnian(A, return_info=True)
        rtol = 1e-10 * max(1.0, info.condition / 1e4)
        assert_close(info.value, thewalrus.hafnian(A, loop=True), rtol, what=f"n={n}")


@pytest.mark.parametrize(
    "reps",
    [[1, 2, 0, 1, 1, 1, 2, 0], [2, 2, 2, 2, 2, 2, 2, 2], [4, 0, 3, 1, 0, 4, 2, 2], [3, 3, 3, 0, 0, 0, 0, 0],
     [0, 0, 0, 0, 0, 0, 4, 3], [1, 1, 1, 1, 1, 1, 1, 0], [4, 4, 4, 4, 2, 1, 0, 0]],
)
@pytest.mark.parametrize("complex_", [False, True])
def test_reps_match_thewalrus_hafnian_repeated(reps, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(sum(reps) + 7 * complex_)
    A = random_symmetric(8, rng, complex_)
    mu = rng.normal(size=8) + (1j * rng.normal(size=8) if complex_ else 0)
    want = thewalrus.hafnian_repeated(A, reps, mu=mu, loop=True)
    assert_close(jz.loop_hafnian(A, mu, reps=reps), want, 1e-10, what=f"reps={reps}")


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("n", [3, 8, 11, 14])
@pytest.mark.parametrize("complex_", [False, True])
def test_permutation_invariance(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(3000 + n)
    A = random_symmetric(n, rng, complex_)
    d = rng.normal(size=n)
    perm = rng.permutation(n)
    P = np.eye(n)[perm]
    assert_close(jz.loop_hafnian(P @ A @ P.T, d[perm]), jz.loop_hafnian(A, d), 1e-11)


@pytest.mark.parametrize("n", [1, 4, 7, 12])
@pytest.mark.parametrize("c", [2.0, -0.5, 1.5j, 0.3 - 0.8j])
def test_scaling(n, c, random_symmetric, assert_close):
    """Edges times c^2 and loops times c: every matching of n vertices gains c^n."""
    rng = np.random.default_rng(4000 + n)
    A = random_symmetric(n, rng, complex_=True)
    d = rng.normal(size=n)
    assert_close(jz.loop_hafnian(c**2 * A, c * d), c**n * jz.loop_hafnian(A, d), 1e-12)


@pytest.mark.parametrize("na,nb", [(1, 1), (2, 3), (5, 4), (7, 6), (3, 9)])
@pytest.mark.parametrize("complex_", [False, True])
def test_direct_sum(na, nb, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(5000 + 10 * na + nb)
    A = random_symmetric(na, rng, complex_)
    B = random_symmetric(nb, rng, complex_)
    AB = np.block([[A, np.zeros((na, nb))], [np.zeros((nb, na)), B]])
    assert_close(jz.loop_hafnian(AB), jz.loop_hafnian(A) * jz.loop_hafnian(B), 1e-12)


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("n", [24, 25])
@pytest.mark.parametrize("precision", ["double", "extended"])
@pytest.mark.parametrize("complex_", [False, True])
def test_thread_count_invariance(n, precision, complex_, random_symmetric):
    rng = np.random.default_rng(7000 + n)
    A = random_symmetric(n, rng, complex_)
    values = [jz.loop_hafnian(A, n_threads=k, precision=precision) for k in (1, 2, -1)]
    assert values[0] != 0
    assert all(v == values[0] for v in values), values


@pytest.mark.parametrize("precision", ["double", "extended"])
def test_thread_count_invariance_with_reps(precision, random_symmetric):
    rng = np.random.default_rng(7100)
    A = random_symmetric(10, rng, complex_=True)
    reps = [4, 3, 1, 2, 3, 1, 4, 2, 2, 1]
    values = [jz.loop_hafnian(A, reps=reps, n_threads=k, precision=precision) for k in (1, 2)]
    assert values[0] != 0
    assert values[0] == values[1]


# -- loop weights linear in z: every coefficient in one pass (the sampler's L(z)) --

def _zpoly(A, loops, loops1, reps, n_z):
    from jiuzhang_emu.kernels import _kernels
    from jiuzhang_emu.kernels.hafnian import _pairing

    V, group_k = _pairing(reps, True)
    return _kernels.loop_hafnian_zpoly(np.ascontiguousarray(A), np.ascontiguousarray(loops),
                                       np.ascontiguousarray(loops1), n_z, V, group_k, 1)[0]


@pytest.mark.parametrize("reps", [[1], [1, 1], [2, 1], [1, 1, 1], [3, 1, 2], [2, 2, 1, 1],
                                  [1, 2, 1, 3, 1], [4, 1]])
def test_zpoly_coefficients_match_hafnians_with_an_extra_vertex(reps):
    """[z^m] lhaf(A; reps; l0 + z l1) = lhaf(A plus a vertex joined by l1,
    repeated m times, without loop) / m!, the definition the Python sampler
    uses; and the polynomial evaluated at a few z equals lhaf(A; l0 + z l1)."""
    from math import factorial

    rng = np.random.default_rng(sum(reps) * 31 + len(reps))
    k = len(reps)
    A = rng.normal(size=(k, k)) + 1j * rng.normal(size=(k, k))
    A = (A + A.T) / 2
    l0 = rng.normal(size=k) + 1j * rng.normal(size=k)
    l1 = rng.normal(size=k) + 1j * rng.normal(size=k)
    degree = sum(reps)
    coefficients = _zpoly(A, l0, l1, reps, degree + 1)
    for m in range(degree + 1):
        big = np.zeros((k + 1, k + 1), dtype=complex)
        big[:k, :k], big[:k, k], big[k, :k] = A, l1, l1
        expected = jz.loop_hafnian(big, np.append(l0, 0), reps=[*reps, m]) / factorial(m)
        assert coefficients[m] == pytest.approx(expected, rel=1e-11, abs=1e-11)
    for z in (0.3 - 0.2j, -1.1 + 0.7j):
        direct = jz.loop_hafnian(A, l0 + z * l1, reps=reps)
        assert np.polyval(coefficients[::-1], z) == pytest.approx(direct, rel=1e-11)
    # fewer coefficients: the same lowest ones
    np.testing.assert_allclose(_zpoly(A, l0, l1, reps, 2), coefficients[:2], rtol=1e-13)


def test_zpoly_without_z_part_is_the_loop_hafnian():
    rng = np.random.default_rng(8)
    A = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    A = (A + A.T) / 2
    l0 = rng.normal(size=5) + 0j
    reps = [2, 1, 1, 3, 1]
    coefficients = _zpoly(A, l0, np.zeros(5, dtype=complex), reps, 4)
    assert coefficients[0] == pytest.approx(jz.loop_hafnian(A, l0, reps=reps), rel=1e-12)
    np.testing.assert_array_equal(coefficients[1:], 0)


@pytest.mark.parametrize("tier", ["z", "lz", "qz"])
def test_zpoly_tiers_of_a_bright_row_within_their_estimate(tier, one_mode_polynomial_mpmath):
    """41 photons in one mode (the sampler's L(z) at a bright step, inputs of
    the issue-13 shot): the sieve cancels by ~3e10, so float64 loses the small
    coefficients (3e-6 relative error).  In every tier the error stays within
    a factor 10 of the sampler's estimate, the unit roundoff times the sum of
    the moduli of the terms (plus the final rounding to float64; measured:
    2.6 in float64, 1.4 in long double), and quad (where compiled) is exact
    to ~1e-15."""
    from jiuzhang_emu.kernels import _kernels
    from jiuzhang_emu.kernels.hafnian import _pairing

    if tier == "qz" and not _kernels.HAS_QUAD:
        pytest.skip("quad tier not compiled (JZ_HAS_QUAD = 0)")
    a, l0, l1, n = 0.4820137 + 0.0j, 0.912 - 2.735j, -0.4820137 + 0.0j, 41
    V, group_k = _pairing([n], True)
    ell, abs_sum = _kernels.loop_hafnian_zpoly(
        np.array([[a]]), np.array([l0]), np.array([l1]), n + 1, V, group_k, 1, tier=tier)
    with mpmath.workdps(60):
        exact = np.array([complex(c) for c in one_mode_polynomial_mpmath(a, l0, l1, n)])
    # the long double of the platform: x87 80-bit (2**-64), or quad, or double
    roundoff = {"z": 2.0**-53, "lz": float(np.finfo(np.longdouble).eps) / 2,
                "qz": 2.0**-113}[tier]
    error = np.abs(ell - exact)
    assert (error <= 10 * (roundoff * abs_sum + 2.0**-53 * np.abs(exact))).all()
    assert (abs_sum / np.abs(exact)).max() > 1e10  # the cancellation is real
    if tier == "qz":
        np.testing.assert_allclose(ell, exact, rtol=1e-15)
