"""Phase space at scale: positive-P samples drawn on the inputs, windowed-DFT
click-count estimates, and the P-function adversaries drawn on the inputs.

Exact checks (no sampling): the input-side sampler's factor reproduces the
output's normally ordered moments N and M; the windowed DFT equals the O(n^2)
expansion (folded modulo the window when the window is short); grouped
estimates by GEMMs equal the explicit average of outer products; the input-side
P-function has the output state's mean, <d alpha d alpha^dag> and
<d alpha d alpha^T>, so it is the same Gaussian.

Statistical checks, each at a stated level: the mean click number of the
reduced Jiuzhang 4.0 within Z_MAX = 4.5 standard errors of the exact one
(two-sided 7e-6), and the adversaries' mean counts per mode within Z_MAX
standard errors (< 1e-4 over the modes of a test).
"""
import numpy as np
import pytest

from jiuzhang_emu import InputError, Experiment, SingleModeSqueezer, Threshold, haar_unitary
from jiuzhang_emu import phase_space, presets, validation
from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.samplers import adversaries
from jiuzhang_emu.samplers.adversaries import InputPFunctionSampler, PFunctionSampler
from jiuzhang_emu.validation import grouped_counts

Z_MAX = 4.5


def _factor_moments(sampler):
    """E[alpha alpha^T], E[beta alpha^T] and the means from the sampler's factor."""
    m = sampler.n_modes
    A = np.ascontiguousarray(sampler._factor[:, :2 * m]).view(complex)
    B = np.ascontiguousarray(sampler._factor[:, 2 * m:]).view(complex)
    mean = sampler._mean.view(complex)
    return A.T @ A, B.T @ A, mean[:m], mean[m:]


@pytest.mark.parametrize("name", ["threshold-displaced-dark", "distinguishable", "pseudo-pnr"])
def test_input_sampler_has_the_output_normal_moments(name, click_models):
    experiment = click_models[name]()
    sampler = phase_space.experiment_sampler(experiment)
    alpha_alpha, beta_alpha, mean_alpha, mean_beta = _factor_moments(sampler)
    N, M, alpha = experiment.output_state()._normal_moments()
    np.testing.assert_allclose(alpha_alpha, M, atol=1e-12)
    np.testing.assert_allclose(beta_alpha, N, atol=1e-12)
    np.testing.assert_allclose(mean_alpha, alpha, atol=1e-12)
    np.testing.assert_allclose(mean_beta, alpha.conj(), atol=1e-12)


def test_input_sampler_compresses_a_narrow_output():
    """Ten squeezers into two outputs: the factor keeps 4M = 8 rows, same moments."""
    T = haar_unitary(10, rng=5)[:, :2] * 0.9
    experiment = Experiment([SingleModeSqueezer(0.5)] * 10, T, Threshold())
    sampler = phase_space.experiment_sampler(experiment)
    assert sampler._factor.shape == (8, 8)
    alpha_alpha, beta_alpha, _, _ = _factor_moments(sampler)
    N, M, _ = experiment.output_state()._normal_moments()
    np.testing.assert_allclose(alpha_alpha, M, atol=1e-12)
    np.testing.assert_allclose(beta_alpha, N, atol=1e-12)


def _wild_dark(rng, size, n):
    """Dark estimates like positive-P ones: complex, some |pi| > 1, all three
    regimes of log_window_transform (series forward, backward, multiplied)."""
    return (rng.uniform(0, 1, (size, n)) + 0.6 * rng.normal(size=(size, n))
            + 0.3j * rng.normal(size=(size, n)))


@pytest.mark.parametrize("n", [1, 2, 7, 40, 120])
def test_window_covering_the_support_equals_the_expansion(n):
    dark = _wild_dark(np.random.default_rng(n), 6, n)
    q = 1 - dark
    x = np.abs(q / dark)
    if n >= 40:  # every regime is exercised
        rho = phase_space._RHO
        assert (x <= rho).any() and (x > 1 / rho).any() and ((x > rho) & (x < 1 / rho)).any()
    naive = phase_space.expand_naive(dark)
    windowed = phase_space.window_coefficients(dark, 0, n + 1)
    np.testing.assert_allclose(windowed, naive, atol=1e-12 * np.abs(naive).max())


def test_short_window_is_the_expansion_folded():
    n, first, K = 40, 7, 16
    dark = _wild_dark(np.random.default_rng(3), 5, n)
    naive = phase_space.expand_naive(dark)
    folded = np.zeros((5, K), dtype=complex)
    for c in range(n + 1):
        folded[:, (c - first) % K] += naive[:, c]
    windowed = phase_space.window_coefficients(dark, first, K)
    np.testing.assert_allclose(windowed, folded, atol=1e-12 * np.abs(naive).max())


def test_large_products_stay_finite():
    """3,000 factors: no overflow or underflow, and a window of +-13 standard
    deviations (~23) equals the full expansion's coefficients (the folded-in
    mass is below 1e-30)."""
    rng = np.random.default_rng(4)
    dark = rng.uniform(0.55, 0.95, (2, 3000)) + 0.05j * rng.normal(size=(2, 3000))
    naive = phase_space.expand_naive(dark)
    mean = int(np.round((1 - dark.real).sum(axis=1).mean()))
    windowed = phase_space.window_coefficients(dark, mean - 300, 601)
    np.testing.assert_allclose(windowed, naive[:, mean - 300:mean + 301],
                               atol=1e-12 * np.abs(naive).max())


@pytest.mark.parametrize("windows", [None, ((1, 3), (0, 4), (2, 3))])
def test_grouped_estimates_equal_the_explicit_average(windows, click_models):
    """Three groups by GEMMs == the mean and standard error of the explicit
    per-sample outer products (same draws), full and folded windows."""
    experiment = click_models["threshold-displaced-dark"]()
    groups = [np.array([0]), np.array([1, 2]), np.array([3])]
    full = tuple((0, len(g) + 1) for g in groups)
    windows = full if windows is None else windows
    samples = 500
    mean, error = phase_space.click_count_estimates(
        experiment, groups, samples, np.random.default_rng(9), windows=windows)
    sampler = phase_space.experiment_sampler(experiment)
    dark = phase_space._dark_estimates(experiment, sampler, samples, np.random.default_rng(9))
    joint = np.ones((samples,) + (1,) * len(groups), dtype=complex)
    for axis, (g, (first, K)) in enumerate(zip(groups, windows)):
        poly = phase_space.expand_naive(dark[:, g])
        folded = np.zeros((samples, K), dtype=complex)
        for c in range(len(g) + 1):
            folded[:, (c - first) % K] += poly[:, c]
        shape = [samples] + [1] * len(groups)
        shape[axis + 1] = K
        joint = joint * folded.reshape(shape)
    values = joint.real
    np.testing.assert_allclose(mean, values.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(error, values.std(axis=0, ddof=1) / np.sqrt(samples), atol=1e-10)


def _reduced():
    return presets.jiuzhang4(spatial_modes=2, cube_side=3)


@pytest.mark.statistical
def test_reduced_jiuzhang4_mean_within_error_bars(any_seed):
    experiment = _reduced()
    dist = validation.click_number_distribution(experiment, method="phase-space",
                                                samples=3000, rng=any_seed(3))
    assert dist.window is None and len(dist.probabilities) == experiment.n_modes + 1
    exact = experiment.click_probabilities().sum()
    assert abs(dist.mean() - exact) < Z_MAX * dist.mean_standard_error()
    assert dist.probabilities.sum() == pytest.approx(1, abs=1e-9)


@pytest.mark.statistical
def test_windowed_distribution_on_reduced_jiuzhang4(any_seed, monkeypatch):
    """A window forced on 52 modes: zeros outside, the covariance over the
    window, the mean within Z_MAX standard errors of the exact one, and the
    full-range estimate within their joint error bars (the window holds 4.5
    standard deviations: the folded-in mass is ~1e-5)."""
    experiment = _reduced()
    full = validation.click_number_distribution(experiment, method="phase-space",
                                                samples=2000, rng=any_seed(5))
    monkeypatch.setattr(phase_space, "FULL_WINDOW_BINS", 20)
    monkeypatch.setattr(phase_space, "WINDOW_SIGMAS", 4.5)  # 0..47 of 0..52
    dist = validation.click_number_distribution(experiment, method="phase-space",
                                                samples=2000, rng=any_seed(5))
    first, stop = dist.window
    assert 0 <= first < stop < experiment.n_modes + 1
    assert dist.covariance.shape == (stop - first, stop - first)
    assert not dist.probabilities[:first].any() and not dist.probabilities[stop:].any()
    assert 0 < dist.outside_mass < 1e-4
    exact = experiment.click_probabilities().sum()
    assert abs(dist.mean() - exact) < Z_MAX * dist.mean_standard_error()
    assert dist.probabilities.sum() == pytest.approx(1, abs=1e-9)
    diff = dist.probabilities - full.probabilities
    assert np.all(np.abs(diff) < Z_MAX * np.hypot(dist.standard_errors, full.standard_errors)
                  + 1e-9)


@pytest.mark.statistical
def test_grouped_window_and_test_on_reduced_jiuzhang4(any_seed, monkeypatch):
    experiment = _reduced()
    groups = [np.arange(26), np.arange(26, 52)]
    monkeypatch.setattr(phase_space, "FULL_WINDOW_BINS", 20)
    monkeypatch.setattr(phase_space, "WINDOW_SIGMAS", 3.0)
    dist = validation.grouped_click_distribution(experiment, groups, method="phase-space",
                                                 samples=2000, rng=any_seed(6))
    assert len(dist.window) == 2 and dist.probabilities.shape == tuple(
        stop - first for first, stop in dist.window)
    assert dist.probabilities.sum() == pytest.approx(1, abs=1e-9)
    rates = experiment.click_probabilities()
    for axis, (group, window) in enumerate(zip(groups, dist.window)):
        marginal = dist.probabilities.sum(axis=1 - axis)
        assert np.arange(*window) @ marginal == pytest.approx(rates[group].sum(), abs=0.5)
    patterns = experiment.sample(2000, rng=any_seed(7), method="squashed").patterns
    result = validation.grouped_count_test(patterns, dist)
    assert result.observed.sum() == 2000 and result.dof > 10


def test_grouped_refuses_too_many_window_bins(monkeypatch):
    experiment = _reduced()
    monkeypatch.setattr(phase_space, "FULL_WINDOW_BINS", 20)
    monkeypatch.setattr(grouped_counts, "_MAX_BINS", 50)
    with pytest.raises(InputError, match="window lengths"):
        validation.grouped_click_distribution(experiment, [np.arange(26), np.arange(26, 52)],
                                              method="phase-space", samples=100, rng=1)


@pytest.mark.parametrize("name", ["thermal", "squashed"])
@pytest.mark.parametrize("model", ["threshold-displaced-dark", "pseudo-pnr"])
def test_input_p_function_is_the_output_p_function(name, model, click_models):
    """Same Gaussian amplitude: mean, E[d alpha d alpha^dag], E[d alpha d alpha^T]."""
    adversary = adversary_experiment(click_models[model](), name)
    new = InputPFunctionSampler(adversary)
    old = PFunctionSampler(adversary.output_state())
    m = adversary.n_modes
    A_new = np.ascontiguousarray(new._factor).view(complex)
    F = old._factor
    A_old = ((F[:m] + 1j * F[m:]) / 2).T
    np.testing.assert_allclose(new._mean.view(complex), (old._means[:m] + 1j * old._means[m:]) / 2,
                               atol=1e-12)
    np.testing.assert_allclose(A_new.conj().T @ A_new, A_old.conj().T @ A_old, atol=1e-12)
    np.testing.assert_allclose(A_new.T @ A_new, A_old.T @ A_old, atol=1e-12)


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["thermal", "squashed"])
def test_input_p_function_counts_match_the_model(name, click_models, any_seed):
    """Mean counts per mode and pair products within Z_MAX standard errors of
    the old output-side sampler's exact moments (photon numbers, no detector)."""
    adversary = adversary_experiment(click_models["threshold-displaced-dark"](), name)
    counts = InputPFunctionSampler(adversary).counts(40_000, np.random.default_rng(any_seed(8)))
    state = adversary.output_state()
    exact_mean = state.mean_photon_numbers()
    exact_pair = state.photon_number_covariance() + np.outer(exact_mean, exact_mean)
    z = (counts.mean(axis=0) - exact_mean) / (counts.std(axis=0) / np.sqrt(len(counts)))
    assert np.all(np.abs(z) < Z_MAX), z
    products = counts[:, :, None] * counts[:, None, :]
    z = (products.mean(axis=0) - exact_pair) / (products.std(axis=0) / np.sqrt(len(counts)))
    assert np.all(np.abs(z) < Z_MAX), z


@pytest.mark.parametrize("method", ["squashed", "thermal", "coherent", "uniform"])
def test_adversaries_do_not_form_the_output_state(method, monkeypatch):
    """At Jiuzhang scale the output state is out of reach: the adversaries
    (and the runtime pilot, which builds them) never ask for it there (here
    the output-side route's size limit lowered to 0 modes)."""
    experiment = _reduced()
    monkeypatch.setattr(adversaries, "OUTPUT_SIDE_MAX_MODES", 0)

    def refuse(*args, **kwargs):
        raise AssertionError("output_state formed")

    monkeypatch.setattr(Experiment, "output_state", refuse)
    monkeypatch.setattr(Experiment, "vacuum_form", refuse)
    patterns = experiment.sample(50, method=method, rng=2).patterns
    assert patterns.shape == (50, experiment.n_modes)


@pytest.mark.slow
@pytest.mark.statistical
def test_full_jiuzhang4_phase_space_and_squashed(any_seed):
    """The full 8176 modes: 2,000 phase-space samples (a window around the
    mean, ~1761 clicks) and 200 squashed shots."""
    experiment = presets.jiuzhang4()
    exact = experiment.click_probabilities().sum()
    dist = validation.click_number_distribution(experiment, method="phase-space",
                                                samples=2000, rng=any_seed(11))
    first, stop = dist.window
    assert first < exact < stop and stop - first < 2000 and dist.outside_mass < 1e-6
    assert abs(dist.mean() - exact) < Z_MAX * dist.mean_standard_error()
    patterns = experiment.sample(200, method="squashed", rng=any_seed(12)).patterns
    clicks = patterns.sum(axis=1)
    assert abs(clicks.mean() - exact) < Z_MAX * clicks.std() / np.sqrt(len(clicks)) + 5
