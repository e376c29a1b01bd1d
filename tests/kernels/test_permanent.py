"""Permanent: closed forms, brute force, thewalrus, properties, the bipartite
hafnian identity, thread invariance."""
import math

import numpy as np
import pytest
import thewalrus

import jiuzhang_emu as jz
from jiuzhang_emu.kernels import reference as ref


def random_matrix(n, rng, complex_=False):
    M = rng.normal(size=(n, n))
    if complex_:
        M = M + 1j * rng.normal(size=(n, n))
    return M


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("n", range(0, 13))
def test_all_ones_is_factorial(n):
    value = jz.permanent(np.ones((n, n)))
    assert isinstance(value, float)
    assert value == pytest.approx(math.factorial(n), rel=1e-13)


@pytest.mark.parametrize("n", [1, 4, 9])
def test_diagonal_and_triangular(n):
    rng = np.random.default_rng(n)
    d = rng.normal(size=n) + 1j * rng.normal(size=n)
    assert jz.permanent(np.diag(d)) == pytest.approx(np.prod(d), rel=1e-13)
    # a triangular matrix has only the identity permutation
    T = np.triu(random_matrix(n, rng, True), 1) + np.diag(d)
    assert jz.permanent(T) == pytest.approx(np.prod(d), rel=1e-12)


@pytest.mark.parametrize("n", [2, 3, 6, 10])
def test_all_ones_minus_identity_is_derangements(n):
    # perm(J - I) = number of derangements !n
    derangements = round(math.factorial(n) / math.e)
    assert jz.permanent(np.ones((n, n)) - np.eye(n)) == pytest.approx(derangements, rel=1e-12)


def test_empty_and_one_by_one():
    assert jz.permanent(np.zeros((0, 0))) == 1.0
    assert jz.permanent(np.array([[-2.5]])) == -2.5
    assert jz.permanent(np.array([[1 - 3j]])) == 1 - 3j
    assert type(jz.permanent(np.eye(3) + 0j)) is complex


def test_two_by_two():
    M = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert jz.permanent(M) == 10.0


# ---------------------------------------------------------------- brute force


@pytest.mark.parametrize("n", range(0, 8))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_brute_force(n, complex_, assert_close):
    rng = np.random.default_rng(1000 + n)
    M = random_matrix(n, rng, complex_)
    assert_close(jz.permanent(M), ref.permanent(M), 1e-12,
                 scale=1e-2 * ref.permanent(np.abs(M)))


# ---------------------------------------------------------------- thewalrus


@pytest.mark.parametrize("n", range(1, 13))
@pytest.mark.parametrize("complex_", [False, True])
def test_matches_thewalrus(n, complex_, assert_close):
    rng = np.random.default_rng(2000 + n)
    M = random_matrix(n, rng, complex_)
    info = jz.permanent(M, return_info=True)
    rtol = 1e-10 * max(1.0, info.condition / 1e4)
    assert_close(info.value, thewalrus.perm(M), rtol, what=f"n={n}")


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("n", [3, 7, 11])
@pytest.mark.parametrize("complex_", [False, True])
def test_row_and_column_permutations(n, complex_, assert_close):
    rng = np.random.default_rng(3000 + n)
    M = random_matrix(n, rng, complex_)
    want = jz.permanent(M)
    assert_close(jz.permanent(M[rng.permutation(n)]), want, 1e-11)
    assert_close(jz.permanent(M[:, rng.permutation(n)]), want, 1e-11)
    assert_close(jz.permanent(M.T), want, 1e-11)


@pytest.mark.parametrize("n", [2, 5, 10])
def test_scaling(n, assert_close):
    rng = np.random.default_rng(4000 + n)
    M = random_matrix(n, rng, True)
    c = 0.7 - 1.1j
    assert_close(jz.permanent(c * M), c**n * jz.permanent(M), 1e-12)
    # scaling rows and columns by d_i, e_j multiplies by prod d prod e
    d, e = rng.uniform(0.5, 2, n), rng.uniform(0.5, 2, n)
    assert_close(jz.permanent(d[:, None] * M * e[None, :]), np.prod(d) * np.prod(e) * jz.permanent(M),
                 1e-12)


@pytest.mark.parametrize("na,nb", [(1, 1), (3, 4), (6, 5)])
def test_direct_sum(na, nb, assert_close):
    rng = np.random.default_rng(5000 + na)
    A = random_matrix(na, rng, True)
    B = random_matrix(nb, rng, True)
    AB = np.block([[A, np.zeros((na, nb))], [np.zeros((nb, na)), B]])
    assert_close(jz.permanent(AB), jz.permanent(A) * jz.permanent(B), 1e-12)


@pytest.mark.parametrize("n", [2, 5, 8, 11])
def test_bipartite_hafnian_is_permanent(n, assert_close):
    """haf([[0, M], [M^T, 0]]) = perm(M): two independent kernels agree."""
    rng = np.random.default_rng(6000 + n)
    M = random_matrix(n, rng, True)
    Z = np.zeros((n, n))
    assert_close(jz.hafnian(np.block([[Z, M], [M.T, Z]])), jz.permanent(M), 1e-11)


def test_linear_in_each_row(assert_close):
    rng = np.random.default_rng(7)
    M = random_matrix(6, rng, True)
    v, w = rng.normal(size=6), rng.normal(size=6)
    Mv, Mw, Ms = M.copy(), M.copy(), M.copy()
    Mv[2], Mw[2], Ms[2] = v, w, 2 * v - 3 * w
    assert_close(jz.permanent(Ms), 2 * jz.permanent(Mv) - 3 * jz.permanent(Mw), 1e-12,
                 scale=abs(jz.permanent(Mv)) + abs(jz.permanent(Mw)))


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("n", [14, 17])
@pytest.mark.parametrize("precision", ["double", "extended"])
@pytest.mark.parametrize("complex_", [False, True])
def test_thread_count_invariance(n, precision, complex_):
    rng = np.random.default_rng(8000 + n)
    M = random_matrix(n, rng, complex_)
    values = [jz.permanent(M, n_threads=k, precision=precision) for k in (1, 2, -1)]
    assert values[0] != 0
    assert all(v == values[0] for v in values), values
