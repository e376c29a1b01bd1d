"""Build and runtime configuration report."""
import platform
import sys

import numpy as np


def config():
    """Versions, OpenMP status and thread counts as a dict."""
    from jiuzhang_emu._version import __version__
    from jiuzhang_emu._threads import usable_cores
    from jiuzhang_emu.kernels import openmp_enabled, openmp_max_threads

    return {
        "jiuzhang_emu": __version__,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "platform": platform.platform(),
        "openmp": openmp_enabled(),
        "openmp_max_threads": openmp_max_threads(),
        "usable_cores": usable_cores(),
        "long_double_mantissa_bits": int(np.finfo(np.longdouble).nmant) + 1,
    }


def show_config():
    """Print versions, whether OpenMP is on, and the thread count."""
    for key, value in config().items():
        print(f"{key:>26}: {value}")
