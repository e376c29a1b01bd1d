"""Tests that use exact pattern probabilities: likelihood ratios against
classical hypotheses, cross-entropy and heavy-output scores, and total
variation distance on small mode subsets.

Hypotheses (each matched to the ideal model's first moments, as the
samplers of :mod:`jiuzhang_emu.samplers.adversaries` are):

- "ideal": the model itself;
- "thermal", "squashed", "distinguishable": Gaussian models
  (:func:`~jiuzhang_emu.adversary_models.adversary_experiment`), whose
  pattern probabilities are exact: for threshold detection the click chain
  rule of csrc/click_sampler.c run along the given pattern (the product of
  its conditional probabilities, dark counts included), in microseconds;
- "uniform": every mode clicks independently with the model's mean per-mode
  click probability p, P(x) = p^c (1 - p)^(M - c) for c clicks (for
  threshold detection exactly the "uniform" adversary sampler's law; for
  pseudo-PNR the sampler matches the mean count instead, so this hypothesis
  is its per-mode-click approximation).

The phase-randomised "coherent" hypothesis has no closed-form pattern
probability (an integral over the input phases), and the "greedy" spoofer
none at all (its samples are one set constructed to match the first and
second click moments, not draws of a distribution): they are judged by the
scores, which need the ideal model's probabilities only.

- Likelihood ratio (the Bayesian test of Zhong et al., Science 370, 1460
  (2020)): the sum over samples of ln(P_ideal(x) / P_alt(x)); with equal
  priors the posterior probability of the ideal model is 1 / (1 + e^-sum).
- Cross-entropy score: the mean of ln P_ideal(x | C = c) over samples, with
  the probability conditioned on the sample's click number so that samplers
  with other click-number distributions are compared on the patterns alone.
- Heavy-output generation (HOG): the fraction of samples whose ideal
  probability is at least the median ideal probability of the patterns with
  the same number of clicks (0.5 for a sampler that ignores the ideal model,
  more for one that follows it); sectors are enumerated exactly, so HOG is
  for small experiments.
- Total variation distance of the empirical marginal distribution on a small
  mode subset from the exact marginal, next to the distance an exact sampler
  of the same size would show (its expectation, by resampling the exact
  marginal).

Samples with more clicks than ``max_clicks`` are left out of the
probability-based tests (their probabilities cost 2^clicks); how many were
used is reported.
"""
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import click_probabilities
from jiuzhang_emu.kernels.precision import PROBABILITY_RTOL, escalate
from jiuzhang_emu.validation.click_numbers import click_number_distribution
from jiuzhang_emu.validation.statistics import check_click_model, check_clicks, max_count

HYPOTHESES = ("ideal", "thermal", "squashed", "distinguishable", "uniform")
MAX_CLICKS = 16
MAX_SECTOR = 20_000  # patterns per click-number sector for HOG


class PatternProbabilities:
    """Exact click-pattern probabilities of a model under a hypothesis,
    cached per distinct pattern."""

    def __init__(self, experiment, hypothesis="ideal"):
        check_click_model(experiment)
        if hypothesis not in HYPOTHESES:
            raise InputError(f"hypothesis must be one of {HYPOTHESES}, got {hypothesis!r}")
        self.hypothesis = hypothesis
        self.n_modes = experiment.n_modes
        if hypothesis == "uniform":
            self._p = float(np.mean(experiment.click_probabilities()))
            self._model = None
        elif hypothesis == "ideal":
            self._model = experiment
        else:
            self._model = adversary_experiment(experiment, hypothesis)
        self._k = max_count(experiment)
        self._cache = {}
        self.sector_medians = {}  # click number -> median probability (HOG)

    def __call__(self, clicks):
        """P(pattern of clicks per mode) for each row of ``clicks`` (0/1)."""
        clicks = np.ascontiguousarray(clicks, dtype=np.int64)
        keys = [row.tobytes() for row in clicks]
        missing = {key: row for key, row in zip(keys, clicks) if key not in self._cache}
        if missing:
            rows = np.array(list(missing.values()))
            for key, value in zip(missing, self._evaluate(rows)):
                self._cache[key] = value
        return np.array([self._cache[key] for key in keys])

    def _evaluate(self, rows):
        if self._model is None or self._k != 1:
            return [self._probability(row) for row in rows]
        # threshold: the native chain rule, each pattern in the cheapest tier
        # whose error estimate (modes x condition x unit roundoff) is below
        # PROBABILITY_RTOL; the (rare) rest one by one with auto precision
        G, v, block = self._model.vacuum_form()
        g = 1 - self._model.detector.dark_counts(self.n_modes)

        def run(tier, index):
            log_p, condition = click_probabilities(
                G, v, g, block, rows if index is None else rows[index], tier, 1)
            return self.n_modes * condition, np.exp(log_p)

        ladder = escalate(run, len(rows), PROBABILITY_RTOL)
        (out,) = ladder.outputs
        for i in np.flatnonzero(ladder.error_estimate > PROBABILITY_RTOL):
            out[i] = self._probability(rows[i])
        return out

    def _probability(self, row):
        if self._model is None:
            c = int(row.sum())
            return self._p**c * (1 - self._p) ** (self.n_modes - c)
        return click_pattern_probability(self._model, row)


def click_pattern_probability(experiment, clicks, modes=None):
    """P(the modes show ``clicks`` (0/1 per mode)), from
    Experiment.probability; for pseudo-PNR a mode clicks when any of its k
    detectors fires, so the detector counts 1..k of the clicked modes are
    summed over."""
    k = getattr(experiment.detector, "n_detectors", 1)
    if k == 1:
        return experiment.probability(clicks, modes=modes)
    clicked = np.flatnonzero(clicks)
    total = 0.0
    for counts in np.ndindex(*([k] * len(clicked))):
        pattern = np.zeros(len(clicks), dtype=np.int64)
        pattern[clicked] = np.array(counts, dtype=np.int64) + 1
        total += experiment.probability(pattern, modes=modes)
    return total


def _usable(patterns, experiment, max_clicks):
    check_click_model(experiment)
    clicks = check_clicks(patterns, experiment.n_modes, max_count=max_count(experiment))
    keep = clicks.sum(axis=1) <= max_clicks
    if not keep.any():
        raise InputError(f"no sample has at most max_clicks={max_clicks} clicks")
    return clicks[keep], int(keep.sum())


@dataclass(frozen=True)
class LikelihoodRatio:
    """ln(P_ideal / P_alternative) over the samples.

    Attributes
    ----------
    alternative : str
    shots_used : int
        Samples with at most max_clicks clicks.
    mean, standard_error : float
        Per-sample mean log ratio and its standard error.
    total : float
        Sum over the samples used.
    posterior_ideal : float
        1 / (1 + e^-total): the ideal model's posterior with equal priors.
    """

    alternative: str
    shots_used: int
    mean: float
    standard_error: float
    total: float
    posterior_ideal: float


def _ideal(experiment, ideal):
    """The ideal model's PatternProbabilities (a given one is reused, with its cache)."""
    if ideal is None:
        return PatternProbabilities(experiment)
    if not isinstance(ideal, PatternProbabilities) or ideal.hypothesis != "ideal":
        raise InputError("ideal must be the PatternProbabilities of the ideal hypothesis")
    return ideal


def likelihood_ratio_test(patterns, experiment, alternative, *, max_clicks=MAX_CLICKS,
                          ideal=None):
    """Bayesian likelihood-ratio test of samples: ideal model against
    ``alternative`` ("thermal", "squashed", "distinguishable", "uniform").
    ``ideal``: a PatternProbabilities of the model to reuse."""
    if alternative not in HYPOTHESES[1:]:
        raise InputError(f"alternative must be one of {HYPOTHESES[1:]}, got {alternative!r}")
    clicks, used = _usable(patterns, experiment, max_clicks)
    ideal = _ideal(experiment, ideal)(clicks)
    alt = PatternProbabilities(experiment, alternative)(clicks)
    with np.errstate(divide="ignore"):
        log_ratio = np.log(ideal) - np.log(alt)
    total = float(log_ratio.sum())
    error = float(log_ratio.std(ddof=1) / np.sqrt(used)) if used > 1 else np.nan
    posterior = 1.0 / (1.0 + np.exp(-np.clip(total, -700, 700)))
    return LikelihoodRatio(alternative, used, float(log_ratio.mean()), error, total, posterior)


@dataclass(frozen=True)
class Score:
    """A per-sample score's mean and standard error over the samples used."""

    name: str
    shots_used: int
    mean: float
    standard_error: float


def cross_entropy_score(patterns, experiment, *, max_clicks=MAX_CLICKS, click_distribution=None,
                        rng=0, ideal=None):
    """Mean ln P_ideal(x | C = c) over the samples (higher: closer to the
    ideal model's typical patterns)."""
    clicks, used = _usable(patterns, experiment, max_clicks)
    dist = click_distribution or click_number_distribution(experiment, rng=rng)
    p = _ideal(experiment, ideal)(clicks)
    sector = dist.probabilities[clicks.sum(axis=1)]
    values = np.log(p) - np.log(sector)
    return Score("cross-entropy", used, float(values.mean()),
                 float(values.std(ddof=1) / np.sqrt(used)) if used > 1 else np.nan)


def heavy_output_score(patterns, experiment, *, max_clicks=MAX_CLICKS, ideal=None):
    """Fraction of samples at least as likely (ideal model) as the median
    pattern of their click-number sector."""
    clicks, used = _usable(patterns, experiment, max_clicks)
    M = experiment.n_modes
    probabilities = _ideal(experiment, ideal)
    medians = probabilities.sector_medians
    heavy = np.empty(used, dtype=bool)
    for c in np.unique(clicks.sum(axis=1)):
        if c in medians:
            continue
        size = comb(M, int(c))
        if size > MAX_SECTOR:
            raise InputError(f"HOG enumerates each click-number sector: {c} clicks in {M} modes "
                             f"is {size} patterns, above {MAX_SECTOR}")
        sector = np.zeros((size, M), dtype=np.uint8)
        for i, modes in enumerate(combinations(range(M), c)):
            sector[i, list(modes)] = 1
        medians[int(c)] = float(np.median(probabilities(sector)))
    p = probabilities(clicks)
    for i, (row, value) in enumerate(zip(clicks, p)):
        heavy[i] = value >= medians[int(row.sum())]
    mean = float(heavy.mean())
    return Score("HOG", used, mean, float(np.sqrt(mean * (1 - mean) / used)))


@dataclass(frozen=True)
class SubsetDistance:
    """TVD of the empirical marginal on a mode subset from the exact one."""

    modes: tuple
    distance: float
    exact_sampler_distance: float
    exact_sampler_spread: float


def subset_distances(patterns, experiment, *, subset_size=4, n_subsets=10, rng=0,
                     resamples=200):
    """Total variation distances on ``n_subsets`` random mode subsets of
    ``subset_size`` modes, each next to the mean (and spread) of the distance
    an exact sampler with as many shots shows (resampled from the exact
    marginal)."""
    check_click_model(experiment)
    clicks = check_clicks(patterns, experiment.n_modes, max_count=max_count(experiment))
    M = experiment.n_modes
    if not (isinstance(subset_size, (int, np.integer)) and 1 <= subset_size <= min(M, 12)):
        raise InputError(f"subset_size must be an integer in [1, {min(M, 12)}], got "
                         f"{subset_size!r}")
    rng = np.random.default_rng(rng)
    shots = len(clicks)
    powers = 1 << np.arange(subset_size)
    out = []
    for _ in range(n_subsets):
        modes = np.sort(rng.choice(M, subset_size, replace=False))
        exact = np.array([click_pattern_probability(
            experiment, (index >> np.arange(subset_size)) & 1, modes)
            for index in range(1 << subset_size)])
        exact = np.clip(exact, 0, None) / exact.clip(0, None).sum()
        observed = np.bincount(clicks[:, modes] @ powers, minlength=1 << subset_size) / shots
        distance = 0.5 * np.abs(observed - exact).sum()
        noise = 0.5 * np.abs(rng.multinomial(shots, exact, size=resamples) / shots - exact).sum(
            axis=1)
        out.append(SubsetDistance(tuple(int(m) for m in modes), float(distance),
                                  float(noise.mean()), float(noise.std(ddof=1))))
    return out
