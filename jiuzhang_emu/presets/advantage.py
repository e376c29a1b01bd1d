"""Our predicted classical cost of each published quantum-advantage claim
(:data:`CLAIMS`), from the cost model (:mod:`jiuzhang_emu.cost`) of the
Jiuzhang presets.

Jiuzhang 1.0 is also priced by Strawberry Fields' runtime model of Bulmer et
al.'s threshold sampler (Sci. Adv. 8, eabl9236 (2022);
``strawberryfields.apps`` ``gbs_analysis``): t(N_c) = c M N_c^3 G^(N_c / 2) / 2
seconds per sample on all of Fugaku, c = :data:`SF_C_FUGAKU` (Niagara's
5.42e-15 s over the LINPACK ratio 122.8), G = 2 (no collisions), averaged over
the click-number distribution of the model (positive-P estimates, dark counts
included; :func:`sf_runtime_seconds`).  On the measured click histogram of the
USTC release (mean 42.53 clicks against the model's 41.04) the same model
gives 6.9 days for 5e7 samples.
"""
import math
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.cost import (
    ROUTES,
    SECONDS_PER_YEAR,
    Calibration,
    format_seconds,
    format_years,
    pattern_log10_seconds,
    predict,
    spread,
    supercomputer,
)
from jiuzhang_emu.presets.jiuzhang import jiuzhang1, jiuzhang2, jiuzhang4

#: Strawberry Fields' constant of Bulmer et al.'s runtime model on Fugaku,
#: seconds: c_niagara = 5.42e-15 s divided by the LINPACK ratio 122.8.
SF_C_FUGAKU = 5.42e-15 / 122.8
#: The collision factor G of the runtime model (2: one photon per click).
SF_G = 2.0


@dataclass(frozen=True)
class Claim:
    experiment: str
    task: str
    machine: str
    claim: str
    source: str
    route: str = None
    """The route priced ("exact", "threshold-chain", "fan-out"); None: the
    one ``method="auto"`` takes (fixed patterns: the cheapest)."""
    runtime_model: bool = False
    """The claim is Strawberry Fields' runtime model: its figure is computed
    (:func:`sf_runtime_seconds`) and shown in the claim's column."""
    model: bool = False
    """Price a sample of the experiment's model (its preset; Jiuzhang 4.0:
    :func:`~jiuzhang_emu.presets.jiuzhang.jiuzhang4`) averaged over the
    model's click-number distribution, instead of the published count."""


@dataclass(frozen=True)
class AdvantageRow:
    claim: Claim
    model: str
    route: str
    log10_seconds_here: float
    """One-core seconds for the task on the calibrated machine (log10)."""
    relative_error: float
    """Standard error of the phase-space estimate / estimate (0: a fixed pattern)."""
    log10_years: float
    """Years for the task on the claim's machine (log10)."""
    claim_seconds: float = None
    """The claim's own figure for the task, where it is a model we can
    evaluate (Strawberry Fields' runtime model), seconds on its machine."""

    @property
    def published(self):
        """The claim's column of the table."""
        c = self.claim
        if self.claim_seconds is None:
            return f"{c.claim} ({c.source})"
        return f"{format_seconds(self.claim_seconds)}: {c.claim} ({c.source})"


@dataclass(frozen=True)
class AdvantageTable:
    rows: tuple
    calibration: Calibration

    def markdown(self):
        lines = ["| experiment | task | model | route | ours: 1 core here | ours: claim's machine "
                 "| published claim |", "|---|---|---|---|---|---|---|"]
        for row in self.rows:
            c = row.claim
            error = f" (+-{row.relative_error:.0%})" if row.relative_error else ""
            here = format_years(row.log10_seconds_here - math.log10(SECONDS_PER_YEAR))
            lines.append(f"| {c.experiment} | {c.task} | {row.model} | {row.route} | "
                         f"{here}{error} | {format_years(row.log10_years)} on {c.machine} | "
                         f"{row.published} |")
        return "\n".join(lines)


_JIUZHANG1_TASK = "5e7 samples (the experiment's 200 s)"
#: The published classical-cost claims (REFERENCE.md) and the task each one prices.
CLAIMS = (
    Claim("Jiuzhang 1.0", _JIUZHANG1_TASK, "TaihuLight", "2.5e9 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", _JIUZHANG1_TASK, "Fugaku", "6e8 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", _JIUZHANG1_TASK, "Fugaku", "several months", "Bulmer et al. 2022",
          route="fan-out"),
    Claim("Jiuzhang 1.0", _JIUZHANG1_TASK, "Fugaku",
          "runtime model t = 0.5 c M N_c^3 2^(N_c/2), c_fugaku = 4.414e-17 s, over the "
          "model's click numbers", "Strawberry Fields, for Bulmer et al. 2022", route="fan-out",
          runtime_model=True),
    Claim("Jiuzhang 2.0", "4.5e7 samples (one pump setting)", "Fugaku",
          "speed-up ~1e24 (unverified)", "Zhong et al. 2021"),
    Claim("Jiuzhang 3.0", "the hardest sample (255 clicks)", "Frontier",
          "> 2e10 years", "Deng et al. 2023"),
    Claim("Jiuzhang 4.0", "one typical sample (~2200 clicks of 8176 modes)", "El Capitan",
          "> 1e42 years (best MPS method)", "Liu et al. 2025"),
    Claim("Jiuzhang 4.0", "one sample of the model", "El Capitan",
          "> 1e42 years (best MPS method)", "Liu et al. 2025", model=True),
)


def sf_runtime_seconds(click_probabilities, n_modes, *, c=SF_C_FUGAKU, G=SF_G):
    """Strawberry Fields' runtime model of Bulmer et al.'s threshold sampler,
    averaged over a click-number distribution: sum_N P(N) c M N^3 G^(N/2) / 2.

    Parameters
    ----------
    click_probabilities : array_like of float, shape (n_modes + 1,)
        P(N_c = N), N = 0..n_modes (a histogram is normalised).
    n_modes : int
        M, the detectors.
    c : float
        Seconds per unit (default: Fugaku's, :data:`SF_C_FUGAKU`).
    G : float
        The collision factor.

    Returns
    -------
    float
        Seconds per sample on the machine of ``c``.
    """
    p = np.asarray(click_probabilities, dtype=float)
    N = np.arange(p.size)
    return float(p @ (0.5 * c * n_modes * N**3 * G ** (N / 2)) / p.sum())


def _pattern_routes(pattern, detectors, cal):
    """log10 one-core seconds of a fixed pattern on every route (the fan-out
    with its dark modes first: the route orders the modes by vacuum
    probability per shot, and this order is its best case)."""
    options = {"fan-out": {"n_detectors": detectors,
                           "order": np.argsort(pattern > 0, kind="stable")}}
    return {r: pattern_log10_seconds(pattern, r, calibration=cal, **options.get(r, {}))
            for r in ROUTES}


def model_sample_cost(experiment, distribution, cal):
    """log10 of the mean one-core seconds of a sample of ``experiment``, per
    route, and its relative standard error: the fixed-pattern cost of C
    clicks spread evenly over the modes (:func:`_pattern_routes`) averaged
    over the click-number distribution (a positive-P estimate, windowed at
    large M; its negative bins count as 0, its bin covariance gives the
    error; the mass outside a window, ``distribution.outside_mass``, is
    left out).

    Returns
    -------
    dict
        route -> (log10 seconds, relative standard error).
    """
    p = np.clip(distribution.probabilities, 0, None)
    counts = np.flatnonzero(p)
    detectors = getattr(experiment.detector, "n_detectors", 1)
    costs = [_pattern_routes(spread(experiment.n_modes, int(c)), detectors, cal) for c in counts]
    first = distribution.window[0] if distribution.window else 0  # the covariance's bin 0
    covariance = distribution.covariance[np.ix_(counts - first, counts - first)]
    out = {}
    for route in ROUTES:
        log10 = np.array([cost[route] for cost in costs])
        weights = 10.0 ** (log10 - log10.max())
        mean = float(p[counts] @ weights)
        error = float(np.sqrt(max(weights @ covariance @ weights, 0.0)))
        out[route] = (log10.max() + math.log10(mean), error / mean)
    return out


def advantage_table(*, samples=20_000, rng=0, calibration=None):
    """Our predicted classical cost of each task of :data:`CLAIMS`.

    Jiuzhang 1.0: the published model, expected cost per sample
    (:func:`jiuzhang_emu.cost.predict`), by the route ``method="auto"`` takes
    or the claim's route ("fan-out" next to Bulmer et al.'s figure and
    Strawberry Fields' runtime model, whose figure is computed on the
    model's click-number distribution).  2.0: published squeezing on a
    stand-in interferometer.  3.0 and 4.0: fixed patterns, the events spread
    evenly over the modes and one photon per click (fewest photons, so a
    lower bound on the "exact" route); the cheaper route is shown (the
    "fan-out" with Jiuzhang 3.0's 8 detectors per mode, its dark modes
    first).  Jiuzhang 4.0 also by its model (:func:`jiuzhang4`, stand-in
    interferometer and squeezing): the same fixed-pattern cost averaged over
    the model's positive-P click-number distribution
    (:func:`model_sample_cost`).  ``samples`` and ``rng`` go to
    :func:`~jiuzhang_emu.cost.predict` and to the positive-P estimates.
    """
    from jiuzhang_emu.phase_space import click_count_estimates
    from jiuzhang_emu.validation import click_number_distribution

    cal = Calibration() if calibration is None else calibration
    estimates, rows = {}, []
    for claim in CLAIMS:
        experiment, count, modes, detectors = {
            "Jiuzhang 1.0": (jiuzhang1, None, None, None),
            "Jiuzhang 2.0": (jiuzhang2, None, None, None),
            "Jiuzhang 3.0": (None, 255, 144, 8),
            "Jiuzhang 4.0": (jiuzhang4 if claim.model else None, 2200, 8176, 1)}[claim.experiment]
        claim_seconds = None
        if claim.model:
            built = experiment()
            distribution = click_number_distribution(built, method="phase-space",
                                                     samples=samples, rng=rng)
            routes = model_sample_cost(built, distribution, cal)
            route = min(routes, key=lambda r: routes[r][0]) if claim.route is None else claim.route
            log10_here, relative = routes[route]
            model = (f"jiuzhang4() (stand-in interferometer and squeezing): "
                     f"{distribution.mean():.1f} +- {distribution.mean_standard_error():.1f} "
                     f"clicks of {built.n_modes} modes (positive-P)")
        elif experiment is not None:
            if claim.experiment not in estimates:
                built = experiment()
                estimates[claim.experiment] = (built, predict(built, samples=samples, rng=rng,
                                                              calibration=cal))
            built, estimate = estimates[claim.experiment]
            shots = float(claim.task.split()[0])
            route = estimate.route if claim.route is None else claim.route
            seconds, error = estimate.routes[route]
            log10_here = math.log10(seconds * shots)
            model = ("published" if claim.experiment == "Jiuzhang 1.0"
                     else "published squeezing, stand-in interferometer")
            relative = error / seconds
            if claim.runtime_model:
                p, _ = click_count_estimates(built, [np.arange(built.n_modes)], samples,
                                             np.random.default_rng(rng))
                claim_seconds = shots * sf_runtime_seconds(p, built.n_modes)
        else:
            routes = _pattern_routes(spread(modes, count), detectors, cal)
            route = min(routes, key=routes.get) if claim.route is None else claim.route
            log10_here, relative = routes[route], 0.0
            model = f"{count} events spread over {modes} modes"
        log10_there = log10_here + math.log10(cal.flops_per_core
                                              / supercomputer(claim.machine).rmax)
        rows.append(AdvantageRow(claim, model, route, log10_here, relative,
                                 log10_there - math.log10(SECONDS_PER_YEAR), claim_seconds))
    return AdvantageTable(tuple(rows), cal)
