"""Precision tiers, the cancellation indicator and precision="auto".

High-precision references come from mpmath: the brute-force hafnian of
``reference`` run on mpmath numbers, and a brute-force torontonian with
mpmath determinants at 40 digits, both on the exact float64 inputs given to
the kernels.
"""
import itertools

import mpmath
import numpy as np
import pytest
from thewalrus.quantum import Qmat

import jiuzhang_emu as jz
from jiuzhang_emu.errors import PrecisionWarning
from jiuzhang_emu.kernels import AUTO_RTOL, KernelResult
from jiuzhang_emu.kernels import work
from jiuzhang_emu.kernels import reference as ref

U_DOUBLE = 2.0**-53
U_EXTENDED = float(np.finfo(np.longdouble).eps) / 2
# condition above which "auto" must leave float64
ESCALATE = AUTO_RTOL / U_DOUBLE


def mp_matrix(A):
    return np.array([[mpmath.mpc(complex(x).real, complex(x).imag) for x in row] for row in A],
                    dtype=object)


def mp_hafnian(A, dps=50):
    with mpmath.workdps(dps):
        return complex(ref.hafnian(mp_matrix(A))), ref.hafnian(mp_matrix(A))


def mp_torontonian(O, dps=40):
    """Brute-force torontonian of the float64 matrix O, in mpmath."""
    n = O.shape[0] // 2
    with mpmath.workdps(dps):
        M = mpmath.eye(2 * n) - mpmath.matrix(mp_matrix(O).tolist())
        total = mpmath.mpf(0)
        for k in range(n + 1):
            for Z in itertools.combinations(range(n), k):
                keep = list(Z) + [i + n for i in Z]
                if not keep:
                    total += (-1) ** n
                    continue
                sub = mpmath.matrix([[M[i, j] for j in keep] for i in keep])
                total += (-1) ** (n - k) / mpmath.sqrt(mpmath.re(mpmath.det(sub)))
        return total


def rel_err(value, exact):
    with mpmath.workdps(50):
        return float(abs(mpmath.mpmathify(value) - exact) / abs(exact))


def cancelling_hafnian_matrix(n, t, seed):
    """R + t C with haf(C) = 0 (C[0, 1] solved for it): the leading t^(n/2)
    terms cancel, so the value is ~t times smaller than its terms."""
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(n, n))
    C = rng.normal(size=(n, n))
    R, C = (R + R.T) / 2, (C + C.T) / 2
    slope = ref.hafnian(C[2:, 2:])
    rest = ref.hafnian(C) - C[0, 1] * slope
    C[0, 1] = C[1, 0] = -rest / slope
    return R + t * C


# ---------------------------------------------------------------- info fields


def _benign_inputs():
    rng = np.random.default_rng(0)
    A = rng.uniform(0.5, 1.5, size=(12, 12))
    A = (A + A.T) / 2
    cov = np.diag(np.concatenate([np.full(3, 1.5), np.full(3, 2.5)]))
    O = np.eye(6) - np.linalg.inv(Qmat(cov))
    return {
        "hafnian": (jz.hafnian, (A,)),
        "hafnian_complex": (jz.hafnian, (A * np.exp(0.1j),)),
        "loop_hafnian": (jz.loop_hafnian, (A[:11, :11],)),
        "torontonian": (jz.torontonian, (O,)),
        "loop_torontonian": (jz.loop_torontonian, (O, np.full(6, 0.1))),
        "permanent": (jz.permanent, (A[:9, :9],)),
        "permanent_complex": (jz.permanent, (A[:9, :9] * (1 + 0.5j),)),
    }


BENIGN = _benign_inputs()


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_extended_agrees_with_double_on_benign_input(name):
    f, args = BENIGN[name]
    d = f(*args, return_info=True)
    e = f(*args, precision="extended", return_info=True)
    assert isinstance(d, KernelResult) and isinstance(e, KernelResult)
    assert (d.precision, e.precision) == ("double", "extended")
    assert d.value == pytest.approx(e.value, rel=1e-13)
    assert type(d.value) is type(e.value) is type(f(*args))
    assert d.condition == pytest.approx(e.condition, rel=1e-10)


@pytest.mark.parametrize("name", sorted(BENIGN))
@pytest.mark.parametrize("precision", ["double", "extended"])
def test_info_fields(name, precision):
    f, args = BENIGN[name]
    info = f(*args, precision=precision, return_info=True)
    assert info.value == f(*args, precision=precision)
    assert info.precision == precision
    # sum |terms| >= |sum terms|
    assert 1 - 1e-12 <= info.condition < 1e4
    u = U_DOUBLE if precision == "double" else U_EXTENDED
    assert info.error_estimate == pytest.approx(info.condition * u, rel=1e-12)
    assert info.absolute_error == pytest.approx(info.error_estimate * abs(info.value), rel=1e-12)
    assert info == (info.value, info.precision, info.condition, info.error_estimate,
                    info.absolute_error)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_auto_stays_double_on_benign_input(name):
    f, args = BENIGN[name]
    info = f(*args, precision="auto", return_info=True)
    assert info.precision == "double"
    assert info.condition * U_DOUBLE <= AUTO_RTOL
    assert info.value == f(*args, precision="double")


def test_condition_of_exact_zero():
    # every term vanishes: condition 0, not nan
    info = jz.hafnian(np.zeros((4, 4)), return_info=True)
    assert (info.value, info.condition) == (0.0, 0.0)
    # terms that cancel to exactly 0: condition inf; auto escalates and, as no
    # tier can bound a relative error of 0, says so
    with pytest.warns(PrecisionWarning, match="estimated relative error of inf"):
        info = jz.torontonian(np.zeros((4, 4)), precision="auto", return_info=True)
    assert info.value == 0.0
    assert info.condition == np.inf
    assert info.precision != "double"


# ---------------------------------------------------------------- hafnian tiers


@pytest.mark.parametrize("t", [1e2, 1e5, 1e7])
def test_hafnian_tiers_against_mpmath(t):
    A = cancelling_hafnian_matrix(10, t, seed=8)
    _, exact = mp_hafnian(A)
    d = jz.hafnian(A, return_info=True)
    e = jz.hafnian(A, precision="extended", return_info=True)
    err_d, err_e = rel_err(d.value, exact), rel_err(e.value, exact)
    # the cancellation indicator grows with t, and explains the errors
    assert d.condition > t / 100
    assert err_d <= 10 * d.error_estimate + 4 * U_DOUBLE
    assert err_e <= 10 * e.error_estimate + 4 * U_EXTENDED
    assert err_e < err_d or err_d < 1e-15


def test_auto_escalates_cancelling_hafnian():
    A = cancelling_hafnian_matrix(10, 1e7, seed=8)
    info = jz.hafnian(A, precision="auto", return_info=True)
    assert info.condition > 10 * ESCALATE
    assert info.precision == "extended"
    assert info.value == jz.hafnian(A, precision="extended")
    assert info.error_estimate == pytest.approx(info.condition * U_EXTENDED)
    _, exact = mp_hafnian(A)
    assert rel_err(info.value, exact) < rel_err(jz.hafnian(A), exact)


def test_auto_escalates_cancelling_loop_hafnian():
    A = cancelling_hafnian_matrix(10, 1e7, seed=8)
    # zero loops: the loop hafnian is the hafnian, with the same cancellation
    info = jz.loop_hafnian(A, np.zeros(10), precision="auto", return_info=True)
    assert info.condition > 10 * ESCALATE
    assert info.precision == "extended"
    assert info.value == jz.loop_hafnian(A, np.zeros(10), precision="extended")


def test_auto_escalates_cancelling_permanent():
    """All ones but M[0, 0] = -5 + delta: perm = 720 - 120 (1 - M[0, 0]) = 120 delta."""
    M = np.ones((6, 6))
    M[0, 0] = -5 + 1e-7
    with mpmath.workdps(40):
        exact = 600 + 120 * mpmath.mpf(M[0, 0])
    info = jz.permanent(M, precision="auto", return_info=True)
    assert info.condition > 10 * ESCALATE
    assert info.precision == "extended"
    assert info.value == jz.permanent(M, precision="extended")
    assert rel_err(info.value, exact) < rel_err(jz.permanent(M), exact)
    assert rel_err(info.value, exact) <= 10 * info.error_estimate


def test_auto_hafnian_error_within_tolerance_for_hidden_cancellation():
    """R + t C with C = [[0, B], [B^T, 0]], B = [[1, 1], [1, -1]] (+) same:
    haf(C) = perm(B)^2 = 0.  The terms of the hafnian are ~1e16 larger than its
    value, but the leaf sum of the kernel reports condition ~5."""
    rng = np.random.default_rng(7)
    R = rng.normal(size=(8, 8))
    R = (R + R.T) / 2
    B = np.kron(np.eye(2), np.array([[1.0, 1.0], [1.0, -1.0]]))
    C = np.block([[np.zeros((4, 4)), B], [B.T, np.zeros((4, 4))]])
    A = R + 1e10 * C
    _, exact = mp_hafnian(A)
    # the leaf sum misses it; comparing two pairings of the rows does not
    assert jz.hafnian(A, return_info=True).condition < 10
    with pytest.warns(PrecisionWarning):
        info = jz.hafnian(A, precision="auto", return_info=True)
    assert info.precision == "extended"
    err = rel_err(info.value, exact)
    assert err <= max(10 * AUTO_RTOL, 100 * info.error_estimate), (info, err)


# ---------------------------------------------------------------- torontonian tiers


def _tor_state(n_modes, r, eta, seed, haar_unitary, lossy_covariance, o_matrix):
    rng = np.random.default_rng(seed)
    cov = lossy_covariance(np.full(n_modes, r), haar_unitary(n_modes, rng), eta)
    return o_matrix(cov)[0]  # exactly structured: every tier sees the same input


@pytest.mark.parametrize(
    "n_modes,r,eta",
    [(6, 2.0, 0.7), (7, 1.5, 0.5), (7, 0.3, 0.9), (8, 1.0, 0.9), (6, 0.1, 0.9)],
)
def test_torontonian_tiers_against_mpmath(n_modes, r, eta, haar_unitary, lossy_covariance,
                                          o_matrix):
    O = _tor_state(n_modes, r, eta, 11, haar_unitary, lossy_covariance, o_matrix)
    exact = mp_torontonian(O)
    d = jz.torontonian(O, return_info=True)
    e = jz.torontonian(O, precision="extended", return_info=True)
    dd = jz.torontonian(O, precision="double-double", return_info=True)
    err_d, err_e, err_dd = (rel_err(x.value, exact) for x in (d, e, dd))
    assert err_e < err_d or err_d < 1e-15, (err_d, err_e)
    assert err_dd <= err_e or err_e < 1e-16, (err_e, err_dd)
    assert err_dd < 1e-14
    # the error estimates bound the actual errors (up to the rounding of the
    # determinants, which the indicator does not count)
    assert err_d <= 10 * d.error_estimate + 1e-14
    assert err_e <= 10 * e.error_estimate + 1e-16


def test_auto_escalates_cancelling_torontonian(haar_unitary, lossy_covariance, o_matrix):
    """10 weakly squeezed modes, all clicking: terms ~1, value ~1e-9."""
    O = _tor_state(10, 0.5, 0.9, 11, haar_unitary, lossy_covariance, o_matrix)
    d = jz.torontonian(O, return_info=True)
    assert ESCALATE < d.condition < AUTO_RTOL / U_EXTENDED  # extended suffices
    info = jz.torontonian(O, precision="auto", return_info=True)
    assert info.precision == "extended"
    assert info.value == jz.torontonian(O, precision="extended")
    assert info.error_estimate <= AUTO_RTOL


def test_auto_picks_double_double_for_extreme_cancellation(haar_unitary, lossy_covariance,
                                                           o_matrix):
    O = _tor_state(10, 0.3, 0.9, 11, haar_unitary, lossy_covariance, o_matrix)
    info = jz.torontonian(O, precision="auto", return_info=True)
    assert jz.torontonian(O, return_info=True).condition * U_EXTENDED > AUTO_RTOL
    assert info.precision == "double-double"
    assert info.value == jz.torontonian(O, precision="double-double")


def test_auto_stays_double_for_strongly_squeezed_torontonian(haar_unitary, lossy_covariance,
                                                             o_matrix):
    O = _tor_state(12, 1.5, 0.95, 11, haar_unitary, lossy_covariance, o_matrix)
    info = jz.torontonian(O, precision="auto", return_info=True)
    assert info.precision == "double"
    assert info.value == jz.torontonian(O)


def test_tiny_work_runs_on_one_thread(monkeypatch):
    monkeypatch.setattr(work, "SERIAL_SECONDS", 1e-3)
    assert work.check_call_seconds("hafnian", 100.0, None, what="hafnian", n_threads=2) == 1
    assert work.check_call_seconds("hafnian", 1e9, None, what="hafnian", n_threads=2) == 2
