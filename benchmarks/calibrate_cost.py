"""Measure the rates behind ``jiuzhang_emu/kernels/work.py``.

For each kernel and precision tier, times our kernel at a few sizes and prints
the seconds per unit of work (the work counts of ``work``) per thread, as the
median over sizes.  Paste the printed table into ``work.py`` when the kernels
change, and quote the machine.

Usage::

    python benchmarks/calibrate_cost.py [--threads N]
"""
import argparse
import statistics
import time

import numpy as np

import jiuzhang_emu as je
from jiuzhang_emu.kernels import work

SIZES = {"hafnian": (28, 32, 36), "torontonian": (16, 18, 20), "permanent": (20, 22, 24)}
TIERS = {"hafnian": ("double", "extended"), "permanent": ("double", "extended"),
         "torontonian": ("double", "extended", "double-double")}


def inputs(kernel, size, rng):
    """A complex input (physical O for the torontonian) of the given size."""
    if kernel == "torontonian":
        X = rng.normal(size=(2 * size, 2 * size))
        cov = X @ X.T / size + np.eye(2 * size)  # a valid (thermal-like) covariance
        n = size
        W = np.block([[np.eye(n), 1j * np.eye(n)], [np.eye(n), -1j * np.eye(n)]]) / np.sqrt(2)
        Q = W @ cov @ W.conj().T / 2 + np.eye(2 * n) / 2
        return np.eye(2 * n) - np.linalg.inv(Q)
    M = rng.normal(size=(size, size)) + 1j * rng.normal(size=(size, size))
    return M + M.T if kernel == "hafnian" else M


def units(kernel, size):
    if kernel == "hafnian":
        return work.hafnian_work([1] * (size // 2), size // 2)
    if kernel == "torontonian":
        return work.torontonian_work(size)
    return work.permanent_work(size)


def best_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    threads = je.effective_n_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"threads {threads}; seconds per unit of work per thread (complex inputs; "
          "physical O for the torontonian, which runs on the real path)")
    for kernel, sizes in SIZES.items():
        fn = getattr(je, kernel)
        rates = {}
        for tier in TIERS[kernel]:
            per_size = []
            for size in sizes:
                x = inputs(kernel, size, rng)
                t = best_time(lambda: fn(x, n_threads=threads, precision=tier, max_seconds=None))
                per_size.append(t * threads / units(kernel, size))
            rates[tier] = statistics.median(per_size)
        base = rates["double"]
        factors = ", ".join(f"{tier} x{rate / base:.3g}" for tier, rate in rates.items())
        print(f"{kernel:>12}: {base:.3g} s/unit; {factors}")


if __name__ == "__main__":
    main()
