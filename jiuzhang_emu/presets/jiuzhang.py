"""The Jiuzhang experiments (USTC).

* Jiuzhang 1.0 (Zhong et al., Science 370, 1460 (2020)): 25 two-mode
  squeezed-vacuum sources on 50 inputs, a 50 x 100 transfer matrix with every
  efficiency folded in, 100 threshold detectors.  Published data, shipped in
  ``data/jiuzhang1`` with its provenance (the USTC release, prepared by the
  GBSKernels project; see that folder's README).
* Jiuzhang 2.0 (Zhong et al., PRL 127, 180502 (2021)): 25 sources, 50
  inputs, 144 outputs, threshold detection, five pump settings.  The squeezing
  values are published (``data/jiuzhang2``); the transfer matrix is not
  available here, so the preset uses a stand-in (a Haar-random unitary with a
  fixed seed and uniform loss).
* Jiuzhang 3.0 (Deng et al., PRL 131, 150601 (2023)): 144 modes with
  pseudo-photon-number-resolving detection.  Neither its squeezing values nor
  its transfer matrix are available here: everything but the detector model is
  a stand-in.
* Jiuzhang 4.0 (Liu et al., arXiv:2508.09092 (2025)): 1024 squeezed states
  into a hybrid spatial-temporal 8176-mode interferometer, up to 3050
  detection events.  Mode and source counts are published; the
  interferometer, squeezing and detector model here are stand-ins (see
  :func:`jiuzhang4`).
"""
from importlib import resources
from typing import NamedTuple

import numpy as np

from jiuzhang_emu.detectors import PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.sources import SingleModeSqueezer, TwoModeSqueezer
from jiuzhang_emu.states import check_fraction

_DATA = resources.files("jiuzhang_emu.presets") / "data"

#: Mean intensity transmission of an input of Jiuzhang 1.0's transfer matrix,
#: sum_j |T_ij|^2 averaged over i; the stand-in loss of Jiuzhang 2.0 / 3.0.
JIUZHANG1_MEAN_TRANSMISSION = 0.2937

#: Seeds of the stand-in interferometers, fixed so a preset is one experiment.
_STAND_IN_SEEDS = {"jiuzhang2": 20211025, "jiuzhang3": 20231010, "jiuzhang4": 20250812}

JIUZHANG1_CITATION = ("Zhong et al., Science 370, 1460 (2020); data release "
                      "https://quantum.ustc.edu.cn/web/en/node/915")


def _load(name):
    with resources.as_file(_DATA / name) as path:
        if path.suffix == ".npy":
            return np.load(path)
        return np.loadtxt(path)


class MeasuredData(NamedTuple):
    """Published measurements shipped with the package."""

    click_rates: np.ndarray
    """Probability that each detector clicks, shape (100,)."""
    click_number_histogram: np.ndarray
    """Samples with exactly k clicks, k = 0..100."""
    mean_clicks: float
    source: str


def jiuzhang1_measured():
    """Jiuzhang 1.0's measured click rates and click-number histogram
    (2,995,852 normal events of the USTC release)."""
    rates = _load("jiuzhang1/click_rates.npy")
    hist = _load("jiuzhang1/click_number_histogram.npy")
    return MeasuredData(rates, hist, float(rates.sum()), JIUZHANG1_CITATION)


def _check_scale(value, name):
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def jiuzhang1(*, transmission_scale=1.0, thermal_fraction=0.0, squeezing_scale=1.0):
    """Jiuzhang 1.0 from its published transfer matrix and squeezing.

    Parameters
    ----------
    transmission_scale : float
        Multiplies every intensity transmission (T -> sqrt(s) T); must keep T
        contractive.  1 is the published matrix.
    thermal_fraction : float
        Thermalised fraction eps of every source (see
        :mod:`jiuzhang_emu.sources`); 0 is the ideal model.
    squeezing_scale : float
        Multiplies every squeezing parameter r.

    Returns
    -------
    Experiment
        50 inputs, 100 threshold detectors.  Ideal model: mean photon number
        78.6, expected clicks 41.04 (measured: 42.53).
    """
    transmission_scale = _check_scale(transmission_scale, "transmission_scale")
    squeezing_scale = _check_scale(squeezing_scale, "squeezing_scale")
    r = _load("jiuzhang1/squeezing_parameters.txt")
    T = _load("jiuzhang1/transfer_matrix.npy") * np.sqrt(transmission_scale)
    sources = [TwoModeSqueezer(squeezing_scale * rk, thermal_fraction=thermal_fraction)
               for rk in r]
    return Experiment(sources, T, Threshold(), name="jiuzhang1", provenance={
        "squeezing": "published (USTC release, 25 two-mode squeezers)",
        "transfer_matrix": "published (USTC release; efficiencies folded in)",
        "detectors": "threshold, as published; efficiency already in the transfer matrix",
        "citation": JIUZHANG1_CITATION,
        "parameters": {"transmission_scale": transmission_scale,
                       "thermal_fraction": thermal_fraction,
                       "squeezing_scale": squeezing_scale},
    })


def jiuzhang2_squeezing(setting):
    """The 25 published squeezing parameters of Jiuzhang 2.0 pump setting
    1..5 (increasing power; means 0.495, 0.692, 0.977, 1.260, 1.608)."""
    if isinstance(setting, bool) or setting not in (1, 2, 3, 4, 5):
        raise InputError(f"setting must be one of 1, 2, 3, 4, 5, got {setting!r}")
    return _load("jiuzhang2/squeezing_parameters.txt")[setting - 1]


def _stand_in_transfer_matrix(name, n_outputs, transmission):
    transmission = float(check_fraction(transmission, "transmission"))
    U = haar_unitary(n_outputs, rng=_STAND_IN_SEEDS[name])
    return U.T[:50] * np.sqrt(transmission)


def jiuzhang2(setting=5, *, transmission=JIUZHANG1_MEAN_TRANSMISSION, thermal_fraction=0.0):
    """Jiuzhang 2.0 with the published squeezing of a pump setting and a
    stand-in interferometer.

    Parameters
    ----------
    setting : {1, 2, 3, 4, 5}
        Pump setting, in increasing power.
    transmission : float
        Uniform intensity transmission of the stand-in (source to detection);
        default Jiuzhang 1.0's mean, 0.2937, since Jiuzhang 2.0's matrix is
        not available here.
    thermal_fraction : float
        Thermalised fraction of every source.

    Returns
    -------
    Experiment
        50 inputs (25 two-mode squeezers) on the first 50 of 144 modes of a
        Haar-random unitary (fixed seed), 144 threshold detectors.
    """
    r = jiuzhang2_squeezing(setting)
    T = _stand_in_transfer_matrix("jiuzhang2", 144, transmission)
    sources = [TwoModeSqueezer(rk, thermal_fraction=thermal_fraction) for rk in r]
    return Experiment(sources, T, Threshold(), name=f"jiuzhang2-setting{setting}", provenance={
        "squeezing": f"published (USTC data server, setting {setting})",
        "transfer_matrix": (f"stand-in: Haar-random 144-mode unitary (seed "
                            f"{_STAND_IN_SEEDS['jiuzhang2']}), first 50 inputs, uniform "
                            f"transmission {transmission:g}"),
        "detectors": "threshold, ideal (efficiency in the transmission)",
        "citation": "Zhong et al., PRL 127, 180502 (2021)",
    })


def jiuzhang3(*, n_detectors=8, transmission=JIUZHANG1_MEAN_TRANSMISSION, thermal_fraction=0.0):
    """A Jiuzhang 3.0-like experiment: 144 modes, pseudo-PNR detection.

    Parameters
    ----------
    n_detectors : int
        Threshold detectors per mode; 8 is inferred from the released sample
        format (1152 bits = 144 modes x 8), not from a stated design.
    transmission : float
        Uniform stand-in transmission.
    thermal_fraction : float

    Returns
    -------
    Experiment
        Jiuzhang 2.0's highest-power squeezing (stand-in) on 50 of 144 modes
        of a Haar-random unitary (stand-in), pseudo-PNR detectors.
    """
    r = jiuzhang2_squeezing(5)
    T = _stand_in_transfer_matrix("jiuzhang3", 144, transmission)
    sources = [TwoModeSqueezer(rk, thermal_fraction=thermal_fraction) for rk in r]
    return Experiment(sources, T, PseudoPNR(n_detectors=n_detectors), name="jiuzhang3",
                      provenance={
        "squeezing": "stand-in: Jiuzhang 2.0 setting 5 (Jiuzhang 3.0's values not available)",
        "transfer_matrix": (f"stand-in: Haar-random 144-mode unitary (seed "
                            f"{_STAND_IN_SEEDS['jiuzhang3']}), first 50 inputs, uniform "
                            f"transmission {transmission:g}"),
        "detectors": (f"pseudo-PNR, {n_detectors} threshold detectors per mode "
                      "(inferred from the 1152-bit sample format)"),
        "citation": "Deng et al., PRL 131, 150601 (2023)",
    })


JIUZHANG4_CITATION = "Liu et al., arXiv:2508.09092 (2025)"

#: Overall system efficiency of Jiuzhang 4.0 (press reports of the paper: "more
#: than 51 %", source efficiency 92 % included); the stand-in's transmission.
JIUZHANG4_EFFICIENCY = 0.51

#: Stand-in squeezing of Jiuzhang 4.0's sources (not published here): r = 1.5
#: gives 1024 x sinh^2(1.5) x 0.51 = 2366 photons at the detectors, about
#: 2000 clicks among 8176 threshold detectors, consistent with up to 3050
#: detection events.
JIUZHANG4_SQUEEZING = 1.5


#: Rounds of spatial mixing and delay loops in the Jiuzhang 4.0 stand-in.
_ROUNDS = 3


def _check_size(value, name, low, high):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            low <= value <= high):
        raise InputError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def jiuzhang4_transfer_matrix(spatial_modes=16, cube_side=8, *,
                              transmission=JIUZHANG4_EFFICIENCY, rng=_STAND_IN_SEEDS["jiuzhang4"]):
    """The stand-in interferometer of :func:`jiuzhang4`: rows of its inputs only.

    Output mode m = s * B + t, s the spatial channel (0..S-1) and t the time
    bin (0..B-1, B = cube_side^3 - 1; B = 511 and S = 16 give the published
    8176 = 16 x 511 modes).  One squeezer enters every ``cube_side``-th time
    bin of every channel (t = 0, c, 2c, ...: 16 x 64 = 1024 at full size).
    The light then goes through

    1. a Haar-random S x S unitary on the spatial channels of every time bin;
    2. three delay loops of 1, c and c^2 bins: in time order, bin t meets bin
       t - d of the same channel on a beam splitter of random angle and
       phase, so the time bins form a cubic lattice of side c (our reading of
       the "cubic connectivity" of the press reports; the real circuit is
       not published);
    3. 1 and 2 twice more (:data:`_ROUNDS` = 3: at full size each squeezer
       then reaches ~1800 modes, participation ratio 1 / sum_j |T_ij|^4),
       a last spatial unitary per bin, then uniform loss ``transmission``.

    Only the input rows of T are propagated (inputs x outputs, 1024 x 8176
    complex: 134 MB), never the 8176 x 8176 unitary.

    Returns
    -------
    ndarray of shape (S * ceil(B / c), S * B), complex
    """
    S = _check_size(spatial_modes, "spatial_modes", 1, 64)
    c = _check_size(cube_side, "cube_side", 2, 16)
    transmission = float(check_fraction(transmission, "transmission"))
    B = c ** 3 - 1
    rng = np.random.default_rng(rng)
    bins = np.arange(0, B, c)
    inputs = (np.arange(S)[:, None] * B + bins[None, :]).ravel()
    T = np.zeros((len(inputs), S, B), dtype=complex)
    T.reshape(len(inputs), S * B)[np.arange(len(inputs)), inputs] = 1.0
    for layer in range(_ROUNDS + 1):
        U = np.stack([haar_unitary(S, rng=rng) for _ in range(B)])  # (B, S, S)
        T = np.einsum("ist,tsr->irt", T, U)  # b_{r,t} = sum_s U_t[s, r] a_{s,t}
        if layer == _ROUNDS:
            break
        for d in (1, c, c * c):
            theta = rng.uniform(0, np.pi / 2, (B, S))
            phi = rng.uniform(0, 2 * np.pi, (B, S))
            for t in range(d, B):
                a, b = T[:, :, t - d].copy(), T[:, :, t]
                cos, sin = np.cos(theta[t]), np.sin(theta[t]) * np.exp(1j * phi[t])
                T[:, :, t - d] = cos * a - sin.conj() * b
                T[:, :, t] = sin * a + cos * b
    return T.reshape(len(inputs), S * B) * np.sqrt(transmission)


def jiuzhang4(*, spatial_modes=16, cube_side=8, squeezing=JIUZHANG4_SQUEEZING,
              transmission=JIUZHANG4_EFFICIENCY, n_detectors=1, thermal_fraction=0.0):
    """A Jiuzhang 4.0-like experiment: 1024 single-mode squeezers into 8176
    modes, threshold detection (full size).

    Parameters
    ----------
    spatial_modes : int in [1, 64]
        Spatial channels S (16).
    cube_side : int in [2, 16]
        Side c of the temporal cube: B = c^3 - 1 time bins per channel (8:
        511), one squeezer every c bins.  ``spatial_modes=2, cube_side=3``
        gives 52 modes and 18 squeezers, small enough for exact checks.
    squeezing : float
        r of every squeezer (stand-in 1.5: not published here).
    transmission : float
        Uniform source-to-detection transmission (0.51, the published
        overall efficiency).
    n_detectors : int
        1: threshold detectors; k > 1: pseudo-PNR with k threshold detectors
        per mode (the detector model is not published here).
    thermal_fraction : float

    Returns
    -------
    Experiment
        S * ceil(B / c) single-mode squeezers, S * B modes.  Building it at
        full size takes seconds and ~0.5 GB; its first and second moments
        come from :meth:`~jiuzhang_emu.Experiment.output_moments` (never form
        :meth:`~jiuzhang_emu.Experiment.output_state` at this size: its
        covariance has 16352^2 entries).
    """
    T = jiuzhang4_transfer_matrix(spatial_modes, cube_side, transmission=transmission)
    squeezing = float(squeezing)
    n_detectors = _check_size(n_detectors, "n_detectors", 1, 255)
    sources = [SingleModeSqueezer(squeezing, thermal_fraction=thermal_fraction)
               for _ in range(T.shape[0])]
    detector = Threshold() if n_detectors == 1 else PseudoPNR(n_detectors=n_detectors)
    return Experiment(sources, T, detector, name="jiuzhang4", provenance={
        "modes": f"{T.shape[1]} = {spatial_modes} spatial x {cube_side ** 3 - 1} temporal "
                 f"(published: 8176 modes, hybrid spatial-temporal)",
        "squeezing": (f"stand-in: {T.shape[0]} single-mode squeezers (published: 1024 squeezed "
                      f"states; their type and squeezing are not available here), r = "
                      f"{squeezing:g}"),
        "transfer_matrix": (f"stand-in: spatial Haar unitaries and delay loops of 1, "
                            f"{cube_side}, {cube_side ** 2} bins (a cubic lattice in time, "
                            f"after the reported 'cubic connectivity'; seed "
                            f"{_STAND_IN_SEEDS['jiuzhang4']}), uniform transmission "
                            f"{transmission:g} (published overall efficiency > 51 %)"),
        "detectors": ("threshold (stand-in: the detector model is not available here)"
                      if n_detectors == 1 else f"stand-in: pseudo-PNR, {n_detectors} per mode"),
        "citation": JIUZHANG4_CITATION,
    })
