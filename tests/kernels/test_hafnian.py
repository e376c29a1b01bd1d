"""Hafnian: closed forms, brute force, thewalrus, properties, thread invariance.

Oracles, strongest first: closed forms ((2n-1)!!, n!, rank one, direct sums),
the brute-force sum over perfect matchings in ``jiuzhang_emu.kernels.reference``,
then thewalrus.
"""
import math

import numpy as np
import pytest
import thewalrus

import jiuzhang_emu as jz
from jiuzhang_emu.kernels import reference as ref


def double_factorial(k):
    return math.prod(range(k, 0, -2)) if k > 0 else 1


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", range(0, 11))
def test_all_ones_is_double_factorial(n):
    value = jz.hafnian(np.ones((2 * n, 2 * n)))
    assert isinstance(value, float)
    assert value == pytest.approx(double_factorial(2 * n - 1), rel=1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 10])
@pytest.mark.parametrize("complex_", [False, True])
def test_rank_one(n, complex_):
    rng = np.random.default_rng(100 + n)
    x = rng.uniform(0.5, 1.5, size=2 * n) * rng.choice([-1, 1], size=2 * n)
    if complex_:
        x = x * np.exp(1j * rng.uniform(0, 2 * np.pi, size=2 * n))
    want = double_factorial(2 * n - 1) * np.prod(x)
    assert jz.hafnian(np.outer(x, x)) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("n", range(1, 11))
def test_bipartite_all_ones_is_factorial(n):
    J = np.ones((n, n))
    Z = np.zeros((n, n))
    assert jz.hafnian(np.block([[Z, J], [J, Z]])) == pytest.approx(math.factorial(n), rel=1e-13)


@pytest.mark.parametrize("n", [1, 3, 5, 7, 9, 15])
def test_odd_size_is_zero(n):
    rng = np.random.default_rng(n)
    B = np.abs(rng.normal(size=(n, n)))
    A = np.ones((n, n)) + B + B.T  # positive entries: no cancellation can hide a bug
    assert jz.hafnian(A) == 0.0
    assert jz.hafnian(A.astype(complex)) == 0j


def test_empty_is_one():
    assert jz.hafnian(np.zeros((0, 0))) == 1.0
    assert jz.hafnian(np.zeros((0, 0), dtype=complex)) == 1.0


def test_regression_ill_conditioned_8x8():
    # thewalrus 0.22 returns 0 here; the 15 matchings through edge (0, 1)
    # weigh 1e6 each and the other 90 weigh 1.
    A = np.ones((8, 8))
    A[0, 1] = A[1, 0] = 1e6
    assert jz.hafnian(A) == 15_000_090.0
    assert jz.hafnian(A, precision="extended") == 15_000_090.0
    assert ref.hafnian(A) == 15_000_090.0


def test_two_by_two_is_off_diagonal_entry():
    A = np.array([[7.0, 2.5 - 1j], [2.5 - 1j, -3.0]])
    assert jz.hafnian(A) == 2.5 - 1j


def test_return_types():
    assert type(jz.hafnian(np.eye(4))) is float
    assert type(jz.hafnian(np.eye(4) + 0j)) is complex
    assert type(jz.hafnian(np.eye(3))) is float
    # integer input is computed as float64
    assert jz.hafnian(np.ones((4, 4), dtype=np.int64)) == 3.0


# ---------------------------------------------------------------- brute force


@pytest.mark.parametrize("n", range(0, 13))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_brute_force(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(1000 + n)
    A = random_symmetric(n, rng, complex_)
    assert_close(jz.hafnian(A), ref.hafnian(A), 1e-11, scale=ref.hafnian(np.abs(A)) * 1e-3)


@pytest.mark.parametrize("seed", range(40))
def test_reps_match_brute_force(seed, random_symmetric, assert_close):
    """Repetition counts 0..4 against the hafnian of the expanded matrix."""
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(1, 6))
    reps = rng.integers(0, 5, size=dim)
    while reps.sum() > 12:
        reps[int(np.argmax(reps))] -= 1
    A = random_symmetric(dim, rng, complex_=bool(seed % 2))
    want = ref.hafnian(ref.expand_reps(A, reps))
    got = jz.hafnian(A, reps=reps)
    assert_close(got, want, 1e-11, what=f"reps={reps}")  # exactly 0 for an odd total


@pytest.mark.parametrize(
    "reps",
    [[0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 0, 0], [4, 0, 0, 0], [3, 1, 0, 0], [0, 2, 2, 0],
     [1, 2, 3, 0], [4, 4, 0, 0], [2, 2, 2, 2], [0, 3, 3, 4], [4, 3, 2, 1], [1, 0, 1, 0]],
)
def test_reps_fixed_patterns(reps, random_symmetric, assert_close):
    rng = np.random.default_rng(sum(r * 5**i for i, r in enumerate(reps)))
    A = random_symmetric(4, rng, complex_=True)
    want = ref.hafnian(ref.expand_reps(A, reps))
    assert_close(jz.hafnian(A, reps=reps), want, 1e-11, what=f"reps={reps}")


def test_reps_one_is_default(random_symmetric):
    A = random_symmetric(10, np.random.default_rng(3), complex_=True)
    assert jz.hafnian(A, reps=np.ones(10, dtype=int)) == jz.hafnian(A)
    assert jz.hafnian(A, reps=[1.0] * 10) == jz.hafnian(A)


def test_zero_reps_drop_the_row(random_symmetric):
    A = random_symmetric(7, np.random.default_rng(4))
    reps = [1, 0, 1, 1, 0, 1, 0]
    keep = [i for i, r in enumerate(reps) if r]
    assert jz.hafnian(A, reps=reps) == pytest.approx(jz.hafnian(A[np.ix_(keep, keep)]), rel=1e-13)


def test_single_row_repeated_uses_diagonal():
    # one row repeated 2k times: all (2k-1)!! matchings use the edge A[0, 0]
    A = np.array([[1.7, 5.0], [5.0, 2.0]])
    for k in range(5):
        assert jz.hafnian(A, reps=[2 * k, 0]) == pytest.approx(
            double_factorial(2 * k - 1) * 1.7**k, rel=1e-13
        )


# ---------------------------------------------------------------- thewalrus


@pytest.mark.parametrize("n", range(2, 21, 2))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_thewalrus(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(2000 + n)
    for _ in range(3):
        A = random_symmetric(n, rng, complex_)
        info = jz.hafnian(A, return_info=True)
        want = thewalrus.hafnian(A)
        # rounding errors grow with the cancellation the kernel reports
        rtol = 1e-10 * max(1.0, info.condition / 1e4)
        assert_close(info.value, want, rtol, what=f"n={n}")


@pytest.mark.parametrize(
    "reps",
    [[1, 2, 0, 1, 1, 1, 2, 0], [2, 2, 2, 2, 2, 2, 2, 2], [4, 0, 3, 1, 0, 4, 2, 2], [3, 3, 3, 3, 0, 0, 0, 0],
     [0, 0, 0, 0, 0, 0, 4, 4], [1, 1, 1, 1, 1, 1, 1, 1], [4, 4, 4, 4, 2, 0, 0, 0]],
)
@pytest.mark.parametrize("complex_", [False, True])
def test_reps_match_thewalrus_hafnian_repeated(reps, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(sum(reps) + 7 * complex_)
    A = random_symmetric(8, rng, complex_)
    want = thewalrus.hafnian_repeated(A, reps)
    assert_close(jz.hafnian(A, reps=reps), want, 1e-10, what=f"reps={reps}")


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("n", [4, 8, 12, 16])
@pytest.mark.parametrize("complex_", [False, True])
def test_permutation_invariance(n, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(3000 + n)
    A = random_symmetric(n, rng, complex_)
    P = np.eye(n)[rng.permutation(n)]
    assert_close(jz.hafnian(P @ A @ P.T), jz.hafnian(A), 1e-11)


@pytest.mark.parametrize("n", [2, 6, 10, 14])
@pytest.mark.parametrize("c", [2.0, -0.5, 1.5j, 0.3 - 0.8j])
def test_scaling(n, c, random_symmetric, assert_close):
    rng = np.random.default_rng(4000 + n)
    A = random_symmetric(n, rng, complex_=True)
    assert_close(jz.hafnian(c * A), c ** (n // 2) * jz.hafnian(A), 1e-12)


@pytest.mark.parametrize("na,nb", [(2, 2), (4, 6), (8, 4), (6, 10), (3, 5)])
@pytest.mark.parametrize("complex_", [False, True])
def test_direct_sum(na, nb, complex_, random_symmetric, assert_close):
    rng = np.random.default_rng(5000 + 10 * na + nb)
    A = random_symmetric(na, rng, complex_)
    B = random_symmetric(nb, rng, complex_)
    AB = np.block([[A, np.zeros((na, nb))], [np.zeros((nb, na)), B]])
    # two odd blocks have no perfect matching: then the product is 0
    assert_close(jz.hafnian(AB), jz.hafnian(A) * jz.hafnian(B), 1e-12,
                 scale=1e-14 * ref.hafnian(np.abs(AB)))


@pytest.mark.parametrize("n", [4, 10])
def test_diagonal_ignored_without_reps(n, random_symmetric):
    rng = np.random.default_rng(6000 + n)
    A = random_symmetric(n, rng, complex_=True)
    B = A.copy()
    np.fill_diagonal(B, rng.normal(size=n) * 100)
    assert jz.hafnian(B) == jz.hafnian(A)


def test_linear_in_each_edge(random_symmetric, assert_close):
    """haf is linear in A[0, 1]: the slope is the hafnian of A without rows 0, 1."""
    rng = np.random.default_rng(6100)
    A = random_symmetric(10, rng)
    B = A.copy()
    B[0, 1] = B[1, 0] = A[0, 1] + 1.0
    assert_close(jz.hafnian(B) - jz.hafnian(A), jz.hafnian(A[2:, 2:]), 1e-10,
                 scale=abs(jz.hafnian(A)))


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("precision", ["double", "extended"])
@pytest.mark.parametrize("complex_", [False, True])
def test_thread_count_invariance(precision, complex_, random_symmetric):
    rng = np.random.default_rng(7000)
    A = random_symmetric(26, rng, complex_)
    values = [jz.hafnian(A, n_threads=k, precision=precision) for k in (1, 2, -1, None)]
    assert values[0] != 0
    assert all(v == values[0] for v in values), values


@pytest.mark.parametrize("precision", ["double", "extended"])
def test_thread_count_invariance_with_reps(precision, random_symmetric):
    rng = np.random.default_rng(7100)
    A = random_symmetric(10, rng, complex_=True)
    reps = [4, 3, 1, 2, 3, 1, 4, 2, 2, 2]
    values = [jz.hafnian(A, reps=reps, n_threads=k, precision=precision) for k in (1, 2)]
    assert values[0] != 0
    assert values[0] == values[1]
