"""Shared statistics for the sampler tests."""
from collections import Counter

import numpy as np
import pytest
from scipy import stats


def _chi_square_pvalue(experiment, patterns, max_total=None):
    """Chi-square goodness of fit of sampled patterns to exact probabilities.

    Patterns are binned by value; bins with expected count < 5 are merged into
    one tail bin that also holds every unobserved pattern (expected = shots *
    (1 - sum of the kept probabilities)); a tail still below 5 joins the
    smallest bin.  Patterns with more than ``max_total`` counts go to the tail
    unevaluated (a fixed rule, so the test stays valid; it spares costly
    probabilities of rare bright patterns).
    """
    shots = len(patterns)
    kept_observed, kept_expected = [], []
    for pattern, count in Counter(map(tuple, patterns)).items():
        if max_total is not None and sum(pattern) > max_total:
            continue
        expected = shots * experiment.probability(np.array(pattern))
        if expected >= 5:
            kept_observed.append(count)
            kept_expected.append(expected)
    observed = np.array(kept_observed + [shots - sum(kept_observed)], dtype=float)
    expected = np.array(kept_expected + [shots - sum(kept_expected)])
    if expected[-1] < 5:
        smallest = np.argmin(expected[:-1])
        observed[smallest] += observed[-1]
        expected[smallest] += expected[-1]
        observed, expected = observed[:-1], expected[:-1]
    assert len(observed) >= 4, "too few bins for a meaningful test"
    statistic = np.sum((observed - expected) ** 2 / expected)
    return stats.chi2.sf(statistic, len(observed) - 1)


@pytest.fixture
def chi_square_pvalue():
    return _chi_square_pvalue
