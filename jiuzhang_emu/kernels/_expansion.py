"""Loop hafnians of a few rows repeated many times, without cancellation.

The repeated-row sieve of the native kernel (csrc/hafnian_impl.h) sums, per
group of k identical pairs, k + 1 branches with the alternating weights
(-1)^(k-j) C(k, j): a k-th finite difference.  For large repetitions the
branches are many orders of magnitude larger than their difference (the
hafnian of ``np.full((2, 2), .5)`` with reps [36, 36] has a condition above
1e16 there, so float64 returns the wrong sign), and the loss happens inside
the leaves too, so the indicator sum |leaves| / |value| underestimates it.

Here the same quantity comes from its generating function.  With row i
repeated r_i times and loop weights w,

    lhaf(A; r) = prod_i r_i! [x^r] exp(x^T A x / 2 + w^T x),

since expanding the exponential counts each perfect matching (with loops) of
the repeated graph once (the matchings with m_ij edges between the copies of
rows i and j and l_i loops on the copies of i number
prod_i r_i! / (prod_{i<j} m_ij! prod_i m_ii! 2^m_ii l_i!)).  The coefficients
F_a of the exponential obey, for any i with a_i > 0,

    a_i F_a = w_i F_{a - e_i} + A_ii F_{a - 2 e_i} + sum_{j != i} A_ij F_{a - e_i - e_j},

so F_r costs prod_i (r_i + 1) (d + 2) operations for d distinct rows.  Every
term of the recurrence is a sum of matching weights; for an entrywise
non-negative A and w (a rank-one B of a squeezer behind an interferometer, up
to phases of the rows) no two of them cancel.  The same recurrence on |A|, |w|
gives the sum of |matching weights| S, so S / |lhaf| is the condition of the
sum and the error of the recurrence in p-bit arithmetic is below
(|r| + 1) (d + 3) 2^-p S.  The sum runs in :mod:`mpmath` (no overflow of
intermediate coefficients) at a precision chosen from that condition, so the
result meets the requested relative tolerance whatever the cancellation.

When it is used (:func:`jiuzhang_emu.kernels.hafnian._single`): for any
precision, where the matrix has a repeated row and the expansion is predicted
cheaper than the native kernel, or where the kernel's estimate shows it short
("auto": above AUTO_RTOL in the most precise tier; an explicit tier: above
UNRELIABLE_RTOL = 1e-3, where the estimate stops being an upper bound) --
as long as its grid stays below MAX_EXPANSION_GRID and its predicted time
below max_seconds.  Its precision is reported as "mpmath".  Values beyond float64 (|lhaf| > 1.8e308) raise
KernelError.

Supported range, checked against an independent mpmath Fock-amplitude oracle
(tests/test_probability_properties.py, default and slow grids): photon-number
probabilities of squeezing r <= 2, transmission 0.3-1, displacement
|alpha| <= 1, patterns of up to 100 photons on 1-3 modes, relative error below
1e-8.  Beyond the expansion's limits (many distinct rows that are each
repeated many times, e.g. lossy 3-mode patterns [n] * 3 with n > 10, whose
6 x 6 A with reps [n] * 6 holds (n + 1)^6 coefficients) the sieve runs with
the tiers and its estimate, and "auto" warns where that is short.
"""
import math

import numpy as np

from jiuzhang_emu.errors import KernelError
from jiuzhang_emu.kernels.precision import KernelResult

#: Most coefficients the expansion may hold (about 150 bytes each in mpmath:
#: 300 MB); its time, 3-6e-6 s per operation, is priced against max_seconds.
MAX_EXPANSION_GRID = 2e6

#: Cheapest bits of working precision; raised from the measured condition.
_BASE_BITS = 64
#: Most bits of working precision before giving up.
_MAX_BITS = 1 << 14


def expansion_grid(reps):
    """Coefficients the recurrence holds: prod (r_i + 1)."""
    return float(math.prod(int(r) + 1 for r in reps if r > 0))


def expansion_work(reps):
    """Operations of the recurrence: prod (r_i + 1) over the repeated rows
    times (distinct rows + 2); a Python float (no overflow)."""
    used = [int(r) for r in reps if r > 0]
    return float(math.prod(r + 1 for r in used)) * (len(used) + 2)


def _coefficient(A, w, reps, mp):
    """F_r of exp(x^T A x / 2 + w^T x) in the current mpmath precision.
    ``A`` is a list of lists and ``w`` a list (or None) of mpmath numbers."""
    d = len(reps)
    strides = [1] * d
    for i in range(1, d):
        strides[i] = strides[i - 1] * (reps[i - 1] + 1)
    size = strides[-1] * (reps[-1] + 1)
    F = [mp.mpf(0)] * size
    F[0] = mp.mpf(1)
    a = [0] * d
    for L in range(1, size):
        # a is the mixed-radix digit vector of L (first digit fastest)
        i = 0
        while a[i] == reps[i]:
            a[i] = 0
            i += 1
        a[i] += 1
        i = next(j for j in range(d) if a[j])
        base = L - strides[i]
        total = w[i] * F[base] if w is not None else mp.mpf(0)
        if a[i] >= 2:
            total += A[i][i] * F[base - strides[i]]
        for j in range(d):
            if j != i and a[j]:
                total += A[i][j] * F[base - strides[j]]
        F[L] = total / a[i]
    return F[-1]


def loop_hafnian_expansion(A, diag, reps, rtol):
    """(Loop) hafnian of A with repeated rows by the generating function.

    Parameters
    ----------
    A : ndarray of shape (N, N)
        Symmetric, float64 or complex128.
    diag : ndarray of shape (N,) or None
        Loop weights; None for the hafnian (no loops).
    reps : ndarray of int of shape (N,)
    rtol : float
        Wanted relative error; the working precision is raised until the
        error bound meets it (or is exactly zero).

    Returns
    -------
    KernelResult
        precision "mpmath"; ``condition`` = S / |value|;
        ``absolute_error`` the rounding bound of the recurrence.
    """
    import mpmath

    keep = [i for i, r in enumerate(reps) if r > 0]
    r = [int(reps[i]) for i in keep]
    is_complex = A.dtype.kind == "c" or (diag is not None and diag.dtype.kind == "c")
    if not keep:
        return KernelResult(1.0, "mpmath", 1.0, 0.0, 0.0)
    sub = A[np.ix_(keep, keep)]
    w = None if diag is None else diag[keep]
    depth = (sum(r) + 1) * (len(r) + 3)

    def run(bits):
        mp = mpmath.mp
        with mpmath.workprec(bits):
            conv = mp.mpc if is_complex else mp.mpf
            rows = [[conv(complex(v) if is_complex else float(v)) for v in row] for row in sub]
            loops = None if w is None else [conv(complex(v) if is_complex else float(v))
                                            for v in w]
            value = _coefficient(rows, loops, r, mp)
            abs_rows = [[abs(v) for v in row] for row in rows]
            abs_loops = None if loops is None else [abs(v) for v in loops]
            with mpmath.workprec(_BASE_BITS):
                abs_sum = _coefficient(abs_rows, abs_loops, r, mp)
            factor = mp.fprod(mp.factorial(x) for x in r)
            value, abs_sum = value * factor, abs_sum * factor
            bound = abs_sum * depth * mp.mpf(2) ** (-bits)
            return value, abs_sum, bound

    bits = _BASE_BITS + int(math.log2(depth)) + 40
    while True:
        value, abs_sum, bound = run(bits)
        if bound <= rtol * abs(value) or bits >= _MAX_BITS:
            break
        # the condition measured at this precision tells how many bits to add
        need = math.log2(float(abs_sum / abs(value))) if value != 0 else bits
        bits = min(_MAX_BITS, max(2 * bits, int(need) + bits + 8))
    try:
        out = complex(value) if is_complex else float(value)
        mag, err, total = float(abs(value)), float(bound), float(abs_sum)
    except OverflowError:
        out = None
    if out is None or not math.isfinite(abs(out)) or not math.isfinite(total):
        raise KernelError(
            f"hafnian with reps={list(map(int, reps))}: |value| ~ {mpmath.nstr(abs(value), 5)} "
            "does not fit in float64 (at most ~1.8e308); use fewer repetitions"
        )
    cond = total / mag if mag else (0.0 if total == 0 else math.inf)
    return KernelResult(out, "mpmath", cond, err / mag if mag else (0.0 if err == 0 else math.inf),
                        err)
