"""Which test catches which classical imitation.

:func:`adversary_table` draws samples of a (small) model from the exact
sampler and from each classical adversary, applies every test of the
validation layer against the ideal model, and reports each test's statistic
with a verdict, by the rule of the validation report
(:func:`jiuzhang_emu.validation.report.decide`): per sample set (one row),
the significance tests share the family-wise level ALPHA = 0.01 through
Holm's step-down correction, and a test *rejects* the ideal model (the
sample set is *caught* by it) when Holm rejects its p-value:

- click numbers: the chi-square p-value of the count test;
- pair correlators: the largest |z| over the M (M - 1) / 2 pair covariances,
  each z against the model's exact variance of the sample covariance, with a
  Bonferroni bound over the pairs;
- cross-entropy and HOG: two-sided normal p-value of the score's distance
  from the exact sampler's, in combined standard errors (a sampler that
  scores higher than the ideal one is not ideal either);
- subset TVD: one-sided normal p-value of the largest excess of a subset's
  distance over an exact sampler's mean, in units of its spread, with a
  Bonferroni bound over the subsets (a normal approximation).

The likelihood ratio is a Bayesian comparison outside the alpha budget, as in
the report: against the adversary's own hypothesis (where it has exact
probabilities) the sample set is caught when the posterior probability of
the ideal model is below 1 - POSTERIOR = 0.01.  A cell that does not reject
reads "not rejected": whether a test *could* have rejected (its power) is
the report's business; here the exact sampler's row shows the false alarms.
"""
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.validation.click_numbers import click_number_distribution, click_number_test
from jiuzhang_emu.validation.hypotheses import (
    HYPOTHESES,
    PatternProbabilities,
    cross_entropy_score,
    heavy_output_score,
    likelihood_ratio_test,
    subset_distances,
)
from jiuzhang_emu.validation.report import ALPHA, POSTERIOR, holm
from jiuzhang_emu.validation.statistics import (
    click_correlators,
    max_z_test,
    pair_covariance_variance,
    sample_click_correlators,
)

SAMPLERS = ("exact", "thermal", "squashed", "coherent", "distinguishable", "uniform", "greedy")
TESTS = ("click numbers", "pair correlators", "likelihood ratio", "cross-entropy", "HOG",
         "subset TVD")


@dataclass(frozen=True)
class AdversaryTable:
    """Per sampler: {test: (statistic text, caught)}; caught is None for a
    cell with no test (a reference score, or n/a)."""

    experiment: str
    shots: int
    rows: dict
    alpha: float = ALPHA

    def markdown(self):
        lines = [f"{self.shots} samples per sampler of {self.experiment}; each cell: the "
                 f"statistic, then whether the test rejects the ideal model (family-wise "
                 f"level {self.alpha:g} per sampler, Holm; likelihood ratio: Bayesian, posterior "
                 f"of the ideal model below {1 - POSTERIOR:.2g}; criteria: "
                 f"jiuzhang_emu.validation.adversary_table)", "",
                 "| sampler | " + " | ".join(TESTS) + " |",
                 "|---|" + "---|" * len(TESTS)]
        for name, cells in self.rows.items():
            texts = [f"{text} {'REJECTED' if caught else 'not rejected'}"
                     if caught is not None else text
                     for text, caught in (cells[t] for t in TESTS)]
            lines.append(f"| {name} | " + " | ".join(texts) + " |")
        return "\n".join(lines)

    def caught(self):
        """{sampler: [tests that caught it]}."""
        return {name: [t for t in TESTS if cells[t][1]] for name, cells in self.rows.items()}


def adversary_table(experiment, *, shots=10_000, rng=0, samplers=SAMPLERS, subset_size=4,
                    n_subsets=8, alpha=ALPHA):
    """Run every test on samples of the exact sampler and each adversary.

    Parameters
    ----------
    experiment : Experiment
        Threshold detection, small enough for exact sampling and, for HOG,
        for enumerating click-number sectors.
    shots : int
        Samples per sampler.
    rng : seed
    samplers : sequence of str
        "exact" (the exact route "auto" picks) and adversary names; "exact"
        first, as the reference for the scores.
    alpha : float
        Family-wise significance level of each sampler's tests (Holm).

    Returns
    -------
    AdversaryTable
    """
    from scipy import stats

    distribution = click_number_distribution(experiment, rng=rng)
    _, rates = click_correlators(experiment, 1)
    pairs, covariances = click_correlators(experiment, 2)
    variance = pair_covariance_variance(rates, pairs, covariances)
    ideal = PatternProbabilities(experiment)
    reference = {}
    rows = {}
    for index, name in enumerate(samplers):
        method = "auto" if name == "exact" else name
        patterns = experiment.sample(shots, rng=[rng, index], method=method).patterns
        cells, pvalues = {}, {}
        test = click_number_test(patterns, distribution)
        cells["click numbers"] = f"Z = {test.z_score:.1f}, p = {test.pvalue:.2g}"
        pvalues["click numbers"] = test.pvalue
        _, estimate, _ = sample_click_correlators(patterns, 2)
        pair_test = max_z_test((estimate - covariances) / np.sqrt(variance / shots))
        cells["pair correlators"] = f"max abs z = {pair_test.statistic:.1f}"
        pvalues["pair correlators"] = pair_test.pvalue
        bayesian = {}
        if name in HYPOTHESES[1:]:
            ratio = likelihood_ratio_test(patterns, experiment, name, ideal=ideal)
            cells["likelihood ratio"] = f"P(ideal) = {ratio.posterior_ideal:.3g}"
            bayesian["likelihood ratio"] = bool(ratio.posterior_ideal < 1 - POSTERIOR)
        else:
            cells["likelihood ratio"] = "n/a"
        for key, score in (("cross-entropy", cross_entropy_score(
                patterns, experiment, click_distribution=distribution, ideal=ideal)),
                ("HOG", heavy_output_score(patterns, experiment, ideal=ideal))):
            if name == "exact":
                reference[key] = score
                cells[key] = f"{score.mean:.3f} +- {score.standard_error:.3f}"
            else:
                ref = reference.get(key)
                z = ((ref.mean - score.mean) / np.hypot(ref.standard_error, score.standard_error)
                     if ref else np.nan)
                cells[key] = f"{score.mean:.3f} +- {score.standard_error:.3f} (z = {z:.1f})"
                if np.isfinite(z):
                    pvalues[key] = float(2 * stats.norm.sf(abs(z)))
        distances = subset_distances(patterns, experiment, subset_size=subset_size,
                                     n_subsets=n_subsets, rng=rng)
        excess = max((d.distance - d.exact_sampler_distance) / d.exact_sampler_spread
                     for d in distances)
        mean_tvd = np.mean([d.distance for d in distances])
        cells["subset TVD"] = f"{mean_tvd:.4f} (worst {excess:.1f} sd)"
        pvalues["subset TVD"] = float(min(1.0, len(distances) * stats.norm.sf(excess)))
        rejected, _ = holm(list(pvalues.values()), alpha)
        caught = dict(zip(pvalues, (bool(r) for r in rejected))) | bayesian
        rows[name] = {key: (text, caught.get(key)) for key, text in cells.items()}
    return AdversaryTable(experiment.name, shots, rows, alpha)
