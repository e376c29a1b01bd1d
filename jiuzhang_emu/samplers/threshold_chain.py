"""Threshold sampling by the click chain rule.

Mode by mode, p(c_k = 1 | c_<k) = p(c_<k, 1) / p(c_<k), with p the marginal
click probability of modes 0..k: a (loop) torontonian of the reduced state
(Quesada, Arrazola, Killoran, PRA 98, 062322 (2018); the chain rule of
Quesada & Arrazola, PRR 2, 023005 (2020)).  Exact, with 2^clicks terms per
step.

The native route (csrc/click_sampler.c) conditions the state on vacuum at
every dark detector (a Schur complement), so a step costs 2^(clicks so far)
small Cholesky extensions whatever the number of dark modes before it.  The
reference route evaluates each marginal with
:func:`~jiuzhang_emu.probabilities.detection_probability` (auto precision).  Both
are the same function of one uniform number per mode, so they give the same
clicks.  The alternating sums can cancel: a conditional click probability
carries an absolute error of about sum(|terms|) / value times the unit
roundoff.  A shot whose estimate exceeds the budget
:data:`~jiuzhang_emu.kernels.precision.SAMPLING_ATOL` in float64 is redrawn
from the same uniforms in the cheapest tier that meets it, long double or
double-double (~106 bits) (:func:`~jiuzhang_emu.kernels.precision.escalate`),
and in the (never yet seen) case that even double-double does not, by the
reference route.

Clicks are drawn from the light alone; the detector model then adds dark
counts, as for every other sampler.
"""
import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import precision, sample_clicks
from jiuzhang_emu.probabilities import detection_probability


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
        self.redrawn = {"extended": 0, "double-double": 0, "reference": 0}  # by route
        self._G, self._v, self._block = experiment.vacuum_form()

    def counts(self, size, rng):
        """Clicks (0/1) of ``size`` shots, shape (size, M): the counts the
        detector model turns into patterns."""
        return self.clicks(rng.random((size, self._experiment.n_modes)))

    def clicks(self, u, n_threads=1):
        """The clicks that the uniforms ``u`` (shots, modes) select; shots
        run on ``n_threads`` threads (the clicks do not depend on it)."""
        def run(tier, index):
            clicks, condition = sample_clicks(self._G, self._v, self._block,
                                              u if index is None else u[index], tier, n_threads)
            return condition, clicks

        ladder = precision.escalate(run, len(u), precision.SAMPLING_ATOL)
        (clicks,) = ladder.outputs
        for tier in ("extended", "double-double"):
            self.redrawn[tier] += int(np.sum(ladder.tiers == tier))
        for shot in np.flatnonzero(ladder.error_estimate > precision.SAMPLING_ATOL):
            clicks[shot] = self.clicks_reference(u[shot])
            self.redrawn["reference"] += 1
        return clicks

    def _marginal(self, clicks):
        """P(modes 0..len(clicks)-1 show ``clicks``), light only."""
        modes = np.arange(len(clicks))
        state = self._experiment.marginal_state(modes)
        return detection_probability(state, self._light, clicks, np.zeros(len(clicks)),
                                     self._experiment.internal_modes).value

    def clicks_reference(self, u):
        """The clicks that the uniforms ``u`` (one per mode) select, from
        marginal probabilities evaluated one by one."""
        M = self._experiment.n_modes
        clicks = np.zeros(M, dtype=np.int64)
        previous = 1.0
        for k in range(M):
            clicks[k] = 1
            p_click = self._marginal(clicks[:k + 1])
            if u[k] * previous < p_click:
                previous = p_click
            else:
                clicks[k] = 0
                previous -= p_click
        return clicks
