"""Where the seconds are spent: this machine's sustained float64 rate, the
named supercomputers, and how seconds and years are written.

A supercomputer's time is this machine's one-core time scaled by (this
machine's sustained float64 rate per core, measured as a matrix product) /
(the supercomputer's HPL Rmax).  The assumptions: the sampler reaches the
same fraction of the machine's LINPACK rate there as here (GPU systems would
need an equally efficient GPU port), and it parallelises perfectly over all
cores (shots are independent, and one shot's subsets or hafnian leaves split
evenly).  Both are generous to the classical side.
"""
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.errors import InputError

SECONDS_PER_YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Supercomputer:
    name: str
    rmax: float
    """Sustained float64 rate, FLOP/s (HPL Rmax)."""
    source: str


SUPERCOMPUTERS = {
    "TaihuLight": Supercomputer("Sunway TaihuLight", 93.01e15, "TOP500, June 2016 (HPL)"),
    "Fugaku": Supercomputer("Fugaku", 442.01e15, "TOP500, November 2020 onwards (HPL)"),
    "Frontier": Supercomputer("Frontier", 1.353e18, "TOP500, November 2024 (HPL)"),
    "El Capitan": Supercomputer("El Capitan", 1.809e18, "TOP500, November 2025 (HPL)"),
}


def supercomputer(name):
    try:
        return SUPERCOMPUTERS[name]
    except KeyError:
        raise InputError(f"machine must be one of {sorted(SUPERCOMPUTERS)}, "
                         f"got {name!r}") from None


def scaled_seconds(seconds, flops_per_core, machine=None):
    """One-core seconds here (``flops_per_core`` FLOP/s) -> seconds on all of
    the named supercomputer (None: here)."""
    if machine is None:
        return seconds
    return seconds * flops_per_core / supercomputer(machine).rmax


def best_seconds(fn, repeats):
    """The shortest of ``repeats`` timed calls of ``fn``."""
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_flops(n=2048, repeats=5):
    """Sustained float64 FLOP/s per core: a matrix product (numpy's BLAS)
    divided by the threads BLAS runs on (the usable cores, or fewer when
    OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or OMP_NUM_THREADS says so)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    seconds = best_seconds(lambda: a @ b, repeats)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            threads = min(threads or 1, int(os.environ[var]))
            break
    return 2.0 * n**3 / seconds / max(1, threads or 1)


def format_seconds(seconds):
    """``3.2 s``, ``4.1 min``, ``2.5 h``, ``3.1 days`` or ``2.0e+04 years``."""
    for unit, size in (("years", SECONDS_PER_YEAR), ("days", 86400), ("h", 3600),
                       ("min", 60)):
        if seconds >= 2 * size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{value:.2g} {unit}"
    return f"{seconds:.2g} s"


def format_years(log10_years):
    """'3.4e+03 years', or '10^661 years' beyond floating point; under two
    years as :func:`format_seconds` writes it ('5.35 h')."""
    if log10_years < math.log10(2):
        return format_seconds(10**log10_years * SECONDS_PER_YEAR)
    if log10_years < 300:
        return f"{10**log10_years:.2g} years"
    return f"10^{log10_years:.0f} years"
