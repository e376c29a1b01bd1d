"""The one estimator of an exact sample's cost: the expected work terms of
each route (:mod:`jiuzhang_emu.cost.routes`), priced by a calibration.

The mean work is an exponential moment of the click (photon) distribution,
E[2^C]-like, and is dominated by its far tail, which a histogram cannot
resolve.  It is computed instead as a generating function from positive-P
samples (:mod:`jiuzhang_emu.phase_space`): a no-count projector is
normally ordered, so with d_j = exp(-alpha_j beta_j) the per-sample
product prod_{j<k} (2 - d_j) averages to E[2^(c_k)], and a photon count is a
Poisson mixture, so prod_{j<k} sum_n w(n) e^(-l_j) l_j^n / n! (l_j = alpha_j
beta_j) averages to E[prod w(n_j)].  Both estimates are unbiased, with
standard errors from the spread over phase-space samples.  The "exact" route's
polynomial factor follows from the tilted cumulants of D_k.  The "fan-out"
route orders the modes per shot from the shot's Williamson displacement mu
(:func:`~jiuzhang_emu.cost.routes.vacuum_orders`); given mu it is a
fixed-order chain on the pure state displaced by mu.  So each phase-space
sample draws mu, orders the modes by it, and takes one positive-P sample of
that displaced pure state (the undisplaced pure state's, shifted by mu):
unbiased over mu and the chain.  Its rows D_k (clicks before mode k in
that order) are a sum of
independent Bernoulli terms per phase-space sample (a click with
"probability" 1 - d_j; pseudo-PNR: each of the k detectors with 1 -
exp(-l_j / k)), so E[x^(D_k) D_k^p] follows exactly from a forward
recursion over modes at x = 1, sqrt 2 and -sqrt 2: the last separates even
and odd D_k, which fixes the ceiling of 2^ceil(D_k / 2) and the floors of
the leaf's polynomial exactly.

Precision.  The work of the "threshold-chain" route is spread over click numbers like
2^C P(C) (the same phase-space samples), and the share of shots past each
tier's click count (:mod:`jiuzhang_emu.cost.precision`) costs the tier's
factor more.  Many-click shots, which dominate the mean, mostly run in
double-double.

``auto`` (method choice), the runtime guard of a run, the ``cost`` command
and the advantage table all call :func:`predict`, which keeps its estimates
for repeated calls with the same seed.
"""
import math
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.cost.calibration import Calibration
from jiuzhang_emu.cost.machines import SECONDS_PER_YEAR, scaled_seconds
from jiuzhang_emu.cost.precision import escalating_clicks
from jiuzhang_emu.cost.routes import FANOUT_SUBDETECTORS, rates, vacuum_orders
from jiuzhang_emu.detectors import PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.states import GaussianState

_CHUNK = 1_000
#: The route of an estimate (the one ``method="auto"`` takes) is "fan-out"
#: where predicted cheaper than every other route by ``FANOUT_ROUTE_MARGIN``;
#: else "threshold-chain",
#: the threshold detector's own route, unless "exact" is predicted cheaper by
#: more than this factor.  At a few modes the fixed per-shot terms dominate
#: and the model cannot rank routes within tens of per cent: on a 4-mode
#: experiment it put both within 4 %, and the photon route measured 3x slower.
PHOTON_ROUTE_MARGIN = 1.25
#: Tiny experiments: the fan-out's per-shot Python work (its sub-detector
#: draws, in the per-mode rate) is as large as the other routes' whole shot
#: (4 modes: 35-60 us per shot, as the photon route), so it is taken only
#: where predicted this much cheaper than every other route.
FANOUT_ROUTE_MARGIN = 2.0


def _prefix(x):
    """Sums over modes j < k, for every k (axis 1)."""
    out = np.zeros_like(x)
    np.cumsum(x[:, :-1], axis=1, out=out[:, 1:])
    return out


def _click_work(d):
    """Per phase-space sample, the estimate of sum_k 2^(c_k), from the dark
    estimates d (samples, modes): E[x^(c_k)] = prod_{j<k} (d_j + x (1 - d_j))
    at x = 2."""
    return np.exp(_prefix(np.log(2 - d))).sum(axis=1)


def _photon_work(lam):
    """Per phase-space sample, the estimates of (loop-hafnian calls, work) of
    the photon chain rule, from the normally ordered photon numbers ``lam``
    (samples, modes).

    Per mode the leaf weight w(n) = (n // 2 + 1) 2^((n % 2) / 2) summed
    against the Poisson mixture is e^(-l) h(l), with h(y) = sum_n w(n) y^n / n!
    = cosh y + (y / 2) sinh y + (sinh y + y cosh y) / sqrt 2; the tilted
    moments of the photon count, (y d/dy)^p h / h, add up to the cumulants of
    D_k for the polynomial factor.  The 2^(1/4) restores the ceiling of
    2^(singles / 2) on average.
    """
    lam = lam.astype(complex)
    e = np.exp(-2 * lam)
    c, s = (1 + e) / 2, (1 - e) / 2  # e^(-y) cosh y, e^(-y) sinh y
    r = 1 / math.sqrt(2)
    h0 = c + lam / 2 * s + r * (s + lam * c)  # e^(-y) h and its derivatives
    h1 = 1.5 * s + lam / 2 * c + r * (2 * c + lam * s)
    h2 = 2 * c + lam / 2 * s + r * (3 * s + lam * c)
    h3 = 2.5 * s + lam / 2 * c + r * (4 * c + lam * s)
    m1 = lam * h1 / h0
    m2 = m1 + lam**2 * h2 / h0
    m3 = m1 + 3 * lam**2 * h2 / h0 + lam**3 * h3 / h0
    k1, k2, k3 = _prefix(m1), _prefix(m2 - m1**2), _prefix(m3 - 3 * m1 * m2 + 2 * m1**3)
    d1, d2, d3 = k1, k2 + k1**2, k3 + 3 * k2 * k1 + k1**3  # raw moments of D_k
    poly = (d3 + 7 * d2 + 16.25 * d1 + 12.5) / 4          # E (D + 2.5)^2 (D + 2) / 4
    no_photons = np.exp(-_prefix(lam))                     # P(D_k = 0): no call
    work = (np.exp(_prefix(np.log(h0))) * poly - 12.5 / 4 * no_photons).sum(axis=1)
    return (1 - no_photons).sum(axis=1), work * 2**0.25


#: Leaf work of the fan-out's loop hafnian with D rows, ((D + 1) // 2 + 1)^2
#: (D + 1), as polynomials in D (coefficients of D^0 .. D^3) for even and odd D.
_EVEN_LEAF = np.array([1.0, 2.0, 1.25, 0.25])
_ODD_LEAF = np.array([2.25, 3.75, 1.75, 0.25])


def _fanout_work(lam, n_detectors):
    """Per phase-space sample, the estimates of (loop-hafnian calls, their
    work, sum_k (D_k + 1)^2) of the fan-out route, from the normally ordered
    photon numbers ``lam`` (samples, modes) in processing order.

    S_p(x) = E[x^D D^p] for the rows D so far; a detector that fires with
    "probability" q = 1 - e adds a row: S_p <- e S_p + x q sum_{i<=p} C(p, i)
    S_i.  The work of a call, 2^ceil(D / 2) leaf(D), is 2^(D / 2) (even(D) +
    sqrt 2 odd(D) + (-1)^D (even(D) - sqrt 2 odd(D))) / 2, with even and odd
    the leaf's polynomials (all D), i.e. S_p at x = +-sqrt 2.
    """
    size, n_modes = lam.shape
    r2 = math.sqrt(2)
    xs = np.array([1.0, r2, -r2])[:, None]
    S0, S1, S2, S3 = (np.full((3, size), float(p == 0), dtype=complex) for p in range(4))
    plus, minus = (_EVEN_LEAF + r2 * _ODD_LEAF) / 2, (_EVEN_LEAF - r2 * _ODD_LEAF) / 2
    no_rows = np.ones(size, dtype=complex)  # P(D = 0)
    calls = np.zeros(size, dtype=complex)
    work = np.zeros(size, dtype=complex)
    substeps = np.zeros(size, dtype=complex)
    e = np.exp(-lam.astype(complex) / n_detectors)
    for j in range(n_modes):
        calls += 1 - no_rows
        work += (plus[0] * S0[1] + plus[1] * S1[1] + plus[2] * S2[1] + plus[3] * S3[1]
                 + minus[0] * S0[2] + minus[1] * S1[2] + minus[2] * S2[2] + minus[3] * S3[2]
                 - _EVEN_LEAF[0] * no_rows)
        substeps += S2[0] + 2 * S1[0] + S0[0]
        ej = e[:, j]
        xq = xs * (1 - ej)
        for _ in range(n_detectors):
            # (D + 1)^p = sum_i C(p, i) D^i for the terms where the detector fires
            S0, S1, S2, S3 = (ej * S0 + xq * S0, ej * S1 + xq * (S0 + S1),
                              ej * S2 + xq * (S0 + 2 * S1 + S2),
                              ej * S3 + xq * (S0 + 3 * S1 + 3 * S2 + S3))
            no_rows = no_rows * ej
    return calls, work, substeps


def _tilted_click_numbers(dark):
    """Sum over phase-space samples of the coefficients of
    prod_j (d_j + 2 y (1 - d_j)): the click-number distribution weighted by
    2^C, the shape of the "threshold-chain" route's work."""
    poly = np.zeros((dark.shape[0], dark.shape[1] + 1), dtype=complex)
    poly[:, 0] = 1
    for j in range(dark.shape[1]):
        d = dark[:, j:j + 1]
        poly[:, 1:j + 2] = poly[:, 1:j + 2] * d + poly[:, :j + 1] * 2 * (1 - d)
        poly[:, 0] *= dark[:, j]
    return poly.real.sum(axis=0)


def _mean(values):
    values = np.concatenate(values).real
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


@dataclass(frozen=True)
class CostEstimate:
    """Predicted time of one exact sample, on one core of the calibrated
    machine, for each route (seconds; the standard error is that of the
    phase-space estimate)."""

    name: str
    n_modes: int
    routes: dict
    """route ("exact", "threshold-chain", "fan-out") -> (seconds per sample,
    standard error)."""
    calibration: Calibration
    samples: int
    work_by_clicks: object = None
    """Threshold: the share of the "threshold-chain" route's work done by samples of
    each click number (from 2^C P(C)), an array of length modes + 1."""
    tier_factors: object = None
    """Threshold: the "threshold-chain" route's cost multiplier for a sample with C
    clicks (precision tiers), an array of length modes + 1."""

    @property
    def route(self):
        """The route that ``method="auto"`` takes: "fan-out" where predicted
        cheaper than every other route by ``FANOUT_ROUTE_MARGIN``, else
        "threshold-chain" unless "exact" is predicted cheaper by more than
        ``PHOTON_ROUTE_MARGIN``."""
        fanout = self.routes.get("fan-out")
        if fanout is not None and all(FANOUT_ROUTE_MARGIN * fanout[0] < seconds
                                      for route, (seconds, _)
                                      in self.routes.items() if route != "fan-out"):
            return "fan-out"
        chain = self.routes.get("threshold-chain")
        if chain is not None and chain[0] <= PHOTON_ROUTE_MARGIN * self.routes["exact"][0]:
            return "threshold-chain"
        return "exact"

    @property
    def seconds_per_sample(self):
        return self.routes[self.route][0]

    @property
    def standard_error(self):
        return self.routes[self.route][1]

    def seconds(self, shots=1, machine=None):
        """Predicted seconds for ``shots`` samples, on one core here or, with
        ``machine`` (a name of :data:`~jiuzhang_emu.cost.SUPERCOMPUTERS`), on
        all of that machine."""
        return scaled_seconds(self.seconds_per_sample * shots,
                              self.calibration.flops_per_core, machine)

    def years(self, shots=1, machine=None):
        return self.seconds(shots, machine) / SECONDS_PER_YEAR


_ESTIMATES = {}  # by (fingerprint, samples, seed, calibration): the estimate is not free


def predict(experiment, *, samples=20_000, rng=0, calibration=None):
    """Predicted time of one exact sample of ``experiment``, per route.

    Parameters
    ----------
    experiment : Experiment
    samples : int
        Positive-P samples behind the expected work (the standard error
        shrinks as 1 / sqrt(samples)).
    rng : anything numpy.random.default_rng accepts
        With an integer seed (the default) the estimate is kept and returned
        again for the same arguments.
    calibration : Calibration, optional
        Default: the stored rates of the development machine; pass
        ``jiuzhang_emu.samplers.calibration.calibrate()`` for this machine's.

    Returns
    -------
    CostEstimate
        The "exact" route for every detector; "threshold-chain" as well for
        threshold detectors; "fan-out" for threshold and pseudo-PNR
        detectors of indistinguishable light (``internal_modes == 1``).
    """
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InputError(f"samples must be an integer >= 2, got {samples!r}")
    cal = Calibration() if calibration is None else calibration
    key = None
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        key = (experiment.fingerprint(), int(samples), int(rng), cal)
        if key in _ESTIMATES:
            return _ESTIMATES[key]
    estimate = _estimate(experiment, int(samples), np.random.default_rng(rng), cal)
    if key is not None:
        _ESTIMATES[key] = estimate
    return estimate


def _estimate(experiment, samples, rng, cal):
    from jiuzhang_emu.phase_space import PhaseSpaceSampler

    M, internal = experiment.n_modes, experiment.internal_modes
    threshold = isinstance(experiment.detector, Threshold)
    fanout = internal == 1 and isinstance(experiment.detector, (Threshold, PseudoPNR))
    n_detectors = getattr(experiment.detector, "n_detectors", 1)
    state = experiment.output_state()
    sampler = PhaseSpaceSampler(state)
    if fanout:
        # per shot the route orders the modes by the displacement mu of the
        # pure state (Williamson); given mu it is a fixed-order chain on the
        # pure state displaced by mu, whose positive-P samples are the
        # undisplaced pure state's shifted by mu
        pure_cov, noise = state.pure_decomposition()
        pure_sampler = PhaseSpaceSampler(GaussianState(pure_cov))
    photon_rates, click_rates = rates("exact", cal), rates("threshold-chain", cal)
    fanout_rates = rates("fan-out", cal)
    photon_seconds, click_work, fanout_seconds = [], [], []
    tilted = np.zeros(M + 1)
    for start in range(0, samples, _CHUNK):
        size = min(_CHUNK, samples - start)
        alpha, beta = sampler.sample(size, rng)
        lam = alpha * beta
        calls, work = _photon_work(lam)
        # the expected terms of routes.log2_terms(pattern, "exact"), priced
        photon_seconds.append(M * internal * photon_rates[0] + calls * photon_rates[1]
                              + work * photon_rates[2])
        if fanout:
            # the expected terms of routes.log2_terms(clicks, "fan-out", **route_options), priced
            mu = state.means + rng.standard_normal((size, 2 * M)) @ noise.T
            order = vacuum_orders(pure_cov, mu)
            shift = (mu[:, :M] + 1j * mu[:, M:]) / 2
            alpha, beta = pure_sampler.sample(size, rng)
            lam_pure = np.take_along_axis((alpha + shift) * (beta + shift.conj()), order, axis=1)
            calls, work, substeps = _fanout_work(lam_pure, n_detectors)
            fanout_seconds.append(M * fanout_rates[0] + calls * fanout_rates[1]
                                  + work * fanout_rates[2] + n_detectors * FANOUT_SUBDETECTORS
                                  * substeps * fanout_rates[3])
        if threshold:
            # the click chain draws the light's clicks; dark counts come after
            dark = np.exp(-lam.reshape(size, internal, M).sum(axis=1))
            click_work.append(_click_work(dark))
            tilted += _tilted_click_numbers(dark)
    routes = {"exact": _mean(photon_seconds)}
    if fanout:
        routes["fan-out"] = _mean(fanout_seconds)
    if not threshold:
        return CostEstimate(experiment.name, M, routes, cal, samples)
    # shots whose double-precision condition breaks the error budget are
    # redrawn in a higher tier: the work of a shot with C clicks costs
    # (1 + the tier's factor) from the tier's click count on; the work is
    # spread over C like 2^C P(C)
    share = np.maximum(tilted, 0) / max(np.maximum(tilted, 0).sum(), 1e-300)
    factor = np.ones(M + 1)
    for tier, tier_factor in (
            ("extended", cal.extended_factor),
            ("double-double", cal.double_double_factor),
            ("reference", cal.double_double_factor + cal.reference_factor)):
        factor[escalating_clicks(experiment, tier, rng):] = 1 + tier_factor
    # the expected terms of routes.log2_terms(clicks, "threshold-chain", internal), priced
    work, error = _mean(click_work)
    scale = internal**2 * click_rates[2] * float(share @ factor)
    base = M * click_rates[0] + internal**2 * M**3 * click_rates[1]
    routes["threshold-chain"] = (float(base + scale * work), float(scale * error))
    return CostEstimate(experiment.name, M, routes, cal, samples, share, factor)
