"""The k = 2 Boltzmann-machine sampler (method "boltzmann"): the fit meets its
stated moment tolerance (checked by enumeration), samples match the exact
first and second click moments within shot noise, seeds, workers, side
files and refusals."""
import itertools

import h5py
import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import InputError, presets
from jiuzhang_emu.samplers import boltzmann
from jiuzhang_emu.samplers.boltzmann import FitOptions, fit_machine, mean_field, targets


def _exact_moments(machine):
    """First and second moments of a machine by enumeration of 2^M states."""
    M = machine.n_modes
    states = np.array(list(itertools.product((0, 1), repeat=M)), dtype=float)
    J = machine.J.astype(np.float64)
    energy = states @ machine.h + 0.5 * np.einsum("sj,jk,sk->s", states, J, states)
    prob = np.exp(energy - energy.max())
    prob /= prob.sum()
    return prob @ states, states.T @ (prob[:, None] * states)


def _z(estimate, target, L):
    return (estimate - target) / np.sqrt(target * (1 - target) / L)


def test_mean_field_of_independent_targets_is_the_product_machine():
    p = np.array([0.1, 0.4, 0.7])
    h, J = mean_field(p, np.outer(p, p) + np.diag(p * (1 - p)))
    np.testing.assert_allclose(J, 0, atol=1e-6)
    np.testing.assert_allclose(h, np.log(p / (1 - p)), atol=1e-6)


def test_fitted_machine_meets_its_tolerance_by_enumeration():
    """The stated criterion (noise-corrected RMS z <= 0.5 in units of the shot
    noise of 10^4 shots) as measured by the fit, and the machine's exact
    moments (enumeration of 2^10 states): RMS z <= 1 and max |z| <= 3."""
    experiment = presets.jiuzhang_like(10, r=1.0, transmission=0.4, rng=3)
    machine = fit_machine(experiment, 7, progress=False)
    assert machine.history["met"]
    for name in ("first", "pairs"):
        assert machine.errors[name]["corrected_rms_z"] <= 0.5
    p, P = targets(experiment, np.float64)
    first, second = _exact_moments(machine)
    z1 = _z(first, p, 10_000)
    off = ~np.eye(10, dtype=bool)
    z2 = _z(second[off], P[off], 10_000)
    assert np.sqrt(np.mean(z1**2)) <= 1 and np.sqrt(np.mean(z2**2)) <= 1
    assert np.abs(z1).max() <= 3 and np.abs(z2).max() <= 3
    # the couplings matter: the product machine misses the pairs badly
    product = np.outer(p, p)[off]
    assert np.sqrt(np.mean(_z(product, P[off], 10_000) ** 2)) > 3


def test_fit_is_deterministic_for_a_seed():
    experiment = presets.jiuzhang_like(6, r=0.8, transmission=0.5, rng=1)
    options = FitOptions(iterations=30, check_samples=2000)
    a = fit_machine(experiment, np.random.SeedSequence(4), options, progress=False)
    b = fit_machine(experiment, np.random.SeedSequence(4), options, progress=False)
    np.testing.assert_array_equal(a.J, b.J)
    np.testing.assert_array_equal(a.h, b.h)
    assert a.errors == b.errors


def _check_moments(experiment, patterns):
    """Singles: sum of z^2 against chi-square(M); pairs: max |z| with a
    Bonferroni bound; both at significance level 1e-4 (z of the samples
    against the exact moments, in units of their own shot noise)."""
    L, M = patterns.shape
    p, P = targets(experiment, np.float64)
    x = patterns.astype(float)
    z1 = _z(x.mean(axis=0), p, L)
    assert np.sum(z1**2) < stats.chi2.isf(1e-4, M)
    upper = np.triu_indices(M, 1)
    z2 = _z((x.T @ x / L)[upper], P[upper], L)
    assert np.abs(z2).max() < stats.norm.isf(1e-4 / (2 * len(z2)))
    return z1, z2


@pytest.mark.statistical
def test_samples_match_first_and_second_moments_at_12_modes():
    experiment = presets.jiuzhang_like(12, r=1.0, transmission=0.4, rng=5)
    samples = experiment.sample(6000, rng=8, method="boltzmann", progress=False)
    assert set(np.unique(samples.patterns)) <= {0, 1}
    _, z2 = _check_moments(experiment, samples.patterns)
    # asymmetric check: a machine without couplings (independent clicks) fails
    p = experiment.click_probabilities()
    rng = np.random.default_rng(0)
    independent = (rng.random((6000, 12)) < p).astype(float)
    with pytest.raises(AssertionError):
        _check_moments(experiment, independent)
    summary = samples.extra["boltzmann"]
    assert summary["fit"]["met"] and summary["n_modes"] == 12


@pytest.mark.statistical
def test_samples_match_first_and_second_moments_at_52_modes():
    experiment = presets.jiuzhang4(spatial_modes=2, cube_side=3)
    assert experiment.n_modes == 52
    samples = experiment.sample(4000, rng=3, method="boltzmann", progress=False)
    _check_moments(experiment, samples.patterns)


def test_same_seed_same_samples_for_one_and_two_workers():
    experiment = presets.jiuzhang_like(8, r=1.0, transmission=0.4, rng=2)
    one = experiment.sample(150, rng=9, method="boltzmann", progress=False)
    two = experiment.sample(150, rng=9, method="boltzmann", progress=False, n_workers=2)
    np.testing.assert_array_equal(one.patterns, two.patterns)
    other = experiment.sample(150, rng=10, method="boltzmann", progress=False)
    assert not np.array_equal(one.patterns, other.patterns)


@pytest.mark.parametrize("detectors", ["pnr", "pseudo-pnr"])
def test_refuses_detectors_that_are_not_threshold(detectors):
    experiment = presets.jiuzhang_like(4, rng=2, detectors=detectors)
    with pytest.raises(InputError, match="threshold"):
        experiment.sample(10, method="boltzmann")
    with pytest.raises(InputError, match="threshold"):
        boltzmann.prepare(experiment, 10, np.random.SeedSequence(1))


def test_side_file_is_reused_and_a_foreign_one_refused(tmp_path):
    experiment = presets.jiuzhang_like(6, r=0.8, transmission=0.5, rng=1)
    options = FitOptions(iterations=20, check_samples=2000)
    path = tmp_path / "machine.h5"
    root = np.random.SeedSequence(3)
    fitted = boltzmann.prepare(experiment, 100, root, path=path, options=options)
    again = boltzmann.prepare(experiment, 100, root, path=path, options=options)
    np.testing.assert_array_equal(fitted.J, again.J)
    assert again.errors == fitted.errors and again.history == fitted.history
    before = path.read_bytes()
    other = presets.jiuzhang_like(6, r=0.8, transmission=0.5, rng=2)
    with pytest.raises(InputError, match="fingerprint"):
        boltzmann.prepare(other, 100, root, path=path, options=options)
    with pytest.raises(InputError, match="options"):
        boltzmann.prepare(experiment, 100, root, path=path, options=FitOptions(iterations=21))
    with pytest.raises(InputError, match="seed"):
        boltzmann.prepare(experiment, 100, np.random.SeedSequence(4), path=path,
                          options=options)
    assert path.read_bytes() == before  # never overwritten
    with pytest.raises(InputError, match="never overwritten"):
        boltzmann.save_machine(path, fitted, None)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a Boltzmann-machine file"):
        boltzmann.prepare(experiment, 100, root, path=junk, options=options)
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle.attrs["format"] = "something else"
    with pytest.raises(InputError, match="not a Boltzmann-machine file"):
        boltzmann.prepare(experiment, 100, root, path=tmp_path / "other.h5", options=options)


def test_sampler_refuses_a_machine_of_another_experiment():
    experiment = presets.jiuzhang_like(4, r=0.8, transmission=0.5, rng=1)
    machine = fit_machine(experiment, 1, FitOptions(iterations=0, check_samples=500),
                          progress=False)
    assert machine.history["iterations"] == 0
    with pytest.raises(InputError, match="another experiment"):
        boltzmann.Sampler(presets.jiuzhang_like(4, r=0.8, transmission=0.5, rng=2), machine)
    with pytest.raises(InputError, match="BoltzmannMachine"):
        boltzmann.Sampler(experiment, None)


def test_bad_fit_options_are_refused():
    with pytest.raises(InputError, match="target_rms_z"):
        FitOptions(target_rms_z=0)
    with pytest.raises(InputError, match="chains"):
        FitOptions(chains=3)
    with pytest.raises(InputError, match="options"):
        fit_machine(presets.jiuzhang_like(4, rng=1), 1, options={"iterations": 3})
