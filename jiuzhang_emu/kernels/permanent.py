"""Permanent by Glynn's formula in Gray-code order (Glynn, Eur. J. Comb. 31,
1887 (2010)), O(2^(n-1) n), single and batched."""
import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.kernels import _kernels, work
from jiuzhang_emu.kernels.checks import as_matrix, check_finite_result, check_max_seconds
from jiuzhang_emu.kernels.precision import check_precision, evaluate, evaluate_batch
from jiuzhang_emu.kernels.hafnian import BatchResult


def permanent(M, *, n_threads=None, precision="double", return_info=False, max_seconds=3600.0):
    """Permanent of a square matrix.

    Parameters
    ----------
    M : array_like of shape (n, n)
        Real or complex.
    n_threads, precision, return_info, max_seconds
        As for :func:`jiuzhang_emu.hafnian`.

    Returns
    -------
    float or complex
        1 for an empty matrix.
    """
    check_precision(precision)
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    M = as_matrix(M, "M")
    is_complex = M.dtype.kind == "c"
    threads = work.check_call_seconds("permanent", work.permanent_work(M.shape[0]), max_seconds,
                                      what="permanent", is_complex=is_complex,
                                      precision=precision, n_threads=threads)
    MT = np.ascontiguousarray(M.T)  # perm(M) = perm(M^T), rounded differently
    result = evaluate(lambda tier: _kernels.permanent(M, threads, tier == "extended"), precision,
                      rerun=lambda tier: _kernels.permanent(MT, threads, tier == "extended"))
    check_finite_result(result.value, "permanent", "M",
                        f"largest |entry| {np.abs(M).max(initial=0):.3g}")
    value = complex(result.value) if is_complex else float(result.value.real)
    result = result._replace(value=value)
    return result if return_info else value


def permanent_batch(Ms, *, n_threads=None, precision="double", return_info=False,
                    max_seconds=3600.0):
    """Permanents of a stack of square matrices of shape (batch, n, n)."""
    check_precision(precision)
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    Ms = as_matrix(Ms, "Ms", batch=True)
    is_complex = Ms.dtype.kind == "c"
    threads = work.check_call_seconds("permanent", Ms.shape[0] * work.permanent_work(Ms.shape[1]),
                                      max_seconds, what="permanent_batch",
                                      is_complex=is_complex, precision=precision,
                                      n_threads=threads)

    def run(tier, index, transpose=False):
        sub = Ms if index is None else Ms[index]
        sub = np.ascontiguousarray(np.swapaxes(sub, -1, -2) if transpose else sub)
        return _kernels.permanent_batch(sub, threads, tier == "extended")

    values, tiers, conds, errors = evaluate_batch(
        run, precision, Ms.shape[0], rerun=lambda tier, index: run(tier, index, True))
    check_finite_result(values, "permanent_batch", "Ms",
                        f"largest |entry| {np.abs(Ms).max(initial=0):.3g}")
    values = values if is_complex else values.real.copy()
    result = BatchResult(values, tiers, conds, errors)
    return result if return_info else values
