"""Seeded sweeps: exact samples against properties the model fixes exactly.

Over squeezing (r up to 1.5), loss and displacement:
- parity: a pure, undisplaced state of single-mode squeezed vacua through a
  lossless interferometer holds only even photon totals; a two-mode squeezed
  vacuum holds equal numbers in its two modes.  Every shot must obey it.
- moments: the mean photon-number vector of N shots against the model's
  means, chi-square with the model's photon-number covariance / N
  (M degrees of freedom), at significance ALPHA = 1e-4 per case
  (tests/conftest.py).  The bright cases have heavy-tailed photon numbers
  (variance ~ 2 sinh^2 r cosh^2 r), which is why they get more shots.
Brighter light, where the sampler may refuse a draw, is tested shot by shot
in test_bright_light.py.
"""
import numpy as np
import pytest
from scipy import stats

from jiuzhang_emu import (
    Coherent,
    Experiment,
    PhotonNumberResolving,
    SingleModeSqueezer,
    TwoModeSqueezer,
    Vacuum,
    haar_unitary,
)

ALPHA = 1e-4
SPLITTER = (np.array([[1, -1], [1, 1]]) / 2 ** .5).T


@pytest.mark.parametrize("r", [0.5, 1.0, 1.5])
def test_squeezed_vacuum_through_splitter_has_even_totals(r):
    experiment = Experiment([SingleModeSqueezer(r), Vacuum()], SPLITTER, PhotonNumberResolving())
    totals = np.asarray(experiment.sample(300, rng=1)).sum(axis=1)
    assert np.all(totals % 2 == 0), totals[totals % 2 == 1]


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_pure_squeezers_through_unitary_have_even_totals(r):
    experiment = Experiment([SingleModeSqueezer(r, phase=0.3 * k) for k in range(3)],
                            haar_unitary(3, rng=2).T, PhotonNumberResolving())
    totals = np.asarray(experiment.sample(64, rng=3)).sum(axis=1)
    assert np.all(totals % 2 == 0), totals[totals % 2 == 1]


@pytest.mark.parametrize("r", [0.5, 1.0, 1.5])
def test_two_mode_squeezed_vacuum_has_equal_twins(r):
    patterns = np.asarray(Experiment([TwoModeSqueezer(r)], np.eye(2),
                                     PhotonNumberResolving()).sample(300, rng=4))
    assert np.array_equal(patterns[:, 0], patterns[:, 1])


def _case(r, transmission, alpha):
    sources = [SingleModeSqueezer(r), SingleModeSqueezer(r / 2, phase=1.0)]
    sources.append(Coherent(alpha) if alpha else Vacuum())
    return Experiment(sources, haar_unitary(3, rng=5).T * np.sqrt(transmission),
                      PhotonNumberResolving())


@pytest.mark.statistical
@pytest.mark.parametrize("r, transmission, alpha, shots", [
    (0.3, 1.0, 0, 2000),
    (0.8, 0.5, 0, 2000),
    (0.8, 1.0, 1.2 - 0.5j, 2000),
    (1.5, 0.3, 0.7, 4000),
    (1.2, 1.0, 0, 8000),
    (1.5, 0.6, 1.0j, 8000),
])
def test_mean_photon_numbers_match_the_model(r, transmission, alpha, shots, any_seed):
    experiment = _case(r, transmission, alpha)
    patterns = np.asarray(experiment.sample(shots, rng=any_seed(6)))
    difference = patterns.mean(axis=0) - experiment.mean_photon_numbers()
    covariance = experiment.output_state().photon_number_covariance() / shots
    chi2 = difference @ np.linalg.solve(covariance, difference)
    assert stats.chi2.sf(chi2, df=len(difference)) > ALPHA, chi2
