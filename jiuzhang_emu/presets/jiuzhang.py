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
"""
from importlib import resources
from typing import NamedTuple

import numpy as np

from jiuzhang_emu.detectors import PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.sources import TwoModeSqueezer
from jiuzhang_emu.states import check_fraction

_DATA = resources.files("jiuzhang_emu.presets") / "data"

#: Mean intensity transmission of an input of Jiuzhang 1.0's transfer matrix,
#: sum_j |T_ij|^2 averaged over i; the stand-in loss of Jiuzhang 2.0 / 3.0.
JIUZHANG1_MEAN_TRANSMISSION = 0.2937

#: Seeds of the stand-in interferometers, fixed so a preset is one experiment.
_STAND_IN_SEEDS = {"jiuzhang2": 20211025, "jiuzhang3": 20231010}

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
