"""Fit model parameters to measured click statistics.

The model's first two moments of the total click number C are exact and
cheap at any size: E[C] = sum_j p_j and Var(C) = sum_j p_j (1 - p_j) +
2 sum_{i<j} cov(c_i, c_j), from the first- and second-order click
correlators (:mod:`jiuzhang_emu.validation.statistics`).
:func:`fit_click_moments` chooses the parameters of a model family (any
function returning an Experiment, e.g. ``presets.jiuzhang1`` with its
``transmission_scale`` and ``thermal_fraction``) that best match the measured
mean and variance, in units of their standard errors (bounded least squares).
With two parameters and two moments the match is usually exact; the rest of
the data (per-mode click rates, the whole click-number distribution) then
measures the goodness of fit independently of the fit.
"""
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.validation.statistics import click_correlators


def click_moments(experiment):
    """(E[C], Var(C)) of the total click number of a model, exactly."""
    _, p = click_correlators(experiment, 1)
    _, cov = click_correlators(experiment, 2)
    return float(p.sum()), float(np.sum(p * (1 - p)) + 2 * cov.sum())


def histogram_moments(histogram):
    """Mean and variance of the click number from a histogram (entry c = shots
    with c clicks), with their standard errors.

    Returns
    -------
    dict with keys mean, variance, mean_error, variance_error, shots
    """
    h = np.asarray(histogram)
    if h.ndim != 1 or h.dtype.kind not in "biuf" or np.any(h < 0) or h.sum() <= 1:
        raise InputError("histogram must be a 1-d array of non-negative counts over at least "
                         "two shots")
    n = float(h.sum())
    c = np.arange(len(h))
    mean = float(c @ h / n)
    central = c - mean
    var = float(central**2 @ h / n)
    mu4 = float(central**4 @ h / n)
    return {"mean": mean, "variance": var, "mean_error": np.sqrt(var / n),
            "variance_error": np.sqrt(max(mu4 - var**2, 0.0) / n), "shots": n}


@dataclass(frozen=True)
class FitResult:
    """Best parameters of a model family for measured click-number moments.

    Attributes
    ----------
    parameters : dict
    experiment : Experiment
        The model at the best parameters.
    model_moments, data_moments : dict
        mean and variance of C (data: with standard errors and shots).
    residuals : ndarray
        (model - data) / standard error, for the mean and the variance.
    success : bool
    message : str
    """

    parameters: dict
    experiment: object
    model_moments: dict
    data_moments: dict
    residuals: np.ndarray
    success: bool
    message: str


def fit_click_moments(build, parameters, histogram):
    """Fit a model family to a measured click-number histogram's mean and
    variance.

    Parameters
    ----------
    build : callable
        ``build(**values)`` returns an Experiment with threshold or pseudo-PNR
        detection.
    parameters : dict
        name -> (initial, low, high).
    histogram : array_like
        Measured shots per click number.

    Returns
    -------
    FitResult
    """
    if not parameters:
        raise InputError("parameters must name at least one parameter to fit")
    names = list(parameters)
    try:
        x0, low, high = (np.array([float(parameters[n][i]) for n in names]) for i in range(3))
    except (TypeError, ValueError, IndexError) as exc:
        raise InputError("parameters must map each name to (initial, low, high)") from exc
    if np.any(low >= high) or np.any(x0 < low) or np.any(x0 > high):
        raise InputError(f"each parameter needs low < high and low <= initial <= high, got "
                         f"{parameters}")
    data = histogram_moments(histogram)
    scale = np.array([data["mean_error"], data["variance_error"]])

    def residuals(x):
        model = click_moments(build(**dict(zip(names, x))))
        return (np.array(model) - [data["mean"], data["variance"]]) / scale

    result = least_squares(residuals, x0, bounds=(low, high), x_scale=np.abs(high - low),
                           diff_step=1e-4)
    best = dict(zip(names, map(float, result.x)))
    experiment = build(**best)
    mean, var = click_moments(experiment)
    return FitResult(best, experiment, {"mean": mean, "variance": var}, data,
                     residuals(result.x), bool(result.success), str(result.message))
