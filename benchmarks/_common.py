"""Machine and thread helpers shared by the benchmark scripts.

Imports nothing heavy: ``set_thread_environment`` must run before numpy,
numba or a peer library is imported.
"""
import argparse
import os
import platform
import time

def json_default(obj):
    """JSON encoding of what the scripts' results hold besides plain Python:
    numpy scalars and arrays, complex numbers as [real, imag]."""
    import numpy as np  # here, not at import: the thread environment comes first

    if isinstance(obj, complex):
        return [obj.real, obj.imag]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot encode {type(obj).__name__}")


THREAD_ENV_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                   "MKL_NUM_THREADS")


def usable_cores():
    """Number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def set_thread_environment(argv):
    """Export the thread count of ``--threads`` before numpy/numba load.

    numba reads ``NUMBA_NUM_THREADS`` and libgomp reads ``OMP_NUM_THREADS``
    once, at import, so this must run before those imports.

    Parameters
    ----------
    argv : list of str
        Command line arguments (only ``--threads`` is looked at).

    Returns
    -------
    int
        The thread count.
    """
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=None)
    known, _ = pre.parse_known_args(argv)
    threads = known.threads if known.threads and known.threads > 0 else usable_cores()
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(threads)
    return threads


def cpu_info():
    """Model name, family, clock (MHz) and SIMD flags from /proc/cpuinfo."""
    info = {"model": platform.processor() or platform.machine(), "mhz": None, "flags": set()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and info["model"] in ("", platform.machine()):
                    info["model"] = value
                elif key == "cpu MHz" and info["mhz"] is None:
                    info["mhz"] = float(value)
                elif key == "flags" and not info["flags"]:
                    info["flags"] = set(value.split())
                elif key == "vendor_id":
                    info["vendor"] = value
                elif key == "cpu family" and "family" not in info:
                    info["family"] = int(value)
    except OSError:
        pass
    return info


def background_load(interval=0.5):
    """Fraction of all cores busy over ``interval`` seconds while we sleep.

    Read from /proc/stat; other processes' load disturbs the timings.
    """
    def snapshot():
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        return sum(fields), idle

    try:
        total0, idle0 = snapshot()
        time.sleep(interval)
        total1, idle1 = snapshot()
    except OSError:
        return None
    total = total1 - total0
    return None if total <= 0 else 1.0 - (idle1 - idle0) / total


def base_versions():
    """Versions of python, numpy, scipy, jiuzhang_emu and numba (if
    installed); import only after set_thread_environment."""
    import numpy as np
    import scipy

    import jiuzhang_emu

    out = {"python": platform.python_version(), "numpy": np.__version__,
           "scipy": scipy.__version__, "jiuzhang_emu": jiuzhang_emu.__version__}
    try:
        import numba
        out["numba"] = numba.__version__
    except ImportError:
        pass
    return out
