"""Our predicted classical cost of each published quantum-advantage claim
(:data:`CLAIMS`), from the cost model (:mod:`jiuzhang_emu.cost`) of the
Jiuzhang presets."""
import math
from dataclasses import dataclass

from jiuzhang_emu.cost import (
    ROUTES,
    SECONDS_PER_YEAR,
    Calibration,
    format_years,
    pattern_log10_seconds,
    predict,
    spread,
    supercomputer,
)
from jiuzhang_emu.presets.jiuzhang import jiuzhang1, jiuzhang2


@dataclass(frozen=True)
class Claim:
    experiment: str
    task: str
    machine: str
    claim: str
    source: str


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
                         f"{c.claim} ({c.source}) |")
        return "\n".join(lines)


#: The published classical-cost claims (REFERENCE.md) and the task each one prices.
CLAIMS = (
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "TaihuLight",
          "2.5e9 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "Fugaku",
          "6e8 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "Fugaku",
          "months", "Bulmer et al. 2022"),
    Claim("Jiuzhang 2.0", "4.5e7 samples (one pump setting)", "Fugaku",
          "speed-up ~1e24 (unverified)", "Zhong et al. 2021"),
    Claim("Jiuzhang 3.0", "the hardest sample (255 clicks)", "Frontier",
          "> 2e10 years", "Deng et al. 2023"),
    Claim("Jiuzhang 4.0", "one typical sample (~2200 clicks of 8176 modes)", "El Capitan",
          "> 1e42 years (best MPS method)", "Liu et al. 2025"),
)


def advantage_table(*, samples=20_000, rng=0, calibration=None):
    """Our predicted classical cost of each task of :data:`CLAIMS`.

    Jiuzhang 1.0: the published model, expected cost per sample
    (:func:`jiuzhang_emu.cost.predict`).  2.0: published squeezing on a
    stand-in interferometer.  3.0 and 4.0: fixed patterns, the events spread
    evenly over the modes and one photon per click (fewest photons, so a
    lower bound on the "exact" route); the cheaper route is shown.
    ``samples`` and ``rng`` go to :func:`~jiuzhang_emu.cost.predict`.
    """
    cal = Calibration() if calibration is None else calibration
    estimates, rows = {}, []
    for claim in CLAIMS:
        experiment, count, modes = {
            "Jiuzhang 1.0": (jiuzhang1, None, None), "Jiuzhang 2.0": (jiuzhang2, None, None),
            "Jiuzhang 3.0": (None, 255, 144), "Jiuzhang 4.0": (None, 2200, 8176)}[claim.experiment]
        if experiment is not None:
            if claim.experiment not in estimates:
                estimates[claim.experiment] = predict(experiment(), samples=samples, rng=rng,
                                                      calibration=cal)
            estimate = estimates[claim.experiment]
            shots = float(claim.task.split()[0])
            seconds, error = estimate.routes[estimate.route]
            log10_here = math.log10(seconds * shots)
            model = ("published" if claim.experiment == "Jiuzhang 1.0"
                     else "published squeezing, stand-in interferometer")
            route, relative = estimate.route, error / seconds
        else:
            pattern = spread(modes, count)
            routes = {r: pattern_log10_seconds(pattern, r, calibration=cal) for r in ROUTES}
            route = min(routes, key=routes.get)
            log10_here, relative = routes[route], 0.0
            model = f"{count} events spread over {modes} modes"
        log10_there = log10_here + math.log10(cal.flops_per_core
                                              / supercomputer(claim.machine).rmax)
        rows.append(AdvantageRow(claim, model, route, log10_here, relative,
                                 log10_there - math.log10(SECONDS_PER_YEAR)))
    return AdvantageTable(tuple(rows), cal)
