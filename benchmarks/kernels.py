"""Time the jiuzhang_emu kernels against thewalrus and piquasso.

All libraries run in the same process, on the same inputs and with the same
number of threads, after a warm-up call of every function at a small size (so
numba's JIT compilation and first-call imports are not timed).  For each size
the implementations are run in turn (ours, ours extended, peer 1, peer 2, ...)
``--repeats`` times (short calls more often, up to 15 times) and the median
is reported, so a background load that comes and goes hits all of them alike.

How to read the tables
----------------------
* ``ours (s)``: our kernel in the default "double" tier (float64).
* ``ours ext (s)`` and ``ext/dbl``: the "extended" tier (80-bit long double)
  and its slowdown relative to "double".
* ``ratio`` = peer time / our double time.  **ratio > 1 means we are faster**
  (ratio 10: the peer needs ten times as long); ratio < 1 means the peer wins.
* ``> T`` in a peer's column: the peer was not run at that size because its
  time, extrapolated from its measured growth at the smaller sizes, exceeds
  ``--peer-timeout`` T seconds; the ratio is then a lower bound ``> T / ours``.
* ``max rel dis``: the largest pairwise difference between all values computed
  at that size (ours, ours extended and the peers), relative to the modulus of
  our extended-precision value.  The lines under each table give every
  implementation's deviation from our extended value.

Usage::

    python benchmarks/kernels.py                       # full run, several minutes
    python benchmarks/kernels.py --quick               # smoke run, < 1 minute
    python benchmarks/kernels.py --kernels hafnian --sizes hafnian=24,28 --threads 1
    python benchmarks/kernels.py --json /tmp/bench.json

Threads: ``--threads`` (default: all usable cores) is exported as
``NUMBA_NUM_THREADS`` (thewalrus) and ``OMP_NUM_THREADS`` (piquasso's OpenMP
code and BLAS) before numpy or numba are imported, and passed to our kernels
as ``n_threads``.
"""
import argparse
import contextlib
import ctypes
import gc
import glob
import io
import json
import os
import platform
import statistics
import sys
import time
from typing import Callable, NamedTuple

from _common import (background_load, base_versions, cpu_info, json_default,
                     set_thread_environment, usable_cores)

if __name__ == "__main__":
    set_thread_environment(sys.argv[1:])

import numpy as np  # noqa: E402 - after the thread environment is set

import jiuzhang_emu as je  # noqa: E402

try:  # the peers are optional: their columns read "n/a" without them
    import thewalrus
    from thewalrus.quantum import Qmat as thewalrus_qmat
except ImportError:  # pragma: no cover - depends on the environment
    thewalrus = None
try:
    import piquasso
    from piquasso._math.hafnian import hafnian_with_reduction as pq_hafnian
    from piquasso._math.hafnian import loop_hafnian_with_reduction as pq_loop_hafnian
    from piquasso._math.permanent import permanent as pq_permanent
    from piquasso._math.torontonian import torontonian as pq_torontonian
except ImportError:  # pragma: no cover - depends on the environment
    piquasso = None

KERNELS = ("hafnian", "loop_hafnian", "torontonian", "permanent")

# Matrix sizes (the torontonian's is 2 x modes).
DEFAULT_SIZES = {
    "hafnian": [24, 28, 32, 36, 40],
    "loop_hafnian": [24, 28, 32, 36],
    "torontonian": [32, 36, 40],
    "permanent": [16, 20, 24],
}
QUICK_SIZES = {
    "hafnian": [12, 16, 20],
    "loop_hafnian": [12, 16],
    "torontonian": [12, 16],
    "permanent": [10, 14],
}
WARMUP_SIZE = {"hafnian": 10, "loop_hafnian": 10, "torontonian": 8, "permanent": 8}

# Column order of every table; a kernel without such a peer shows "-".
PEER_COLUMNS = ("thewalrus default", "thewalrus recursive", "piquasso")

SQUEEZING_RANGE = (1.0, 1.5)       # r of the single-mode squeezers
TRANSMISSION_RANGE = (0.3, 0.6)    # per-mode transmission (loss 40-70 %)
DISAGREEMENT_WARN = 1e-8           # flag values that differ more than this
MIN_TIME_FOR_GROWTH = 0.05         # shorter times give no usable growth rate
SHORT_CALL_TOTAL = 0.25            # repeat calls until they add up to this (s) ...
SHORT_CALL_REPEATS = 15            # ... but at most this many times


# ---------------------------------------------------------------- inputs ---

def random_symmetric(n, rng):
    """Complex symmetric n x n matrix (X + X^T) / sqrt(n), X standard normal.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of complex128, shape (n, n)
    """
    X = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return np.ascontiguousarray((X + X.T) / np.sqrt(n))


def random_square(n, rng):
    """Complex n x n matrix with standard normal entries scaled by 1/sqrt(n)."""
    X = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return np.ascontiguousarray(X / np.sqrt(n))


def haar_unitary(n, rng):
    """Haar-random n x n unitary (QR of a complex Gaussian matrix)."""
    Z = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(Z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def lossy_gbs_covariance(n_modes, rng):
    """Covariance of a lossy Gaussian boson sampler, xxpp ordering, hbar = 2.

    Single-mode squeezed vacua (r uniform in :data:`SQUEEZING_RANGE`), per-mode
    loss (transmission uniform in :data:`TRANSMISSION_RANGE`), then a Haar
    random interferometer.  Vacuum has covariance I.

    Parameters
    ----------
    n_modes : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of float64, shape (2 n_modes, 2 n_modes)
    """
    r = rng.uniform(*SQUEEZING_RANGE, n_modes)
    eta = np.tile(rng.uniform(*TRANSMISSION_RANGE, n_modes), 2)
    squeezed = np.diag(np.concatenate([np.exp(-2 * r), np.exp(2 * r)]))
    lossy = squeezed * np.sqrt(np.outer(eta, eta)) + np.diag(1 - eta)
    U = haar_unitary(n_modes, rng)
    S = np.block([[U.real, -U.imag], [U.imag, U.real]])
    return S @ lossy @ S.T


def complex_basis_change(n_modes):
    """R with Q = R Sigma R^H, Sigma = (cov + I) / 2 (xxpp, hbar = 2).

    Maps (x, p) to thewalrus's complex basis (a_1..a_n, a_1^*..a_n^*) with
    the conjugation convention of ``thewalrus.quantum.Qmat``.  R is unitary
    and acts mode by mode.
    """
    eye = np.eye(n_modes)
    return np.block([[eye, -1j * eye], [eye, 1j * eye]]) / np.sqrt(2)


def q_matrix(cov):
    """Husimi Q matrix of a covariance (xxpp, hbar = 2), as thewalrus's Qmat."""
    n_modes = len(cov) // 2
    R = complex_basis_change(n_modes)
    sigma = (cov + np.eye(2 * n_modes)) / 2
    return R @ sigma @ R.conj().T


def torontonian_o_matrix(cov):
    """O = I - Q^-1 in the complex basis: the input of ``tor`` and ours."""
    Q = q_matrix(cov)
    return np.eye(len(Q)) - np.linalg.inv(Q)


def o_to_piquasso_xpxp(O):
    """Convert a complex-basis O to piquasso's real xpxp torontonian input.

    piquasso evaluates tor(I - Sigma^-1) with Sigma = (cov_xpxp + I) / 2.
    Since Q = R Sigma R^H with R unitary and block diagonal over the modes,
    O = I - Q^-1 = R (I - Sigma^-1) R^H, so ``R^H O R`` (then permuted from
    xxpp to xpxp) is piquasso's matrix; every principal minor over a set of
    modes is unchanged, hence so is the torontonian.

    Parameters
    ----------
    O : ndarray, shape (2n, 2n)

    Returns
    -------
    ndarray of float64, shape (2n, 2n)
        Real (the imaginary part of R^H O R is rounding noise and is checked).
    """
    n_modes = len(O) // 2
    R = complex_basis_change(n_modes)
    A = R.conj().T @ O @ R
    imag = np.abs(A.imag).max()
    if imag > 1e-10 * max(1.0, np.abs(A).max()):
        raise ValueError(f"O has no real xpxp form (imaginary part {imag:.3g})")
    order = np.ravel(np.column_stack([np.arange(n_modes), np.arange(n_modes) + n_modes]))
    return np.ascontiguousarray(A.real[np.ix_(order, order)])


def piquasso_xpxp_from_covariance(cov):
    """piquasso's own route to its input, I - Sigma^-1 with Sigma in xpxp."""
    n_modes = len(cov) // 2
    order = np.ravel(np.column_stack([np.arange(n_modes), np.arange(n_modes) + n_modes]))
    sigma = (cov[np.ix_(order, order)] + np.eye(2 * n_modes)) / 2
    return np.eye(2 * n_modes) - np.linalg.inv(sigma)


def make_inputs(kernel, size, seed):
    """Inputs for one kernel at one matrix size, reproducible from ``seed``.

    Returns
    -------
    dict
        ``A`` (hafnians), ``M`` (permanent) or ``O`` and ``O_xpxp``
        (torontonian), plus ``ones``, the occupation/multiplicity vector the
        piquasso functions take.
    """
    rng = np.random.default_rng([seed, size, KERNELS.index(kernel)])
    if kernel in ("hafnian", "loop_hafnian"):
        inputs = {"A": random_symmetric(size, rng)}
    elif kernel == "permanent":
        inputs = {"M": random_square(size, rng)}
    else:
        O = torontonian_o_matrix(lossy_gbs_covariance(size // 2, rng))
        inputs = {"O": O, "O_xpxp": o_to_piquasso_xpxp(O)}
    inputs["ones"] = np.ones(size if kernel != "torontonian" else size // 2, dtype=np.intc)
    return inputs


# ------------------------------------------------------- implementations ---

class Impl(NamedTuple):
    """One timed function.

    Attributes
    ----------
    column : str
        "ours", "ours extended" or one of :data:`PEER_COLUMNS`.
    call : str
        The call, as printed in the table title.
    run : callable
        ``run(inputs) -> value``.
    """

    column: str
    call: str
    run: Callable


def our_impls(kernel, threads):
    """Our kernel in the double and extended tiers."""
    fn = {"hafnian": lambda x, **kw: je.hafnian(x["A"], **kw),
          "loop_hafnian": lambda x, **kw: je.loop_hafnian(x["A"], **kw),
          "torontonian": lambda x, **kw: je.torontonian(x["O"], **kw),
          "permanent": lambda x, **kw: je.permanent(x["M"], **kw)}[kernel]
    name = {"hafnian": "A", "loop_hafnian": "A", "torontonian": "O", "permanent": "M"}[kernel]
    impls = []
    for column, precision in (("ours", "double"), ("ours extended", "extended")):
        impls.append(Impl(
            column,
            f"je.{kernel}({name}, n_threads={threads}, precision={precision!r}, "
            f"max_seconds=None)",
            lambda x, p=precision: fn(x, n_threads=threads, precision=p, max_seconds=None),
        ))
    return impls


def peer_impls(kernel):
    """The peer functions timed for ``kernel`` (those that are installed)."""
    impls = []
    if thewalrus is not None:
        if kernel == "hafnian":
            impls += [
                Impl("thewalrus default", "thewalrus.hafnian(A)",
                     lambda x: thewalrus.hafnian(x["A"])),
                Impl("thewalrus recursive", 'thewalrus.hafnian(A, method="recursive")',
                     lambda x: thewalrus.hafnian(x["A"], method="recursive")),
            ]
        elif kernel == "loop_hafnian":
            impls.append(Impl("thewalrus default", "thewalrus.hafnian(A, loop=True)",
                              lambda x: thewalrus.hafnian(x["A"], loop=True)))
        elif kernel == "torontonian":
            impls.append(Impl("thewalrus default", "thewalrus.tor(O)  (recursive=True)",
                              lambda x: thewalrus.tor(x["O"])))
        else:
            impls.append(Impl("thewalrus default", 'thewalrus.perm(M)  (method="bbfg")',
                              lambda x: thewalrus.perm(x["M"])))
    if piquasso is not None:
        if kernel == "hafnian":
            impls.append(Impl("piquasso", "piquasso._math.hafnian.hafnian_with_reduction(A, ones)",
                              lambda x: pq_hafnian(x["A"], x["ones"])))
        elif kernel == "loop_hafnian":
            impls.append(Impl(
                "piquasso", "piquasso._math.hafnian.loop_hafnian_with_reduction(A, diag(A), ones)",
                lambda x: pq_loop_hafnian(x["A"], np.ascontiguousarray(np.diag(x["A"])),
                                          x["ones"])))
        elif kernel == "torontonian":
            impls.append(Impl(
                "piquasso", "piquasso._math.torontonian.torontonian(O_xpxp)  (real xpxp input)",
                lambda x: pq_torontonian(x["O_xpxp"])))
        else:
            impls.append(Impl("piquasso", "piquasso._math.permanent.permanent(M, ones, ones)",
                              lambda x: pq_permanent(x["M"], x["ones"], x["ones"])))
    return impls


# ---------------------------------------------------------------- timing ---

def timed_call(fn, inputs):
    """Run ``fn(inputs)`` once with the garbage collector paused.

    (The caller collects once per size: a full collection takes ~0.1 s with
    numba and piquasso loaded, too long to repeat before every call.)

    Returns
    -------
    (float, complex)
        Wall-clock seconds and the value.
    """
    gc.disable()
    try:
        start = time.perf_counter()
        value = fn(inputs)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed, complex(value)


def model_cost(kernel, size):
    """Asymptotic operation count, used to extrapolate when no growth is measured.

    hafnians: 2^(N/2) N^3 (the thewalrus/piquasso Glynn sums); torontonian
    2^(N/2) N^3; permanent 2^N N.
    """
    if kernel == "permanent":
        return 2.0**size * size
    return 2.0 ** (size / 2) * size**3


def extrapolate(kernel, history, size):
    """Predict an implementation's time at ``size`` from its timed sizes.

    Uses the growth measured between its last two sizes when the earlier took
    at least :data:`MIN_TIME_FOR_GROWTH` (and the growth is > 1), otherwise the
    growth of :func:`model_cost`.

    Parameters
    ----------
    kernel : str
    history : list of (int, float)
        (size, median seconds) of the sizes already run, increasing.
    size : int

    Returns
    -------
    float or None
        Predicted seconds; None without history.
    """
    if not history:
        return None
    s1, t1 = history[-1]
    if len(history) >= 2:
        s0, t0 = history[-2]
        if t0 >= MIN_TIME_FOR_GROWTH and t1 > t0:
            return t1 * (t1 / t0) ** ((size - s1) / (s1 - s0))
    return t1 * model_cost(kernel, size) / model_cost(kernel, s1)


def wants_another_run(res, repeats, timeout):
    """Whether an implementation should run once more at this size.

    At least ``repeats`` runs, unless the accumulated time plus one more
    median run would exceed ``timeout``; calls so short that ``repeats`` runs
    take under :data:`SHORT_CALL_TOTAL` seconds are repeated up to
    :data:`SHORT_CALL_REPEATS` times, so that the median resists the
    millisecond-scale scheduling noise of a shared machine.
    """
    if res.get("skipped") or "error" in res:
        return False
    times = res["times"]
    if not times:
        return True
    if len(times) < repeats:
        return sum(times) + statistics.median(times) <= timeout
    return len(times) < SHORT_CALL_REPEATS and sum(times) < SHORT_CALL_TOTAL


def measure_size(kernel, size, impls, inputs, repeats, timeout, histories):
    """Time every implementation at one size, interleaved.

    A peer is skipped when :func:`extrapolate` predicts more than ``timeout``
    seconds.  The implementations run in turn, one call each per round, for
    as long as :func:`wants_another_run` says so.

    Returns
    -------
    dict
        column -> result dict with ``times``, ``median``, ``min``, ``value``,
        or ``skipped`` and ``estimate``, or ``error``.
    """
    results = {}
    for impl in impls:
        estimate = extrapolate(kernel, histories.get(impl.column, []), size)
        is_peer = impl.column in PEER_COLUMNS
        if is_peer and estimate is not None and estimate > timeout:
            results[impl.column] = {"call": impl.call, "skipped": True, "estimate": estimate}
        else:
            results[impl.column] = {"call": impl.call, "times": [], "values": []}
    gc.collect()
    while True:
        todo = [i for i in impls if wants_another_run(results[i.column], repeats, timeout)]
        if not todo:
            break
        for impl in todo:
            res = results[impl.column]
            try:
                elapsed, value = timed_call(impl.run, inputs)
            except Exception as exc:  # noqa: BLE001 - report and carry on
                res["error"] = f"{type(exc).__name__}: {exc}"
                continue
            res["times"].append(elapsed)
            res["values"].append(value)
    for column, res in results.items():
        if res.get("times"):
            res["median"] = statistics.median(res["times"])
            res["min"] = min(res["times"])
            res["value"] = res["values"][-1]
            histories.setdefault(column, []).append((size, res["median"]))
        res.pop("values", None)
    return results


def disagreement(results):
    """Relative deviations of all values at one size.

    Returns
    -------
    (float or None, dict)
        The largest pairwise |v_i - v_j| over |our extended value| (or the
        largest modulus if ours failed), and column -> |v - v_ext| / |v_ext|.
    """
    values = {c: r["value"] for c, r in results.items() if "value" in r}
    if len(values) < 2:
        return None, {}
    ref = values.get("ours extended", values.get("ours"))
    scale = abs(ref) if ref else max(abs(v) for v in values.values()) or 1.0
    vals = list(values.values())
    worst = max(abs(a - b) for i, a in enumerate(vals) for b in vals[i + 1:]) / scale
    deviations = {c: abs(v - ref) / scale for c, v in values.items() if c != "ours extended"}
    return worst, deviations


# ----------------------------------------------------------------- flops ---

def hafnian_flops(size):
    """Real floating-point operations of our hafnian of a size x size matrix.

    Our hafnian is the polynomial recursion of Bjorklund (SODA 2012) with
    truncated polynomials.  With n = size / 2 pairs, the node at depth d (d
    pairs processed; 2^d such nodes) contracts the next pair: with
    r = size - 2 (d + 1) vertices left and degree bound D = min(d + 1, n),
    that is r (r - 1) / 2 matrix entries times 2 truncated polynomial products
    of D (D + 1) / 2 complex multiply-adds.  The last pair is closed directly
    at each of the 2^(n-1) nodes of depth n - 1 (the leaves), n complex
    multiply-adds each.  A complex multiply-add is 8 real flops.  The loop
    polynomial g's own update (D (D + 1) / 2 per contraction, below 1 % at
    size >= 24) and the redundant prefix work of the parallel tasks are not
    counted, so the rate is slightly conservative.

    Parameters
    ----------
    size : int
        Even matrix size.

    Returns
    -------
    int
    """
    n = size // 2
    macs = 0
    for d in range(n):
        r = size - 2 * (d + 1)
        D = min(d + 1, n)
        macs += 2**d * (r * (r - 1) // 2) * 2 * (D * (D + 1) // 2)
    macs += 2 ** (n - 1) * n
    return 8 * macs


def peak_gflops(cores, cpu):
    """Assumed double-precision peak: cores x GHz x flops/cycle/core.

    16 flops/cycle/core (two 256-bit FMA pipes, AVX2), or 32 when the CPU
    reports avx512f.

    Returns
    -------
    (float or None, int)
        Peak GFLOP/s (None without a clock reading) and flops/cycle/core.
    """
    per_cycle = 32 if "avx512f" in cpu["flags"] else 16
    if not cpu["mhz"]:
        return None, per_cycle
    return cores * cpu["mhz"] / 1000 * per_cycle, per_cycle


def flop_rate_report(size, seconds, cores, cpu):
    """Lines reporting our hafnian's GFLOP/s against the assumed peak."""
    flops = hafnian_flops(size)
    rate = flops / seconds / 1e9
    peak, per_cycle = peak_gflops(cores, cpu)
    lines = [f"Hafnian {size}x{size}: {flops:.4g} flops (Bjorklund recursion, counted "
             f"analytically) in {seconds:.3g} s = {rate:.3g} GFLOP/s"]
    if peak:
        lines.append(
            f"  = {100 * rate / peak:.3g} % of the assumed peak {peak:.4g} GFLOP/s "
            f"({cores} cores x {cpu['mhz'] / 1000:.3g} GHz x {per_cycle} flops/cycle: "
            f"{'avx512f present' if per_cycle == 32 else 'AVX2 FMA'})")
        if per_cycle == 32 and cpu.get("vendor") == "AuthenticAMD" and cpu.get("family") == 25:
            lines.append("  note: AMD Zen 4 (family 25) runs 512-bit FMAs as two 256-bit "
                         f"halves: its real peak is 16 flops/cycle ({100 * rate / peak * 2:.3g} "
                         "% of that)")
    return lines, {"size": size, "flops": flops, "seconds": seconds, "gflops": rate,
                   "peak_gflops": peak, "flops_per_cycle": per_cycle}


# ------------------------------------------------------------- reporting ---

def piquasso_omp_threads():
    """omp_get_max_threads() of the libgomp bundled with piquasso, or None."""
    if piquasso is None:
        return None
    libs = glob.glob(os.path.join(os.path.dirname(os.path.dirname(piquasso.__file__)),
                                  "piquasso.libs", "libgomp*.so*"))
    try:
        return ctypes.CDLL(libs[0]).omp_get_max_threads() if libs else None
    except OSError:
        return None


def versions():
    """Versions of the libraries involved."""
    out = base_versions()
    out["thewalrus"] = thewalrus.__version__ if thewalrus is not None else "not installed"
    out["piquasso"] = piquasso.__version__ if piquasso is not None else "not installed"
    return out


def thread_report(threads):
    """Lines describing the thread settings of every library."""
    lines = [f"threads      : {threads} for every library (--threads; usable cores: "
             f"{usable_cores()})",
             f"  ours       : n_threads={threads} (OpenMP)"]
    if thewalrus is not None:
        import numba
        numba.set_num_threads(threads)
        try:
            layer = numba.threading_layer()
        except ValueError:
            layer = "not yet chosen"
        lines.append(
            f"  thewalrus  : NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}, "
            f"numba.get_num_threads()={numba.get_num_threads()}, threading layer {layer}; "
            "hafnian/loop hafnian (glynn) use numba prange, the recursive hafnian, "
            "tor (recursive) and perm (bbfg) are serial numba code")
    if piquasso is not None:
        lines.append(
            f"  piquasso   : no thread API; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')} "
            f"(its bundled libgomp reports omp_get_max_threads()={piquasso_omp_threads()}); "
            "hafnian/loop hafnian/permanent are OpenMP C++, the torontonian is serial C++")
    return lines


def header_lines(args, threads, cpu, load_before):
    """The header printed above the tables."""
    vers = versions()
    lines = [
        "=" * 100,
        f"jiuzhang_emu kernel benchmark, {time.strftime('%Y-%m-%d %H:%M:%S')}",
        f"machine      : {cpu['model']} (family {cpu.get('family', '?')}), {usable_cores()} "
        f"usable cores, {cpu['mhz'] or '?'} MHz, {platform.platform()}",
        f"SIMD         : {' '.join(f for f in ('avx2', 'fma', 'avx512f') if f in cpu['flags'])}",
        "versions     : " + ", ".join(f"{k} {v}" for k, v in vers.items()),
    ]
    if load_before is not None:
        lines.append(f"other load   : {100 * load_before:.0f} % of all cores busy just before "
                     f"the run (loadavg {os.getloadavg()[0]:.2f}); timings are wall clock")
    lines += thread_report(threads)
    lines += [
        f"timing       : median of {args.repeats} interleaved runs per size (calls whose "
        f"{args.repeats} runs take < {SHORT_CALL_TOTAL:g} s: up to {SHORT_CALL_REPEATS}), "
        "after a warm-up call of every function (numba JIT compile excluded)",
        f"peer timeout : {args.peer_timeout:g} s; a peer whose extrapolated time exceeds it is "
        "not run and shows '> T'",
        "ratio        : peer time / our double time; ratio > 1 means we are faster",
        "=" * 100,
    ]
    return lines, vers


def fmt_time(res):
    """Table cell for one implementation's time."""
    if res is None:
        return "-"
    if res.get("skipped"):
        return f"> {res['timeout']:g}"
    if "error" in res:
        return "error"
    return f"{res['median']:.3g}"


def fmt_ratio(res, ours):
    """Table cell for peer time / our time."""
    if res is None or ours is None or "median" not in ours:
        return "-"
    if res.get("skipped"):
        return f"> {res['timeout'] / ours['median']:.3g}"
    if "median" not in res:
        return "-"
    return f"{res['median'] / ours['median']:.3g}"


TABLE_COLUMNS = ("size", "ours (s)", "ours ext (s)", "ext/dbl", "thewalrus (s)", "ratio",
                 "tw recursive (s)", "ratio", "piquasso (s)", "ratio", "max rel dis")
TABLE_WIDTHS = (13, 9, 12, 7, 13, 7, 16, 7, 12, 7, 11)


def size_label(kernel, size):
    return f"{size} ({size // 2} modes)" if kernel == "torontonian" else str(size)


def table_row(kernel, size, results, worst):
    """One formatted table row."""
    ours, ext = results.get("ours"), results.get("ours extended")
    slowdown = (f"{ext['median'] / ours['median']:.3g}"
                if ours and ext and "median" in ours and "median" in ext else "-")
    cells = [size_label(kernel, size), fmt_time(ours), fmt_time(ext), slowdown]
    for column in PEER_COLUMNS:
        res = results.get(column)
        cells += [fmt_time(res), fmt_ratio(res, ours)]
    flag = "" if worst is None or worst <= DISAGREEMENT_WARN else " !"
    cells.append("-" if worst is None else f"{worst:.1e}{flag}")
    return " | ".join(c.rjust(w) for c, w in zip(cells, TABLE_WIDTHS))


def print_table(kernel, rows, impls):
    """Print one kernel's table with the calls it times and footnotes."""
    print(f"\n## {kernel}")
    for impl in impls:
        print(f"   {impl.column:>19}: {impl.call}")
    head = " | ".join(c.rjust(w) for c, w in zip(TABLE_COLUMNS, TABLE_WIDTHS))
    print(head)
    print("-" * len(head))
    for row in rows:
        print(table_row(kernel, row["size"], row["results"], row["max_rel_disagreement"]))
    print("deviation from our extended value, |v - v_ext| / |v_ext|:")
    for row in rows:
        devs = ", ".join(f"{c} {d:.1e}" for c, d in row["deviation_from_extended"].items())
        print(f"   {size_label(kernel, row['size']):>13}: {devs or '-'}")
    for row in rows:
        for column, res in row["results"].items():
            if res.get("skipped"):
                print(f"   {column} at {row['size']} not run: estimated "
                      f"{res['estimate']:.3g} s from its growth")
            if "error" in res:
                print(f"   {column} at {row['size']} failed: {res['error']}")


# ------------------------------------------------------------------ main ---

def warm_up(kernels, impls_by_kernel):
    """Call every function once at a small size (JIT compile, lazy imports)."""
    for kernel in kernels:
        inputs = make_inputs(kernel, WARMUP_SIZE[kernel], seed=0)
        for impl in impls_by_kernel[kernel]:
            impl.run(inputs)


def torontonian_convention_check(threads):
    """Check that the three torontonians agree on a 6-mode lossy GBS state.

    Also checks our Q matrix against thewalrus's Qmat and the O -> xpxp
    conversion against piquasso's own route from the covariance.

    Returns
    -------
    (list of str, float)
        Report lines and the largest relative disagreement.
    """
    cov = lossy_gbs_covariance(6, np.random.default_rng(12345))
    O = torontonian_o_matrix(cov)
    values = {"ours": je.torontonian(O, n_threads=threads, precision="extended")}
    lines = []
    if thewalrus is not None:
        q_err = np.abs(q_matrix(cov) - thewalrus_qmat(cov, hbar=2)).max()
        lines.append(f"  Q matrix vs thewalrus.quantum.Qmat: max |diff| {q_err:.1e}")
        values["thewalrus"] = complex(thewalrus.tor(O)).real
    if piquasso is not None:
        conv_err = np.abs(o_to_piquasso_xpxp(O) - piquasso_xpxp_from_covariance(cov)).max()
        lines.append(f"  O -> xpxp conversion vs piquasso's I - Sigma^-1: max |diff| "
                     f"{conv_err:.1e}")
        values["piquasso"] = float(pq_torontonian(o_to_piquasso_xpxp(O)))
    ref = values["ours"]
    worst = max(abs(v - ref) for v in values.values()) / abs(ref)
    lines.insert(0, "torontonian convention check (6 modes): " + ", ".join(
        f"{k} {v:.15g}" for k, v in values.items()) + f"; max rel diff {worst:.1e}")
    return lines, worst


def run_kernel(kernel, sizes, impls, args):
    """Time one kernel over its sizes; returns the table rows."""
    histories, rows = {}, []
    for size in sizes:
        inputs = make_inputs(kernel, size, args.seed)
        results = measure_size(kernel, size, impls, inputs, args.repeats, args.peer_timeout,
                               histories)
        for res in results.values():
            if res.get("skipped"):
                res["timeout"] = args.peer_timeout
        worst, devs = disagreement(results)
        rows.append({"size": size, "results": results, "max_rel_disagreement": worst,
                     "deviation_from_extended": devs})
        print(f"   [{kernel} {size} done]", file=sys.stderr, flush=True)
    return rows


def parse_sizes(items):
    """Parse ``KERNEL=S1,S2,...`` overrides of the default sizes."""
    sizes = {}
    for item in items or []:
        kernel, _, values = item.partition("=")
        if kernel not in KERNELS or not values:
            raise argparse.ArgumentTypeError(
                f"--sizes expects KERNEL=S1,S2,... with KERNEL in {KERNELS}, got {item!r}")
        sizes[kernel] = [int(v) for v in values.split(",") if v]
        bad = [s for s in sizes[kernel] if s < 2 or (kernel != "permanent" and s % 2)]
        if bad:
            raise argparse.ArgumentTypeError(f"--sizes {kernel}: sizes must be even, got {bad}")
    return sizes


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Time jiuzhang_emu's kernels against thewalrus and piquasso.",
        epilog="ratio = peer time / our time: > 1 means jiuzhang_emu is faster.")
    parser.add_argument("--kernels", nargs="+", choices=KERNELS, default=list(KERNELS),
                        help="kernels to time (default: all)")
    parser.add_argument("--sizes", nargs="+", metavar="KERNEL=S1,S2",
                        help="matrix sizes per kernel, e.g. hafnian=24,28 torontonian=32 "
                             "(torontonian: 2 x modes)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; median reported")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for every library (default: all usable cores)")
    parser.add_argument("--peer-timeout", type=float, default=60.0, metavar="SECONDS",
                        help="skip a peer at sizes where its extrapolated time exceeds this")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run at small sizes (under a minute)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the random inputs")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    try:
        args.sizes = {**(QUICK_SIZES if args.quick else DEFAULT_SIZES), **parse_sizes(args.sizes)}
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if hasattr(sys.stdout, "reconfigure"):  # keep stdout and the stderr progress in order
        sys.stdout.reconfigure(line_buffering=True)
    threads = set_thread_environment(argv)
    kernels = [k for k in KERNELS if k in args.kernels]
    cpu = cpu_info()
    load_before = background_load()
    impls = {k: our_impls(k, threads) + peer_impls(k) for k in kernels}

    warm_up(kernels, impls)
    header, vers = header_lines(args, threads, cpu, load_before)
    print("\n".join(header))
    config = io.StringIO()
    with contextlib.redirect_stdout(config):
        je.show_config()
    print("jiuzhang_emu show_config():\n" + config.getvalue().rstrip())
    check_lines, check_worst = torontonian_convention_check(threads)
    print("\n".join(check_lines))
    if check_worst > 1e-10:
        print("WARNING: the torontonians disagree on the small check case")

    report = {"header": header, "versions": vers, "threads": threads, "cpu_mhz": cpu["mhz"],
              "cpu_model": cpu["model"], "background_load_before": load_before,
              "tor_convention_check_rel_diff": check_worst, "kernels": {}}
    failed = False
    t_start = time.perf_counter()
    for kernel in kernels:
        rows = run_kernel(kernel, args.sizes[kernel], impls[kernel], args)
        print_table(kernel, rows, impls[kernel])
        report["kernels"][kernel] = rows
        failed |= any("error" in r["results"].get("ours", {}) for r in rows)
        if kernel == "hafnian":
            timed = [r for r in rows if "median" in r["results"].get("ours", {})]
            if timed:
                row = timed[-1]
                lines, report["hafnian_flop_rate"] = flop_rate_report(
                    row["size"], row["results"]["ours"]["median"], threads, cpu)
                print("\n".join(lines))

    load_after = background_load()
    report["background_load_after"] = load_after
    print(f"\ntotal timing time {time.perf_counter() - t_start:.0f} s"
          + (f"; other load just after: {100 * load_after:.0f} % of all cores"
             if load_after is not None else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=json_default)
        print(f"results written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
