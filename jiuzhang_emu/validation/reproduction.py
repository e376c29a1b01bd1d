"""Models against measured click data: the comparison behind the headline
reproduction of Jiuzhang 1.0 (:func:`jiuzhang_emu.presets.jiuzhang1_comparison`,
which picks the data and the models).

For each model: the exact mean and variance of the click number, the
per-detector click rates against the measured ones (RMS relative deviation
and correlation), and the positive-P click-number distribution against the
measured histogram (total variation distance, chi-square / dof and the
Z-score of :func:`~jiuzhang_emu.validation.click_numbers.click_number_test`).
Nothing here is fitted to the histogram's shape or to the rates: those are
the independent checks.

:func:`compare_samples` turns it around: sample sets (an approximate
sampler's, the classical adversaries', and measured data where given) against
one model, on the statistics Oh et al. (Nat. Phys. 20, 1461 (2024)) judge
experiments by: click-number distribution, click rates, and two- and
three-point click cumulants (fitted slope through the origin against the
model's, and the Euclidean (l2) distance between the cumulant vectors), all
from the low-order statistics of :mod:`jiuzhang_emu.validation.low_order`
(model pair cumulants by blocks, samples in one streaming pass), so at any
size (Jiuzhang 4.0's 33 million pairs).
"""
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from jiuzhang_emu.validation.click_numbers import click_number_distribution, click_number_test
from jiuzhang_emu.validation.fitting import click_moments, histogram_moments
from jiuzhang_emu.validation.low_order import (
    DEFAULT_MEMORY_BUDGET,
    as_chunks,
    compare_pairs,
    compare_rates,
    compare_triples,
    pair_cumulant_matrix,
    random_triples,
    stream_statistics,
    triple_statistics,
)
from jiuzhang_emu.validation.statistics import click_correlators

#: Largest number of pairs listed in ``SampleComparison.subsets[2]``.
MAX_LISTED_PAIRS = 10**6


@dataclass(frozen=True)
class ModelComparison:
    """One model against the measured data."""

    name: str
    parameters: dict
    mean_clicks: float
    click_variance: float
    rate_rms_deviation: float
    rate_correlation: float
    total_variation: float
    total_variation_error: float
    chi2_per_dof: float
    z_score: float
    distribution: object

    def row(self):
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.parameters.items()) or "-"
        return (f"| {self.name} | {params} | {self.mean_clicks:.3f} | {self.click_variance:.3f} "
                f"| {100 * self.rate_rms_deviation:.2f}% | {self.rate_correlation:.4f} "
                f"| {self.total_variation:.4f} +- {self.total_variation_error:.4f} "
                f"| {self.chi2_per_dof:.4g} | {self.z_score:.4g} |")


@dataclass(frozen=True)
class Comparison:
    """The data's moments and every model's comparison."""

    data: dict
    models: list

    def table(self):
        """A Markdown table of the comparison."""
        lines = [f"Jiuzhang 1.0 data: {self.data['shots']:.0f} shots, click number mean "
                 f"{self.data['mean']:.3f} +- {self.data['mean_error']:.3f}, variance "
                 f"{self.data['variance']:.3f} +- {self.data['variance_error']:.3f}", "",
                 "| model | parameters | mean clicks | variance | click-rate RMS dev. | "
                 "rate corr. | TVD (click numbers) | chi2/dof | Z |",
                 "|---|---|---|---|---|---|---|---|---|"]
        return "\n".join(lines + [m.row() for m in self.models])


def compare_model(name, experiment, parameters, measured, *, samples, rng):
    """Compare one model with measured rates and click-number histogram."""
    mean, var = click_moments(experiment)
    _, rates = click_correlators(experiment, 1)
    deviation = (rates - measured.click_rates) / measured.click_rates
    dist = click_number_distribution(experiment, method="phase-space", samples=samples, rng=rng)
    hist = np.asarray(measured.click_number_histogram, dtype=float)
    n = min(len(hist), len(dist.probabilities))
    data_p = hist[:n] / hist.sum()
    tvd = 0.5 * np.abs(dist.probabilities[:n] - data_p).sum()
    # error of the TVD from the model's phase-space errors (first order)
    tvd_error = 0.5 * np.sqrt(np.sum(dist.standard_errors[:n] ** 2))
    test = click_number_test(hist[: len(dist.probabilities)], dist)
    return ModelComparison(name, dict(parameters), mean, var,
                           float(np.sqrt(np.mean(deviation**2))),
                           float(np.corrcoef(rates, measured.click_rates)[0, 1]),
                           float(tvd), float(tvd_error), test.chi2 / test.dof, test.z_score, dist)


def compare_models(models, measured, *, samples, rng):
    """Compare models with measured data.

    Parameters
    ----------
    models : sequence of (name, Experiment, parameters dict)
    measured : MeasuredData
        ``click_rates`` and ``click_number_histogram`` (for instance
        :func:`jiuzhang_emu.presets.jiuzhang1_measured`).
    samples : int
        Positive-P samples per model.
    rng : seed for the phase-space samples

    Returns
    -------
    Comparison
        ``.table()`` gives the Markdown summary.
    """
    rows = [compare_model(name, exp, params, measured, samples=samples, rng=rng)
            for name, exp, params in models]
    return Comparison(histogram_moments(measured.click_number_histogram), rows)


@dataclass(frozen=True)
class SampleComparison:
    """Sample sets against one model (:func:`compare_samples`).

    Attributes
    ----------
    rows : list of dict
        Per sample set: ``name``, ``shots``, ``mean_clicks`` (modes with
        a click; pseudo-PNR: with at least one detector fired),
        ``rate_rms_deviation`` (relative, against the model's exact click
        rates), ``total_variation`` (its click-number histogram against the
        model's distribution), and for orders 2 and 3 ``slope_k`` (least
        squares through the origin of the sample cumulants on the model's)
        and ``l2_k`` (Euclidean distance between the two cumulant vectors);
        the tests of each statistic against the model, ``tests``: statistic
        -> (its size, p-value) for "click rates" (largest binomial |z|),
        "pair cumulants" and "triple cumulants" (RMS z, with the Bonferroni
        p of the largest |z|: z against the model's exact standard errors)
        and "click numbers" (chi-square Z-score and p against
        ``distribution``, sparse bins merged); None for the "data" row.
    distribution : ClickNumberDistribution
        The model's click-number distribution.
    subsets : dict
        The mode sets of each order's cumulants: 2 -> all pairs (None above
        MAX_LISTED_PAIRS pairs: every pair is compared, none listed);
        3 -> the random triples.
    """

    rows: list
    distribution: object
    subsets: dict

    def table(self):
        """A Markdown table of the comparison."""
        lines = ["| samples | shots | mean clicks | click-rate RMS dev. | TVD (click numbers) | "
                 "pair slope | pair l2 | triple slope | triple l2 |",
                 "|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            cumulants = " | ".join("-" if r[key] is None else f"{r[key]:.{digits}f}" for key, digits
                                   in (("slope_2", 4), ("l2_2", 5), ("slope_3", 4), ("l2_3", 5)))
            lines.append(f"| {r['name']} | {r['shots']} | {r['mean_clicks']:.3f} | "
                         f"{100 * r['rate_rms_deviation']:.2f}% | {r['total_variation']:.4f} | "
                         f"{cumulants} |")
        return "\n".join(lines)

    def tests_table(self, alpha=0.01):
        """A Markdown table of the tests (``tests`` of :attr:`rows`): each
        statistic's size and p-value, and the statistics whose test does not
        reject the model at level ``alpha`` (each test on its own)."""
        names = ("click rates", "pair cumulants", "triple cumulants", "click numbers")
        sizes = ("max abs z", "RMS z", "RMS z", "Z")
        lines = ["| samples | shots | " + " | ".join(f"{n}: {z}, p" for n, z in zip(names, sizes))
                 + f" | not rejected at alpha = {alpha:g} |", "|---" * (len(names) + 3) + "|"]
        for r in self.rows:
            if r["tests"] is None:
                continue
            cells = [f"{r['tests'][n][0]:.2f}, {r['tests'][n][1]:.2g}" for n in names]
            passed = [n for n in names if r["tests"][n][1] > alpha]
            lines.append(f"| {r['name']} | {r['shots']} | {' | '.join(cells)} | "
                         f"{', '.join(passed) or 'none'} |")
        return "\n".join(lines)


def compare_samples(experiment, samples, *, measured=None, distribution=None, triples=2000,
                    phase_space_samples=100_000, rng=0, memory_budget=DEFAULT_MEMORY_BUDGET):
    """Sample sets (any sampler, any shots) against one model, on the
    statistics of Oh et al. (Nat. Phys. 20, 1461 (2024): click-number
    distribution, click rates, two- and three-point click cumulants).

    Parameters
    ----------
    experiment : Experiment
        The model (threshold or pseudo-PNR detection).
    samples : dict
        name -> patterns (shots, modes), or an iterable of such chunks (read
        once: :func:`~jiuzhang_emu.validation.low_order.stream_statistics`).
    measured : MeasuredData, optional
        Published data given as click rates and a click-number histogram
        (:func:`jiuzhang_emu.presets.jiuzhang1_measured`): a row "data"
        first, without cumulants (None), which need patterns.
    distribution : ClickNumberDistribution, optional
        The model's click-number distribution (default: exact or phase
        space by :func:`click_number_distribution`).
    triples : int
        Random mode triples for the third-order cumulants (all when there
        are fewer).
    phase_space_samples : int
    rng : seed for the phase-space samples and the triples
    memory_budget : float
        Bytes (default 12 GB) for the model's and one sample set's M x M
        matrices; refused before any work when they do not fit.

    Returns
    -------
    SampleComparison
    """
    generator = np.random.default_rng(rng)
    if distribution is None:
        distribution = click_number_distribution(experiment, samples=phase_space_samples,
                                                 rng=generator)
    M = experiment.n_modes
    triple_sets = random_triples(M, triples, generator)
    rates, covariance = pair_cumulant_matrix(experiment, memory_budget=memory_budget)
    triple_sets, ideal_3, variances_3 = triple_statistics(experiment, triple_sets)
    rows = []
    n = len(distribution.probabilities)
    if measured is not None:
        histogram = np.asarray(measured.click_number_histogram, dtype=float)
        shots = histogram.sum()
        frequencies = np.zeros(max(n, len(histogram)))
        frequencies[:len(histogram)] = histogram / shots
        rows.append({"name": "data", "shots": int(shots),
                     "mean_clicks": float(np.arange(len(histogram)) @ histogram / shots),
                     "rate_rms_deviation": float(np.sqrt(np.mean(
                         (measured.click_rates - rates) ** 2 / rates ** 2))),
                     "total_variation": float(0.5 * (np.abs(frequencies[:n] - distribution
                                                            .probabilities).sum()
                                                     + frequencies[n:].sum())),
                     **{key: None for key in ("slope_2", "l2_2", "slope_3", "l2_3", "tests")}})
    for name, patterns in samples.items():
        chunks, _ = as_chunks(patterns)
        stat = stream_statistics(chunks, M, triples=triple_sets,
                                 memory_budget=memory_budget - 8 * M * M)
        histogram = stat.histogram  # clicked modes, as the distribution counts
        frequencies = histogram[:n] / stat.shots
        rate = compare_rates(stat, rates)
        row = {"name": name, "shots": stat.shots,
               "mean_clicks": float(np.arange(M + 1) @ histogram / stat.shots),
               "rate_rms_deviation": rate.rms_relative_deviation,
               "total_variation": float(0.5 * (np.abs(frequencies - distribution.probabilities)
                                               .sum() + histogram[n:].sum() / stat.shots))}
        pairs = compare_pairs(rates, covariance, stat)
        row["slope_2"], row["l2_2"] = pairs.slope, pairs.l2
        third = compare_triples(ideal_3, variances_3, stat)
        row["slope_3"], row["l2_3"] = third.slope, third.l2
        numbers = click_number_test(histogram, distribution)
        row["tests"] = {"click rates": (rate.max_z.statistic, rate.max_z.pvalue),
                        "pair cumulants": (pairs.rms_z, pairs.pvalue),
                        "triple cumulants": (third.rms_z, third.pvalue),
                        "click numbers": (numbers.z_score, numbers.pvalue)}
        rows.append(row)
    all_pairs = None
    if M * (M - 1) // 2 <= MAX_LISTED_PAIRS:
        all_pairs = np.array(list(combinations(range(M), 2)), dtype=np.intp).reshape(-1, 2)
    return SampleComparison(rows, distribution, {2: all_pairs, 3: triple_sets})
