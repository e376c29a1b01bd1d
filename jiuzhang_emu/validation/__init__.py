"""Validation: compare samples and real data with a model.

- :mod:`~jiuzhang_emu.validation.statistics`: exact k-th order click
  correlators of a model and their estimates from samples, with standard
  errors; photon-number means and covariances of PNR models likewise.
- :mod:`~jiuzhang_emu.validation.low_order`: the same low-order statistics at
  any size (Jiuzhang 4.0: 8176 modes, 33 million pairs): the model's pair
  cumulants by blocks of rows within a memory budget, third order on random
  triples, sample statistics of pattern chunks in one pass, and their
  comparisons (slope, l2, RMS and max |z|).
- :mod:`~jiuzhang_emu.validation.click_numbers`: total click-number
  distributions (exact, or positive-P phase space at any size, from
  :mod:`jiuzhang_emu.phase_space`) and chi-square / Z-score tests of data
  against them.
- :mod:`~jiuzhang_emu.validation.hypotheses`: likelihood ratios against the
  classical hypotheses, cross-entropy and HOG scores, subset TVD (exact
  pattern probabilities).
- :mod:`~jiuzhang_emu.validation.adversary_table`: which test catches which
  classical imitation (``jiuzhang-emu adversaries``).
- :mod:`~jiuzhang_emu.validation.report`: a Markdown report with plots
  (``jiuzhang-emu validate FILE --model PRESET --out DIR``; needs
  matplotlib).
- :mod:`~jiuzhang_emu.validation.grouped_counts`: joint click counts of
  disjoint mode groups (exact or phase space) and their chi-square test.
- :mod:`~jiuzhang_emu.validation.fitting`: model parameters fitted to the
  measured click-number mean and variance.
- :mod:`~jiuzhang_emu.validation.reproduction`: models against measured click
  rates and click-number histograms (Jiuzhang 1.0's data:
  :func:`jiuzhang_emu.presets.jiuzhang1_comparison`, ``jiuzhang-emu reproduce``).
"""
from jiuzhang_emu.validation.adversary_table import AdversaryTable, adversary_table
from jiuzhang_emu.validation.click_numbers import (
    ClickNumberDistribution,
    CountTest,
    click_number_distribution,
    click_number_test,
)
from jiuzhang_emu.validation.fitting import (
    FitResult,
    click_moments,
    fit_click_moments,
    histogram_moments,
)
from jiuzhang_emu.validation.grouped_counts import (
    GroupedDistribution,
    grouped_click_distribution,
    grouped_count_test,
)
from jiuzhang_emu.validation.hypotheses import (
    LikelihoodRatio,
    PatternProbabilities,
    Score,
    cross_entropy_score,
    heavy_output_score,
    likelihood_ratio_test,
    subset_distances,
)
from jiuzhang_emu.validation.low_order import (
    CumulantComparison,
    SampleStatistics,
    compare_pairs,
    compare_rates,
    compare_triples,
    pair_cumulant_matrix,
    stream_statistics,
    triple_statistics,
)
from jiuzhang_emu.validation.reproduction import (
    Comparison,
    SampleComparison,
    compare_models,
    compare_samples,
)
from jiuzhang_emu.validation.statistics import (
    click_correlators,
    dark_probabilities,
    photon_number_moments,
    sample_click_correlators,
    sample_photon_number_moments,
)

__all__ = [
    "AdversaryTable",
    "ClickNumberDistribution",
    "Comparison",
    "SampleComparison",
    "CountTest",
    "CumulantComparison",
    "SampleStatistics",
    "compare_pairs",
    "compare_rates",
    "compare_triples",
    "pair_cumulant_matrix",
    "stream_statistics",
    "triple_statistics",
    "FitResult",
    "GroupedDistribution",
    "LikelihoodRatio",
    "PatternProbabilities",
    "Score",
    "adversary_table",
    "click_moments",
    "compare_samples",
    "fit_click_moments",
    "grouped_click_distribution",
    "grouped_count_test",
    "heavy_output_score",
    "histogram_moments",
    "likelihood_ratio_test",
    "click_correlators",
    "click_number_distribution",
    "click_number_test",
    "compare_models",
    "cross_entropy_score",
    "dark_probabilities",
    "photon_number_moments",
    "sample_click_correlators",
    "sample_photon_number_moments",
    "subset_distances",
]
