"""The brute-force oracles themselves, on closed forms: a wrong oracle would
make the agreement tests meaningless."""
import math

import mpmath
import numpy as np
import pytest

from jiuzhang_emu.kernels import reference as ref


@pytest.mark.parametrize("n", range(0, 6))
def test_hafnian_all_ones(n):
    assert ref.hafnian(np.ones((2 * n, 2 * n))) == math.prod(range(2 * n - 1, 0, -2))
    assert ref.hafnian(np.ones((2 * n + 1, 2 * n + 1))) == 0


def test_hafnian_small_cases():
    A = np.arange(16.0).reshape(4, 4)
    A = A + A.T
    # three matchings of 4 rows: 01|23, 02|13, 03|12
    assert ref.hafnian(A) == A[0, 1] * A[2, 3] + A[0, 2] * A[1, 3] + A[0, 3] * A[1, 2]
    assert ref.hafnian(np.zeros((0, 0))) == 1


@pytest.mark.parametrize("n,want", list(enumerate([1, 1, 2, 4, 10, 26, 76, 232, 764])))
def test_loop_hafnian_telephone_numbers(n, want):
    assert ref.loop_hafnian(np.ones((n, n))) == want


def test_loop_hafnian_small_case():
    A = np.array([[2.0, 3.0, 5.0], [3.0, 7.0, 11.0], [5.0, 11.0, 13.0]])
    d = [2.0, 7.0, 13.0]
    # loops on all three, or one edge and the remaining loop
    assert ref.loop_hafnian(A) == d[0] * d[1] * d[2] + 3 * 13 + 5 * 7 + 11 * 2
    assert ref.loop_hafnian(A, [0, 0, 0]) == 0


def test_expand_reps():
    A = np.array([[1.0, 2.0], [2.0, 3.0]])
    E, d = ref.expand_reps(A, [2, 1], [5.0, 6.0])
    assert np.array_equal(E, [[1, 1, 2], [1, 1, 2], [2, 2, 3]])
    assert np.array_equal(d, [5, 5, 6])
    assert ref.expand_reps(A, [0, 0]).shape == (0, 0)
    with pytest.raises(ValueError):
        ref.expand_reps(A, [1, -1])


@pytest.mark.parametrize("n", range(0, 7))
def test_permanent_all_ones(n):
    assert ref.permanent(np.ones((n, n))) == math.factorial(n)


def test_permanent_small_case():
    assert ref.permanent(np.array([[1.0, 2.0], [3.0, 4.0]])) == 10.0


def test_torontonian_closed_forms():
    assert ref.torontonian(np.zeros((0, 0))) == 1.0
    assert ref.torontonian(np.zeros((6, 6))) == 0.0
    O = np.diag([0.5, 0.5])  # one thermal mode: det(I - O) = 1/4
    assert ref.torontonian(O) == pytest.approx(1.0)
    assert ref.loop_torontonian(O, np.zeros(2)) == pytest.approx(1.0)
    # one mode with loops: exp(gamma^T M^-1 conj(gamma) / 2) / sqrt(det M) - 1
    gamma = np.array([0.3 + 0.1j, 0.3 - 0.1j])
    want = np.exp(0.5 * 2 * 0.1 / 0.5) / 0.5 - 1
    assert ref.loop_torontonian(O, gamma) == pytest.approx(want, rel=1e-14)
    assert len(ref.torontonian_terms(np.zeros((8, 8)))) == 16
    with pytest.raises(ValueError):
        ref.torontonian(np.eye(2))  # I - O singular


def test_mpmath_object_arrays():
    with mpmath.workdps(30):
        A = np.array([[mpmath.mpf(1), mpmath.mpf(1) / 3], [mpmath.mpf(1) / 3, mpmath.mpf(2)]],
                     dtype=object)
        assert ref.hafnian(A) == mpmath.mpf(1) / 3
        assert ref.loop_hafnian(A) == 2 + mpmath.mpf(1) / 3
        assert ref.permanent(A) == 2 + mpmath.mpf(1) / 9
