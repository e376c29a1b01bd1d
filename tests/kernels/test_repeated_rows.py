"""Hafnians with rows repeated many times (issue 13, item 3) and the pricing
of the repeated-row kernel before it allocates (item 9).

Oracles: the closed form of the 2 x 2 case,
haf([[a, b], [b, c]]; [n, n]) = sum_{k = n mod 2} C(n, k)^2 k! ((n - k - 1)!!)^2 b^k (ac)^((n-k)/2)
(k edges between the two groups, the rest matched inside each group), the
rank-one case haf(v v^T; r) = (N - 1)!! prod v_i^r_i, both in mpmath at 50
digits, and the brute-force reference for small sizes.
"""
import math
import tracemalloc

import mpmath
import numpy as np
import pytest

from jiuzhang_emu.errors import KernelError, RuntimeLimitError
from jiuzhang_emu.kernels import hafnian, hafnian_batch, loop_hafnian, work
from jiuzhang_emu.kernels import reference as ref
from jiuzhang_emu.kernels._expansion import loop_hafnian_expansion


def _two_by_two(a, b, c, n):
    with mpmath.workdps(50):
        a, b, c = (mpmath.mpmathify(x) for x in (a, b, c))
        return complex(mpmath.fsum(
            mpmath.binomial(n, k) ** 2 * mpmath.factorial(k) * mpmath.fac2(n - k - 1) ** 2
            * b**k * (a * c) ** ((n - k) // 2) for k in range(n % 2, n + 1, 2)))


def _rel(x, want):
    return abs(x - want) / abs(want)


@pytest.mark.parametrize("precision", ["double", "extended", "auto"])
def test_issue_reproducer_36_and_120(precision):
    # was -2.70e40 (double) against +3.49e40, and 1.2e244 against 3.4e197
    for n in (36, 120):
        want = _two_by_two(.5, .5, .5, n).real
        got = hafnian(np.full((2, 2), .5), reps=[n, n], precision=precision)
        assert _rel(got, want) < 1e-12, (n, got, want)


@pytest.mark.parametrize("n", [1, 2, 5, 12, 20, 31, 36, 60])
@pytest.mark.parametrize("abc", [(.5, .5, .5), (.3, -.7, .2), (1.1, .4j, -.6 + .2j),
                                 (-.2 + .5j, .9 - .3j, .4)])
def test_two_by_two_closed_form(n, abc):
    a, b, c = abc
    A = np.array([[a, b], [b, c]])
    want = _two_by_two(a, b, c, n)
    for precision in ("double", "auto"):
        info = hafnian(A, reps=[n, n], precision=precision, return_info=True)
        assert _rel(info.value, want) < max(1e-10, 10 * info.error_estimate), \
            (precision, info, want)
        assert info.error_estimate < 1e-3  # a value is never returned with no digits


@pytest.mark.parametrize("reps", [[40], [7, 30, 11], [25, 24, 1]])
def test_rank_one_closed_form(reps):
    v = np.array([.9, -.6, .3])[:len(reps)]
    N = sum(reps)
    with mpmath.workdps(50):
        want = mpmath.fac2(N - 1) * mpmath.fprod(mpmath.mpf(x) ** r for x, r in zip(v, reps))
    got = hafnian(np.outer(v, v), reps=reps, precision="auto")
    assert _rel(got, float(want)) < 1e-10


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("loops", [False, True])
def test_expansion_matches_brute_force(seed, loops):
    rng = np.random.default_rng(seed)
    d = 1 + seed % 3
    A = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    A = A + A.T
    w = rng.normal(size=d) + 1j * rng.normal(size=d)
    reps = rng.integers(0, 4, size=d)
    got = loop_hafnian_expansion(A, w if loops else None, reps, 1e-12)
    if loops:
        big, diag = ref.expand_reps(A, reps, w)
        want = ref.loop_hafnian(big, diag)
    else:
        want = ref.hafnian(ref.expand_reps(A, reps)) if reps.sum() % 2 == 0 else 0
    assert abs(got.value - want) <= 1e-12 * max(1.0, abs(want))
    assert got.precision == "mpmath"


def test_loop_hafnian_with_large_reps_against_recursion():
    """1 x 1 with loop w: lhaf = He-like telephone polynomial, t_n = w t_{n-1} + (n-1) a t_{n-2}."""
    a, w, n = -0.4, 1.3, 90
    with mpmath.workdps(60):
        t0, t1 = mpmath.mpf(1), mpmath.mpf(w)
        for m in range(2, n + 1):
            t0, t1 = t1, w * t1 + (m - 1) * mpmath.mpf(a) * t0
        want = float(t1)
    got = loop_hafnian(np.array([[a]]), [w], reps=[n], precision="auto", return_info=True)
    assert _rel(got.value, want) < 1e-10, got


def test_overflow_is_an_error_not_inf():
    with pytest.raises(KernelError, match="float64"):
        hafnian(np.ones((1, 1)), reps=[400])


@pytest.mark.parametrize("reps, max_seconds, match", [
    ([10**8], 1, "predicted run time"),
    ([10**9], None, "GB of working memory"),
])
def test_huge_reps_refused_before_allocating(reps, max_seconds, match):
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeLimitError, match=match):
            hafnian(np.ones((1, 1)), reps=reps, max_seconds=max_seconds)
        with pytest.raises(RuntimeLimitError, match=match):
            hafnian_batch(np.ones((2, 1, 1)), reps=reps, max_seconds=max_seconds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"{peak / 1e6:.1f} MB allocated before refusing (was 1.6 GB)"


def test_work_counts_the_contractions_of_each_group():
    """hafnian_work against a direct count of the recursion's multiply-adds."""
    def count(group_k, n):
        total, s, t = 0.0, 2 * n, 0

        def node(gi, s, t):
            nonlocal total
            if gi < 0:
                total += 1
                return
            k = group_k[gi]
            if gi == 0 and k == 1:
                total += (n + 1) ** 2
                return
            D = min(t + k, n)
            for c in range(k):
                r = s - 2 * c - 2
                total += (r * (r - 1) / 2 + r + 2) * D * (D + 1) / 2
            for _ in range(k + 1):
                node(gi - 1, s - 2 * k, t + k)

        node(len(group_k) - 1, s, t)
        return total

    for group_k in ([3, 5], [12, 12], [2, 1, 1, 4], [1] * 6, [7]):
        n = sum(group_k)
        assert work.hafnian_work(group_k, n) == pytest.approx(count(group_k, n), rel=1e-12)
    # the old count (leaves x n^2) was 1100x low for [60, 60] pairs; the work now grows ~k^6
    assert work.hafnian_work([60, 60], 120) > 1e3 * 61**2 * 121**2


def test_memory_priced_from_the_kernel_layout():
    # 2n vertices, n + 1 coefficients: ~(2n)^3 / 12 (n + 1) scalars per thread
    n = 120
    approx = (2 * n) ** 3 / 12 * (n + 1) * 8
    assert work.hafnian_bytes(n, is_complex=False) == pytest.approx(approx, rel=0.05)
    assert work.hafnian_bytes(n, is_complex=True, precision="extended") == \
        pytest.approx(4 * work.hafnian_bytes(n, is_complex=False), rel=1e-12)


def test_small_repeats_keep_the_kernel():
    """The expansion replaces the kernel only where it is cheaper or the
    kernel's estimate is short: small repetitions keep their tier."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(6, 6))
    A = A + A.T
    info = hafnian(A, reps=[2, 1, 3, 0, 1, 1], return_info=True)
    assert info.precision == "double"
    assert math.isfinite(info.value)
