"""Each exact route's work for one shot, from the pattern it draws.

Routes carry the names of the sampler methods that take them (the names
stored in sample files):

* ``"exact"``: photon-number sampling by the chain rule (any detector;
  clicks by coarse-graining).  Terms: the modes (internal modes included),
  the loop-hafnian calls and their work, both per chain-rule step
  (:func:`jiuzhang_emu.kernels.work.zpoly_log2_work`).
* ``"threshold-chain"``: the click chain rule (threshold detectors).  Terms:
  the modes, M^3 of Schur complements at dark modes and the subsets summed
  (:func:`jiuzhang_emu.kernels.work.click_chain_log2_subsets`), the last two
  times internal_modes^2 for partly distinguishable light (a 2 x 2 block of internal
  modes per detector).

The seconds are the terms times the rates of a
:class:`~jiuzhang_emu.cost.calibration.Calibration` (``RATE_NAMES``).  Terms
are computed as logarithms, so that patterns of thousands of events (Jiuzhang
4.0) do not overflow; :func:`terms` is their exponential.
"""
import math

import numpy as np

from jiuzhang_emu.cost.calibration import Calibration
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels.work import click_chain_log2_subsets, zpoly_log2_work

ROUTES = ("exact", "threshold-chain")
#: The Calibration rate of each term, in the order of :func:`log2_terms`.
RATE_NAMES = {"exact": ("mode_seconds", "call_seconds", "work_seconds"),
              "threshold-chain": ("click_mode_seconds", "schur_seconds", "subset_seconds")}


def check_route(route):
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}, got {route!r}")
    return route


def log2_sum(log2_values, axis=-1):
    """log2 of the sum of 2^values along ``axis`` (-inf for an empty sum)."""
    log2_values = np.asarray(log2_values, dtype=float)
    top = np.max(log2_values, axis=axis, keepdims=True, initial=-np.inf)
    finite = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log2(np.exp2(log2_values - finite).sum(axis=axis, keepdims=True)) + finite
    return np.squeeze(total, axis=axis)


def log2_terms(patterns, route, internal_modes=1):
    """log2 of the work terms of drawing ``patterns`` by ``route``.

    Parameters
    ----------
    patterns : array_like of int, shape (..., modes)
        Photon numbers ("exact", per internal mode) or clicks.
    route : {"exact", "threshold-chain"}
    internal_modes : int
        Internal modes per detector ("threshold-chain").

    Returns
    -------
    ndarray of float, shape (..., 3)
        In the order of ``RATE_NAMES[route]``.
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    log2_modes = np.full(patterns.shape[:-1], math.log2(max(patterns.shape[-1], 1)))
    if check_route(route) == "exact":
        steps = zpoly_log2_work(patterns)
        with np.errstate(divide="ignore"):
            log2_calls = np.log2(np.isfinite(steps).sum(axis=-1))
        return np.stack([log2_modes, log2_calls, log2_sum(steps)], axis=-1)
    block = 2 * math.log2(internal_modes)
    subsets = log2_sum(click_chain_log2_subsets(patterns))
    return np.stack([log2_modes, 3 * log2_modes + block, subsets + block], axis=-1)


def terms(patterns, route, internal_modes=1):
    """The work terms of :func:`log2_terms`, linear."""
    return np.exp2(log2_terms(patterns, route, internal_modes))


def rates(route, calibration):
    """Seconds per unit of each term of ``route``."""
    return np.array([getattr(calibration, name) for name in RATE_NAMES[check_route(route)]])


def pattern_log10_seconds(pattern, route, *, calibration=None):
    """log10 of the predicted one-core seconds to draw the given pattern by
    ``route`` ("exact": its photon numbers; "threshold-chain": its clicks)."""
    cal = Calibration() if calibration is None else calibration
    with np.errstate(divide="ignore"):
        log2_rates = np.log2(rates(route, cal))
    return float(log2_sum(log2_terms(pattern, route) + log2_rates)) * math.log10(2)


def spread(n_modes, count):
    """A pattern of ``count`` events spread as evenly as possible over
    ``n_modes`` modes (collisions only when count > n_modes)."""
    if count < 0:
        raise InputError(f"count must be >= 0, got {count}")
    k = np.arange(n_modes + 1)
    return np.diff(np.floor(k * count / n_modes)).astype(np.int64)
