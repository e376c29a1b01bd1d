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
from jiuzhang_emu.kernels.work import (
    click_chain_log2_subsets,
    fanout_log2_work,
    zpoly_log2_work,
)

ROUTES = ("exact", "threshold-chain", "fan-out")
#: The Calibration rate of each term, in the order of :func:`log2_terms`.
RATE_NAMES = {"exact": ("mode_seconds", "call_seconds", "work_seconds"),
              "threshold-chain": ("click_mode_seconds", "schur_seconds", "subset_seconds"),
              "fan-out": ("fanout_mode_seconds", "call_seconds", "work_seconds",
                          "fanout_substep_seconds")}
#: Virtual sub-detectors per detector of the "fan-out" route (F).
FANOUT_SUBDETECTORS = 16


def check_route(route):
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}, got {route!r}")
    return route


def processing_order(experiment):
    """The order in which the "fan-out" route processes the modes: by
    increasing mean photon number of the output state (stable, so ties keep
    the mode order), as Bulmer et al. order their chain rule.

    Parameters
    ----------
    experiment : Experiment or GaussianState

    Returns
    -------
    ndarray of int, shape (modes,)
        Mode indices, the first processed first.
    """
    state = experiment.output_state() if hasattr(experiment, "output_state") else experiment
    n = state.mean_photon_numbers()
    n_modes = getattr(experiment, "n_modes", n.size)
    n = n.reshape(-1, n_modes).sum(axis=0)  # internal modes share a detector
    return np.argsort(n, kind="stable")


def route_options(experiment, route):
    """The keyword arguments of :func:`log2_terms` (and
    :func:`pattern_log10_seconds`) that price ``experiment``'s patterns by
    ``route``: internal modes ("threshold-chain"), the processing order and
    detectors per mode ("fan-out")."""
    if check_route(route) == "threshold-chain":
        return {"internal_modes": experiment.internal_modes}
    if route == "fan-out":
        return {"order": processing_order(experiment),
                "n_detectors": getattr(experiment.detector, "n_detectors", 1)}
    return {}


def log2_sum(log2_values, axis=-1):
    """log2 of the sum of 2^values along ``axis`` (-inf for an empty sum)."""
    log2_values = np.asarray(log2_values, dtype=float)
    top = np.max(log2_values, axis=axis, keepdims=True, initial=-np.inf)
    finite = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        total = np.log2(np.exp2(log2_values - finite).sum(axis=axis, keepdims=True)) + finite
    return np.squeeze(total, axis=axis)


def log2_terms(patterns, route, internal_modes=1, *, order=None, n_detectors=1):
    """log2 of the work terms of drawing ``patterns`` by ``route``.

    Parameters
    ----------
    patterns : array_like of int, shape (..., modes)
        Photon numbers ("exact", per internal mode), clicks, or ("fan-out"
        with pseudo-PNR) the number of each mode's detectors that fired.
    route : {"exact", "threshold-chain", "fan-out"}
    internal_modes : int
        Internal modes per detector ("threshold-chain").
    order : array_like of int, shape (modes,), optional
        "fan-out": the processing order (:func:`processing_order`); None:
        the modes as given.
    n_detectors : int
        "fan-out": threshold detectors per mode (1: threshold; k:
        pseudo-PNR), each fanned out to ``FANOUT_SUBDETECTORS`` sub-steps.

    Returns
    -------
    ndarray of float, shape (..., 3), or (..., 4) for "fan-out"
        In the order of ``RATE_NAMES[route]``.
    """
    patterns = np.asarray(patterns, dtype=np.int64)
    log2_modes = np.full(patterns.shape[:-1], math.log2(max(patterns.shape[-1], 1)))
    if check_route(route) == "fan-out":
        rows = np.minimum(patterns, n_detectors)  # threshold: any count > 0 is one click
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            if sorted(order.tolist()) != list(range(patterns.shape[-1])):
                raise InputError(f"order must be a permutation of the {patterns.shape[-1]} "
                                 f"modes, got {order.tolist()}")
            rows = rows[..., order]
        hafnian, substep = fanout_log2_work(rows)
        with np.errstate(divide="ignore"):
            log2_calls = np.log2(np.isfinite(hafnian).sum(axis=-1))
        log2_substeps = log2_sum(substep) + math.log2(n_detectors * FANOUT_SUBDETECTORS)
        return np.stack([log2_modes, log2_calls, log2_sum(hafnian), log2_substeps], axis=-1)
    if route == "exact":
        steps = zpoly_log2_work(patterns)
        with np.errstate(divide="ignore"):
            log2_calls = np.log2(np.isfinite(steps).sum(axis=-1))
        return np.stack([log2_modes, log2_calls, log2_sum(steps)], axis=-1)
    block = 2 * math.log2(internal_modes)
    subsets = log2_sum(click_chain_log2_subsets(patterns))
    return np.stack([log2_modes, 3 * log2_modes + block, subsets + block], axis=-1)


def terms(patterns, route, internal_modes=1, **options):
    """The work terms of :func:`log2_terms`, linear."""
    return np.exp2(log2_terms(patterns, route, internal_modes, **options))


def rates(route, calibration):
    """Seconds per unit of each term of ``route``."""
    return np.array([getattr(calibration, name) for name in RATE_NAMES[check_route(route)]])


def pattern_log10_seconds(pattern, route, *, calibration=None, **options):
    """log10 of the predicted one-core seconds to draw the given pattern by
    ``route`` ("exact": its photon numbers; "threshold-chain", "fan-out": its
    clicks).  ``options``: those of :func:`log2_terms`, e.g. from
    :func:`route_options`."""
    cal = Calibration() if calibration is None else calibration
    with np.errstate(divide="ignore"):
        log2_rates = np.log2(rates(route, cal))
    return float(log2_sum(log2_terms(pattern, route, **options) + log2_rates)) * math.log10(2)


def spread(n_modes, count):
    """A pattern of ``count`` events spread as evenly as possible over
    ``n_modes`` modes (collisions only when count > n_modes)."""
    if count < 0:
        raise InputError(f"count must be >= 0, got {count}")
    k = np.arange(n_modes + 1)
    return np.diff(np.floor(k * count / n_modes)).astype(np.int64)
