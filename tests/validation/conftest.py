"""Small click models shared by the validation tests: displacement,
thermalisation and dark counts; partly distinguishable light; pseudo-PNR."""
import pytest

from jiuzhang_emu import (
    Coherent,
    Experiment,
    PseudoPNR,
    SingleModeSqueezer,
    Threshold,
    TwoModeSqueezer,
    haar_unitary,
)

CLICK_MODELS = {
    "threshold-displaced-dark": lambda: Experiment(
        [TwoModeSqueezer(0.9, thermal_fraction=0.2), Coherent(0.5j), SingleModeSqueezer(0.7)],
        haar_unitary(4, rng=2).T * 0.7, Threshold(dark_count=[0.03, 0.0, 0.1, 0.02])),
    "distinguishable": lambda: Experiment(
        [SingleModeSqueezer(0.8, indistinguishability=0.4), SingleModeSqueezer(0.6),
         SingleModeSqueezer(0.9)], haar_unitary(3, rng=3).T * 0.8, Threshold()),
    "pseudo-pnr": lambda: Experiment(
        [TwoModeSqueezer(0.8), SingleModeSqueezer(0.6)], haar_unitary(3, rng=4).T * 0.75,
        PseudoPNR(n_detectors=2, dark_count=0.02)),
}
SHARED = sorted(CLICK_MODELS)


@pytest.fixture
def click_models():
    """name -> a function building the model."""
    return CLICK_MODELS
