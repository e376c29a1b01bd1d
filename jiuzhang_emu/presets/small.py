"""Small experiments (a few to ~20 modes) whose probabilities are exact and
cheap: for tests, demos and notebooks."""
import numpy as np

from jiuzhang_emu.detectors import Detector, PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.sources import SingleModeSqueezer, TwoModeSqueezer
from jiuzhang_emu.states import check_fraction

_DETECTORS = {"threshold": Threshold, "pnr": PhotonNumberResolving, "pseudo-pnr": PseudoPNR}


def _detector(detectors, n_detectors):
    if isinstance(detectors, Detector):
        return detectors
    try:
        kind = _DETECTORS[detectors]
    except (KeyError, TypeError):
        raise InputError(f"detectors must be a Detector or one of {sorted(_DETECTORS)}, "
                         f"got {detectors!r}") from None
    return kind(n_detectors=n_detectors) if kind is PseudoPNR else kind()


def _n_modes(n_modes, minimum=1):
    if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < minimum:
        raise InputError(f"n_modes must be an integer >= {minimum}, got {n_modes!r}")
    return int(n_modes)


def random_experiment(n_modes, *, r=0.5, transmission=0.5, detectors="threshold", rng=None,
                      n_detectors=2):
    """All inputs squeezed, a Haar-random interferometer, uniform loss.

    Parameters
    ----------
    n_modes : int
    r : float
        Squeezing of every input (``Sgate(r)``).
    transmission : float
        Uniform intensity transmission in [0, 1].
    detectors : {"threshold", "pnr", "pseudo-pnr"} or Detector
    rng : seed or Generator
        For the unitary; anything ``numpy.random.default_rng`` accepts.
    n_detectors : int
        Detectors per mode for "pseudo-pnr".
    """
    n_modes = _n_modes(n_modes)
    transmission = float(check_fraction(transmission, "transmission"))
    U = haar_unitary(n_modes, rng=rng)
    sources = [SingleModeSqueezer(r)] * n_modes
    return Experiment(sources, U.T * np.sqrt(transmission), _detector(detectors, n_detectors),
                      name=f"random_experiment-{n_modes}", provenance={
        "all": "synthetic: Haar-random unitary, uniform loss, equal squeezers"})


def jiuzhang_like(n_modes=8, *, r=1.0, transmission=0.3, detectors="threshold", rng=None,
                  n_detectors=2):
    """A small Jiuzhang-like experiment: n_modes / 2 two-mode squeezers on
    the inputs (as in Jiuzhang 1.0), a Haar-random interferometer and
    Jiuzhang-like loss (default transmission 0.3, Jiuzhang 1.0's mean 0.29).
    """
    n_modes = _n_modes(n_modes, minimum=2)
    if n_modes % 2:
        raise InputError(f"n_modes must be even (two-mode squeezers), got {n_modes}")
    transmission = float(check_fraction(transmission, "transmission"))
    U = haar_unitary(n_modes, rng=rng)
    sources = [TwoModeSqueezer(r)] * (n_modes // 2)
    return Experiment(sources, U.T * np.sqrt(transmission), _detector(detectors, n_detectors),
                      name=f"jiuzhang_like-{n_modes}", provenance={
        "all": "synthetic: two-mode squeezers, Haar-random unitary, uniform loss"})
