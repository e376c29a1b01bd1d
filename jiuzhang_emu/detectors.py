"""Detector models: what a detector reports for the light it receives.

Three detector models, one per output mode, each with an efficiency and a
dark-count probability (scalars or one value per mode):

* :class:`PhotonNumberResolving` reports photon numbers n_j.  Dark counts add
  one count with probability d_j, independently of the light.
* :class:`Threshold` reports 1 (click) or 0.  A dark count makes a detector
  click with probability d_j whatever the light.
* :class:`PseudoPNR` splits mode j uniformly over ``n_detectors`` = k
  threshold detectors (a balanced 1 -> k splitter or time-bin demultiplexer,
  as in Jiuzhang 3.0) and reports the number c_j in 0..k that clicked;
  efficiency and dark counts are per threshold detector.

Efficiency eta_j acts as loss on mode j before detection, so the exact
probabilities (:mod:`jiuzhang_emu.probabilities`) take the state *after* that
loss (``Experiment.output_state()``).  With partly distinguishable light a
detector sees ``internal_modes`` copies of its mode and reports their total
(:mod:`jiuzhang_emu.experiment`).

:func:`coarse_grain_probability` is the pseudo-PNR response to n photons,
exact (threshold is k = 1).
"""
from dataclasses import dataclass
from math import comb, factorial

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels.checks import check_integer
from jiuzhang_emu.states import check_fraction


@dataclass(frozen=True, eq=False)
class Detector:
    """Base class.  ``efficiency`` and ``dark_count`` are probabilities in
    [0, 1], a scalar for every mode or an array with one value per mode."""

    efficiency: object = 1.0
    dark_count: object = 0.0

    #: Largest value a pattern entry may take (None: unbounded).
    max_count = None
    kind = "detector"

    def __post_init__(self):
        for name in ("efficiency", "dark_count"):
            arr = check_fraction(getattr(self, name), name)
            if arr.ndim > 1:
                raise InputError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
            arr = float(arr) if arr.ndim == 0 else arr
            if isinstance(arr, np.ndarray):
                arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    def efficiencies(self, n_modes):
        return check_fraction(self.efficiency, "efficiency", n_modes)

    def dark_counts(self, n_modes):
        return check_fraction(self.dark_count, "dark_count", n_modes)

    def dark_factors(self, n_modes):
        """Per mode, the probability g_j that no detector of the mode fires
        dark: 1 - d_j (one detector per mode), ndarray of shape (n_modes,).
        A no-count probability of the light times prod_j g_j is the no-count
        probability of the detectors."""
        return 1 - self.dark_counts(n_modes)

    def check_pattern(self, pattern, n_modes, name="pattern"):
        """Return ``pattern`` as an int64 vector of length n_modes, or raise."""
        arr = np.asarray(pattern)
        if arr.shape != (n_modes,):
            raise InputError(f"{name} must have one entry per mode, shape ({n_modes},), "
                             f"got {arr.shape}")
        if arr.dtype.kind == "b":
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "iuf" or not np.all(arr == np.round(arr)):
            raise InputError(f"{name} must hold integers, got {arr.tolist()}")
        arr = arr.astype(np.int64)
        if np.any(arr < 0):
            j = int(np.argmax(arr < 0))
            raise InputError(f"{name} must be non-negative, got {arr[j]} at mode {j}")
        if self.max_count is not None and np.any(arr > self.max_count):
            j = int(np.argmax(arr > self.max_count))
            raise InputError(f"{name} entries must lie in [0, {self.max_count}] for "
                             f"{self.kind} detection, got {arr[j]} at mode {j}")
        return arr

    def detect(self, photons, dark_count, rng):
        """Turn photon numbers arriving at the detectors (shape (shots, M))
        into this detector's patterns, adding dark counts."""
        raise NotImplementedError

    def fire_dark(self, clicks, dark_count, rng):
        """Add dark counts to the clicks the light alone caused (shape (shots,
        M), this detector's counts): a detector the light left dark fires with
        probability d."""
        raise InputError(f"{self.kind} detection has no clicks to add dark counts to")


@dataclass(frozen=True, eq=False)
class PhotonNumberResolving(Detector):
    """Photon-number-resolving detectors."""

    kind = "photon-number-resolving"

    def detect(self, photons, dark_count, rng):
        return photons + (rng.random(photons.shape) < dark_count)


@dataclass(frozen=True, eq=False)
class Threshold(Detector):
    """Threshold (click / no-click) detectors."""

    max_count = 1
    kind = "threshold"

    def detect(self, photons, dark_count, rng):
        return ((photons > 0) | (rng.random(photons.shape) < dark_count)).astype(np.int64)

    def fire_dark(self, clicks, dark_count, rng):
        return self.detect(clicks, dark_count, rng)


@dataclass(frozen=True, eq=False)
class PseudoPNR(Detector):
    """Each mode split uniformly over ``n_detectors`` threshold detectors;
    the pattern counts how many clicked per mode."""

    n_detectors: int = 2
    kind = "pseudo-PNR"

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "n_detectors", check_integer(self.n_detectors, "n_detectors",
                                                             low=1))

    @property
    def max_count(self):
        return self.n_detectors

    def dark_factors(self, n_modes):
        """(1 - d_j)^k: none of the k detectors of mode j fires dark."""
        return super().dark_factors(n_modes) ** self.n_detectors

    def detect(self, photons, dark_count, rng):
        """Each photon goes to one of the k detectors uniformly at random;
        each detector also fires dark with probability d."""
        k = self.n_detectors
        fired = rng.random((*photons.shape, k)) < np.asarray(dark_count)[..., None]
        shots, modes = np.nonzero(photons)
        counts = photons[shots, modes]
        detectors = rng.integers(0, k, size=int(counts.sum()))
        fired[np.repeat(shots, counts), np.repeat(modes, counts), detectors] = True
        return fired.sum(axis=-1).astype(np.int64)

    def fire_dark(self, clicks, dark_count, rng):
        """Each of the k - c detectors the light left dark fires with probability d."""
        return clicks + rng.binomial(self.n_detectors - clicks, np.asarray(dark_count))


def coarse_grain_probability(photons, clicks, n_detectors):
    """P(c of k uniformly split detectors click | n photons) =
    C(k, c) c! S(n, c) / k^n, S the Stirling number of the second kind.

    Exact oracle tying pseudo-PNR to PNR statistics (threshold is k = 1).
    """
    n, c, k = int(photons), int(clicks), int(n_detectors)
    if c > min(n, k):
        return 0.0
    stirling = sum((-1) ** (c - i) * comb(c, i) * i ** n for i in range(c + 1)) // factorial(c)
    return comb(k, c) * factorial(c) * stirling / k ** n
