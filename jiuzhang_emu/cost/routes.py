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
* ``"fan-out"``: clicks by fan-out (threshold and pseudo-PNR detectors,
  indistinguishable light; samplers/fanout.py).  Terms: the modes, the
  loop-hafnian passes (jz_loop_hafnian_zeval) and their work, and the
  virtual sub-detector steps (:func:`jiuzhang_emu.kernels.work.fanout_log2_work`),
  in the shot's processing order (:func:`vacuum_orders`).

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
              "fan-out": ("fanout_mode_seconds", "fanout_call_seconds", "fanout_work_seconds",
                          "fanout_substep_seconds")}
#: Virtual sub-detectors per detector of the "fan-out" route (F).
FANOUT_SUBDETECTORS = 16


def check_route(route):
    if route not in ROUTES:
        raise InputError(f"route must be one of {ROUTES}, got {route!r}")
    return route


def vacuum_orders(pure_cov, pure_means):
    """The order in which the "fan-out" route processes the modes of one
    shot: by decreasing vacuum probability of the displaced pure state
    (stable, so ties keep the mode order).  The route's per-shot order
    (samplers/fanout.py) and the cost model's both come from here.

    Parameters
    ----------
    pure_cov : ndarray of shape (2M, 2M)
        Covariance of the pure state (xxpp, hbar = 2), e.g. the first value of
        :meth:`~jiuzhang_emu.states.GaussianState.pure_decomposition`.
    pure_means : array_like of shape (..., 2M)
        The shots' displacements (xxpp means of the pure state).

    Returns
    -------
    ndarray of int, shape (..., M)
        Mode indices, the first processed first.
    """
    cov = np.asarray(pure_cov, dtype=float)
    M = cov.shape[0] // 2
    pure_means = np.asarray(pure_means, dtype=float)
    if pure_means.shape[-1] != 2 * M:
        raise InputError(f"pure_means must have last axis 2M = {2 * M} (xxpp, matching "
                         f"pure_cov), got shape {pure_means.shape}")
    # per mode, the Gaussian overlap with vacuum: (V + I)^-1 of the 2 x 2 block
    xx, pp, xp = np.diag(cov)[:M] + 1, np.diag(cov)[M:] + 1, np.diag(cov[:M, M:])
    det = xx * pp - xp**2
    x, p = pure_means[..., :M], pure_means[..., M:]
    log_vacuum = -0.5 * (pp * x**2 + xx * p**2 - 2 * xp * x * p) / det - 0.5 * np.log(det)
    return np.argsort(-log_vacuum, axis=-1, kind="stable")


def route_options(experiment, route):
    """The keyword arguments of :func:`log2_terms` (and
    :func:`pattern_log10_seconds`) that price ``experiment``'s patterns by
    ``route``: internal modes ("threshold-chain"), detectors per mode
    ("fan-out"; its order is per shot, :func:`vacuum_orders`, passed
    separately)."""
    if check_route(route) == "threshold-chain":
        return {"internal_modes": experiment.internal_modes}
    if route == "fan-out":
        return {"n_detectors": getattr(experiment.detector, "n_detectors", 1)}
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
    order : array_like of int, shape (modes,) or (..., modes), optional
        "fan-out": the processing order, one for all patterns or one per
        pattern (:func:`vacuum_orders` of each shot's displacement); None:
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
            M = patterns.shape[-1]
            if (order.ndim == 0 or order.shape[-1] != M
                    or np.any(np.sort(order, axis=-1) != np.arange(M))):
                raise InputError(f"order must be a permutation of the {M} modes (per "
                                 f"pattern or for all), got {order.tolist()}")
            rows = np.take_along_axis(rows, np.broadcast_to(order, rows.shape), axis=-1)
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
