"""Which test catches which classical imitation.

:func:`adversary_table` draws samples of a (small) model from the exact
sampler and from each classical adversary, applies every test of the
validation layer against the ideal model, and reports each test's statistic
with a verdict.  A sample set is *caught* by a test when:

- click numbers: the count test's Z-score exceeds Z_CAUGHT (= 6, the "clear
  failure" of Drummond et al.);
- pair correlators: some pair covariance is more than Z_CAUGHT standard
  errors from the model's (with M (M - 1) / 2 pairs, |z| > 6 has a
  family-wise false-alarm rate below 1e-6 for M <= 100);
- likelihood ratio: against the adversary's own hypothesis (where it has
  exact probabilities), the posterior probability of the ideal model is below
  0.01;
- cross-entropy and HOG: the score is more than Z_CAUGHT combined standard
  errors below the exact sampler's;
- subset TVD: on some subset the distance exceeds an exact sampler's mean by
  more than Z_CAUGHT times its spread.
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
from jiuzhang_emu.validation.statistics import click_correlators, sample_click_correlators

Z_CAUGHT = 6.0
SAMPLERS = ("exact", "thermal", "squashed", "coherent", "distinguishable", "uniform", "greedy")
TESTS = ("click numbers", "pair correlators", "likelihood ratio", "cross-entropy", "HOG",
         "subset TVD")


@dataclass(frozen=True)
class AdversaryTable:
    """Per sampler: {test: (statistic text, caught)}."""

    experiment: str
    shots: int
    rows: dict

    def markdown(self):
        lines = [f"{self.shots} samples per sampler of {self.experiment}; each cell: the "
                 f"statistic, then CAUGHT or pass (criteria: "
                 f"jiuzhang_emu.validation.adversary_table)", "",
                 "| sampler | " + " | ".join(TESTS) + " |",
                 "|---|" + "---|" * len(TESTS)]
        for name, cells in self.rows.items():
            texts = [f"{text} {'CAUGHT' if caught else 'pass'}" if caught is not None else text
                     for text, caught in (cells[t] for t in TESTS)]
            lines.append(f"| {name} | " + " | ".join(texts) + " |")
        return "\n".join(lines)

    def caught(self):
        """{sampler: [tests that caught it]}."""
        return {name: [t for t in TESTS if cells[t][1]] for name, cells in self.rows.items()}


def adversary_table(experiment, *, shots=10_000, rng=0, samplers=SAMPLERS, subset_size=4,
                    n_subsets=8):
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

    Returns
    -------
    AdversaryTable
    """
    distribution = click_number_distribution(experiment, rng=rng)
    _, covariances = click_correlators(experiment, 2)
    ideal = PatternProbabilities(experiment)
    reference = {}
    rows = {}
    for index, name in enumerate(samplers):
        method = "auto" if name == "exact" else name
        patterns = experiment.sample(shots, rng=[rng, index], method=method).patterns
        cells = {}
        test = click_number_test(patterns, distribution)
        cells["click numbers"] = (f"Z = {test.z_score:.1f}", test.z_score > Z_CAUGHT)
        _, estimate, error = sample_click_correlators(patterns, 2)
        worst = float(np.max(np.abs(estimate - covariances) / error))
        cells["pair correlators"] = (f"max abs z = {worst:.1f}", worst > Z_CAUGHT)
        if name in HYPOTHESES[1:]:
            ratio = likelihood_ratio_test(patterns, experiment, name, ideal=ideal)
            cells["likelihood ratio"] = (f"P(ideal) = {ratio.posterior_ideal:.3g}",
                                         ratio.posterior_ideal < 0.01)
        else:
            cells["likelihood ratio"] = ("n/a", None)
        for key, score in (("cross-entropy", cross_entropy_score(
                patterns, experiment, click_distribution=distribution, ideal=ideal)),
                ("HOG", heavy_output_score(patterns, experiment, ideal=ideal))):
            if name == "exact":
                reference[key] = score
                cells[key] = (f"{score.mean:.3f} +- {score.standard_error:.3f}", None)
            else:
                ref = reference.get(key)
                z = ((ref.mean - score.mean) / np.hypot(ref.standard_error, score.standard_error)
                     if ref else np.nan)
                cells[key] = (f"{score.mean:.3f} +- {score.standard_error:.3f} (z = {z:.1f})",
                              bool(z > Z_CAUGHT))
        distances = subset_distances(patterns, experiment, subset_size=subset_size,
                                     n_subsets=n_subsets, rng=rng)
        excess = max((d.distance - d.exact_sampler_distance) / d.exact_sampler_spread
                     for d in distances)
        mean_tvd = np.mean([d.distance for d in distances])
        cells["subset TVD"] = (f"{mean_tvd:.4f} (worst {excess:.1f} sd)", excess > Z_CAUGHT)
        rows[name] = cells
    return AdversaryTable(experiment.name, shots, rows)
