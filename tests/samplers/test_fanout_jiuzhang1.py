"""Stored exact samples of Jiuzhang 1.0 (the published model, `presets.jiuzhang1()`)
drawn by the fan-out route, against the model (slow).

The samples are the stored run of `benchmarks/exact_jiuzhang1.py --seed
20261207` (jiuzhang_emu/presets/data/jiuzhang1/exact_fanout.h5: shot i from
SeedSequence(20261207, spawn_key=(i,)), shots 0..N-1 in order, none left out
but the one in progress when the run stopped; its sessions record the
machines and threads).  Drawing a Jiuzhang 1.0 sample takes minutes on two
cores (the mean is set by the rare samples of 50+ clicks), so the stored run
is short; the same checks run on 600 fresh samples of a 32-mode Jiuzhang-like
experiment, where they have power.  Three checks at significance
ALPHA = 1e-4 each: the click numbers (the mean against the exact mean and
variance, z-score; with 100+ shots the whole distribution against the
positive-P one, chi-square with bins merged to expected >= 5 and the model's
own error included), the click rates against the exact ones (chi-square with
the exact click covariance), and the mean pair click covariance against its
exact value (t-score from batch means).  With the stored run's few shots
they catch gross errors (a wrong state, a biased route), not subtle ones: the
route is checked exactly at small M by tests/samplers/test_fanout.py; this is
the end-to-end check at full scale.
"""
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import presets, validation
from jiuzhang_emu.validation.statistics import click_moments_of, mean_vector_test

ALPHA = 1e-4
DATA = Path(presets.__file__).parent / "data" / "jiuzhang1" / "exact_fanout.h5"


@pytest.fixture(scope="module", params=["jiuzhang1-stored", "jiuzhang-like-32-fresh"])
def stored(request):
    if request.param == "jiuzhang-like-32-fresh":
        model = presets.jiuzhang_like(32, r=1.577, transmission=0.2937, rng=3)
        return model.sample(600, rng=20261207, method="fan-out").patterns, model
    model = presets.jiuzhang1()
    with h5py.File(DATA, "r") as f:
        assert f.attrs["fingerprint"] == model.fingerprint()
        assert f.attrs["method"] == "fan-out"
        patterns = f["patterns"][:int(f.attrs["shots_done"])].astype(np.int64)
    assert len(patterns) >= 5
    return patterns, model


@pytest.mark.slow
@pytest.mark.statistical
def test_click_numbers_match_the_model(stored):
    """The mean click number against the exact mean and variance (z-score);
    with enough shots for bins of expected count >= 5, the whole distribution
    against the positive-P one (chi-square)."""
    patterns, model = stored
    rates, covariance = click_moments_of(model)
    clicks = patterns.sum(axis=1)
    z = (clicks.mean() - rates.sum()) / np.sqrt(covariance.sum() / len(clicks))
    assert abs(z) < stats.norm.isf(ALPHA / 2), z
    if len(patterns) >= 100:
        distribution = validation.click_number_distribution(model, samples=200_000, rng=1)
        assert validation.click_number_test(patterns, distribution).pvalue > ALPHA


@pytest.mark.slow
@pytest.mark.statistical
def test_click_rates_and_pair_covariances_match_the_exact_ones(stored):
    patterns, model = stored
    shots = len(patterns)
    rates, covariance = click_moments_of(model)
    assert mean_vector_test(patterns.mean(axis=0), rates, covariance, shots).pvalue > ALPHA
    # mean pair covariance: (Var(C) - sum_i Var(c_i)) / (M (M - 1)), per batch of shots
    M = patterns.shape[1]
    exact = (covariance.sum() - np.trace(covariance)) / (M * (M - 1))

    def mean_pair_covariance(x):
        centred = x - x.mean(axis=0)
        total = centred.sum(axis=1)
        per_mode = (centred**2).sum(axis=1)
        return float(np.mean(total**2 - per_mode)) / (M * (M - 1)) * len(x) / (len(x) - 1)

    batches = np.array_split(patterns, max(2, min(8, shots // 3)))
    per_batch = np.array([mean_pair_covariance(b) for b in batches])
    error = per_batch.std(ddof=1) / np.sqrt(len(batches))
    z = (mean_pair_covariance(patterns) - exact) / error
    assert abs(z) < stats.t.isf(ALPHA / 2, len(batches) - 1), (z, exact)
