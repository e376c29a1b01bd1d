"""The lossy-MPS route: the network against exact amplitudes (enumerated at
small M, converging as chi and the cutoffs grow), the sampler against its own
chain-rule distribution and against the exact model, files, resumption,
workers and bad input.

Statistical tests use significance ALPHA = 1e-4 (chi-square with bins
merged to expected >= 5, as in tests/samplers/test_exact_sampling.py).
"""
import hashlib

import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Coherent,
    Experiment,
    InputError,
    PhotonNumberResolving,
    PseudoPNR,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    files,
    haar_unitary,
    presets,
)
from jiuzhang_emu.fock import displacement_matrix
from jiuzhang_emu.samplers.mps import MPSSampler, build_mps, open_mps

ALPHA = 1e-4


def _pure(detector=None, coherent=0.0):
    sources = [TwoModeSqueezer(0.6), SingleModeSqueezer(0.5, 0.7)]
    if coherent:
        sources.append(Coherent(coherent))
    n = sum(s.n_modes for s in sources)
    return Experiment(sources, haar_unitary(n, rng=21).T, detector or PhotonNumberResolving())


def _lossy(detector=None, n_modes=4, transmission=0.5):
    sources = [TwoModeSqueezer(0.8), SingleModeSqueezer(0.6, 0.3)]
    sources += [SingleModeSqueezer(0.4)] * (n_modes - 3)
    U = haar_unitary(n_modes, rng=22).T
    return Experiment(sources, U * np.sqrt(np.linspace(transmission, 1, n_modes))[None, :],
                      detector or Threshold())


def _amplitudes(network):
    """<n|psi> of the pure part's network for every n < cutoff, shape (d,) * M."""
    tensor = np.ones((1, 1))
    for site in network.sites():
        tensor = np.tensordot(tensor, site.astype(np.complex128), axes=(-1, 0))
    return tensor.reshape(tensor.shape[1:-1])


def _exact_probabilities(experiment, shape):
    return np.array([experiment.probability(np.array(n)) for n in np.ndindex(*shape)]
                    ).reshape(shape)


def test_network_amplitudes_converge_to_the_exact_state():
    """TVD between the network's |<n|psi>|^2 and the exact photon-number
    distribution (pure state, no displacement), falling with chi and the
    cutoff."""
    experiment = _pure()
    distances = {}
    for chi, cutoff in [(1, 3), (2, 3), (4, 4), (16, 6), (64, 9)]:
        network = build_mps(experiment, chi=chi, cutoff=cutoff, displaced_cutoff=cutoff,
                            split="williamson", progress=False)
        model = np.abs(_amplitudes(network)) ** 2
        exact = _exact_probabilities(experiment, model.shape)
        # the TVD of the network's (unnormalised) weights and the exact law,
        # the exact mass above the cutoffs counted as missed
        distances[chi] = 0.5 * (np.abs(model - exact).sum() + 1 - exact.sum())
    values = list(distances.values())
    assert all(a >= b for a, b in zip(values, values[1:])), distances
    assert distances[64] < 1e-3, distances


def _chain_distribution(network, alpha):
    """The sampler's law for a fixed displacement ``alpha`` (no noise): the
    product of its chain-rule conditionals, over every pattern."""
    p = network.parameters
    laws = {(): (1.0, np.ones(1))}
    for k, site in enumerate(network.sites()):
        D = displacement_matrix(alpha[k], p.displaced_cutoff, p.cutoff)
        grown = {}
        for pattern, (probability, left) in laws.items():
            amplitudes = D @ np.tensordot(left, site.astype(np.complex128), axes=(0, 0))
            weights = (np.abs(amplitudes) ** 2).sum(axis=1)
            for n, weight in enumerate(weights):
                if weight > 0:
                    grown[pattern + (n,)] = (probability * weight / weights.sum(),
                                             amplitudes[n] / np.sqrt(weight))
        laws = grown
    return {pattern: probability for pattern, (probability, _) in laws.items()}


def _chi_square(counts, law, shots):
    observed, expected = [], []
    for pattern, probability in law.items():
        if shots * probability >= 5:
            observed.append(counts.get(pattern, 0))
            expected.append(shots * probability)
    observed.append(shots - sum(observed))
    expected.append(shots - sum(expected))
    return stats.chi2.sf(np.sum((np.array(observed) - expected) ** 2 / np.array(expected)),
                         len(observed) - 1)


@pytest.mark.statistical
def test_samples_follow_the_networks_chain_rule(any_seed):
    """A displaced pure state (coherent input, no noise): the samples against
    the sampler's own law, enumerated."""
    experiment = _pure(coherent=0.5 + 0.3j)
    network = build_mps(experiment, chi=3, cutoff=3, displaced_cutoff=5, progress=False)
    assert np.abs(network.split.noise_cov).max() < 1e-6
    alpha = network.split.displacements(np.random.default_rng(0), 1)[0]
    law = _chain_distribution(network, alpha)
    samples = experiment.sample(3000, rng=any_seed(5), method="mps", mps=network)
    counts = {}
    for pattern in map(tuple, samples.patterns):
        counts[pattern] = counts.get(pattern, 0) + 1
    assert _chi_square(counts, law, 3000) > ALPHA


@pytest.mark.statistical
@pytest.mark.parametrize("detector", [Threshold(), PseudoPNR(n_detectors=2),
                                      Threshold(dark_count=0.05)], ids=str)
def test_lossy_samples_match_the_exact_model(detector, chi_square_pvalue, any_seed):
    experiment = _lossy(detector)
    network = build_mps(experiment, chi=64, cutoff=8, displaced_cutoff=12, progress=False)
    samples = experiment.sample(2000, rng=any_seed(7), method="mps", mps=network)
    assert samples.unresolved_mass < 0.02  # the worst shot's; the mean is ~1e-4
    assert chi_square_pvalue(experiment, samples.patterns) > ALPHA


@pytest.mark.statistical
def test_photon_numbers_match_the_exact_model(chi_square_pvalue, any_seed):
    experiment = _lossy(PhotonNumberResolving(), n_modes=3)
    network = build_mps(experiment, chi=64, cutoff=6, displaced_cutoff=12, progress=False)
    samples = experiment.sample(2000, rng=any_seed(9), method="mps", mps=network)
    assert chi_square_pvalue(experiment, samples.patterns, max_total=6) > ALPHA


def test_truncation_shrinks_as_chi_grows():
    experiment = presets.jiuzhang_like(8, r=1.2, transmission=0.5, rng=3)
    discarded, truncated = [], []
    for chi in (2, 8, 32):
        network = build_mps(experiment, chi=chi, cutoff=4, displaced_cutoff=10, progress=False)
        discarded.append(network.discarded_weights.max())
        sampler = MPSSampler(experiment, network)
        sampler.counts(200, np.random.default_rng(1))
        truncated.append(sampler.mean_truncated_mass)
        assert 0 <= sampler.mean_network_truncated_mass <= sampler.mean_truncated_mass
    assert discarded[0] > discarded[1] > discarded[2]
    assert truncated[0] > truncated[1] > truncated[2]
    # a small displaced cutoff: the mass above it, not the network's, grows
    network = build_mps(experiment, chi=32, cutoff=4, displaced_cutoff=4, progress=False)
    sampler = MPSSampler(experiment, network)
    sampler.counts(200, np.random.default_rng(1))
    assert sampler.mean_truncated_mass - sampler.mean_network_truncated_mass > 10 * truncated[2]


def _digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_build_resumes_and_refuses_other_parameters(tmp_path):
    import h5py

    experiment = _lossy(n_modes=5)
    path = tmp_path / "net.mps.h5"
    whole = build_mps(experiment, chi=8, cutoff=3, path=path, progress=False)
    first = [s.copy() for s in whole.sites()]
    with h5py.File(path, "r+") as handle:  # a build stopped after three sites
        del handle["sites/3"], handle["sites/4"]
    resumed = open_mps(experiment, path, progress=False)
    for a, b in zip(first, resumed.sites()):
        np.testing.assert_array_equal(a, b)
    before = _digest(path)
    with pytest.raises(InputError, match="chi 8 in the file, 9 requested"):
        build_mps(experiment, chi=9, cutoff=3, path=path, progress=False)
    with pytest.raises(InputError, match="another experiment"):
        build_mps(_lossy(n_modes=5, transmission=0.4), chi=8, cutoff=3, path=path,
                  progress=False)
    assert _digest(path) == before


def test_samples_do_not_depend_on_workers(tmp_path):
    experiment = _lossy(n_modes=5)
    network = build_mps(experiment, chi=8, cutoff=3, path=tmp_path / "n.mps.h5", n_workers=2,
                        progress=False)
    one = experiment.sample(150, rng=4, method="mps", mps=network)
    two = experiment.sample(150, rng=4, method="mps", mps=network, n_workers=2)
    np.testing.assert_array_equal(one.patterns, two.patterns)
    assert one.extra["mps"]["parameters"]["chi"] == 8


def test_sample_file_records_the_network(tmp_path):
    experiment = _lossy(n_modes=4)
    network = build_mps(experiment, chi=8, cutoff=3, progress=False)
    path = tmp_path / "s.h5"
    files.write_samples(path, experiment, 100, rng=1, method="mps", mps=network,
                        progress=False)
    samples = files.read_samples(path)
    assert samples.method == "mps"
    assert samples.extra["mps"]["parameters"]["chi"] == 8
    assert samples.extra["mps"]["largest_discarded_weight"] == pytest.approx(
        network.discarded_weights.max())
    other = build_mps(experiment, chi=9, cutoff=3, progress=False)
    with pytest.raises(InputError, match="mps"):
        files.write_samples(path, experiment, 200, rng=1, method="mps", mps=other,
                            progress=False)
    files.write_samples(path, experiment, 200, rng=1, method="mps", mps=network,
                        progress=False)
    assert files.read_samples(path).shots == 200


@pytest.mark.parametrize("arguments, match", [
    ({"chi": 0}, "chi must be an integer >= 1, got 0"),
    ({"cutoff": 0}, "cutoff must be an integer >= 1, got 0"),
    ({"chi": 2.5}, "chi must be an integer >= 1, got 2.5"),
    ({"cutoff": 4, "displaced_cutoff": 3}, "displaced_cutoff must be >= cutoff"),
    ({"split": "best"}, "split must be one of"),
    ({"n_workers": 0}, "n_workers must be an integer >= 1, got 0"),
])
def test_bad_parameters(arguments, match):
    with pytest.raises(InputError, match=match):
        build_mps(_lossy(), progress=False, **arguments)


def test_bad_runs():
    experiment = _lossy()
    network = build_mps(experiment, chi=4, cutoff=3, progress=False)
    with pytest.raises(InputError, match="mps is an argument of method 'mps'"):
        experiment.sample(10, method="exact", mps=network)
    with pytest.raises(InputError, match="built for another experiment"):
        _lossy(transmission=0.3).sample(10, method="mps", mps=network)
    with pytest.raises(InputError, match="mps must be a LossyMPS"):
        experiment.sample(10, method="mps", mps=42)
    distinguishable = Experiment([TwoModeSqueezer(0.5, indistinguishability=0.9)],
                                 np.eye(2), Threshold())
    with pytest.raises(InputError, match="partly distinguishable"):
        distinguishable.sample(10, method="mps")
