"""Batched entry points: bitwise equal to the single calls, for any thread
count and tier; BatchResult shapes and per-item tiers."""
import numpy as np
import pytest

import jiuzhang_emu as jz
from jiuzhang_emu.kernels import BatchResult
from jiuzhang_emu.kernels import reference as ref

B = 5


def symmetric_stack(n, seed, complex_=False, batch=B):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(batch, n, n))
    if complex_:
        A = A + 1j * rng.normal(size=(batch, n, n))
    return (A + np.swapaxes(A, 1, 2)) / 2


def physical_o_stack(n_modes, seed, o_matrix, thewalrus_covariance, batch=B):
    return np.array([o_matrix(thewalrus_covariance(n_modes, seed=seed + b))[0] for b in range(batch)])


def assert_bitwise(batch_values, single_values):
    single_values = np.array(single_values)
    assert batch_values.shape == single_values.shape
    assert batch_values.dtype == single_values.dtype
    assert np.array_equal(batch_values, single_values), batch_values - single_values


@pytest.fixture(params=["double", "extended"])
def precision(request):
    return request.param


@pytest.fixture(params=[1, 2])
def n_threads(request):
    return request.param


@pytest.mark.parametrize("n", [0, 2, 7, 8, 14])
@pytest.mark.parametrize("complex_", [False, True])
def test_hafnian_batch(n, complex_, precision, n_threads):
    As = symmetric_stack(n, seed=n, complex_=complex_)
    got = jz.hafnian_batch(As, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.hafnian(A, precision=precision) for A in As])


@pytest.mark.parametrize("reps", [[1, 2, 0, 3], [2, 2, 2, 2], [4, 0, 1, 1], [1, 0, 0, 0]])
def test_hafnian_batch_reps(reps, precision, n_threads):
    As = symmetric_stack(4, seed=sum(reps), complex_=True)
    got = jz.hafnian_batch(As, reps=reps, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.hafnian(A, reps=reps, precision=precision) for A in As])
    if sum(reps) % 2:
        assert np.all(got == 0)


@pytest.mark.parametrize("n", [0, 1, 6, 9, 13])
@pytest.mark.parametrize("complex_", [False, True])
def test_loop_hafnian_batch(n, complex_, precision, n_threads):
    As = symmetric_stack(n, seed=100 + n, complex_=complex_)
    # default: each matrix's own diagonal
    got = jz.loop_hafnian_batch(As, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.loop_hafnian(A, precision=precision) for A in As])
    diags = np.random.default_rng(n).normal(size=(B, n))
    got = jz.loop_hafnian_batch(As, diags, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.loop_hafnian(A, d, precision=precision) for A, d in zip(As, diags)])


@pytest.mark.parametrize("reps", [[1, 2, 0, 3], [3, 0, 0, 0], [4, 1, 1, 1]])
def test_loop_hafnian_batch_reps(reps, precision, n_threads):
    As = symmetric_stack(4, seed=200 + sum(reps), complex_=True)
    diags = np.random.default_rng(1).normal(size=(B, 4))
    got = jz.loop_hafnian_batch(As, diags, reps=reps, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.loop_hafnian(A, d, reps=reps, precision=precision)
                         for A, d in zip(As, diags)])


@pytest.mark.parametrize("n_modes", [1, 4, 9])
def test_torontonian_batch(n_modes, n_threads, o_matrix, thewalrus_covariance):
    Os = physical_o_stack(n_modes, 300 + n_modes, o_matrix, thewalrus_covariance)
    for precision in ("double", "extended", "double-double"):
        got = jz.torontonian_batch(Os, n_threads=n_threads, precision=precision)
        assert_bitwise(got, [jz.torontonian(O, precision=precision) for O in Os])


@pytest.mark.parametrize("n_modes", [1, 4, 9])
@pytest.mark.parametrize("structured", [True, False])
def test_loop_torontonian_batch(n_modes, structured, n_threads, o_matrix, thewalrus_covariance):
    rng = np.random.default_rng(n_modes)
    Os, gammas = [], []
    for b in range(B):
        cov = thewalrus_covariance(n_modes, seed=400 + b)
        O, gamma, _ = o_matrix(cov, rng.normal(scale=0.4, size=2 * n_modes))
        if not structured:
            gamma = 0.2 * (rng.normal(size=2 * n_modes) + 1j * rng.normal(size=2 * n_modes))
        Os.append(O)
        gammas.append(gamma)
    Os, gammas = np.array(Os), np.array(gammas)
    tiers = ("double", "extended", "double-double") if structured else ("double", "extended")
    for precision in tiers:
        got = jz.loop_torontonian_batch(Os, gammas, n_threads=n_threads, precision=precision)
        assert_bitwise(got, [jz.loop_torontonian(O, g, precision=precision)
                             for O, g in zip(Os, gammas)])


def test_torontonian_batch_general_o(precision, n_threads):
    rng = np.random.default_rng(5)
    Os = []
    for _ in range(B):
        X = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))
        Os.append(np.eye(8) - (X @ X.conj().T / 8 + 0.3 * np.eye(8)))
    Os = np.array(Os)
    got = jz.torontonian_batch(Os, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.torontonian(O, precision=precision) for O in Os])


def test_torontonian_batch_mixed_stack_equals_single_calls(o_matrix, thewalrus_covariance):
    O_phys = o_matrix(thewalrus_covariance(5, seed=0))[0]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 10)) + 1j * rng.normal(size=(10, 10))
    O_gen = np.eye(10) - (X @ X.conj().T / 10 + 0.5 * np.eye(10))
    Os = np.array([O_phys, O_gen])
    assert_bitwise(jz.torontonian_batch(Os), [jz.torontonian(O) for O in Os])


@pytest.mark.parametrize("n", [0, 1, 5, 10])
@pytest.mark.parametrize("complex_", [False, True])
def test_permanent_batch(n, complex_, precision, n_threads):
    rng = np.random.default_rng(500 + n)
    Ms = rng.normal(size=(B, n, n)) + (1j * rng.normal(size=(B, n, n)) if complex_ else 0)
    got = jz.permanent_batch(Ms, n_threads=n_threads, precision=precision)
    assert_bitwise(got, [jz.permanent(M, precision=precision) for M in Ms])


# ---------------------------------------------------------------- BatchResult


def test_batch_result_fields(precision):
    As = symmetric_stack(8, seed=1, complex_=True)
    res = jz.hafnian_batch(As, precision=precision, return_info=True)
    assert isinstance(res, BatchResult)
    for field in res:
        assert isinstance(field, np.ndarray) and field.shape == (B,)
    assert res.values.dtype == np.complex128
    assert res.precision.tolist() == [precision] * B
    singles = [jz.hafnian(A, precision=precision, return_info=True) for A in As]
    assert np.array_equal(res.values, [s.value for s in singles])
    assert np.array_equal(res.condition, [s.condition for s in singles])
    assert np.array_equal(res.error_estimate, [s.error_estimate for s in singles])


@pytest.mark.parametrize("kernel", ["permanent_batch", "torontonian_batch", "loop_hafnian_batch"])
def test_batch_result_fields_other_kernels(kernel, o_matrix, thewalrus_covariance):
    if kernel == "torontonian_batch":
        args = (physical_o_stack(3, 600, o_matrix, thewalrus_covariance),)
        single = jz.torontonian
    elif kernel == "permanent_batch":
        args = (np.random.default_rng(2).normal(size=(B, 6, 6)),)
        single = jz.permanent
    else:
        args = (symmetric_stack(7, seed=3),)
        single = jz.loop_hafnian
    res = getattr(jz, kernel)(*args, return_info=True)
    assert isinstance(res, BatchResult)
    assert all(field.shape == (B,) for field in res)
    assert res.values.dtype == np.float64
    singles = [single(x, return_info=True) for x in args[0]]
    assert np.array_equal(res.values, [s.value for s in singles])
    assert np.array_equal(res.condition, [s.condition for s in singles])
    assert res.precision.tolist() == ["double"] * B


def test_auto_escalates_per_item():
    """Only the cancelling matrices of a stack are recomputed in extended."""
    rng = np.random.default_rng(8)
    n = 10
    R = rng.normal(size=(n, n))
    C = rng.normal(size=(n, n))
    R, C = (R + R.T) / 2, (C + C.T) / 2
    slope = ref.hafnian(C[2:, 2:])
    C[0, 1] = C[1, 0] = -(ref.hafnian(C) - C[0, 1] * slope) / slope  # haf(C) = 0
    As = np.array([R, R + 1e7 * C, R + 0.5 * C, R + 1e8 * C])
    res = jz.hafnian_batch(As, precision="auto", return_info=True)
    singles = [jz.hafnian(A, precision="auto", return_info=True) for A in As]
    assert res.precision.tolist() == ["double", "extended", "double", "extended"]
    assert res.precision.tolist() == [s.precision for s in singles]
    assert np.array_equal(res.values, [s.value for s in singles])
    assert np.array_equal(res.condition, [s.condition for s in singles])
    assert np.array_equal(res.error_estimate, [s.error_estimate for s in singles])


def test_odd_hafnian_batch_info():
    As = symmetric_stack(5, seed=4, complex_=True)
    res = jz.hafnian_batch(As, return_info=True)
    assert np.array_equal(res.values, np.zeros(B, dtype=complex))
    assert res.values.dtype == np.complex128
    assert res.precision.tolist() == ["double"] * B


@pytest.mark.parametrize(
    "call",
    [lambda: jz.hafnian_batch(np.zeros((0, 4, 4))),
     lambda: jz.loop_hafnian_batch(np.zeros((0, 3, 3))),
     lambda: jz.permanent_batch(np.zeros((0, 3, 3))),
     lambda: jz.torontonian_batch(np.zeros((0, 4, 4))),
     lambda: jz.loop_torontonian_batch(np.zeros((0, 4, 4)), np.zeros((0, 4)))],
)
def test_empty_batch(call):
    values = call()
    assert isinstance(values, np.ndarray)
    assert values.shape == (0,)


def test_batch_of_one_equals_single():
    A = symmetric_stack(12, seed=9, complex_=True, batch=1)
    assert jz.hafnian_batch(A)[0] == jz.hafnian(A[0])
    assert jz.loop_hafnian_batch(A)[0] == jz.loop_hafnian(A[0])
