"""Predicted run times of the kernels, to refuse absurd requests up front.

Each prediction is ``rate * work / threads`` with the work count of the
algorithm and a rate in seconds per unit of work measured with
``benchmarks/kernels.py`` on the 2-core development machine (AMD EPYC,
complex float64).  Real inputs cost about a third; the extended tier about
three times, double-double about fifteen times the float64 time.  The predictions are meant to be right within a small factor,
which is all a guard against hour-long calls needs.
"""
import math

from jiuzhang_emu.errors import RuntimeLimitError

# seconds per unit of work, complex float64, one thread
_RATE = {"hafnian": 3.0e-9, "torontonian": 4.0e-9, "permanent": 2.0e-9}
_REAL_FACTOR = 0.35
_TIER_FACTOR = {"double": 1.0, "auto": 1.0, "extended": 3.0, "double-double": 15.0}


def predicted_seconds(kernel, work, *, is_complex=True, precision="double", n_threads=1):
    """Predicted seconds for ``work`` units of the given kernel."""
    seconds = _RATE[kernel] * work / max(1, n_threads) * _TIER_FACTOR[precision]
    if not is_complex:
        seconds *= _REAL_FACTOR
    return seconds


def hafnian_work(group_k, n_pairs):
    """Leaves of the recursion times the cost of a leaf, O(n^2)."""
    leaves = math.prod(int(k) + 1 for k in group_k)  # Python ints: no overflow
    return float(leaves) * (int(n_pairs) + 1) ** 2


def torontonian_work(n_modes):
    n_modes = int(n_modes)
    return 2.0**n_modes * (n_modes + 1) ** 2


def permanent_work(n):
    n = int(n)
    return 2.0 ** max(n - 1, 0) * max(n, 1)


def check_runtime(kernel, work, max_seconds, *, what, **kwargs):
    """Raise :class:`RuntimeLimitError` when the prediction exceeds max_seconds."""
    if max_seconds is None:
        return
    seconds = predicted_seconds(kernel, work, **kwargs)
    if seconds > max_seconds:
        raise RuntimeLimitError(
            f"{what}: predicted run time {seconds:.3g} s ({seconds / 3600:.3g} h) exceeds "
            f"max_seconds={max_seconds:g}; pass max_seconds=None to run it anyway"
        )
