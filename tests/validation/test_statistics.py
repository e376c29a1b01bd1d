"""Exact click correlators against brute force over all patterns, and sample
estimates against the exact values.

Randomised checks use a fixed seed and a per-statistic two-sided level of
7e-6 (|z| < 4.5 for a normal z); with at most 128 statistics per test the
family-wise level stays below 1e-3.  The sample estimates' standard errors
are batch means over the default 20 batches, so their z is Student t with
19 degrees of freedom, not normal: |t| < 4.5 is a 2.5e-4 level per statistic
(3 % over a test's 128), so the bound is T_MAX, t(19)'s 7e-6 point (6.13)."""
import itertools

import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Coherent,
    Experiment,
    InputError,
    PhotonNumberResolving,
    SingleModeSqueezer,
    TwoModeSqueezer,
    haar_unitary,
    presets,
)
from jiuzhang_emu import validation

Z_MAX = 4.5
T_MAX = float(stats.t.isf(stats.norm.sf(Z_MAX), 20 - 1))  # batch means, 20 batches

NAMES = ["distinguishable", "pseudo-pnr", "threshold-displaced-dark"]


def _pattern_probabilities(experiment):
    """{clicks per mode (0/1): probability}, summed over every detector
    pattern the model allows."""
    k = getattr(experiment.detector, "n_detectors", 1)
    out = {}
    for pattern in itertools.product(range(k + 1), repeat=experiment.n_modes):
        clicks = tuple(int(c > 0) for c in pattern)
        out[clicks] = out.get(clicks, 0.0) + experiment.probability(np.array(pattern))
    return out


def _moment(probabilities, modes):
    return sum(p for clicks, p in probabilities.items() if all(clicks[i] for i in modes))


@pytest.mark.parametrize("name", NAMES)
def test_correlators_equal_brute_force(name, click_models):
    experiment = click_models[name]()
    probabilities = _pattern_probabilities(experiment)
    assert sum(probabilities.values()) == pytest.approx(1, abs=1e-12)
    p = np.array([_moment(probabilities, [i]) for i in range(experiment.n_modes)])
    subsets, first = validation.click_correlators(experiment, 1)
    np.testing.assert_allclose(first, p, atol=1e-13)
    np.testing.assert_allclose(first, experiment.click_probabilities(), atol=1e-13)
    subsets, second = validation.click_correlators(experiment, 2)
    expected = [_moment(probabilities, s) - p[s[0]] * p[s[1]] for s in subsets]
    np.testing.assert_allclose(second, expected, atol=1e-13)
    _, raw = validation.click_correlators(experiment, 2, connected=False)
    np.testing.assert_allclose(raw, [_moment(probabilities, s) for s in subsets], atol=1e-13)
    subsets, third = validation.click_correlators(experiment, 3)
    expected = [_moment(probabilities, (i, j, k)) - _moment(probabilities, (i, j)) * p[k]
                - _moment(probabilities, (i, k)) * p[j] - _moment(probabilities, (j, k)) * p[i]
                + 2 * p[i] * p[j] * p[k] for i, j, k in subsets]
    np.testing.assert_allclose(third, expected, atol=1e-13)


def test_fourth_order_cumulant_by_partitions(click_models):
    experiment = click_models["threshold-displaced-dark"]()
    probabilities = _pattern_probabilities(experiment)
    subsets, fourth = validation.click_correlators(experiment, 4)
    # fourth joint cumulant from raw moments, written out
    m = lambda *s: _moment(probabilities, s)  # noqa: E731
    i, j, k, l = subsets[0]
    expected = (m(i, j, k, l) - m(i, j, k) * m(l) - m(i, j, l) * m(k) - m(i, k, l) * m(j)
                - m(j, k, l) * m(i) - m(i, j) * m(k, l) - m(i, k) * m(j, l) - m(i, l) * m(j, k)
                + 2 * (m(i, j) * m(k) * m(l) + m(i, k) * m(j) * m(l) + m(i, l) * m(j) * m(k)
                       + m(j, k) * m(i) * m(l) + m(j, l) * m(i) * m(k) + m(k, l) * m(i) * m(j))
                - 6 * m(i) * m(j) * m(k) * m(l))
    assert fourth[0] == pytest.approx(expected, abs=1e-13)


def test_explicit_subsets_in_any_order():
    experiment = presets.random_experiment(6, r=0.8, transmission=0.6, rng=3)
    _, all_pairs = validation.click_correlators(experiment, 2)
    subsets, some = validation.click_correlators(experiment, 2, subsets=[[4, 1], [0, 5]])
    np.testing.assert_array_equal(subsets, [[1, 4], [0, 5]])
    lookup = {tuple(s): v for s, v in zip(*validation.click_correlators(experiment, 2))}
    np.testing.assert_allclose(some, [lookup[(1, 4)], lookup[(0, 5)]], rtol=1e-12)


@pytest.mark.statistical
def test_sample_estimates_agree_with_the_model(any_seed):
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.4, rng=5)
    patterns = experiment.sample(20000, rng=any_seed(8)).patterns
    for order in (1, 2, 3):
        subsets, exact = validation.click_correlators(experiment, order)
        _, estimate, error = validation.sample_click_correlators(patterns, order)
        z = (estimate - exact) / error
        assert np.all(np.abs(z) < T_MAX), (order, z)
    # raw moments too, and counts are clicks when > 0
    counts = patterns * 3
    _, raw, error = validation.sample_click_correlators(counts, 2, connected=False)
    _, exact = validation.click_correlators(experiment, 2, connected=False)
    assert np.all(np.abs((raw - exact) / error) < T_MAX)


@pytest.mark.statistical
def test_second_order_correlators_catch_distinguishable_light(any_seed):
    """Distinguishable squeezers keep the click rates (nearly) but not the
    pair correlations: the ideal model's correlators reject their samples
    (largest |z| 32-50 over ten seeds, against 10)."""
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.6, rng=5)
    patterns = experiment.sample(20000, rng=any_seed(9), method="distinguishable").patterns
    _, exact = validation.click_correlators(experiment, 2)
    _, estimate, error = validation.sample_click_correlators(patterns, 2)
    assert np.max(np.abs((estimate - exact) / error)) > 10


def test_jiuzhang1_third_order_in_seconds():
    subsets, values = validation.click_correlators(presets.jiuzhang1(), 3)
    assert subsets.shape == (161700, 3) and np.all(np.isfinite(values))


@pytest.mark.parametrize("bad, match", [
    (lambda e: validation.click_correlators(e, 0), "order"),
    (lambda e: validation.click_correlators(e, 2, subsets=[[0, 0]]), "distinct"),
    (lambda e: validation.click_correlators(e, 2, subsets=[[0, 9]]), r"\[0, 4\)"),
    (lambda e: validation.click_correlators(e, 2, subsets=[0, 1]), "shape"),
    (lambda e: validation.sample_click_correlators(np.zeros((0, 4), int), 1), "non-empty"),
    (lambda e: validation.sample_click_correlators(np.full((5, 4), 0.5), 1), "integer"),
    (lambda e: validation.sample_click_correlators(np.zeros((5, 4), int), 1, n_batches=9),
     "n_batches"),
])
def test_bad_input(bad, match):
    experiment = presets.random_experiment(4, rng=1)
    with pytest.raises(InputError, match=match):
        bad(experiment)


def test_click_statistics_need_click_detectors():
    experiment = presets.random_experiment(4, detectors="pnr", rng=1)
    assert isinstance(experiment.detector, PhotonNumberResolving)
    with pytest.raises(InputError, match="threshold or pseudo-PNR"):
        validation.click_correlators(experiment, 2)


def test_photon_number_moments_equal_thewalrus():
    """Means and covariances against thewalrus's photon_number_mean_vector
    and photon_number_covmat of the output state (xxpp, hbar = 2), plus the
    dark counts' Bernoulli(d) by hand (displacement, loss)."""
    from thewalrus.quantum import photon_number_covmat, photon_number_mean_vector

    experiment = Experiment(
        [TwoModeSqueezer(0.7), Coherent(0.3 + 0.2j), SingleModeSqueezer(0.5)],
        haar_unitary(4, rng=5).T * 0.8, PhotonNumberResolving(dark_count=[0.05, 0.1, 0, 0.2]))
    state = experiment.output_state()
    d = np.array([0.05, 0.1, 0, 0.2])
    means, cov = validation.photon_number_moments(experiment)
    np.testing.assert_allclose(means, photon_number_mean_vector(state.means, state.cov, hbar=2)
                               + d, atol=1e-12)
    np.testing.assert_allclose(cov, photon_number_covmat(state.means, state.cov, hbar=2)
                               + np.diag(d * (1 - d)), atol=1e-12)


@pytest.mark.statistical
def test_sample_photon_number_moments_agree_with_the_model(any_seed):
    """Partly distinguishable light: the internal copies add up per detector."""
    experiment = Experiment(
        [TwoModeSqueezer(0.7, indistinguishability=0.5), SingleModeSqueezer(0.6),
         Coherent(0.4)], haar_unitary(4, rng=4).T * 0.8,
        PhotonNumberResolving(dark_count=0.05))
    patterns = experiment.sample(20000, rng=any_seed(6)).patterns
    means, cov = validation.photon_number_moments(experiment)
    m, m_err, c, c_err = validation.sample_photon_number_moments(patterns)
    assert np.all(np.abs((m - means) / m_err) < T_MAX)
    assert np.all(np.abs((c - cov) / c_err) < T_MAX)


def test_photon_number_moments_need_pnr():
    with pytest.raises(InputError, match="photon-number-resolving"):
        validation.photon_number_moments(presets.random_experiment(4, rng=1))
    with pytest.raises(InputError, match="n_batches"):
        validation.sample_photon_number_moments(np.zeros((3, 2), int))


def test_click_rate_summary_by_hand():
    """Four hand-made shots of a pseudo-PNR model (two detectors per mode):
    clicks per shot count the clicking detectors, rates the modes with a
    click; the exact values are the model's."""
    experiment = presets.jiuzhang_like(4, detectors="pseudo-pnr", rng=3)
    patterns = np.array([[0, 1, 2, 0], [1, 0, 0, 0], [0, 0, 0, 0], [2, 2, 1, 1]])
    summary = validation.statistics.click_rate_summary(patterns, experiment)
    clicks = np.array([3.0, 1.0, 0.0, 6.0])
    assert summary.shots == 4
    assert summary.mean_clicks == 2.5
    assert summary.mean_clicks_error == pytest.approx(clicks.std(ddof=1) / 2)
    assert summary.exact_mean_clicks == pytest.approx(experiment.mean_clicks())
    assert summary.mean_clicks_z == pytest.approx(
        (2.5 - experiment.mean_clicks()) / (clicks.std(ddof=1) / 2))
    np.testing.assert_array_equal(summary.rates, [0.5, 0.5, 0.5, 0.25])
    p = experiment.click_probabilities()
    np.testing.assert_allclose(summary.exact_rates, p)
    np.testing.assert_allclose(summary.rate_z, (summary.rates - p) / np.sqrt(p * (1 - p) / 4))
    assert list(validation.statistics.clicks_per_shot(patterns, "photon-number-resolving")) \
        == [2, 1, 0, 4]
