"""loop_hafnian_values (the fan-out sampler's kernel) against the loop
hafnian at each point and against the z-polynomial evaluated there."""
import numpy as np
import pytest

from jiuzhang_emu import InputError
from jiuzhang_emu.kernels import loop_hafnian, loop_hafnian_polynomial, loop_hafnian_values


def _random(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return (A + A.T) / 2, rng.normal(size=n) + 1j * rng.normal(size=n), \
        rng.normal(size=n) + 1j * rng.normal(size=n)


@pytest.mark.parametrize("n, reps", [(0, None), (1, None), (5, None), (6, [1, 2, 1, 3, 1, 1]),
                                     (12, None)])
@pytest.mark.parametrize("tier", ["z", "lz"])
def test_values_are_the_loop_hafnian_at_each_point(n, reps, tier):
    A, loops, loops1 = _random(n, n)
    points = 0.3 + 1.2 * np.exp(2j * np.pi * np.arange(7) / 7)
    values, abs_sums = loop_hafnian_values(A, loops, loops1, points, reps=reps, tier=tier)
    expected = [loop_hafnian(A, loops + z * loops1, reps=reps, precision="extended")
                for z in points]
    np.testing.assert_allclose(values, expected, rtol=1e-11, atol=1e-13)
    assert np.all(abs_sums >= np.abs(values) * (1 - 1e-12))
    degree = int(np.sum(reps)) if reps is not None else n
    coefficients, _ = loop_hafnian_polynomial(A, loops, loops1, degree + 1, reps=reps)
    np.testing.assert_allclose(values, np.polyval(coefficients[::-1], points), rtol=1e-10,
                               atol=1e-13)


def test_values_do_not_depend_on_threads():
    A, loops, loops1 = _random(22, 3)
    points = np.exp(2j * np.pi * np.arange(23) / 23)
    one, _ = loop_hafnian_values(A, loops, loops1, points, n_threads=1)
    two, _ = loop_hafnian_values(A, loops, loops1, points, n_threads=2)
    np.testing.assert_array_equal(one, two)


def test_bad_points_and_tier():
    A, loops, loops1 = _random(3, 1)
    with pytest.raises(InputError, match="points"):
        loop_hafnian_values(A, loops, loops1, [])
    with pytest.raises(InputError, match="tier"):
        loop_hafnian_values(A, loops, loops1, [1.0], tier="qz")
