"""Exact threshold and pseudo-PNR sampling by fan-out: 2^(clicks / 2), no cutoff.

Algorithm (Bulmer et al., Sci. Adv. 8, eabl9236 (2022), Sec. "Threshold
detectors", made exact; the pure-state chain of :mod:`.exact`):

1. As for the photon route: the lossy state is a pure state under a random
   displacement (Williamson), one heterodyne outcome beta of every mode is
   drawn, and modes leave the heterodyned set one at a time.  At mode k the
   modes measured so far fix the Bargmann function of mode k's conditional
   pure state, f(z) = L(z) exp(b z^2 / 2 + g z), L a polynomial of degree D
   (the rows so far), all of whose coefficients one native loop-hafnian pass
   gives (csrc/sampler.c).
2. Fan-out.  A threshold detector is a balanced 1 -> F splitter followed by
   F photon-number-resolving detectors: it clicks exactly when one of them
   sees light.  A pseudo-PNR detector with k threshold detectors is K = k F
   sub-detectors, F per detector.  The splitter maps f to
   f((z_1 + ... + z_K) / sqrt K), so every sub-detector's state follows
   from L alone: sub-detector i, with the sub-detectors before it dark or
   fired (N photons so far in the mode) and those after it heterodyned at
   beta_i' (the splitter of mode k's outcome beta_k and K - 1 vacuum
   ancillas: beta_k / sqrt K + xi_i, xi = eta - mean(eta), eta_i ~ CN(0, 1)),
   has the Bargmann function F^(N)(z), F(x) = f(s + x / sqrt K),
   s = sum of the heterodyned beta_i'^* / sqrt K: a polynomial times
   exp(b' x^2 / 2 + g' x), b' = b / K, g' = (g + b s) / sqrt K.  Its photon
   number is drawn from its whole distribution (the photon route's walk:
   nothing truncated, so the fan-out is exact for every F).  The first
   sub-detector of a detector that sees light fires it; the detector's
   remaining sub-detectors stay heterodyned (marginalised) and the next
   detector starts.
3. A fired mode enters the later loop hafnians as ONE row repeated N times
   (N photons in its fired sub-detectors, almost always one: the mean photon
   number of a sub-detector is 1/K of the mode's), scaled by 1 / sqrt K, and
   its heterodyned sub-detectors shift every loop by B[:, k] s.  A dark mode
   adds nothing.  So the loop hafnians have ~clicks rows instead of
   ~photons, and the sub-detectors cost O(K D^2) arithmetic per mode, not a
   loop hafnian each: deciding that a mode is dark takes one loop-hafnian
   pass however large F is.
4. Mode order.  A step costs a loop-hafnian pass over the rows so far, so
   the modes likely to stay dark should go first, while there are few.  Per
   shot, once its random displacement is drawn, the state is a fixed pure
   state, so any order chosen from the displacement alone keeps the chain
   exact: the modes go by decreasing vacuum probability of that displaced
   pure state (the displacement carries most of the light's photons: 60 of
   Jiuzhang 1.0's 79).  Not from the heterodyne outcomes: the chain forgets
   a mode's outcome when it measures it, and an order that used it would
   bias the draw.

Rounding is estimated per sub-detector draw as for the photon route
(:mod:`.exact`): the coefficients' error bounds carried through the shift,
the normaliser's and the walk's; a mode whose estimate exceeds ``MAX_MASS``
is redrawn from the same numbers with long double, then quad coefficients,
and refused (:class:`~jiuzhang_emu.errors.PrecisionLimitError`) beyond.

Clicks come from the light alone; the detector model then adds dark counts
(:meth:`~jiuzhang_emu.detectors.Detector.fire_dark`).
"""
from math import sqrt

import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.cost.routes import FANOUT_SUBDETECTORS, vacuum_orders
from jiuzhang_emu.detectors import PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError, PrecisionLimitError
from jiuzhang_emu.kernels import sample_fanout
from jiuzhang_emu.kernels.checks import check_integer
from jiuzhang_emu.samplers.exact import MAX_MASS, PhotonNumberSampler, _polynomial, inverse_cdf

#: Experiments of up to this many modes run a batch's shots in parallel
#: (their shots take up to seconds); larger ones, and single shots, share each
#: shot's large loop hafnians among the threads.
SHOTS_IN_PARALLEL = 48
#: Sub-detectors per detector (F), the cost model's: a click adds a second row
#: with probability ~ (mean photons of the mode) / (2 F); a sub-detector costs
#: O(rows^2) arithmetic.
SUB_DETECTORS = FANOUT_SUBDETECTORS


def check_experiment(experiment):
    """Refuse what the fan-out route cannot sample (before any work)."""
    if not isinstance(experiment.detector, (Threshold, PseudoPNR)):
        raise InputError(f"method 'fan-out' samples threshold or pseudo-PNR detectors, and "
                         f"{experiment.name!r} has {experiment.detector.kind} detection; use "
                         f"'exact' (or 'auto')")
    if experiment.internal_modes > 1:
        raise InputError(f"method 'fan-out' needs indistinguishable light, and "
                         f"{experiment.name!r} has partly distinguishable sources "
                         f"(indistinguishability < 1); use 'exact' or 'threshold-chain'")
    return experiment


class FanOutSampler:
    """Clicks (threshold: 0/1; pseudo-PNR: fired detectors per mode), before
    dark counts, of an experiment.

    Parameters
    ----------
    experiment : Experiment
        Threshold or pseudo-PNR detection, indistinguishable light.
    sub_detectors : int
        F >= 1, the virtual sub-detectors per detector: any F is exact; a
        larger one adds fewer second rows at a little more arithmetic.
    n_threads : int, optional
        Threads, None for all usable cores: inside each shot (its loop
        hafnians), or over the shots of a batch for experiments of up to
        ``SHOTS_IN_PARALLEL`` modes, whose shots are too short to share.  The
        clicks depend on neither.
    """

    #: The counts are clicks: the detector model adds dark counts only.
    counts_are_clicks = True

    def __init__(self, experiment, sub_detectors=SUB_DETECTORS, n_threads=None):
        check_experiment(experiment)
        self.sub_detectors = check_integer(sub_detectors, "sub_detectors", low=1)
        self.n_threads = effective_n_threads(n_threads)
        self.n_detectors = getattr(experiment.detector, "n_detectors", 1)
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)
        self._pure = PhotonNumberSampler(experiment.output_state())
        self.n_modes = experiment.n_modes
        self.unresolved_mass = 0.0

    @property
    def _K(self):
        return self.n_detectors * self.sub_detectors

    def draws(self, rng, size):
        """What ``size`` shots draw from ``rng``, in a fixed order: loops and
        heterodyne outcomes (the photon route's), the sub-detectors'
        heterodyne outcomes (size, M, K) and one uniform per sub-detector
        (size, M, K); and each shot's mode order (size, M), from its
        displacement (item 4 of the module docstring,
        :func:`~jiuzhang_emu.cost.routes.vacuum_orders`)."""
        loops, beta, pure_means = self._pure.heterodyne_draws(rng, size)
        K = self._K
        eta = rng.standard_normal((size, self.n_modes, K, 2)) @ np.array([1, 1j]) / sqrt(2)
        sub_beta = beta[..., None] / sqrt(K) + eta - eta.mean(axis=-1, keepdims=True)
        u = rng.random((size, self.n_modes, K))
        orders = vacuum_orders(self._pure.pure_cov, pure_means)
        return loops, beta, np.ascontiguousarray(sub_beta), u, orders

    def counts(self, size, rng):
        """Clicks of ``size`` shots, shape (size, M), by the native route."""
        loops, beta, sub_beta, u, orders = self.draws(rng, size)
        inner, shots = self.n_threads, 1
        if self.n_modes <= SHOTS_IN_PARALLEL and size > 1:
            inner, shots = 1, self.n_threads
        clicks, unresolved, refused = sample_fanout(
            self._pure._B, loops, beta, sub_beta, u, orders, self.n_detectors,
            self.sub_detectors, inner, shots)
        if refused.any():
            shot = int(np.flatnonzero(refused)[0])
            mode = int(np.flatnonzero(clicks[shot] < 0)[0])
            raise PrecisionLimitError(
                f"the fan-out route cannot resolve the draw of shot {shot} at mode {mode} "
                f"(after {int(np.sum(clicks[shot] > 0))} clicks): its estimated rounding "
                f"error {unresolved[shot]:.2g} exceeds the budget {MAX_MASS:g} in every "
                f"precision tier (NaN: an unusable normaliser; negative: a photon-number tail "
                f"past the walk's limit)")
        self.unresolved_mass = max(self.unresolved_mass, float(unresolved.max(initial=0)))
        return clicks

    def counts_reference(self, size, rng):
        """The same draws as :meth:`counts`, in Python (the reference the
        native route is tested against)."""
        return np.array([self._shot(*args) for args in zip(*self.draws(rng, size))],
                        dtype=np.int64).reshape(size, self.n_modes)

    def _shot(self, loops, beta, sub_beta, u, order):
        B, K, F = self._pure._B, self._K, self.sub_detectors
        loops = loops.copy()
        rows = np.zeros(self.n_modes, dtype=np.int64)  # photons of the fired sub-detectors
        scale = np.ones(self.n_modes)
        fired = np.zeros(self.n_modes, dtype=np.int64)
        for k in order:
            loops -= B[:, k] * beta[k].conjugate()
            occ = np.flatnonzero(rows)
            c = scale[occ]
            ell = _polynomial(B[np.ix_(occ, occ)] * np.outer(c, c), loops[occ] * c,
                              B[occ, k] * c, rows[occ])
            b, g = B[k, k], loops[k]
            w = sub_beta[k].conjugate().sum()
            for detector in range(self.n_detectors):
                for i in range(detector * F, (detector + 1) * F):
                    w -= sub_beta[k, i].conjugate()
                    s = w / sqrt(K)
                    b_sub, g_sub = b / K, (g + b * s) / sqrt(K)
                    poly = _shifted(ell, s, K)
                    for _ in range(rows[k]):
                        poly = _derivative(poly, b_sub, g_sub)
                    n, left = inverse_cdf(poly, b_sub, g_sub, u[k, i])
                    self.unresolved_mass = max(self.unresolved_mass, left)
                    if n:
                        rows[k] += n
                        fired[k] += 1
                        break
            if rows[k]:
                scale[k] = 1 / sqrt(K)
                loops += B[:, k] * (w / sqrt(K))
        return fired


def _shifted(ell, s, K):
    """Coefficients of L(s + x / sqrt K) in x, L(z) = sum_m ell_m z^m."""
    a = np.array(ell, dtype=complex)
    D = len(a) - 1
    for i in range(D):  # Taylor shift by repeated synthetic division
        for j in range(D - 1, i - 1, -1):
            a[j] += s * a[j + 1]
    return a * K ** (-0.5 * np.arange(D + 1))


def _derivative(p, b, g):
    """P' + (b x + g) P: the polynomial of d/dx [P(x) exp(b x^2 / 2 + g x)]."""
    out = np.zeros(len(p) + 1, dtype=complex)
    out[:-2] += p[1:] * np.arange(1, len(p))
    out[:-1] += g * p
    out[1:] += b * p
    return out
