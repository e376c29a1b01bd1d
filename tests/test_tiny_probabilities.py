"""Probabilities whose error estimate exceeds them, probabilities outside
[0, 1], and the pricing of partly distinguishable light (issue 13, items 3,
4 and 9)."""
import tracemalloc

import numpy as np
import pytest
import thewalrus

from jiuzhang_emu import presets
from jiuzhang_emu.detectors import PhotonNumberResolving, Threshold
from jiuzhang_emu.errors import KernelError, PrecisionWarning, RuntimeLimitError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.probabilities import ProbabilityResult, check_probability
from jiuzhang_emu.sources import SingleModeSqueezer
from jiuzhang_emu.validation.hypotheses import PatternProbabilities


def test_tiny_threshold_probability_says_it_is_unknown():
    """Threshold [1] * 8 at r = 3e-4: the torontonian sums 2^8 terms of size ~1
    to 2.4e-34, so even double-double (u = 5e-32) keeps no digit: it returned
    2.28e-31 with an error estimate of 1.3e-29, silently (1e-20 floor)."""
    e = presets.random_experiment(8, r=0.0003, transmission=0.5, rng=1)
    with pytest.warns(PrecisionWarning, match="not one digit"):
        info = e.probability([1] * 8, return_info=True)
    assert info.error_estimate > abs(info.value)
    with pytest.warns(PrecisionWarning, match="not one digit"):
        e.probability([1] * 8, precision="double")
    # the validation statistics use the same value, and say so too
    with pytest.warns(PrecisionWarning):
        PatternProbabilities(e)(np.array([[1] * 8]))


def test_tiny_but_accurate_probability_does_not_warn():
    """The same light on PNR detectors: 2.4e-34 from a hafnian of condition
    ~200, right to 1e-12 against thewalrus; no floor is needed to stay quiet."""
    e = presets.random_experiment(8, r=0.0003, transmission=0.5, rng=1)
    pnr = Experiment(e.input_state(), e.transfer_matrix, PhotonNumberResolving())
    info = pnr.probability([1] * 8, return_info=True)  # filterwarnings=error: no warning
    state = pnr.output_state()
    want = (thewalrus.hafnian(state.a_matrix()) * state.vacuum_probability()).real
    assert want == pytest.approx(2.44e-34, rel=0.01)
    assert info.value == pytest.approx(want, rel=1e-10)
    assert info.error_estimate < 1e-8 * info.value


def test_exact_zero_does_not_warn():
    e = Experiment([SingleModeSqueezer(1.0)], np.eye(1), PhotonNumberResolving())
    info = e.probability([7], return_info=True)
    assert info.value == 0 and info.error_estimate == 0


@pytest.mark.parametrize("value, error", [(19487.9, 7.3e5), (3.4e10, 2.8e12), (1.5, 0.0),
                                          (-1e-3, 1e-6), (np.nan, 0.0)])
def test_probability_outside_the_unit_interval_is_refused(value, error):
    with pytest.raises(KernelError, match="precision"):
        check_probability(ProbabilityResult(value, "extended", error), np.array([50, 50]),
                             "auto")


def test_rounding_above_one_is_one_and_small_negatives_warn():
    result = check_probability(ProbabilityResult(1 + 1e-15, "double", 1e-16), np.array([0]),
                                  "auto")
    assert result.value == 1.0
    with pytest.warns(PrecisionWarning, match="not one digit"):
        check_probability(ProbabilityResult(-1e-17, "double", 1e-15), np.array([1]), "double")


def _distinguishable(M, detector, r=0.5):
    return Experiment([SingleModeSqueezer(r, indistinguishability=0.8) for _ in range(M)],
                      haar_unitary(M, rng=1) * 0.9, detector)


@pytest.mark.parametrize("M, pattern, detector", [
    (16, [1] * 16, Threshold()),          # 6.6e4 determinants up to 544 x 544
    (4, [2, 2, 2, 2], PhotonNumberResolving()),  # 5.1e4 splits (89 s)
])
def test_distinguishable_refused_up_front(M, pattern, detector):
    e = _distinguishable(M, detector)
    e.output_state()
    tracemalloc.start()
    try:
        with pytest.raises(RuntimeLimitError, match="max_seconds=1"):
            e.probability(pattern, max_seconds=1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.1f} MB before refusing (was 7.85 GB)"


def test_distinguishable_mpmath_pass_priced():
    """6 modes of threshold clicks need the 34-digit pass (292 s measured):
    refused before it starts when max_seconds is below its price."""
    e = _distinguishable(6, Threshold())
    with pytest.raises(RuntimeLimitError, match="in mpmath"):
        e.probability([1] * 6, max_seconds=60)
