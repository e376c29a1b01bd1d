"""Torontonian and loop torontonian, single and batched.

Convention (Quesada, Arrazola, Killoran, PRA 98, 062322 (2018); the same as
thewalrus's ``tor`` and ``ltor``): O is a 2n x 2n matrix in the complex basis
(a_1..a_n, a_1^dag..a_n^dag), and with M = I - O,

    Tor(O)         = sum_{Z subset [n]} (-1)^(n - |Z|) / sqrt(det M_Z)
    ltor(O, gamma) = sum_{Z} (-1)^(n - |Z|) exp(gamma_Z^T M_Z^-1 conj(gamma_Z) / 2)
                     / sqrt(det M_Z)

where M_Z keeps the rows and columns of both blocks of the modes in Z.  For a
Gaussian state with Q = sigma + I/2, O = I - Q^-1 and the probability that
exactly the modes in S click is Tor(O_S) / sqrt(det Q) (zero means).

M must be Hermitian positive definite, as for every physical O.  When O also
has the block structure of a real quadrature covariance (O_{a^dag a^dag} =
conj(O_aa), O_{a^dag a} = conj(O_{a a^dag})), the kernel runs on the real
matrix U^H M U in the xpxp basis (U unitary, so each det M_Z is unchanged),
which costs a quarter of the complex arithmetic.  A physical O computed in
float64 misses the structure by rounding; it is projected onto it (a change
at the level of the input's own rounding).

Precision: the sum cancels massively for realistic states (for Jiuzhang 1.0
click patterns the sum of |terms| exceeds the result by ~10^12 at 12 clicks
and more at 20), so float64 and even long double lose digits; the
double-double tier forms M from O inside the kernel and keeps ~106 bits.

Algorithm: recursive Cholesky updates, Kaposi et al., arXiv:2109.04528.
"""
import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels, work
from jiuzhang_emu.kernels.checks import (
    as_matrix,
    as_vector,
    check_finite_result,
    check_max_seconds,
)
from jiuzhang_emu.kernels.precision import TIERS, check_precision, evaluate, evaluate_batch
from jiuzhang_emu.kernels.hafnian import BatchResult


def _check_O(O, name):
    if O.shape[-1] % 2:
        raise InputError(f"{name} must have an even size 2n (n modes), got shape {O.shape}")
    M = np.eye(O.shape[-1]) - O
    diff = np.abs(M - np.conj(np.swapaxes(M, -1, -2)))
    scale = max(1.0, float(np.abs(M).max())) if M.size else 1.0
    if np.any(diff > 1e-10 * scale):
        idx = tuple(int(i) for i in np.argwhere(diff > 1e-10 * scale)[0])
        raise InputError(
            f"{name} must be Hermitian (the O matrix of a state, O = I - Q^-1), got "
            f"|O - O^H| = {diff[idx]:.3g} at index {idx}"
        )
    if M.size:
        smallest = np.linalg.eigvalsh(M).min(axis=-1)
        if np.any(smallest <= 0):
            raise InputError(
                f"I - {name} must be positive definite (the O matrix of a state), got "
                f"smallest eigenvalue {float(np.min(smallest)):.3g}"
            )


#: Largest supported exponent gamma^T (I - O)^-1 gamma^* / 2 of a loop
#: torontonian: its largest term is exp(that), and exp overflows float64 at 709.8.
MAX_LOOP_EXPONENT = 700.0


def _check_exponent(O, gamma, name):
    """Refuse a displacement whose largest term exp(gamma^T M^-1 gamma^* / 2),
    M = I - O, would overflow float64 (inf - inf = NaN in the sum).  The
    exponent of a state's click probability is about the mean photon number
    of its displacement on the clicking modes."""
    M = np.eye(O.shape[-1]) - O
    exponent = 0.5 * np.real(np.einsum("...i,...i->...", gamma,
                                       np.linalg.solve(M, np.conj(gamma)[..., None])[..., 0]))
    exponent = np.atleast_1d(exponent)
    if np.any(exponent > MAX_LOOP_EXPONENT):
        i = int(np.argmax(exponent))
        where = f" (item {i})" if O.ndim == 3 else ""
        raise InputError(
            f"{name} must keep the exponent gamma^T (I - O)^-1 gamma^* / 2 <= "
            f"{MAX_LOOP_EXPONENT:g} (exp overflows float64 beyond 709.8), got {exponent[i]:.4g}"
            f"{where}: the displacement is outside the supported range"
        )


def _structure_mask(O, gamma):
    """Per matrix of a stack: does O (and gamma) have quadrature structure?"""
    n = O.shape[-1] // 2
    aa, ab = O[..., :n, :n], O[..., :n, n:]
    axes = (-2, -1)
    scale = np.maximum(1.0, np.abs(O).max(axis=axes, initial=0))
    dev = np.maximum(np.abs(O[..., n:, n:] - np.conj(aa)).max(axis=axes, initial=0),
                     np.abs(O[..., n:, :n] - np.conj(ab)).max(axis=axes, initial=0))
    if gamma is not None:
        dev = np.maximum(dev, np.abs(gamma[..., n:] - np.conj(gamma[..., :n])).max(axis=-1,
                                                                                   initial=0))
    return dev <= 1e-13 * scale


def _is_quadrature_structured(O, gamma):
    return bool(np.all(_structure_mask(O, gamma)))


def _as_complex(x):
    return None if x is None else np.ascontiguousarray(x, dtype=np.complex128)


def kernel_inputs(O, gamma, tier):
    """The kernel's inputs for a tier; works on single matrices and stacks.

    "double-double": O and gamma as complex128 (the kernel forms M itself).
    Otherwise M = I - O and v = conj(gamma) in the kernel's layout (mode i
    owns rows 2i, 2i+1), real when O has quadrature structure, long double for
    "extended".
    """
    if tier == "double-double":
        return _as_complex(O), _as_complex(gamma)
    n = O.shape[-1] // 2
    extended = tier == "extended"
    real_t, cplx_t = (np.longdouble, np.clongdouble) if extended else (np.float64, np.complex128)
    order = np.ravel(np.column_stack([np.arange(n), np.arange(n) + n]))
    if _is_quadrature_structured(O, gamma):
        Oc = O.astype(cplx_t)
        M = np.eye(2 * n, dtype=cplx_t) - Oc
        A, B = M[..., :n, :n], M[..., :n, n:]
        Mr = np.empty(O.shape, dtype=real_t)
        Mr[..., 0::2, 0::2] = (A + B).real
        Mr[..., 0::2, 1::2] = (B - A).imag
        Mr[..., 1::2, 0::2] = (A + B).imag
        Mr[..., 1::2, 1::2] = (A - B).real
        v = None
        if gamma is not None:
            c = np.conj(gamma[..., :n].astype(cplx_t)) * np.sqrt(real_t(2))
            v = np.empty(gamma.shape, dtype=real_t)
            v[..., 0::2], v[..., 1::2] = c.real, c.imag
        return np.ascontiguousarray(Mr), None if v is None else np.ascontiguousarray(v)
    is_real = O.dtype.kind != "c" and (gamma is None or gamma.dtype.kind != "c")
    dtype = real_t if is_real else cplx_t
    M = np.eye(2 * n, dtype=dtype) - O.astype(dtype)
    M = M[..., order, :][..., :, order]
    v = None if gamma is None else np.conj(gamma.astype(dtype))[..., order]
    return np.ascontiguousarray(M), None if v is None else np.ascontiguousarray(v)


def _single(O, gamma, n_threads, precision, return_info, max_seconds, what):
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    O = as_matrix(O, "O")
    _check_O(O, "O")
    if gamma is not None:
        gamma = as_vector(gamma, "gamma", O.shape[0])
        _check_exponent(O, gamma, "gamma")
    structured = _is_quadrature_structured(O, gamma)
    available = TIERS if structured else TIERS[:2]
    check_precision(precision, available)
    n = O.shape[0] // 2
    threads = work.check_call_seconds("torontonian", work.torontonian_work(n), max_seconds,
                                      what=what, precision=precision, n_threads=threads,
                                      is_complex=not structured and O.dtype.kind == "c")

    def run(tier):
        return _kernels.torontonian(*kernel_inputs(O, gamma, tier), threads, tier)

    result = evaluate(run, precision, available)
    check_finite_result(result.value, what, "O" if gamma is None else "O and gamma",
                        _scale(O, gamma))
    return result if return_info else result.value


def _scale(O, gamma):
    scale = f"largest |entry| {np.abs(O).max(initial=0):.3g}"
    if gamma is not None:
        scale += f" and largest |gamma| {np.abs(gamma).max(initial=0):.3g}"
    return scale


def torontonian(O, *, n_threads=None, precision="double", return_info=False,
                max_seconds=3600.0):
    """Torontonian of an O matrix.

    Parameters
    ----------
    O : array_like of shape (2n, 2n)
        Complex-basis O matrix of n modes; I - O Hermitian positive definite.
    n_threads : int, optional
        None for all usable cores.
    precision : {"double", "extended", "double-double", "auto"}
        "extended": 80-bit long double; "double-double": ~106 bits, for O with
        quadrature structure (every physical O); "auto" runs in double and
        repeats in the cheapest tier whose error estimate (condition number
        times unit roundoff) is below AUTO_RTOL = 1e-10.
    return_info : bool
        Return a :class:`~jiuzhang_emu.kernels.KernelResult` instead of the value.
    max_seconds : float or None
        Refuse a call predicted to run longer; None lifts the limit.

    Returns
    -------
    float
        1 for n = 0.
    """
    return _single(O, None, n_threads, precision, return_info, max_seconds, "torontonian")


def loop_torontonian(O, gamma, *, n_threads=None, precision="double", return_info=False,
                     max_seconds=3600.0):
    """Loop torontonian of an O matrix and a displacement vector.

    Parameters
    ----------
    O : array_like of shape (2n, 2n)
        As for :func:`torontonian`.
    gamma : array_like of shape (2n,)
        The displacement vector in the complex basis; zero gives the torontonian.
    n_threads, precision, return_info, max_seconds
        As for :func:`torontonian`.

    Returns
    -------
    float
    """
    if gamma is None:
        raise InputError("gamma must be a vector of shape (2n,), got None")
    return _single(O, gamma, n_threads, precision, return_info, max_seconds,
                   "loop_torontonian")


def _batch(Os, gammas, n_threads, precision, return_info, max_seconds, what):
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    Os = as_matrix(Os, "Os", batch=True)
    _check_O(Os, "Os")
    if gammas is not None:
        gammas = as_vector(gammas, "gammas", Os.shape[-1], batch_shape=Os.shape[:1])
        _check_exponent(Os, gammas, "gammas")
    structured = _structure_mask(Os, gammas)
    check_precision(precision, TIERS if np.all(structured) else TIERS[:2])
    B, n = Os.shape[0], Os.shape[-1] // 2
    threads = work.check_call_seconds("torontonian", B * work.torontonian_work(n), max_seconds,
                                      what=what, precision=precision, n_threads=threads)

    # each matrix takes the path its single call would take
    values, conds, errors = np.zeros(B), np.zeros(B), np.zeros(B)
    tiers = np.full(B, "double", dtype="U13")
    for mask, available in ((structured, TIERS), (~structured, TIERS[:2])):
        items = np.flatnonzero(mask)
        if not items.size:
            continue
        part_O = Os[items]
        part_g = None if gammas is None else gammas[items]

        def run(tier, index, part_O=part_O, part_g=part_g):
            sub = part_O if index is None else part_O[index]
            sub_g = None if part_g is None else (part_g if index is None else part_g[index])
            return _kernels.torontonian_batch(*kernel_inputs(sub, sub_g, tier), threads, tier)

        v, t, c, e = evaluate_batch(run, precision, items.size, available)
        values[items], tiers[items], conds[items], errors[items] = v.real, t, c, e
    check_finite_result(values, what, "Os" if gammas is None else "Os and gammas",
                        _scale(Os, gammas))
    result = BatchResult(values, tiers, conds, errors)
    return result if return_info else result.values


def torontonian_batch(Os, *, n_threads=None, precision="double", return_info=False,
                      max_seconds=3600.0):
    """Torontonians of a stack of O matrices of shape (batch, 2n, 2n)."""
    return _batch(Os, None, n_threads, precision, return_info, max_seconds,
                  "torontonian_batch")


def loop_torontonian_batch(Os, gammas, *, n_threads=None, precision="double",
                           return_info=False, max_seconds=3600.0):
    """Loop torontonians of a stack of O matrices (batch, 2n, 2n) and vectors (batch, 2n)."""
    if gammas is None:
        raise InputError("gammas must be an array of shape (batch, 2n), got None")
    return _batch(Os, gammas, n_threads, precision, return_info, max_seconds,
                  "loop_torontonian_batch")
