"""Thread-count policy, in one place (as scikit-learn's
``_openmp_effective_n_threads``): None means all usable cores, a negative
value counts back from them (-1 = all, -2 = all but one), 0 is an error, and
more than :func:`max_threads` is refused: each OpenMP thread reserves its
stack and workspace, so 10**4 threads start 10**4 stacks and 2**31 - 1
abort the process inside libgomp."""
import os
import numbers

from jiuzhang_emu.errors import InputError


def usable_cores():
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def max_threads():
    """The most threads a call may ask for: 4 per usable core, at least 64
    (oversubscription is allowed, within reason)."""
    return max(64, 4 * usable_cores())


def effective_n_threads(n_threads=None):
    """Resolve ``n_threads`` to a positive thread count.

    Parameters
    ----------
    n_threads : int or None
        None: all usable cores; k > 0: k threads; k < 0: cores + 1 + k.

    Returns
    -------
    int
    """
    if n_threads is None:
        return usable_cores()
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise InputError(
            f"n_threads must be None or a nonzero integer, got {n_threads!r} "
            f"of type {type(n_threads).__name__}"
        )
    if n_threads == 0:
        raise InputError("n_threads must be None or a nonzero integer, got 0")
    if n_threads < 0:
        return max(1, usable_cores() + 1 + int(n_threads))
    if n_threads > max_threads():
        raise InputError(f"n_threads must be at most {max_threads()} (4 per usable core, at "
                         f"least 64; {usable_cores()} usable cores here), got {int(n_threads)}")
    return int(n_threads)
