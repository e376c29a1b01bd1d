"""Precision tiers and the cancellation indicator.

Every kernel sums many signed terms.  With S the sum of the moduli of the
terms and V the result, the condition number ``S / |V|`` bounds how much the
rounding errors of the terms are amplified: the relative error is about
``condition * u`` with u the unit roundoff of the tier (2^-53 for "double",
2^-64 for "extended", the x87 80-bit long double).  ``precision="auto"`` runs
in double and repeats the computation in extended precision when
``condition * 2^-53`` exceeds :data:`AUTO_RTOL`.
"""
from typing import NamedTuple

import numpy as np

UNIT_ROUNDOFF = {"double": 2.0**-53, "extended": float(np.finfo(np.longdouble).eps) / 2}
AUTO_RTOL = 1e-12


class KernelResult(NamedTuple):
    """A kernel value with the tier that produced it.

    Attributes
    ----------
    value : float or complex
    precision : {"double", "extended"}
    condition : float
        Sum of |terms| over |value| (inf for a zero value with nonzero terms).
    error_estimate : float
        ``condition * unit roundoff``: the expected relative error.
    """

    value: complex
    precision: str
    condition: float
    error_estimate: float


def condition_number(value, abs_sum):
    value = abs(value)
    if value == 0:
        return 0.0 if abs_sum == 0 else np.inf
    return abs_sum / value


def needs_extended(condition):
    return condition * UNIT_ROUNDOFF["double"] > AUTO_RTOL


def evaluate(run, precision):
    """Run ``run(extended) -> (value, abs_sum)`` in the requested tier."""
    extended = precision == "extended"
    value, abs_sum = run(extended)
    cond = condition_number(value, abs_sum)
    if precision == "auto" and needs_extended(cond):
        extended = True
        value, abs_sum = run(True)
        cond = condition_number(value, abs_sum)
    tier = "extended" if extended else "double"
    return KernelResult(value, tier, cond, cond * UNIT_ROUNDOFF[tier])


def evaluate_batch(run, precision, n_items):
    """Batched :func:`evaluate`: ``run(extended, index) -> (values, abs_sums)``
    with index None for all items.  Returns arrays (values, tiers, conditions,
    error estimates)."""
    extended = precision == "extended"
    values, abs_sums = run(extended, None)
    values = np.array(values)
    conds = np.array([condition_number(v, s) for v, s in zip(values, abs_sums)])
    tiers = np.full(n_items, "extended" if extended else "double", dtype=object)
    if precision == "auto":
        redo = np.flatnonzero([needs_extended(c) for c in conds])
        if redo.size:
            v2, s2 = run(True, redo)
            values[redo] = v2
            conds[redo] = [condition_number(v, s) for v, s in zip(v2, s2)]
            tiers[redo] = "extended"
    errors = conds * np.array([UNIT_ROUNDOFF[t] for t in tiers])
    return values, tiers.astype(str), conds, errors
