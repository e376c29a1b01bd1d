"""Checked front end of the Gibbs-sweep kernel (csrc/gibbs.c) of a Boltzmann
machine over 0/1 variables, the k = 2 low-order marginal sampler of
Villalonga et al., arXiv:2109.11525 (fitted by
:mod:`jiuzhang_emu.samplers.boltzmann`).

    P(x) = exp(h . x + sum_{j<k} J_jk x_j x_k) / Z,   x in {0, 1}^M,

J symmetric with a zero diagonal.  A sweep visits the sites k = 0 .. M-1 in
order and sets x_k = [u < 1 / (1 + exp(-f_k))] (heat bath), f_k = h_k +
sum_j J_kj x_j the local field, with u the caller's uniform number for that
chain, sweep and site: no randomness inside the kernel.  The fields are kept
up to date incrementally (a flip of site k adds +-J[k, :]: O(M) per flip).
Fields and couplings are float32 (the kernel's rounding note in
csrc/gibbs.c).  Chains run in parallel; the result does not depend on
``n_threads``.
:func:`gibbs_sweeps_reference` is the same sweep in numpy, for tests.
"""
import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels
from jiuzhang_emu.kernels.checks import as_array, check_integer


def _couplings(J):
    try:
        J = np.asarray(J)
    except Exception as exc:  # noqa: BLE001 - report any conversion failure the same way
        raise InputError(f"J must be array-like, got {type(J).__name__}") from exc
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] < 1:
        raise InputError(f"J must be a square matrix of shape (M, M) with M >= 1, got shape "
                         f"{J.shape}")
    if J.dtype.kind not in "biuf":
        raise InputError(f"J must hold real numbers, got dtype {J.dtype}")
    J = np.ascontiguousarray(J, dtype=np.float32)
    if not np.all(np.isfinite(J)):
        raise InputError("J must be finite (as float32), got a non-finite entry")
    if np.any(np.diagonal(J) != 0):
        raise InputError(f"J must have a zero diagonal, got J[k, k] = "
                         f"{np.diagonal(J)[np.diagonal(J) != 0][0]}")
    return J


def _check_inputs(J, h, u, x, check_symmetric):
    J = _couplings(J)
    M = J.shape[0]
    if check_symmetric and not np.array_equal(J, J.T):
        raise InputError("J must be symmetric (J[j, k] == J[k, j] as float32)")
    h = as_array(h, "h", (M,), "real")
    u = as_array(u, "u", (None, None, M), "real")
    if u.size and not (u.min() >= 0 and u.max() <= 1):
        bad = u.min() if u.min() < 0 else u.max()
        raise InputError(f"u must hold uniform numbers in [0, 1], got {bad}")
    x = np.asarray(x)
    if x.shape != (u.shape[0], M):
        raise InputError(f"x must have shape (chains, M) = ({u.shape[0]}, {M}), got {x.shape}")
    if x.dtype.kind not in "biu" or not np.all((x == 0) | (x == 1)):
        raise InputError("x must hold 0 / 1 values")
    return J, h, u, np.ascontiguousarray(x, dtype=np.uint8).copy()


def _records(sweeps, burn_in, thin):
    burn_in = check_integer(burn_in, "burn_in", low=0)
    thin = check_integer(thin, "thin", low=1)
    return burn_in, thin, (0 if sweeps <= burn_in else 1 + (sweeps - burn_in - 1) // thin)


def gibbs_sweeps(J, h, u, x, *, burn_in=0, thin=1, n_threads=None, check_symmetric=True):
    """Run Gibbs sweeps of many chains.

    Parameters
    ----------
    J : array_like of shape (M, M)
        Couplings: symmetric, zero diagonal; used as float32.
    h : array_like of shape (M,)
        Fields.
    u : array_like of shape (chains, sweeps, M)
        Uniform numbers in [0, 1], one per chain, sweep and site: the draw.
    x : array_like of shape (chains, M)
        Starting states (0 / 1); not modified.
    burn_in : int
        Sweeps before the first recorded state.
    thin : int
        Sweeps between recorded states: the states after sweeps burn_in + 1,
        burn_in + 1 + thin, ... are recorded.
    n_threads : int, optional
        None for all usable cores; chains run in parallel.
    check_symmetric : bool
        Check that J is symmetric (an O(M^2) pass; callers that built J
        symmetric may skip it).

    Returns
    -------
    records : ndarray of uint8 of shape (chains, n_records, M)
        n_records = 1 + (sweeps - burn_in - 1) // thin (0 when sweeps <= burn_in).
    x : ndarray of uint8 of shape (chains, M)
        The states after the last sweep.
    """
    threads = effective_n_threads(n_threads)
    J, h, u, x = _check_inputs(J, h, u, x, check_symmetric)
    burn_in, thin, n_records = _records(u.shape[1], burn_in, thin)
    records = _kernels.gibbs_sweeps(J, h, u, x, burn_in + 1, thin, n_records, threads)
    return records, x


def gibbs_sweeps_reference(J, h, u, x, *, burn_in=0, thin=1):
    """:func:`gibbs_sweeps` in numpy, one chain and one site at a time (the
    same arithmetic: float32 fields and couplings, float64 exp)."""
    J, h, u, x = _check_inputs(J, h, u, x, True)
    burn_in, thin, n_records = _records(u.shape[1], burn_in, thin)
    chains, sweeps, M = u.shape
    records = np.zeros((chains, n_records, M), dtype=np.uint8)
    for c in range(chains):
        f = h.astype(np.float32)
        for j in range(M):
            if x[c, j]:
                f += J[j]
        recorded = 0
        for s in range(sweeps):
            for k in range(M):
                with np.errstate(over="ignore", invalid="ignore"):
                    new = int(u[c, s, k] * (1.0 + np.exp(-np.float64(f[k]))) < 1.0)
                if new != x[c, k]:
                    x[c, k] = new
                    f += J[k] if new else -J[k]
            done = s + 1
            if done > burn_in and (done - burn_in - 1) % thin == 0 and recorded < n_records:
                records[c, recorded] = x[c]
                recorded += 1
    return records, x
