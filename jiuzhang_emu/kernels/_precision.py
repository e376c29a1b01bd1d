"""Precision tiers and the cancellation indicator.

Tiers: "double" (float64), "extended" (x87 80-bit long double, 64-bit
mantissa) and, for torontonians of physical O matrices, "double-double"
(~106 bits).  Every kernel sums many signed terms.  With S the sum of the
moduli of the terms and V the result, the condition number ``S / |V|`` bounds
how much the rounding errors of the terms are amplified: the relative error is
about ``condition * u`` with u the unit roundoff of the tier.
``precision="auto"`` runs in double and, when ``condition * u`` exceeds
:data:`AUTO_RTOL`, repeats the computation in the cheapest tier whose
``condition * u`` is below it (or the most precise available).
"""
from typing import NamedTuple

import numpy as np

from jiuzhang_emu.errors import InputError

TIERS = ("double", "extended", "double-double")
PRECISIONS = (*TIERS, "auto")
UNIT_ROUNDOFF = {
    "double": 2.0**-53,
    "extended": float(np.finfo(np.longdouble).eps) / 2,
    "double-double": 2.0**-104,
}
AUTO_RTOL = 1e-10  # ten good digits: ample for probabilities; float64 holds up to condition ~1e6


class KernelResult(NamedTuple):
    """A kernel value with the tier that produced it.

    Attributes
    ----------
    value : float or complex
    precision : {"double", "extended", "double-double"}
    condition : float
        Sum of |terms| over |value| (inf for a zero value with nonzero terms).
    error_estimate : float
        ``condition * unit roundoff``: the expected relative error.
    """

    value: complex
    precision: str
    condition: float
    error_estimate: float


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


def _tier_for(condition, available):
    """The cheapest available tier whose error estimate meets AUTO_RTOL."""
    for tier in available:
        if condition * UNIT_ROUNDOFF[tier] <= AUTO_RTOL:
            return tier
    return available[-1]


def evaluate(run, precision, available=TIERS[:2]):
    """Run ``run(tier) -> (value, abs_sum)`` in the requested tier."""
    tier = "double" if precision == "auto" else precision
    value, abs_sum = run(tier)
    cond = condition_number(value, abs_sum)
    if precision == "auto":
        better = _tier_for(cond, available)
        if better != tier:
            tier = better
            value, abs_sum = run(tier)
            cond = condition_number(value, abs_sum)
    return KernelResult(value, tier, cond, cond * UNIT_ROUNDOFF[tier])


def evaluate_batch(run, precision, n_items, available=TIERS[:2]):
    """Batched :func:`evaluate`: ``run(tier, index) -> (values, abs_sums)``
    with index None for all items.  Returns arrays (values, tiers, conditions,
    error estimates)."""
    first = "double" if precision == "auto" else precision
    values, abs_sums = run(first, None)
    values = np.array(values)
    conds = np.array([condition_number(v, s) for v, s in zip(values, abs_sums)])
    tiers = np.full(n_items, first, dtype=object)
    if precision == "auto":
        wanted = np.array([_tier_for(c, available) for c in conds], dtype=object)
        for tier in available[1:]:
            redo = np.flatnonzero(wanted == tier)
            if redo.size:
                v2, s2 = run(tier, redo)
                values[redo] = v2
                conds[redo] = [condition_number(v, s) for v, s in zip(v2, s2)]
                tiers[redo] = tier
    errors = conds * np.array([UNIT_ROUNDOFF[t] for t in tiers])
    return values, tiers.astype(str), conds, errors
