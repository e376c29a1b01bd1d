"""The native chain rule (csrc/sampler.c) against the Python reference:
the same random inputs must give the same patterns."""
import numpy as np
import pytest

from jiuzhang_emu import Coherent, Experiment, SingleModeSqueezer, TwoModeSqueezer, haar_unitary, presets
from jiuzhang_emu.samplers.exact import MAX_MASS, PhotonNumberSampler

EXPERIMENTS = {
    "squeezed-lossy": lambda: presets.random_experiment(6, r=0.7, transmission=0.7, rng=1),
    "bright-displaced": lambda: Experiment([TwoModeSqueezer(1.2, 0.3), Coherent(0.8 + 0.5j)],
                                           haar_unitary(3, rng=11).T * 0.9),
    "single-bright": lambda: Experiment([SingleModeSqueezer(2.0)], np.eye(1)),
    "jiuzhang-like": lambda: presets.jiuzhang_like(8, r=1.2, transmission=0.4, rng=4),
}


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_native_equals_reference(name):
    sampler = PhotonNumberSampler(EXPERIMENTS[name]().output_state())
    native = sampler.sample(np.random.default_rng(5), 60)
    reference = sampler.sample_reference(np.random.default_rng(5), 60)
    np.testing.assert_array_equal(native, reference)
    assert native.sum() > 0
    # the coefficients' rounding estimate (~1e-10 for bright displaced light) included
    assert sampler.unresolved_mass < MAX_MASS


def test_threads_do_not_change_samples():
    sampler = PhotonNumberSampler(presets.random_experiment(8, r=0.8, rng=2).output_state())
    one = sampler.sample(np.random.default_rng(9), 100, n_threads=1)
    two = sampler.sample(np.random.default_rng(9), 100, n_threads=2)
    np.testing.assert_array_equal(one, two)
