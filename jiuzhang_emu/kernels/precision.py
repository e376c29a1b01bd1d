"""Precision tiers, their unit roundoffs, the error budgets, and the one
escalation ladder every caller of a cancelling kernel climbs.

Tiers: "double" (float64), "extended" (long double: x87 80-bit, 64-bit
mantissa, where the platform has it) and, for torontonians of physical O
matrices and the click chain rule, "double-double" (~106 bits).  Every kernel
sums many signed terms.  With S the sum of the moduli of the terms and V the
result, the *condition* ``S / |V|`` bounds how much the rounding errors of the
terms are amplified: the error is about ``condition * u`` with u the unit
roundoff of the tier (relative to V, or absolute when V is a probability and
the condition is S alone).

:func:`escalate` runs a computation in the first tier, and repeats each item
whose error estimate exceeds the caller's budget in the cheapest later tier
whose predicted estimate (the same condition times that tier's unit roundoff;
the condition hardly depends on the tier) meets the budget, or in the most
precise tier where none does; an item still short there climbs on while
tiers remain.  What the caller does with an item left short (warn, refuse,
take an exact fallback) is its own policy.

Used by the kernels' ``precision="auto"`` (:func:`evaluate`,
:func:`evaluate_batch`; budget :data:`AUTO_RTOL`), the click chain-rule
sampler (:data:`SAMPLING_ATOL`) and the pattern probabilities of the
hypothesis tests (:data:`PROBABILITY_RTOL`).

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
    "extended": float(np.finfo(np.longdouble).eps) / 2,  # 2**-64 for x87's 80 bits
    "double-double": 2.0**-104,
    "mpmath": 10.0**-34,  # the 34 digits of the detectors' grouped sums
}
#: Every tier that can produce a value, least precise first ("mpmath": the
#: hafnian's expansion and the grouped detector sums, beyond the kernels).
TIER_ORDER = (*TIERS, "mpmath")

# ---------------------------------------------------------------- error budgets

#: Relative error of a kernel value with precision="auto": ten good digits,
#: ample for probabilities; float64 holds up to condition ~1e6.
AUTO_RTOL = 1e-10
#: A probability warns (precision="auto") when its estimated error exceeds
#: PROBABILITY_RTOL times its value: eight correct digits are ample for
#: statistics.  There is no absolute floor: a floor of 1e-20 let 2.28e-31 with
#: an estimated error of 1.3e-29 pass silently (true value 2.4e-34, issue 13).
#: Exact zeros (odd photon numbers of squeezed vacuum) come with an error
#: estimate of 0 and do not warn.
PROBABILITY_RTOL = 1e-8
#: Largest estimated absolute error of a conditional probability a sampler
#: draws from (the eight digits of PROBABILITY_RTOL: ample for sampling).
SAMPLING_ATOL = 1e-8
#: Past this estimated relative error the estimate itself is no longer an
#: upper bound: the terms have lost their digits before they are summed.
#: Measured on hafnians with repeated rows (issue 13), the true error was 0.3-3
#: times the estimate below 1e-3 and up to 1e8 times it above 1 (reps [30] * 3:
#: estimate 15, error 4e7).  An explicit tier whose estimate exceeds it hands
#: over to an exact fallback where the caller has one.
UNRELIABLE_RTOL = 1e-3


class Escalation(NamedTuple):
    """What :func:`escalate` returns, item by item.

    Attributes
    ----------
    outputs : tuple of ndarray
        The arrays ``run`` returned after the condition, each item's row from
        the tier that computed it last.
    tiers : ndarray of str of shape (n_items,)
    condition : ndarray of shape (n_items,)
    error_estimate : ndarray of shape (n_items,)
        ``condition * UNIT_ROUNDOFF[tier]``; above the budget where even the
        most precise tier (or a result not to be trusted) fell short.
    """

    outputs: tuple
    tiers: np.ndarray
    condition: np.ndarray
    error_estimate: np.ndarray


def cheapest_tier(condition, budget, tiers=TIERS):
    """Index into ``tiers`` of the cheapest one whose estimate ``condition *
    unit roundoff`` meets ``budget``, else of the last; elementwise."""
    condition = np.asarray(condition, dtype=float)
    meets = np.array([condition * UNIT_ROUNDOFF[tier] <= budget for tier in tiers])
    return np.where(meets.any(axis=0), meets.argmax(axis=0), len(tiers) - 1)


def escalate(run, n_items, budget, tiers=TIERS, trusted=np.inf):
    """Compute ``n_items`` items, each in the cheapest of ``tiers`` that meets
    ``budget``.

    Parameters
    ----------
    run : callable
        ``run(tier, index) -> (condition, *outputs)`` for the items ``index``
        (an int array; None for all items): arrays whose first axis runs
        over those items.
    n_items : int
    budget : float
        The largest acceptable ``condition * UNIT_ROUNDOFF[tier]``.
    tiers : sequence of str
        The tiers to try, cheapest first; the first runs on every item.
    trusted : float
        An item whose estimate in the first tier exceeds this is not
        escalated: its condition is no upper bound there (see
        :data:`UNRELIABLE_RTOL`), so no tier can be chosen by it.

    Returns
    -------
    Escalation
    """
    first, *outputs = run(tiers[0], None)
    condition = np.array(first, dtype=float).reshape(n_items)
    outputs = [np.array(out) for out in outputs]
    chosen = np.zeros(n_items, dtype=int)
    wanted = cheapest_tier(condition, budget, tiers)
    wanted[condition * UNIT_ROUNDOFF[tiers[0]] > trusted] = 0
    for index in range(1, len(tiers)):
        redo = np.flatnonzero(wanted == index)
        if not redo.size:
            continue
        again, *more = run(tiers[index], redo)
        condition[redo] = again
        for out, new in zip(outputs, more):
            out[redo] = new
        chosen[redo] = index
        short = redo[condition[redo] * UNIT_ROUNDOFF[tiers[index]] > budget]
        if short.size and index + 1 < len(tiers):  # on to the next tier that should meet it
            wanted[short] = index + 1 + cheapest_tier(condition[short], budget, tiers[index + 1:])
    tier_names = np.array(tiers, dtype=object)[chosen].astype("U13")
    roundoff = np.array([UNIT_ROUNDOFF[tier] for tier in tiers])[chosen]
    return Escalation(tuple(outputs), tier_names, condition, condition * roundoff)


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
    spread = 0.0

    def run_item(tier, index):
        nonlocal spread
        value, abs_sum = run(tier)
        cond = condition_number(value, abs_sum)
        if tier == "double" and rerun is not None and cheapest_tier(cond, AUTO_RTOL,
                                                                     available) == 0:
            spread = spread_condition(value, rerun("double")[0])
        return [max(cond, spread)], [value], [abs_sum]

    # a result beyond UNRELIABLE_RTOL cannot choose a tier: the fallback takes it
    result = escalate(run_item, 1, AUTO_RTOL, available,
                      trusted=np.inf if fallback is None else UNRELIABLE_RTOL)
    value, abs_sum = (out.item() for out in result.outputs)
    tier, cond, error = str(result.tiers[0]), float(result.condition[0]), result.error_estimate[0]
    if error > AUTO_RTOL:
        if fallback is not None:
            return fallback()
        _warn_if_short(cond, tier)
    u = UNIT_ROUNDOFF[tier]
    return KernelResult(value, tier, cond, cond * u, max(abs_sum, spread * abs(value)) * u)


def evaluate_batch(run, precision, n_items, available=TIERS[:2], rerun=None):
    """Batched :func:`evaluate`: ``run(tier, index) -> (values, abs_sums)``
    (and ``rerun`` likewise) with index None for all items.  Returns arrays
    (values, tiers, conditions, error estimates)."""
    spreads = np.zeros(n_items)

    def run_items(tier, index):
        values, abs_sums = run(tier, index)
        conds = np.array([condition_number(v, s) for v, s in zip(values, abs_sums)],
                         dtype=float)
        if index is not None:
            return np.maximum(conds, spreads[index]), values
        if precision == "auto" and rerun is not None:
            fine = np.flatnonzero(cheapest_tier(conds, AUTO_RTOL, available) == 0)
            if fine.size:
                others, _ = rerun("double", fine)
                spreads[fine] = [spread_condition(v, o) for v, o in zip(values[fine], others)]
        return np.maximum(conds, spreads), values

    result = escalate(run_items, n_items, AUTO_RTOL,
                      available if precision == "auto" else (precision,))
    for i in np.flatnonzero(result.error_estimate > AUTO_RTOL) if precision == "auto" else ():
        _warn_if_short(result.condition[i], result.tiers[i])
    return result.outputs[0], result.tiers, result.condition, result.error_estimate
