"""The whole-set greedy kernels (csrc/greedy.c) against their naive numpy
twins, and their counts against the targets."""
import numpy as np
import pytest

from jiuzhang_emu import InputError
from jiuzhang_emu.kernels import greedy_columns, greedy_refine
from jiuzhang_emu.kernels.low_order import greedy_columns_reference, greedy_refine_reference


def _targets(M, seed, rows=4000):
    """Realisable targets: the click and co-click frequencies of correlated
    random bits (a latent Gaussian thresholded), asymmetric rates 0.1..0.6."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((rows, M)) + 0.8 * rng.standard_normal((rows, 1)) \
        * rng.uniform(-1, 1, M)
    bits = (latent > rng.uniform(-0.3, 1.3, M)).astype(float)
    return bits.mean(axis=0), bits.T @ bits / rows


def _orders(rng, columns, L):
    return np.array([rng.permutation(L) for _ in range(columns)])


@pytest.mark.parametrize("M, L, seed", [(1, 7, 0), (5, 40, 1), (9, 150, 2)])
def test_columns_equal_the_reference(M, L, seed):
    p, P = _targets(M, seed)
    order = _orders(np.random.default_rng(seed), M, L)
    X = greedy_columns(np.zeros((L, M), np.uint8), 0, M, p, P, order, n_threads=1)
    Y = greedy_columns_reference(np.zeros((L, M), np.uint8), 0, M, p, P, order)
    np.testing.assert_array_equal(X, Y)


def test_columns_by_chunks_and_threads_give_the_same_matrix():
    M, L = 11, 300
    p, P = _targets(M, 3)
    order = _orders(np.random.default_rng(3), M, L)
    whole = greedy_columns(np.zeros((L, M), np.uint8), 0, M, p, P, order, n_threads=1)
    chunked = np.zeros((L, M), np.uint8)
    for j0, j1 in [(0, 1), (1, 6), (6, 11)]:
        greedy_columns(chunked, j0, j1, p, P[j0:j1, :j1], order[j0:j1], n_threads=2)
    np.testing.assert_array_equal(whole, chunked)


def test_counts_within_a_few_of_the_targets():
    # measured at M = 20, L = 5000 (seed 4): click counts within 1 of L p_j,
    # pair counts within ~3 of L p_jk (shot noise of 5000 i.i.d. rows: ~20)
    M, L = 20, 5000
    p, P = _targets(M, 4)
    order = _orders(np.random.default_rng(4), M, L)
    X = greedy_columns(np.zeros((L, M), np.uint8), 0, M, p, P, order)
    counts = X.T.astype(float) @ X
    assert np.abs(np.diag(counts) - L * p).max() <= 1.5
    assert np.abs(counts - L * P).max() <= 6
    assert abs(X[:, 0].sum() - L * p[0]) <= 1  # the first column: a rounding of L p_0


def test_refine_equals_the_reference_and_lowers_the_error():
    M, L = 8, 120
    p, P = _targets(M, 5)
    rng = np.random.default_rng(5)
    X = greedy_columns(np.zeros((L, M), np.uint8), 0, M, p, P, _orders(rng, M, L))
    before = np.sum((X.T.astype(float) @ X - L * P) ** 2)
    order = _orders(rng, M, L)
    A, B = X.copy(), X.copy()
    flips = greedy_refine(A, 0, M, P, order, click_weight=2.5, n_threads=2)
    assert flips == greedy_refine_reference(B, 0, M, P, order, click_weight=2.5)
    np.testing.assert_array_equal(A, B)
    assert np.sum((A.T.astype(float) @ A - L * P) ** 2) <= before


def test_refine_by_chunks_equals_one_call():
    M, L = 7, 200
    p, P = _targets(M, 6)
    rng = np.random.default_rng(6)
    X = greedy_columns(np.zeros((L, M), np.uint8), 0, M, p, P, _orders(rng, M, L))
    order = _orders(rng, M, L)
    A, B = X.copy(), X.copy()
    greedy_refine(A, 0, M, P, order, 3.0, n_threads=1)
    greedy_refine(B, 0, 3, P[:3], order[:3], 3.0, n_threads=2)
    greedy_refine(B, 3, M, P[3:], order[3:], 3.0, n_threads=2)
    np.testing.assert_array_equal(A, B)


@pytest.mark.parametrize("change, match", [
    (lambda a: {**a, "X": a["X"].astype(np.int64)}, "X must be"),
    (lambda a: {**a, "j1": 0}, "j1"),
    (lambda a: {**a, "p": a["p"] + 1}, "p must hold probabilities"),
    (lambda a: {**a, "pair": a["pair"][:, :2]}, "pair"),
    (lambda a: {**a, "order": np.zeros_like(a["order"])}, "permutation"),
    (lambda a: {**a, "order": a["order"][:, :5]}, "order"),
])
def test_bad_input(change, match):
    M, L = 4, 10
    p, P = _targets(M, 7)
    args = dict(X=np.zeros((L, M), np.uint8), j0=0, j1=M, p=p, pair=P,
                order=_orders(np.random.default_rng(7), M, L))
    with pytest.raises(InputError, match=match):
        greedy_columns(**change(args))


def test_refine_bad_click_weight():
    M, L = 3, 6
    p, P = _targets(M, 8)
    with pytest.raises(InputError, match="click_weight"):
        greedy_refine(np.zeros((L, M), np.uint8), 0, M, P,
                      _orders(np.random.default_rng(8), M, L), click_weight=-1.0)
