"""Click-number distributions: exact against brute force, phase space against
exact within its error bars, and the count test on ideal and adversary
samples.

Randomised checks use fixed seeds, each at a stated significance (the
suite's policy: tests/conftest.py), so that a moved draw fails one only with
that probability:
- phase space against exact: every bin within Z_MAX = 4.5 standard errors
  (two-sided 7e-6 per bin, < 1e-4 over the at most 11 bins of a test), and
  the chi-square of the bins with their covariance with p > ALPHA = 1e-4 (the
  bins of one sample sum to one: they are correlated, and sum z_c^2 is no
  chi-square; at 10,000 samples it rejected 1.3 % of seeds at a nominal
  1e-3);
- the mean click number within Z_MAX of the exact one, with its standard
  error from the bins' covariance (not sqrt(sum_c (c - mean)^2 SE_c^2), 4x
  too small at Jiuzhang 1.0: 200 seeds gave z with mean -0.03 +- 0.07 and
  standard deviation 1.03 with the covariance, 3.4 without);
- the count test on ideal samples: p > ALPHA; on adversary samples: Z > 6,
  the "clear failure" threshold of Drummond et al. (here Z ~ 25 for ten
  seeds).
"""
import itertools

import mpmath
import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import InputError, presets
from jiuzhang_emu import validation
from jiuzhang_emu.phase_space import PhaseSpaceSampler, takagi_factor

ALPHA = 1e-4
Z_MAX = 4.5

EXTRA = {"jiuzhang-like": lambda: presets.jiuzhang_like(6, r=1.2, transmission=0.4, rng=6)}
NAMES = ["distinguishable", "jiuzhang-like", "pseudo-pnr", "threshold-displaced-dark"]


def _brute_force(experiment, modes):
    k = getattr(experiment.detector, "n_detectors", 1)
    dist = np.zeros(len(modes) + 1)
    for pattern in itertools.product(range(k + 1), repeat=experiment.n_modes):
        clicks = sum(int(pattern[m] > 0) for m in modes)
        dist[clicks] += experiment.probability(np.array(pattern))
    return dist


@pytest.mark.parametrize("name", NAMES)
def test_exact_equals_brute_force(name, click_models):
    experiment = {**click_models, **EXTRA}[name]()
    modes = np.arange(experiment.n_modes)
    exact = validation.click_number_distribution(experiment, method="exact")
    np.testing.assert_allclose(exact.probabilities, _brute_force(experiment, modes), atol=1e-13)
    assert exact.mean() == pytest.approx(experiment.mean_clicks() if name != "pseudo-pnr" else
                                         experiment.click_probabilities().sum(), abs=1e-12)
    some = validation.click_number_distribution(experiment, modes=[2, 0], method="exact")
    np.testing.assert_allclose(some.probabilities, _brute_force(experiment, [2, 0]), atol=1e-13)
    assert not exact.covariance.any() and exact.mean_standard_error() == 0


@pytest.mark.statistical
@pytest.mark.parametrize("name", NAMES)
def test_phase_space_agrees_with_exact_within_error_bars(name, click_models, any_seed):
    experiment = {**click_models, **EXTRA}[name]()
    exact = validation.click_number_distribution(experiment, method="exact").probabilities
    ps = validation.click_number_distribution(experiment, method="phase-space",
                                              samples=100_000, rng=any_seed(7))
    assert ps.method == "phase-space" and ps.samples == 100_000
    z = (ps.probabilities - exact) / ps.standard_errors
    assert np.all(np.abs(z) < Z_MAX), z
    np.testing.assert_allclose(np.sqrt(np.diag(ps.covariance)), ps.standard_errors, rtol=1e-12)
    d = (ps.probabilities - exact)[:-1]  # the bins sum to one: drop one
    chi2 = float(d @ np.linalg.solve(ps.covariance[:-1, :-1], d))
    assert float(mpmath.gammainc(len(d) / 2, chi2 / 2, regularized=True)) > ALPHA
    assert np.all(ps.standard_errors < 0.01)


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["jiuzhang-like", "threshold-displaced-dark"])
def test_mean_click_number_error_is_the_spread_over_seeds(name, click_models, any_seed):
    """z = (mean - exact) / mean_standard_error over 200 seeds has unit
    standard deviation: 199 s^2 ~ chi2(199), two-sided ALPHA bounds (s in
    [0.81, 1.20]).  Without the bins' covariance s is ~1.6 here."""
    experiment = {**click_models, **EXTRA}[name]()
    exact = experiment.mean_clicks()
    z = []
    for seed in range(200):
        ps = validation.click_number_distribution(experiment, method="phase-space",
                                                  samples=2_000, rng=any_seed(seed))
        z.append((ps.mean() - exact) / ps.mean_standard_error())
    low, high = np.sqrt(stats.chi2.ppf([ALPHA / 2, 1 - ALPHA / 2], 199) / 199)
    assert low < np.std(z, ddof=1) < high, np.std(z, ddof=1)
    assert abs(np.mean(z)) < Z_MAX / np.sqrt(200)  # and no bias


def test_takagi_factor_reproduces_the_matrix():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(6, 6)) + 1j * rng.normal(size=(6, 6))
    A = A + A.T
    C = takagi_factor(A)
    np.testing.assert_allclose(C @ C.T, A, atol=1e-12)
    low_rank = C[:, :2] @ C[:, :2].T  # rank-deficient (pure states are)
    C2 = takagi_factor(low_rank)
    np.testing.assert_allclose(C2 @ C2.T, low_rank, atol=1e-12)


@pytest.mark.statistical
def test_phase_space_moments_are_normally_ordered_moments(click_models, any_seed):
    """E[beta_i alpha_j] = <a_i^dag a_j> and E[alpha_i alpha_j] = <a_i a_j>
    (displaced, lossy, thermalised state), within 4.5 standard errors."""
    experiment = click_models["threshold-displaced-dark"]()
    state = experiment.output_state()
    N, M, mean = state._normal_moments()
    alpha, beta = PhaseSpaceSampler(state).sample(200_000, np.random.default_rng(any_seed(2)))
    for estimate, exact in [
        (beta[:, :, None] * alpha[:, None, :], N + np.outer(mean.conj(), mean)),
        (alpha[:, :, None] * alpha[:, None, :], M + np.outer(mean, mean)),
    ]:
        for part in (np.real, np.imag):
            error = part(estimate).std(axis=0) / np.sqrt(len(alpha))
            z = (part(estimate).mean(axis=0) - part(exact)) / error
            assert np.all(np.abs(z) < Z_MAX), z


def test_auto_is_exact_for_few_modes():
    experiment = presets.random_experiment(6, rng=2)
    assert validation.click_number_distribution(experiment).method == "exact"


@pytest.mark.statistical
def test_count_test_passes_ideal_samples_and_catches_thermal_light(any_seed):
    experiment = presets.jiuzhang_like(10, r=1.2, transmission=0.5, rng=3)
    model = validation.click_number_distribution(experiment)
    ideal = experiment.sample(20000, rng=any_seed(4)).patterns
    result = validation.click_number_test(ideal, model)
    assert result.pvalue > ALPHA and abs(result.z_score) < 6
    assert result.observed.sum() == 20000 and all(e >= 5 for e in result.expected)
    thermal = experiment.sample(20000, rng=any_seed(4), method="thermal").patterns
    assert validation.click_number_test(thermal, model).z_score > 6
    # a histogram gives the same test
    histogram = np.bincount(ideal.sum(axis=1), minlength=11)
    assert validation.click_number_test(histogram, model).chi2 == pytest.approx(result.chi2)


@pytest.mark.statistical
@pytest.mark.slow
def test_jiuzhang1_phase_space_error_below_target(any_seed):
    """The issue's target: absolute error below 2e-4 per bin (here 100,000
    samples, ~8 s on the 2-core machine; the largest is ~1.15e-4) and the
    mean click number within Z_MAX of the exact model's, with the mean's own
    standard error (~0.016; the seed gives z = -1.19)."""
    experiment = presets.jiuzhang1()
    dist = validation.click_number_distribution(experiment, samples=100_000, rng=any_seed(1))
    assert dist.method == "phase-space" and len(dist.probabilities) == 101
    assert dist.standard_errors.max() < 2e-4
    error = dist.mean_standard_error()
    assert 0.01 < error < 0.03
    assert abs(dist.mean() - experiment.mean_clicks()) < Z_MAX * error
    assert dist.probabilities.sum() == pytest.approx(1, abs=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda e, m: validation.click_number_distribution(e, method="magic"), "method"),
    (lambda e, m: validation.click_number_distribution(e, samples=1, method="phase-space"),
     "samples"),
    (lambda e, m: validation.click_number_test(np.zeros((10, 3), int), m), "modes"),
    (lambda e, m: validation.click_number_test(np.zeros((0, 4), int), m), "non-empty"),
    (lambda e, m: validation.click_number_test(np.zeros(3), m), "histogram"),
    (lambda e, m: validation.click_number_test([1, 2, 3, 4, 5], "model"), "ClickNumber"),
    (lambda e, m: validation.click_number_test(np.full((4, 4), 0.5), m), "integer"),
])
def test_bad_input(call, match):
    experiment = presets.random_experiment(4, rng=1)
    model = validation.click_number_distribution(experiment)
    with pytest.raises(InputError, match=match):
        call(experiment, model)


def test_exact_refuses_too_many_modes_and_pnr_models():
    with pytest.raises(InputError, match="at most 20"):
        validation.click_number_distribution(presets.random_experiment(22, rng=1),
                                             method="exact")
    with pytest.raises(InputError, match="threshold or pseudo-PNR"):
        validation.click_number_distribution(presets.random_experiment(4, detectors="pnr",
                                                                       rng=1))


def test_count_test_merges_sparse_bins_and_matches_pearson():
    exact = validation.ClickNumberDistribution(np.array([0.5, 0.3, 0.15, 0.04, 0.01]),
                                               np.zeros(5), np.arange(4), "exact")
    result = validation.click_number_test([50, 30, 15, 4, 1], exact)
    assert result.chi2 == 0 and result.dof == 3 and result.pvalue == pytest.approx(1.0)
    assert result.bins == [(0,), (1,), (2,), (3, 4)]
    half = validation.ClickNumberDistribution(np.array([0.5, 0.5]), np.zeros(2), np.arange(1),
                                              "exact")
    result = validation.click_number_test([30, 70], half)
    assert result.chi2 == pytest.approx(16.0) and result.dof == 1
    assert result.pvalue == pytest.approx(6.334e-5, rel=1e-3)


def test_data_must_fit_the_model():
    experiment = presets.random_experiment(4, rng=1)
    model = validation.click_number_distribution(experiment)
    patterns = np.zeros((5, 4), int)
    patterns[3, 2] = 2
    with pytest.raises(InputError, match="0/1 .*got 2 at shot 3, mode 2"):
        validation.click_number_test(patterns, model)
    with pytest.raises(InputError, match="data has 5 modes, the model has 4"):
        validation.click_number_test(np.zeros((5, 5), int), model)
    pseudo = presets.random_experiment(4, detectors="pseudo-pnr", n_detectors=2, rng=1)
    pseudo_model = validation.click_number_distribution(pseudo)
    ok = pseudo.sample(200, rng=2).patterns
    assert ok.max() == 2
    assert validation.click_number_test(ok, pseudo_model).dof >= 1
    ok[0, 0] = 3
    with pytest.raises(InputError, match="at most 2"):
        validation.click_number_test(ok, pseudo_model)
