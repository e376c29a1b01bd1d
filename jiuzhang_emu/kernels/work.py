"""The work of every native kernel, and the rates that turn work into seconds.

Two kinds of kernel are priced here.  Per call (the runtime guard of each
kernel front end, :func:`check_call_seconds`): a prediction is ``rate * work /
threads`` with the work count of the algorithm (:func:`hafnian_work`,
:func:`torontonian_work`, :func:`permanent_work`) and a rate in seconds per
unit of work for complex float64 inputs; real inputs cost about a third
(``REAL_FACTOR``) and the higher tiers the factors of ``TIER_FACTORS``.  Per
sampled shot (the chain-rule samplers of ``csrc/sampler.c`` and
``csrc/click_sampler.c``, whose routes :mod:`jiuzhang_emu.cost` builds from
the step work here): :func:`zpoly_log2_work`, the work of the loop hafnian
with repeated rows that a photon chain-rule step calls,
:func:`click_chain_log2_subsets`, the subsets a click chain-rule step sums,
and :func:`fanout_log2_work`, the loop hafnian at D + 1 points and the
sub-steps of a click fan-out step.

``RATES`` is the one table of rates, seconds per unit of work on one thread
of the 2-core development machine (AMD EPYC, Zen 5, AVX-512): the per-call
kernels' measured by ``benchmarks/calibrate_cost.py``, the chain rules'
fitted by :func:`jiuzhang_emu.samplers.calibration.calibrate` (which fits
them again on any machine).  A guard against hour-long calls needs no more
than the right order of magnitude.
"""
import os

import numpy as np

from jiuzhang_emu.errors import RuntimeLimitError

#: Seconds per unit of work on one thread, complex float64.
RATES = {
    # per kernel call.  The torontonian was measured on its real path, 2.2e-9,
    # and is stored divided by REAL_FACTOR.  The hafnian's unit is one
    # multiply-add of the polynomial contractions (see hafnian_work); 1e-9
    # reproduces the former calibration of plain hafnians (1.7e-9 per leaf x
    # (n + 1)^2) within a factor 1.5, and the measured times of repeated rows
    # ([36, 36] ... [90, 90] on 2 x 2, [10] * 3, [8] * 4) within 3.
    "hafnian": 1.0e-9,
    "torontonian": 6.4e-9,
    "permanent": 8.6e-10,
    # the generating-function expansion in mpmath (kernels/_expansion.py),
    # per operation, measured 3-6e-6 for real input; complex costs ~2x
    "expansion": 6e-6,
    # the photon chain rule, per shot: per mode, per loop-hafnian call, per
    # unit of zpoly_log2_work
    "photon_mode": 5e-8,
    "photon_call": 1.7e-6,
    "photon_work": 1.5e-9,
    # the click chain rule, per shot: per mode, per M^3 of Schur complements
    # (vacuum conditioning at dark modes), per subset of
    # click_chain_log2_subsets
    "click_mode": 2.6e-7,
    "click_schur": 5e-10,
    "click_subset": 1.4e-7,
    # the click fan-out, per shot: per mode (mostly the Python draws: 2K
    # normals and K uniforms per mode), per loop-hafnian pass
    # (jz_loop_hafnian_zeval; not resolved by the fit, absorbed by the other
    # terms), per unit of its work (fanout_log2_work), per unit (D + 1)^2 of
    # a virtual sub-detector's step, D the rows so far.  Fitted by
    # calibrate() on 6-28 modes (rows <= ~20), the machine loaded by other
    # jobs (load ~5 on 2 cores); predicts the drawn shots of
    # jiuzhang_like(20/30/40, r=1.577, transmission=0.2937) within 10 %.
    "fanout_mode": 2.2e-6,
    "fanout_call": 0.0,
    "fanout_work": 1.25e-9,
    "fanout_substep": 7e-8,
}
#: Real inputs cost this fraction of complex ones.
REAL_FACTOR = 0.35
#: Cost of a higher precision tier relative to "double".  The click chain's
#: "reference" is the Python route past double-double's budget, priced on top
#: of double-double (its torontonians ~0.7x the native double chain on 2
#: threads at double, x10 at double-double): estimated, not measured.
TIER_FACTORS = {
    "hafnian": {"extended": 14.0},
    "permanent": {"extended": 15.0},
    "torontonian": {"extended": 6.0, "double-double": 10.0},
    "click_chain": {"extended": 5.3, "double-double": 11.0, "reference": 15.0},
}


def call_seconds(kernel, work, *, is_complex=True, precision="double", n_threads=1):
    """Predicted seconds of one call doing ``work`` units of the given kernel."""
    seconds = RATES[kernel] * work / max(1, n_threads)
    seconds *= TIER_FACTORS[kernel].get(precision, 1.0)
    if not is_complex:
        seconds *= REAL_FACTOR
    return seconds


def hafnian_work(group_k, n_pairs):
    """Multiply-adds of the recursion of csrc/hafnian_impl.h.

    Groups are removed from the end.  A node of a group of k pairs makes k
    contractions, the c-th on r = s - 2c - 2 remaining vertices with
    polynomials of degree D = min(pairs processed + k, n): r (r - 1) / 2
    edges plus r loops, each a truncated product of D (D + 1) / 2
    multiply-adds; each of its k + 1 branches goes on to the next group.  The
    last single pair is closed in O(n^2).  (Counting leaves times n^2, as
    before, missed the k contractions per group: 1100x too low for reps
    [120, 120].)  Floats: no overflow, inf for astronomically large work.
    """
    n = int(n_pairs)
    s, t, nodes, total = 2 * n, 0, 1.0, 0.0
    group_k = [int(k) for k in group_k]
    for gi in range(len(group_k) - 1, -1, -1):
        k = group_k[gi]
        if gi == 0 and k == 1:
            return total + nodes * (n + 1) ** 2
        D = float(min(t + k, n))
        # sum over c < k of r^2 / 2 + r / 2 + 2 with r = s - 2 - 2c
        a, kf = float(s - 2), float(k)
        sum_c, sum_c2 = kf * (kf - 1) / 2, (kf - 1) * kf * (2 * kf - 1) / 6
        sum_r = kf * a - 2 * sum_c
        sum_r2 = kf * a * a - 4 * a * sum_c + 4 * sum_c2
        total += nodes * (sum_r2 / 2 + sum_r / 2 + 2 * kf) * D * (D + 1) / 2
        nodes *= k + 1
        s, t = s - 2 * k, t + k
    return total + nodes


def hafnian_bytes(n_pairs, *, is_complex=True, precision="double", n_z=1, loops=True):
    """Bytes the hafnian kernel allocates per thread: for each processed pair
    a copy of the edge polynomials (r (r - 1) / 2 + 1 of n + 1 coefficients),
    of the loop polynomials and of the leaf polynomial; about n^4 / 1.5
    scalars for 2n vertices (1.1 GB per thread of float64 for reps [120, 120])."""
    n = int(n_pairs)
    P, NL = n + 1, 2 if n_z > 1 else 1
    # r = 2m for m < n: sum r (r - 1) / 2 = 2 S2 - S1, sum (r + 1) = n^2
    nf = float(n)
    S1, S2 = nf * (nf - 1) / 2, (nf - 1) * nf * (2 * nf - 1) / 6
    scalars = (2 * S2 - S1 + nf) * P + nf * nf * NL * P + nf * n_z * P
    scalars += (n * (2 * n - 1) + 1) * P + (2 * n + 1) * NL * P  # the shared root
    size = 8 * (2 if is_complex else 1) * (2 if precision == "extended" else 1)
    return scalars * size


def expansion_seconds(work, *, is_complex=True):
    """Predicted seconds of the generating-function expansion."""
    return RATES["expansion"] * work * (2.0 if is_complex else 1.0)


def memory_limit():
    """Bytes a kernel call may allocate: half the physical memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8e9


def check_memory(per_thread, n_threads, *, what, shared=0.0):
    """The number of threads whose workspaces (``per_thread`` bytes each, plus
    ``shared``) fit in :func:`memory_limit`; raise :class:`RuntimeLimitError`
    naming both numbers when not even one does.  Runs before allocating."""
    limit = memory_limit()
    if shared + per_thread > limit:
        raise RuntimeLimitError(
            f"{what}: needs {(shared + per_thread) / 1e9:.3g} GB of working memory, more than "
            f"the limit of {limit / 1e9:.3g} GB (half the physical memory); use fewer or less "
            "repeated rows"
        )
    return max(1, min(int(n_threads), int((limit - shared) // per_thread)))


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


def check_call_seconds(kernel, work, max_seconds, *, what, n_threads=1, **kwargs):
    """Refuse one kernel call predicted to exceed ``max_seconds``: raise
    :class:`RuntimeLimitError`, else return the number of threads to use."""
    serial = call_seconds(kernel, work, n_threads=1, **kwargs)
    seconds = serial / max(1, n_threads)
    if max_seconds is not None and seconds > max_seconds:
        raise RuntimeLimitError(
            f"{what}: predicted run time {seconds:.3g} s ({seconds / 3600:.3g} h) exceeds "
            f"max_seconds={max_seconds:g}; pass max_seconds=None to run it anyway"
        )
    return 1 if serial < SERIAL_SECONDS else n_threads


def zpoly_log2_work(patterns):
    """log2 of the work of each step of the photon chain rule drawing
    ``patterns`` (csrc/sampler.c), -inf at steps that call no kernel.

    At mode k, after the first photon, one loop hafnian of the D_k photons in
    modes < k with loop weights linear in z gives all D_k + 1 coefficients of
    L(z) (jz_loop_hafnian_zpoly).  Repeated rows (Bulmer et al., Sci. Adv. 8,
    eabl9236 (2022)) leave prod_{j<k} (n_j // 2 + 1) 2^ceil(s_k / 2) leaves,
    s_k the odd n_j, each a polynomial product of ~((D_k + 1) // 2 + 1)^2
    multiply-adds per coefficient for the D_k + 2 coefficients carried.

    Parameters
    ----------
    patterns : array_like of int, shape (..., modes)

    Returns
    -------
    ndarray of float, shape (..., modes)
    """
    n = np.asarray(patterns, dtype=np.int64)
    log2_groups = np.log2(n // 2 + 1.0)
    photons = np.cumsum(n, axis=-1) - n
    singles = np.cumsum(n % 2, axis=-1) - n % 2
    log2_leaves = np.cumsum(log2_groups, axis=-1) - log2_groups + (singles + 1) // 2
    log2_leaf = np.log2(((photons + 1) // 2 + 1.0) ** 2 * (photons + 2))
    return np.where(photons > 0, log2_leaves + log2_leaf, -np.inf)


def click_chain_log2_subsets(clicks):
    """log2 of the subsets each step of the click chain rule sums
    (csrc/click_sampler.c): 2^(c_k) at mode k, c_k the clicks in modes < k;
    their cost per subset does not grow with c (measured over 8-22 clicks:
    the depth-first Cholesky reuse amortises it).

    Parameters
    ----------
    clicks : array_like of int, shape (..., modes)
        Click patterns (any count > 0 is a click).

    Returns
    -------
    ndarray of float, shape (..., modes)
    """
    c = (np.asarray(clicks) > 0).astype(float)
    return np.cumsum(c, axis=-1) - c


def fanout_log2_work(rows):
    """log2 of the work of each step of the click fan-out route (Bulmer et
    al., Sci. Adv. 8, eabl9236 (2022); samplers/fanout.py): the loop hafnian
    of the D_k rows found before mode k, -inf where D_k = 0 (no call), and
    the (D_k + 1)^2 of one of the mode's virtual sub-detector steps.

    The loop hafnian is evaluated at D_k + 1 points in one pass
    (jz_loop_hafnian_zeval): rows all distinct, so 2^ceil(D_k / 2) leaves
    (the leaves of :func:`zpoly_log2_work` on the 0/1 pattern), each
    ((D_k + 1) // 2 + 1)^2 pointwise products at each of the D_k + 1 points.
    Pseudo-PNR: a mode whose c detectors fired adds c rows (one per fired
    detector; a sub-detector that finds two or more photons, rare, adds a
    repeated row: not counted, nor the rare recomputation by
    jz_loop_hafnian_zpoly when the interpolation misses its error budget).

    Parameters
    ----------
    rows : array_like of int, shape (..., modes)
        Rows each mode adds, in the route's processing order.

    Returns
    -------
    hafnian, substep : ndarray of float, shape (..., modes)
    """
    r = np.asarray(rows, dtype=np.int64)
    D = np.cumsum(r, axis=-1) - r
    with np.errstate(divide="ignore"):
        log2_leaf = np.log2(((D + 1) // 2 + 1.0) ** 2 * (D + 1))
    hafnian = np.where(D > 0, (D + 1) // 2 + log2_leaf, -np.inf)
    return hafnian, 2 * np.log2(D + 1.0)
