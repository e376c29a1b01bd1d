"""Predicted run times of the kernels, to refuse absurd requests up front.

Each prediction is ``rate * work / threads`` with the work count of the
algorithm and a rate in seconds per unit of work, measured by
``benchmarks/calibrate_cost.py`` on the 2-core development machine (AMD EPYC,
Zen 5, AVX-512) for complex float64 inputs; real inputs cost about a third,
and the higher tiers cost the factors below.  A guard against hour-long calls
needs no more than the right order of magnitude.
"""
import math

from jiuzhang_emu.errors import RuntimeLimitError

# seconds per unit of work per thread, complex float64 (the torontonian was
# measured on its real path, 2.2e-9, and is stored divided by _REAL_FACTOR)
_RATE = {"hafnian": 1.7e-9, "torontonian": 6.4e-9, "permanent": 8.6e-10}
_REAL_FACTOR = 0.35
_TIER_FACTOR = {
    "hafnian": {"extended": 14.0},
    "permanent": {"extended": 15.0},
    "torontonian": {"extended": 6.0, "double-double": 10.0},
}


def predicted_seconds(kernel, work, *, is_complex=True, precision="double", n_threads=1):
    """Predicted seconds for ``work`` units of the given kernel."""
    seconds = _RATE[kernel] * work / max(1, n_threads)
    seconds *= _TIER_FACTOR[kernel].get(precision, 1.0)
    if not is_complex:
        seconds *= _REAL_FACTOR
    return seconds


def hafnian_work(group_k, n_pairs):
    """Leaves of the recursion times the cost of a leaf, O(n^2)."""
    leaves = math.prod(int(k) + 1 for k in group_k)  # Python ints: no overflow
    return float(leaves) * (int(n_pairs) + 1) ** 2


def torontonian_work(n_modes):
    """Subsets times the O(n) amortised cost of one."""
    n_modes = int(n_modes)
    return 2.0**n_modes * (n_modes + 1)


def permanent_work(n):
    n = int(n)
    return 2.0 ** max(n - 1, 0) * max(n, 1)


#: Work predicted to take less than this on one thread runs on one thread:
#: starting a team of threads costs more than it saves (and far more when
#: other processes hold the cores).  Results do not depend on the count.
SERIAL_SECONDS = 1e-3


def check_runtime(kernel, work, max_seconds, *, what, n_threads=1, **kwargs):
    """Raise :class:`RuntimeLimitError` when the prediction exceeds
    max_seconds; return the number of threads to use."""
    serial = predicted_seconds(kernel, work, n_threads=1, **kwargs)
    seconds = serial / max(1, n_threads)
    if max_seconds is not None and seconds > max_seconds:
        raise RuntimeLimitError(
            f"{what}: predicted run time {seconds:.3g} s ({seconds / 3600:.3g} h) exceeds "
            f"max_seconds={max_seconds:g}; pass max_seconds=None to run it anyway"
        )
    return 1 if serial < SERIAL_SECONDS else n_threads
