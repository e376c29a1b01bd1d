"""Samplers: exact detection patterns of an :class:`~jiuzhang_emu.Experiment`.

Every sampler draws photon numbers at the detectors and lets the detector
model turn them into patterns (threshold: coarse-graining; pseudo-PNR: each
photon to one of k detectors; dark counts added), which is exact for every
detector model.  Partly distinguishable light is sampled on its internal modes
and summed per detector.

Randomness: ``rng`` is anything :func:`numpy.random.default_rng` accepts.
Shots are drawn in batches of ``BATCH_SIZE``, batch i from the child seed
``SeedSequence(entropy, spawn_key=(i,))``, so a seed gives the same samples
however the batches are spread over workers.
"""
from dataclasses import dataclass, field

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.samplers.exact import PhotonNumberSampler

BATCH_SIZE = 64
METHODS = ("auto", "exact")


@dataclass(frozen=True, eq=False)
class Samples:
    """Detection patterns and what produced them.

    Attributes
    ----------
    patterns : ndarray of int64, shape (shots, modes)
    experiment : str
        The experiment's name.
    detector : str
        The detector model ("threshold", "photon-number-resolving", "pseudo-PNR").
    method : str
    seed_entropy : int or None
        The root seed's entropy (None when a Generator was passed).
    version : str
        jiuzhang_emu version.
    unresolved_mass : float
        Largest probability mass a draw left unresolved by rounding (no
        cutoff is used; this is ~1e-12 at most).
    """

    patterns: np.ndarray
    experiment: str
    detector: str
    method: str
    seed_entropy: object
    version: str
    unresolved_mass: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def shots(self):
        return self.patterns.shape[0]


def _check_shots(shots):
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise InputError(f"shots must be an integer >= 1, got {shots!r}")
    return int(shots)


def _seed(rng):
    """(entropy, SeedSequence or Generator) for ``rng``."""
    if isinstance(rng, np.random.Generator):
        return None, rng
    if isinstance(rng, np.random.SeedSequence):
        return rng.entropy, rng
    try:
        sequence = np.random.SeedSequence(rng)
    except (TypeError, ValueError) as exc:
        raise InputError(f"rng must be None, an int, a SeedSequence or a Generator, "
                         f"got {rng!r}") from exc
    return sequence.entropy, sequence


def batch_rng(root, index):
    """The generator of shot batch ``index``."""
    if isinstance(root, np.random.Generator):
        return root
    return np.random.default_rng(np.random.SeedSequence(root.entropy, spawn_key=(index,)))


def sample(experiment, shots, *, rng=None, method="auto"):
    """Exact samples of an experiment's detection patterns.

    Parameters
    ----------
    experiment : Experiment
    shots : int
    rng : None, int, SeedSequence or Generator
    method : {"auto", "exact"}

    Returns
    -------
    Samples
    """
    from jiuzhang_emu import __version__

    shots = _check_shots(shots)
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    entropy, root = _seed(rng)
    sampler = PhotonNumberSampler(experiment.output_state())
    M, copies = experiment.n_modes, experiment.internal_modes
    dark = experiment.detector.dark_counts(M)
    batches = []
    for index, start in enumerate(range(0, shots, BATCH_SIZE)):
        generator = batch_rng(root, index)
        size = min(BATCH_SIZE, shots - start)
        photons = np.array([sampler.sample(generator) for _ in range(size)])
        photons = photons.reshape(size, copies, M).sum(axis=1)
        batches.append(experiment.detector.detect(photons, dark, generator))
    return Samples(np.concatenate(batches), experiment.name, experiment.detector.kind,
                   "exact", entropy, __version__, sampler.unresolved_mass)
