"""Threshold sampling by the torontonian chain rule: the reference route.

Mode by mode, p(c_k = 1 | c_<k) = p(c_<k, 1) / p(c_<k), with p the marginal
click probability of modes 0..k, a (loop) torontonian of the reduced state
(Quesada, Arrazola, Killoran, PRA 98, 062322 (2018); the chain rule of
Quesada & Arrazola, PRR 2, 023005 (2020)).  Exact, with 2^clicks cost per
step; the fast route is the exact photon-number sampler coarse-grained
(:mod:`jiuzhang_emu.samplers.exact`), and the two must agree statistically.

Clicks are drawn from the light alone; the detector model then adds dark
counts, as for every other sampler.
"""
import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError


class ThresholdChainSampler:
    """Clicks (0/1, before dark counts) of a threshold experiment."""

    def __init__(self, experiment):
        if not isinstance(experiment.detector, Threshold):
            raise InputError(f"method 'threshold-chain' needs threshold detectors, got "
                             f"{experiment.detector.kind} detection")
        self._experiment = experiment
        self._light = Threshold()  # no dark counts: the detector adds them afterwards
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)
        self.unresolved_mass = 0.0

    def _marginal(self, clicks):
        """P(modes 0..len(clicks)-1 show ``clicks``), light only."""
        modes = np.arange(len(clicks))
        state = self._experiment._state_of(modes)
        return self._light.probability(state, clicks, np.zeros(len(clicks)),
                                       self._experiment.internal_modes).value

    def photons(self, size, rng):
        M = self._experiment.n_modes
        out = np.zeros((size, M), dtype=np.int64)
        for shot in range(size):
            previous = 1.0
            for k in range(M):
                clicks = out[shot, :k + 1].copy()
                clicks[k] = 1
                p_click = self._marginal(clicks)
                if rng.random() * previous < p_click:
                    out[shot, k] = 1
                    previous = p_click
                else:
                    previous -= p_click
        return out
