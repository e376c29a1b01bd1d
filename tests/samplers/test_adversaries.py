"""Classical adversary samplers (jiuzhang_emu.samplers.adversaries).

Statistical tests use fixed seeds.  Chi-square goodness-of-fit tests run at
significance ALPHA = 1e-4 (bins as in test_exact_sampling.py: expected
count >= 5, one tail bin holding every other pattern; 1e-4 for the reason
given there).  z-tests of means and variances require |z| < Z_MAX = 4.5 for
each statistic (a two-sided 7e-6 level; the union bound over the at most 8
statistics of a test is 6e-5).  Tests that a statistic catches a wrong model
use enough shots that it does so by a wide margin for any seed.
"""

import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Coherent,
    Experiment,
    GaussianState,
    InputError,
    PhotonNumberResolving,
    PseudoPNR,
    SingleModeSqueezer,
    Squashed,
    Thermal,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
    presets,
)
from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.samplers import METHODS
from jiuzhang_emu.samplers.adversaries import ADVERSARIES, PFunctionSampler

ALPHA = 1e-4
Z_MAX = 4.5

#: Adversaries that draw photon numbers (greedy draws threshold patterns only;
#: tests/samplers/test_greedy.py).
PHOTON_ADVERSARIES = [name for name in ADVERSARIES if name != "greedy"]


def z_scores(values, expected):
    """z of the sample means of the columns of ``values`` against ``expected``."""
    values = np.asarray(values, dtype=float)
    return (values.mean(axis=0) - expected) / (values.std(axis=0) / np.sqrt(len(values)))


def variance_z_scores(values, expected):
    """z of the sample variances of the columns against ``expected``."""
    values = np.asarray(values, dtype=float)
    squares = (values - values.mean(axis=0)) ** 2
    return (squares.mean(axis=0) - expected) / (squares.std(axis=0) / np.sqrt(len(values)))


def _lossy(n_modes, seed, transmission):
    return haar_unitary(n_modes, rng=seed).T * np.sqrt(transmission)


DETECTORS = {
    "pnr": lambda: PhotonNumberResolving(efficiency=0.9),
    "threshold-dark": lambda: Threshold(dark_count=[0.02, 0.1, 0.0, 0.05]),
    "pseudo-pnr": lambda: PseudoPNR(n_detectors=3, dark_count=0.02),
}


def _experiment(detector):
    """Squeezers of both kinds (one partly thermalised, one partly
    distinguishable), a coherent input, loss."""
    return Experiment([TwoModeSqueezer(0.7, 0.3, thermal_fraction=0.2),
                       SingleModeSqueezer(0.5, 1.0, indistinguishability=0.6),
                       Coherent(0.4 - 0.3j)], _lossy(4, 2, 0.6), detector)


# -- first-moment matching of the Gaussian adversaries ------------------------

@pytest.mark.parametrize("name", ["thermal", "squashed", "distinguishable"])
def test_adversary_experiment_matches_mean_photon_numbers(name):
    experiment = _experiment(PhotonNumberResolving(efficiency=[0.9, 0.8, 1.0, 0.7]))
    adversary = adversary_experiment(experiment, name)
    np.testing.assert_allclose(adversary.mean_photon_numbers(),
                               experiment.mean_photon_numbers(), rtol=1e-12)
    assert adversary.detector is experiment.detector
    assert adversary.provenance["adversary"] == name
    if name == "distinguishable":
        assert adversary.internal_modes == 3  # shared mode + one per squeezer
    else:
        assert adversary.internal_modes == 1
        cov = adversary.output_state().cov
        assert np.linalg.eigvalsh(cov - np.eye(len(cov))).min() > -1e-12  # classical


def test_adversary_experiment_sources():
    experiment = _experiment(Threshold())
    thermal = adversary_experiment(experiment, "thermal").sources
    assert thermal[0] == TwoModeSqueezer(0.7, 0.3).thermal()
    assert thermal[1] == SingleModeSqueezer(0.5).thermal()
    assert thermal[2] == experiment.sources[2]
    squashed = adversary_experiment(experiment, "squashed").sources
    assert squashed[:2] == (experiment.sources[0].squashed(), experiment.sources[1].squashed())
    distinguishable = adversary_experiment(experiment, "distinguishable").sources
    assert [s.indistinguishability for s in distinguishable[:2]] == [0.0, 0.0]


# -- thermal and squashed against their exact probabilities -------------------

@pytest.mark.statistical
@pytest.mark.parametrize("detector", sorted(DETECTORS))
@pytest.mark.parametrize("name", ["thermal", "squashed"])
def test_p_function_sampler_matches_probabilities(name, detector, chi_square_pvalue, any_seed):
    experiment = _experiment(DETECTORS[detector]())
    samples = experiment.sample(2000, rng=any_seed(20261122), method=name)
    assert samples.method == name
    assert samples.patterns.shape == (2000, 4)
    assert chi_square_pvalue(adversary_experiment(experiment, name), samples.patterns) > ALPHA


@pytest.mark.statistical
def test_chi_square_tells_thermal_from_squashed(chi_square_pvalue, any_seed):
    """Power: squashed samples judged against the thermal model fail (5000
    shots: p < 1e-17 for 60 seeds of 60; at 2000, p > 1e-3 for 1 in 60)."""
    experiment = presets.jiuzhang_like(4, r=0.7, transmission=0.8, detectors="pnr", rng=3)
    samples = experiment.sample(5000, rng=any_seed(4), method="squashed")
    assert chi_square_pvalue(adversary_experiment(experiment, "thermal"),
                             samples.patterns) < ALPHA


# -- distinguishable against the indistinguishability = 0 experiment ----------

@pytest.mark.statistical
@pytest.mark.parametrize("detector", ["pnr", "threshold-dark"])
def test_distinguishable_matches_rebuilt_experiment(detector, chi_square_pvalue, any_seed):
    experiment = Experiment([TwoModeSqueezer(0.6, 0.2), SingleModeSqueezer(0.5, 0.7),
                             Coherent(0.3 - 0.2j)], _lossy(4, 5, 0.6), DETECTORS[detector]())
    samples = experiment.sample(1500, rng=any_seed(11), method="distinguishable")
    assert samples.unresolved_mass < 1e-10
    rebuilt = Experiment([TwoModeSqueezer(0.6, 0.2, indistinguishability=0.0),
                          SingleModeSqueezer(0.5, 0.7, indistinguishability=0.0),
                          Coherent(0.3 - 0.2j)], experiment.transfer_matrix, experiment.detector)
    assert rebuilt.fingerprint() == Experiment(
        adversary_experiment(experiment, "distinguishable").sources,
        experiment.transfer_matrix, experiment.detector).fingerprint()
    assert chi_square_pvalue(rebuilt, samples.patterns, max_total=8) > ALPHA


# -- first moments of every adversary -----------------------------------------

@pytest.mark.statistical
@pytest.mark.parametrize("name", PHOTON_ADVERSARIES)
def test_mean_photon_numbers_match(name, any_seed):
    """Per mode (uniform: every mode the average), z-tests at |z| < Z_MAX;
    with every kind of source."""
    experiment = Experiment([TwoModeSqueezer(0.8, 0.3), SingleModeSqueezer(0.6, 1.0),
                             Coherent(0.5 - 0.3j), Thermal(0.4), Squashed(0.3, 0.5)],
                            _lossy(6, 7, 0.7),
                            PhotonNumberResolving(efficiency=[0.9, 0.8, 1.0, 0.7, 0.9, 0.6]))
    counts = experiment.sample(3000, rng=any_seed(12), method=name).patterns
    expected = experiment.mean_photon_numbers()
    if name == "uniform":
        expected = np.full(6, expected.mean())
    z = z_scores(counts, expected)
    assert np.all(np.abs(z) < Z_MAX), z


# -- coherent -------------------------------------------------------------------

@pytest.mark.statistical
def test_coherent_inputs_are_phase_randomised_poissonian(any_seed):
    """Each output fed by one squeezed input: counts Poissonian (variance =
    mean) with the squeezer's photon number times the transmission."""
    transmission = np.array([0.9, 0.6, 0.8])
    experiment = Experiment([TwoModeSqueezer(0.9, 0.4), SingleModeSqueezer(0.5)],
                            np.diag(np.sqrt(transmission))[[1, 0, 2]], PhotonNumberResolving())
    counts = experiment.sample(4000, rng=any_seed(13), method="coherent").patterns
    mean = experiment.mean_photon_numbers()
    np.testing.assert_allclose(mean, transmission * np.sinh([0.9, 0.9, 0.5])[[1, 0, 2]] ** 2)
    assert np.all(np.abs(z_scores(counts, mean)) < Z_MAX)
    assert np.all(np.abs(variance_z_scores(counts, mean)) < Z_MAX)


@pytest.mark.statistical
def test_coherent_through_an_interferometer(any_seed):
    """Random phases shared by the outputs of a shot: mean matched, variance
    <n> + <n>^2 - sum_i w_i^2 (w_i = |T_ij|^2 n_i), above the Poisson value
    (20,000 shots: the largest variance z against Poisson is 13.3 +- 0.8 over
    100 seeds, against Z_MAX; at 4000 it was 6.1 +- 0.7, below Z_MAX for 2 %
    of seeds)."""
    T = _lossy(4, 17, 0.7)
    experiment = Experiment([TwoModeSqueezer(0.8, 0.3), SingleModeSqueezer(0.6, 1.0),
                             SingleModeSqueezer(0.4)], T, PhotonNumberResolving())
    counts = experiment.sample(20000, rng=any_seed(14), method="coherent").patterns
    n_in = np.sinh([0.8, 0.8, 0.6, 0.4]) ** 2
    w = np.abs(T) ** 2 * n_in[:, None]
    mean = experiment.mean_photon_numbers()
    np.testing.assert_allclose(mean, w.sum(axis=0))
    variance = mean + mean ** 2 - (w ** 2).sum(axis=0)
    assert np.all(np.abs(z_scores(counts, mean)) < Z_MAX)
    assert np.all(np.abs(variance_z_scores(counts, variance)) < Z_MAX)
    assert variance_z_scores(counts, mean).max() > Z_MAX  # not Poissonian


@pytest.mark.statistical
def test_coherent_keeps_genuine_coherent_sources(any_seed):
    """Coherent sources keep their phases: the output is a coherent state,
    Poissonian in every mode, means as the ideal experiment's."""
    experiment = Experiment([Coherent(0.9 + 0.3j), Coherent(-0.7j), Coherent(0.5)],
                            _lossy(3, 19, 0.8), PhotonNumberResolving())
    counts = experiment.sample(3000, rng=any_seed(15), method="coherent").patterns
    mean = experiment.mean_photon_numbers()
    assert np.all(np.abs(z_scores(counts, mean)) < Z_MAX)
    assert np.all(np.abs(variance_z_scores(counts, mean)) < Z_MAX)


# -- uniform ---------------------------------------------------------------------

@pytest.mark.statistical
def test_uniform_threshold_clicks_at_the_average_rate(any_seed):
    """Every detector clicks independently with the mean click probability
    (unequal dark counts): per-mode z-tests, and the number of clicks per
    shot is Binomial(M, p) (chi-square)."""
    experiment = _experiment(Threshold(dark_count=[0.02, 0.1, 0.0, 0.05]))
    p = experiment.click_probabilities().mean()
    patterns = experiment.sample(4000, rng=any_seed(16), method="uniform").patterns
    assert set(np.unique(patterns)) <= {0, 1}
    assert np.all(np.abs(z_scores(patterns, np.full(4, p))) < Z_MAX)
    observed = np.bincount(patterns.sum(axis=1), minlength=5)
    expected = len(patterns) * stats.binom.pmf(np.arange(5), 4, p)
    assert stats.chisquare(observed, expected).pvalue > ALPHA


@pytest.mark.statistical
def test_uniform_pseudo_pnr(any_seed):
    """Every sub-detector fires with the average sub-detector click
    probability p = mean_clicks / (M k): counts per mode Binomial(k, p)."""
    experiment = _experiment(PseudoPNR(n_detectors=3, dark_count=[0.02, 0.05, 0.0, 0.01]))
    p = experiment.mean_clicks() / (4 * 3)
    patterns = experiment.sample(4000, rng=any_seed(17), method="uniform").patterns
    assert np.all(np.abs(z_scores(patterns, np.full(4, 3 * p))) < Z_MAX)
    observed = np.bincount(patterns.ravel(), minlength=4)
    expected = patterns.size * stats.binom.pmf(np.arange(4), 3, p)
    assert stats.chisquare(observed, expected).pvalue > ALPHA


@pytest.mark.statistical
def test_uniform_pnr_with_dark_counts(any_seed):
    """PNR: Poisson(mean photon number per mode) plus the average dark count."""
    experiment = _experiment(PhotonNumberResolving(dark_count=[0.1, 0.0, 0.0, 0.02]))
    counts = experiment.sample(4000, rng=any_seed(18), method="uniform").patterns
    expected = experiment.mean_photon_numbers().mean() + 0.03
    assert np.all(np.abs(z_scores(counts, np.full(4, expected))) < Z_MAX)


# -- machinery ---------------------------------------------------------------------

def test_methods_listed():
    assert set(ADVERSARIES) == {"thermal", "squashed", "coherent", "distinguishable", "uniform",
                                "greedy"}
    assert set(ADVERSARIES) < set(METHODS)


@pytest.mark.parametrize("name", PHOTON_ADVERSARIES)
def test_seed_reproducible(name):
    experiment = _experiment(PseudoPNR(n_detectors=2, dark_count=0.01))
    a = experiment.sample(70, rng=5, method=name)
    b = experiment.sample(70, rng=5, method=name)
    np.testing.assert_array_equal(a.patterns, b.patterns)
    assert a.seed_entropy == 5
    assert not np.array_equal(a.patterns, experiment.sample(70, rng=6, method=name).patterns)


def test_worker_count_invariant():
    experiment = presets.jiuzhang_like(6, r=0.9, transmission=0.5, rng=3)
    reference = experiment.sample(150, rng=42, method="squashed").patterns
    np.testing.assert_array_equal(
        experiment.sample(150, rng=42, method="squashed", n_workers=2).patterns, reference)


def test_unknown_method():
    with pytest.raises(InputError, match="method"):
        presets.random_experiment(2, rng=1).sample(5, method="spoof")


@pytest.mark.parametrize("name", ["coherent", "uniform", "exact"])
def test_adversary_experiment_only_for_gaussian_adversaries(name):
    with pytest.raises(InputError, match="name"):
        adversary_experiment(presets.random_experiment(2, rng=1), name)


@pytest.mark.parametrize("name", ["thermal", "squashed", "coherent", "distinguishable"])
def test_needs_sources(name):
    experiment = Experiment(SingleModeSqueezer(0.5).state().tensor(GaussianState.vacuum(1)),
                            haar_unitary(2, rng=1))
    with pytest.raises(InputError, match="sources"):
        experiment.sample(5, method=name)


def test_p_function_sampler_refuses_nonclassical_states():
    with pytest.raises(InputError, match="not classical"):
        PFunctionSampler(SingleModeSqueezer(0.3).state())
    # a squashed state is classical (one quadrature exactly at vacuum noise)
    PFunctionSampler(SingleModeSqueezer(0.3).squashed().state())
