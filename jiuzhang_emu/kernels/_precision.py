"""Precision tiers and the cancellation indicator.

Tiers: "double" (float64), "extended" (x87 80-bit long double, 64-bit
mantissa) and, for torontonians of physical O matrices, "double-double"
(~106 bits).  Every kernel sums many signed terms.  With S the sum of the
moduli of the terms and V the result, ``S / |V|`` bounds how much the rounding
errors of the terms are amplified: the relative error is about
``condition * u`` with u the unit roundoff of the tier.

Cancellation inside a term (inside a leaf's polynomial products in the
hafnian recursion, inside the column sums of Glynn's formula) does not show in
S.  So ``precision="auto"`` also evaluates the hafnian and the permanent a
second time in another order (rows paired differently, the matrix
transposed), whose rounding differs, and takes the relative spread of the two
values over u as a second estimate of the amplification (a pessimistic one
when the other order happens to cancel worse).  When ``condition * u`` exceeds
:data:`AUTO_RTOL` it repeats the computation in the cheapest tier whose error
estimate meets it, or the most precise available, and warns with
:class:`~jiuzhang_emu.errors.PrecisionWarning` if even that one does not.
"""
import warnings
from typing import NamedTuple

import numpy as np

from jiuzhang_emu.errors import InputError, PrecisionWarning

TIERS = ("double", "extended", "double-double")
PRECISIONS = (*TIERS, "auto")
UNIT_ROUNDOFF = {
    "double": 2.0**-53,
    "extended": float(np.finfo(np.longdouble).eps) / 2,
    "double-double": 2.0**-104,
}
AUTO_RTOL = 1e-10  # ten good digits: ample for probabilities; float64 holds up to condition ~1e6
#: Past this estimated relative error the estimate itself is no longer an
#: upper bound: the terms have lost their digits before they are summed.
#: Measured on hafnians with repeated rows (issue 13), the true error was 0.3-3
#: times the estimate below 1e-3 and up to 1e8 times it above 1 (reps [30] * 3:
#: estimate 15, error 4e7).  An explicit tier whose estimate exceeds it hands
#: over to an exact fallback where the caller has one.
UNRELIABLE_RTOL = 1e-3


class KernelResult(NamedTuple):
    """A kernel value with the tier that produced it.

    Attributes
    ----------
    value : float or complex
    precision : {"double", "extended", "double-double", "mpmath"}
        "mpmath": the hafnian's generating-function expansion for a few rows
        repeated many times (:mod:`jiuzhang_emu.kernels._expansion`).
    condition : float
        Amplification of rounding errors: sum of |terms| over |value| (inf for
        a zero value with nonzero terms); in "auto" mode at least the observed
        spread between two evaluation orders over the float64 unit roundoff.
    error_estimate : float
        ``condition * unit roundoff`` of the tier: the expected relative error.
    absolute_error : float
        The same as an absolute error (sum of |terms|, or the spread, times
        the unit roundoff); finite even when the value is 0.
    """

    value: complex
    precision: str
    condition: float
    error_estimate: float
    absolute_error: float = np.nan


def check_precision(precision, available=TIERS[:2]):
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto" and precision not in available:
        raise InputError(
            f"precision={precision!r} is not available for this input; available: "
            f"{(*available, 'auto')} (double-double is implemented for torontonians of O "
            "matrices of physical states)"
        )
    return precision


def condition_number(value, abs_sum):
    value = abs(value)
    if value == 0:
        return 0.0 if abs_sum == 0 else np.inf
    return abs_sum / value


def spread_condition(value, other):
    """The relative spread of two float64 evaluations over the unit roundoff."""
    scale = max(abs(value), abs(other))
    if scale == 0:
        return 0.0
    return abs(value - other) / scale / UNIT_ROUNDOFF["double"]


def _tier_for(condition, available):
    """The cheapest available tier whose error estimate meets AUTO_RTOL."""
    for tier in available:
        if condition * UNIT_ROUNDOFF[tier] <= AUTO_RTOL:
            return tier
    return available[-1]


def _warn_if_short(condition, tier):
    estimate = condition * UNIT_ROUNDOFF[tier]
    if estimate > AUTO_RTOL:
        warnings.warn(
            f"precision='auto': the most precise tier available here ({tier!r}) has an "
            f"estimated relative error of {estimate:.2g} (condition {condition:.3g}), above "
            f"{AUTO_RTOL:g}",
            PrecisionWarning,
            stacklevel=4,
        )


def evaluate(run, precision, available=TIERS[:2], rerun=None, fallback=None):
    """Run ``run(tier) -> (value, abs_sum)`` in the requested tier.

    ``rerun(tier)``, where given, evaluates the same quantity in another order
    ("auto" uses it to see cancellation that the term sum does not show).
    ``fallback()``, where given, returns a :class:`KernelResult` by a
    formulation that does not cancel; it replaces the tiers' value when "auto"
    finds even the most precise tier short (instead of a
    :class:`~jiuzhang_emu.errors.PrecisionWarning`), and when an explicit
    tier's estimate exceeds :data:`UNRELIABLE_RTOL` (an explicit tier
    otherwise returns its value as computed, with its estimate).
    """
    if precision != "auto":
        value, abs_sum = run(precision)
        cond = condition_number(value, abs_sum)
        u = UNIT_ROUNDOFF[precision]
        if fallback is not None and cond * u > UNRELIABLE_RTOL:
            return fallback()
        return KernelResult(value, precision, cond, cond * u, abs_sum * u)
    value, abs_sum = run("double")
    cond = condition_number(value, abs_sum)
    spread = 0.0
    if rerun is not None and _tier_for(cond, available) == "double":
        spread = spread_condition(value, rerun("double")[0])
    cond = max(cond, spread)
    tier = _tier_for(cond, available)
    if tier != "double":
        if fallback is not None and cond * UNIT_ROUNDOFF["double"] > UNRELIABLE_RTOL:
            return fallback()  # the condition is not to be trusted: no tier can be chosen
        value, abs_sum = run(tier)
        cond = max(condition_number(value, abs_sum), spread)
        if fallback is not None and cond * UNIT_ROUNDOFF[tier] > AUTO_RTOL:
            return fallback()
        _warn_if_short(cond, tier)
    u = UNIT_ROUNDOFF[tier]
    return KernelResult(value, tier, cond, cond * u, max(abs_sum, spread * abs(value)) * u)


def evaluate_batch(run, precision, n_items, available=TIERS[:2], rerun=None):
    """Batched :func:`evaluate`: ``run(tier, index) -> (values, abs_sums)``
    (and ``rerun`` likewise) with index None for all items.  Returns arrays
    (values, tiers, conditions, error estimates)."""
    first = "double" if precision == "auto" else precision
    values, abs_sums = run(first, None)
    values = np.array(values)
    conds = np.array([condition_number(v, s) for v, s in zip(values, abs_sums)], dtype=float)
    tiers = np.full(n_items, first, dtype=object)
    if precision == "auto":
        spreads = np.zeros(n_items)
        if rerun is not None and n_items:
            fine = np.flatnonzero([_tier_for(c, available) == "double" for c in conds])
            if fine.size:
                others, _ = rerun("double", fine)
                spreads[fine] = [spread_condition(v, o) for v, o in zip(values[fine], others)]
                conds = np.maximum(conds, spreads)
        wanted = np.array([_tier_for(c, available) for c in conds], dtype=object)
        for tier in available[1:]:
            redo = np.flatnonzero(wanted == tier)
            if redo.size:
                v2, s2 = run(tier, redo)
                values[redo] = v2
                conds[redo] = [max(condition_number(v, s), spreads[i])
                               for v, s, i in zip(v2, s2, redo)]
                tiers[redo] = tier
                for i in redo:
                    _warn_if_short(conds[i], tier)
    errors = conds * np.array([UNIT_ROUNDOFF[t] for t in tiers])
    return values, tiers.astype("U13"), conds, errors
