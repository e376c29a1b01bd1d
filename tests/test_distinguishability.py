"""Partly distinguishable sources: internal modes and grouped detection."""
import itertools

import numpy as np
import pytest

from jiuzhang_emu import (
    Coherent,
    Experiment,
    InputError,
    PhotonNumberResolving,
    PseudoPNR,
    RuntimeLimitError,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    Vacuum,
    haar_unitary,
)
from jiuzhang_emu.probabilities import _grouped_click_probability

BALANCED = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def _patterns(n_modes, top):
    return [np.array(p) for p in itertools.product(range(top + 1), repeat=n_modes)]


def _squeezers(v):
    return [TwoModeSqueezer(0.6, 0.3, indistinguishability=v),
            SingleModeSqueezer(0.4, 1.1, indistinguishability=v)]


def test_fully_indistinguishable_is_the_ideal_model():
    T = haar_unitary(3, rng=5).T * 0.8
    ideal = Experiment(_squeezers(1.0), T, Threshold())
    assert ideal.internal_modes == 1
    mixed = Experiment([TwoModeSqueezer(0.6, 0.3), SingleModeSqueezer(0.4, 1.1)], T, Threshold())
    for pattern in _patterns(3, 1):
        assert ideal.probability(pattern) == mixed.probability(pattern)


def test_identical_squeezers_bunch_unless_distinguishable():
    """Two identical single-mode squeezed vacua on a balanced beam splitter
    leave as two squeezed vacua: odd counts (1, 1) never occur.  Making the
    sources distinguishable brings (1, 1) back, monotonically."""
    previous = -1.0
    for v in (1.0, 0.9, 0.5, 0.0):
        sources = [SingleModeSqueezer(0.5, indistinguishability=v)] * 2
        p11 = Experiment(sources, BALANCED, PhotonNumberResolving()).probability([1, 1])
        assert p11 > previous
        previous = p11
        if v == 1.0:
            assert p11 < 1e-30


def _single_source_experiments(T, sources, detector):
    """One experiment per source, the others replaced by vacuum."""
    out = []
    for i, source in enumerate(sources):
        others = [Vacuum()] * sum(s.n_modes for s in sources[:i])
        rest = [Vacuum()] * sum(s.n_modes for s in sources[i + 1:])
        ideal = type(source)(source.r, source.phase)
        out.append(Experiment(others + [ideal] + rest, T, detector))
    return out


def test_fully_distinguishable_photon_numbers_convolve():
    """v = 0: each source's light is its own system, so photon numbers add:
    p(n) = sum_{n1 + n2 = n} p1(n1) p2(n2)."""
    T = haar_unitary(3, rng=6).T * 0.85
    sources = _squeezers(0.0)
    experiment = Experiment(sources, T, PhotonNumberResolving())
    first, second = _single_source_experiments(T, sources, PhotonNumberResolving())
    for n in [np.array(p) for p in [(0, 0, 0), (1, 0, 1), (2, 1, 0), (1, 1, 1)]]:
        expected = sum(first.probability(n1) * second.probability(n - n1)
                       for n1 in map(np.array, itertools.product(*(range(k + 1) for k in n))))
        assert experiment.probability(n) == pytest.approx(expected, rel=1e-10, abs=1e-15)


def test_fully_distinguishable_dark_probabilities_multiply():
    T = haar_unitary(3, rng=7).T * 0.9
    sources = _squeezers(0.0)
    experiment = Experiment(sources, T, Threshold())
    first, second = _single_source_experiments(T, sources, Threshold())
    for modes in ([0], [1, 2], [0, 1, 2]):
        dark = np.zeros(len(modes), dtype=int)
        expected = first.probability(dark, modes=modes) * second.probability(dark, modes=modes)
        assert experiment.probability(dark, modes=modes) == pytest.approx(expected, rel=1e-12)
    expected = 1 - (1 - first.click_probabilities()) * (1 - second.click_probabilities())
    np.testing.assert_allclose(experiment.click_probabilities(), expected, rtol=1e-12)


@pytest.mark.parametrize("v", [0.0, 0.35, 0.8])
def test_photon_numbers_do_not_depend_on_distinguishability(v):
    T = haar_unitary(3, rng=8).T * 0.7
    ideal = Experiment(_squeezers(1.0), T)
    experiment = Experiment(_squeezers(v), T)
    np.testing.assert_allclose(experiment.mean_photon_numbers(), ideal.mean_photon_numbers())
    assert experiment.output_state().n_modes == 3 * experiment.internal_modes


@pytest.mark.parametrize("detector, top", [(Threshold(dark_count=0.03), 1),
                                           (PseudoPNR(n_detectors=2), 2)])
def test_click_probabilities_sum_to_one(detector, top):
    sources = [TwoModeSqueezer(0.6, indistinguishability=0.4), Coherent(0.3 - 0.2j)]
    experiment = Experiment(sources[:2], haar_unitary(3, rng=9).T * 0.9, detector)
    probabilities = [experiment.probability(p) for p in _patterns(3, top)]
    assert min(probabilities) >= -1e-15
    assert sum(probabilities) == pytest.approx(1, abs=1e-12)
    mean = sum(p.sum() * q for p, q in zip(_patterns(3, top), probabilities))
    assert experiment.mean_clicks() == pytest.approx(mean, abs=1e-12)


def test_photon_number_probabilities_sum_to_one():
    sources = [SingleModeSqueezer(0.3, indistinguishability=0.4), SingleModeSqueezer(0.25, 0.5)]
    experiment = Experiment(sources, BALANCED * 0.9, PhotonNumberResolving())
    assert experiment.internal_modes == 2
    total = sum(experiment.probability(p) for p in _patterns(2, 5))
    # What is left lies beyond 5 photons in a mode: at most
    # P(N >= 6) <= <N^2> / 36 with N the total photon number.
    n = experiment.mean_photon_number()
    state = experiment.output_state()
    second_moment = state.photon_number_covariance().sum() + state.mean_photon_number() ** 2
    assert 1 - second_moment / 36 <= total <= 1 + 1e-12
    assert n == pytest.approx(0.81 * (np.sinh(0.3) ** 2 + np.sinh(0.25) ** 2))


@pytest.mark.parametrize("k", [1, 3])
def test_grouped_route_equals_kernel_route(k):
    """The inclusion-exclusion route with one internal mode reproduces the
    torontonian kernel (with dark counts and displacement)."""
    detector = PseudoPNR(n_detectors=k, dark_count=[0.1, 0.0, 0.05])
    sources = [SingleModeSqueezer(0.7), SingleModeSqueezer(0.4, 0.3), Coherent(0.5j)]
    experiment = Experiment(sources, haar_unitary(3, rng=10).T * 0.8, detector)
    g = 1 - np.array([0.1, 0.0, 0.05])
    for pattern in _patterns(3, min(k, 2)):
        grouped = _grouped_click_probability(experiment.output_state(), pattern, g, k, 1)
        assert grouped.value == pytest.approx(experiment.probability(pattern), rel=1e-9, abs=1e-16)


@pytest.mark.slow  # 5-15 s before the limit is reached
def test_grouped_term_limit():
    sources = [SingleModeSqueezer(0.5, indistinguishability=0.5)] * 21
    experiment = Experiment(sources, np.eye(21) * 0.5, Threshold())
    with pytest.raises(RuntimeLimitError, match="terms"):
        experiment.probability(np.ones(21, dtype=int))


@pytest.mark.parametrize("v", [-0.1, 1.5, np.nan])
def test_indistinguishability_range(v):
    with pytest.raises(InputError, match="indistinguishability"):
        SingleModeSqueezer(0.5, indistinguishability=v)
