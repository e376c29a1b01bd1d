"""The classical cost of exact samples: predicted time per sample and per data
set, on this machine and extrapolated to named supercomputers.

Model.  The exact samplers are chain rules whose work per shot is a known
function of the pattern drawn (:mod:`jiuzhang_emu.samplers.planning`):

* click route (threshold): sum_k 2^(c_k) subsets, c_k the clicks before
  mode k (the measured cost per subset does not grow with c), plus M^3 of
  Schur complements;
* photon route (any detector; clicks by coarse-graining): at every mode after
  the first photon one loop hafnian of the D_k photons so far, with
  prod_i (n_i // 2 + 1) 2^(singles / 2) leaves of ~(D_k + 2.5)^2 (D_k + 2) / 4
  work each (repeated rows, Bulmer et al., Sci. Adv. 8, eabl9236 (2022)).

Seconds per unit of work come from :class:`Calibration` (:func:`calibrate`
times the native samplers on this machine).  The mean work is an exponential
moment of the click (photon) distribution, E[2^C]-like, and is dominated by
its far tail, which a histogram cannot resolve.  It is computed instead as
a generating function from the validation layer's positive-P samples
(:mod:`jiuzhang_emu.validation.phase_space`): a no-count projector is
normally ordered, so with d_j = g_j exp(-alpha_j beta_j) the per-sample
product prod_{j<k} (2 - d_j) averages to E[2^(c_k)], and a photon count is a
Poisson mixture, so prod_{j<k} sum_n w(n) e^(-l_j) l_j^n / n! (l_j = alpha_j
beta_j) averages to E[prod w(n_j)].  Both estimates are unbiased, with
standard errors from the spread over phase-space samples.  The photon route's
polynomial factor follows from the tilted cumulants of D_k.

Precision.  The click sampler redraws a shot in long double or double-double
(or, past those, by the Python reference route) when its float64 error
estimate breaks the budget, and the estimate grows geometrically with the
clicks.  The click count where each tier takes over is measured on cheap runs
of the first modes and extrapolated; the work is spread over click numbers
like 2^C P(C) (the same phase-space samples), and each tier's share costs the
tier's factor more.  Many-click shots, which dominate the mean, mostly run in
double-double.

Extrapolation.  A supercomputer's time is this machine's one-core time scaled
by (this machine's sustained float64 rate per core, measured as a matrix
product) / (the supercomputer's HPL Rmax).  The assumptions: the sampler
reaches the same fraction of the machine's LINPACK rate there as here (GPU
systems would need an equally efficient GPU port), and it parallelises
perfectly over all cores (shots are independent, and one shot's subsets or
hafnian leaves split evenly).  Both are generous to the classical side.
"""
import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.samplers import planning

SECONDS_PER_YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Supercomputer:
    name: str
    rmax: float
    """Sustained float64 rate, FLOP/s (HPL Rmax)."""
    source: str


SUPERCOMPUTERS = {
    "TaihuLight": Supercomputer("Sunway TaihuLight", 93.01e15, "TOP500, June 2016 (HPL)"),
    "Fugaku": Supercomputer("Fugaku", 442.01e15, "TOP500, November 2020 onwards (HPL)"),
    "Frontier": Supercomputer("Frontier", 1.353e18, "TOP500, November 2024 (HPL)"),
    "El Capitan": Supercomputer("El Capitan", 1.809e18, "TOP500, November 2025 (HPL)"),
}


def supercomputer(name):
    try:
        return SUPERCOMPUTERS[name]
    except KeyError:
        raise InputError(f"machine must be one of {sorted(SUPERCOMPUTERS)}, "
                         f"got {name!r}") from None


@dataclass(frozen=True)
class Calibration:
    """Seconds per unit of sampler work on one core of a machine, and the
    machine's sustained float64 rate per core."""

    subset_seconds: float = planning._SUBSET_SECONDS  # click route
    click_mode_seconds: float = planning._CLICK_MODE_SECONDS
    schur_seconds: float = planning._SCHUR_SECONDS
    work_seconds: float = planning._WORK_SECONDS  # photon route
    call_seconds: float = planning._CALL_SECONDS
    mode_seconds: float = planning._MODE_SECONDS
    extended_factor: float = 5.3       # click route: long double / double
    double_double_factor: float = 11.0  # click route: double-double / double
    #: click route, shots beyond double-double's budget: the reference route's
    #: torontonians, ~0.7x the native double chain on 2 threads at double,
    #: x10 at double-double; estimated, not measured by :func:`calibrate`
    reference_factor: float = 15.0
    flops_per_core: float = 54e9
    machine: str = "stored: 2-core AMD EPYC (Zen 5), the development machine"


def _best_seconds(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def measure_flops(n=2048, repeats=5):
    """Sustained float64 FLOP/s per core: a matrix product (numpy's BLAS)
    divided by the threads BLAS runs on (the usable cores, or fewer when
    OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or OMP_NUM_THREADS says so)."""
    import os

    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)), rng.random((n, n))
    seconds = _best_seconds(lambda: a @ b, repeats)
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(var, "").isdigit() and int(os.environ[var]) > 0:
            threads = min(threads or 1, int(os.environ[var]))
            break
    return 2.0 * n**3 / seconds / max(1, threads or 1)


def _per_batch_rates(seconds, columns):
    """Rates r >= 0 with seconds ~ columns @ r, fitted in relative terms."""
    from scipy.optimize import nnls

    seconds = np.asarray(seconds)
    weights = 1 / seconds
    rates, _ = nnls(np.asarray(columns) * weights[:, None], seconds * weights)
    return rates


def calibrate(*, batches=6, rng=0):
    """Measure the :class:`Calibration` of this machine (~10-20 s).

    Times the native samplers on one thread in batches of the sampling
    batch size (so per-call overheads weigh as in ``Experiment.sample``), on
    Jiuzhang-like experiments of three sizes whose work per batch spreads
    over decades, and fits the seconds per unit of each work term by
    non-negative least squares in relative error.  The precision tiers'
    factors are timed on the same shots of a larger experiment, and the
    sustained float rate comes from :func:`measure_flops`.
    """
    import platform

    from jiuzhang_emu.kernels import _kernels
    from jiuzhang_emu.kernels.precision import TIERS
    from jiuzhang_emu.presets import jiuzhang_like
    from jiuzhang_emu.samplers import BATCH_SIZE as shots
    from jiuzhang_emu.samplers.exact import PhotonNumberSampler

    rng = np.random.default_rng(rng)
    seconds, columns = [], []
    # two brightnesses per size, so that the work does not follow the size
    for n_modes, r in itertools.product((8, 14, 20), (0.7, 1.5)):
        experiment = jiuzhang_like(n_modes, r=r, transmission=0.4, rng=n_modes)
        G, v, block = experiment.vacuum_form()  # float64 only: tiers are timed below

        def draw():
            return _kernels.sample_clicks(G, v, block, u, "double", 1)[0]

        u = rng.random((shots, n_modes))
        draw()  # warm-up
        for _ in range(batches):
            u = rng.random((shots, n_modes))
            seconds.append(_best_seconds(draw, 1))
            columns.append([shots * n_modes, shots * n_modes**3,
                            planning._click_chain_work(draw()).sum()])
    click_mode, schur, subset = _per_batch_rates(seconds, columns)
    G, v, block = jiuzhang_like(24, r=1.5, transmission=0.4, rng=24).vacuum_form()
    u = rng.random((16, 24))
    tier_seconds = {tier: _best_seconds(lambda: _kernels.sample_clicks(G, v, block, u, tier, 1), 1)
                    for tier in TIERS}

    seconds, columns = [], []
    for n_modes, r in itertools.product((6, 10, 14), (0.5, 1.0)):
        experiment = jiuzhang_like(n_modes, r=r, transmission=0.5, detectors="pnr",
                                   rng=n_modes)
        sampler = PhotonNumberSampler(experiment.output_state())
        sampler.sample(rng, shots)  # warm-up
        for _ in range(batches):
            seed = int(rng.integers(2**63))
            seconds.append(_best_seconds(
                lambda: sampler.sample(np.random.default_rng(seed), shots), 1))
            patterns = sampler.sample(np.random.default_rng(seed), shots)
            calls, work = np.sum([planning._chain_rule_work(p) for p in patterns], axis=0)
            columns.append([shots * n_modes, calls, work])
    mode, call, work = _per_batch_rates(seconds, columns)
    return Calibration(subset_seconds=float(subset), click_mode_seconds=float(click_mode),
                       schur_seconds=float(schur), work_seconds=float(work),
                       call_seconds=float(call), mode_seconds=float(mode),
                       extended_factor=tier_seconds["extended"] / tier_seconds["double"],
                       double_double_factor=(tier_seconds["double-double"]
                                             / tier_seconds["double"]),
                       flops_per_core=float(measure_flops()),
                       machine=f"measured: {platform.node()} ({platform.machine()})")


_CHUNK = 1_000


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


def _tilted_click_numbers(dark):
    """Sum over phase-space samples of the coefficients of
    prod_j (d_j + 2 y (1 - d_j)): the click-number distribution weighted by
    2^C, the shape of the click route's work."""
    poly = np.zeros((dark.shape[0], dark.shape[1] + 1), dtype=complex)
    poly[:, 0] = 1
    for j in range(dark.shape[1]):
        d = dark[:, j:j + 1]
        poly[:, 1:j + 2] = poly[:, 1:j + 2] * d + poly[:, :j + 1] * 2 * (1 - d)
        poly[:, 0] *= dark[:, j]
    return poly.real.sum(axis=0)


#: Expected clicks of the prefix runs that measure the condition growth.
_PREFIX_CLICKS = (4, 7, 10)


def _escalating_clicks(experiment, tier, rng):
    """The click count from which the click sampler's error estimate
    (condition x unit roundoff) exceeds the budget in ``tier``'s predecessor,
    i.e. shots are redrawn in ``tier`` ("reference": the Python route)."""
    from jiuzhang_emu.kernels.precision import SAMPLING_ATOL, TIERS, UNIT_ROUNDOFF

    a, b, d = _condition_growth(experiment, rng)
    M = experiment.n_modes
    previous = TIERS[(*TIERS, "reference").index(tier) - 1]
    limit = math.log(SAMPLING_ATOL / UNIT_ROUNDOFF[previous])
    if b <= 0:
        return M + 1
    return int(np.clip(math.ceil((limit - a - d * M) / b), 0, M + 1))


def _condition_growth(experiment, rng, shots=200):
    """(a, b, d) of log(condition) ~ a + b c + d m for c clicks in m modes.

    The condition grows geometrically with the clicks (roughly a factor
    (2 - p) / p per click of probability p) and, more slowly, with the modes.
    The chain rule at mode k sees only modes <= k, so cheap runs of the first
    m modes, with a few clicks expected, measure it; callers extrapolate to
    all modes.  Fitted once per experiment."""
    from jiuzhang_emu.kernels import _kernels

    key = experiment.fingerprint()
    if key not in _CONDITION_GROWTH:
        G, v, block = experiment.vacuum_form()
        M = experiment.n_modes
        expected = np.cumsum(experiment.click_probabilities())
        rows, log_condition = [], []
        for clicks in _PREFIX_CLICKS:
            m = int(np.clip(np.searchsorted(expected, clicks), 2, M))
            dim = m * block
            c, condition = _kernels.sample_clicks(
                np.ascontiguousarray(G[:dim, :dim]), None if v is None else v[:dim].copy(),
                block, rng.random((shots, m)), "double", 1)
            keep = np.isfinite(condition) & (condition > 0)
            rows += [[1.0, count, m] for count in c.sum(axis=1)[keep]]
            log_condition += list(np.log(condition[keep]))
        fit, *_ = np.linalg.lstsq(np.array(rows), np.array(log_condition), rcond=None)
        _CONDITION_GROWTH[key] = tuple(fit)
    return _CONDITION_GROWTH[key]


_CONDITION_GROWTH = {}


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
    """route -> (seconds per sample, standard error)."""
    calibration: Calibration
    samples: int
    work_by_clicks: object = None
    """Threshold: the share of the click route's work done by samples of
    each click number (from 2^C P(C)), an array of length modes + 1."""
    tier_factors: object = None
    """Threshold: the click route's cost multiplier for a sample with C
    clicks (precision tiers), an array of length modes + 1."""

    @property
    def route(self):
        """The cheaper route."""
        return min(self.routes, key=lambda r: self.routes[r][0])

    @property
    def seconds_per_sample(self):
        return self.routes[self.route][0]

    @property
    def standard_error(self):
        return self.routes[self.route][1]

    def seconds(self, shots=1, machine=None):
        """Predicted seconds for ``shots`` samples, on one core here or, with
        ``machine`` (a name of :data:`SUPERCOMPUTERS`), on all of that
        machine."""
        return scaled_seconds(self.seconds_per_sample * shots, self.calibration, machine)

    def years(self, shots=1, machine=None):
        return self.seconds(shots, machine) / SECONDS_PER_YEAR


def scaled_seconds(seconds, calibration, machine=None):
    """One-core seconds here -> seconds on the named supercomputer."""
    if machine is None:
        return seconds
    return seconds * calibration.flops_per_core / supercomputer(machine).rmax


def predict(experiment, *, samples=20_000, rng=0, calibration=None):
    """Predicted time of one exact sample of ``experiment``.

    Parameters
    ----------
    experiment : Experiment
    samples : int
        Positive-P samples behind the expected work (the standard error
        shrinks as 1 / sqrt(samples)).
    rng : anything numpy.random.default_rng accepts
    calibration : Calibration, optional
        Default: the stored rates of the development machine; pass
        ``calibrate()`` for this machine's.

    Returns
    -------
    CostEstimate
        The photon route for every detector; the click route as well for
        threshold detectors.
    """
    from jiuzhang_emu.phase_space import PhaseSpaceSampler

    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InputError(f"samples must be an integer >= 2, got {samples!r}")
    cal = Calibration() if calibration is None else calibration
    rng = np.random.default_rng(rng)
    M, copies = experiment.n_modes, experiment.internal_modes
    threshold = isinstance(experiment.detector, Threshold)
    sampler = PhaseSpaceSampler(experiment.output_state())
    g = experiment.detector.dark_factors(experiment.n_modes)
    photon_seconds, click_work = [], []
    tilted = np.zeros(M + 1)
    for start in range(0, samples, _CHUNK):
        size = min(_CHUNK, samples - start)
        alpha, beta = sampler.sample(size, rng)
        lam = alpha * beta
        calls, work = _photon_work(lam)
        photon_seconds.append(M * copies * cal.mode_seconds + calls * cal.call_seconds
                              + work * cal.work_seconds)
        if threshold:
            dark = g * np.exp(-lam.reshape(size, copies, M).sum(axis=1))
            click_work.append(_click_work(dark))
            tilted += _tilted_click_numbers(dark)
    routes = {"photon": _mean(photon_seconds)}
    if threshold:
        # shots whose double-precision condition breaks the error budget are
        # redrawn in a higher tier: the work of a shot with C clicks costs
        # (1 + the tier's factor) from the tier's click count on; the work
        # is spread over C like 2^C P(C)
        share = np.maximum(tilted, 0) / max(np.maximum(tilted, 0).sum(), 1e-300)
        factor = np.ones(M + 1)
        for tier, tier_factor in (
                ("extended", cal.extended_factor),
                ("double-double", cal.double_double_factor),
                ("reference", cal.double_double_factor + cal.reference_factor)):
            factor[_escalating_clicks(experiment, tier, rng):] = 1 + tier_factor
        work, error = _mean(click_work)
        scale = copies**2 * cal.subset_seconds * float(share @ factor)
        base = M * cal.click_mode_seconds + copies**2 * M**3 * cal.schur_seconds
        routes["click"] = (base + scale * work, scale * error)
    return CostEstimate(experiment.name, M, routes, cal, int(samples),
                        *((share, factor) if threshold else (None, None)))


@dataclass(frozen=True)
class SamplerCheck:
    """A run of the real exact sampler against the model's prediction
    (seconds per sample, this machine, one thread)."""

    name: str
    n_modes: int
    route: str
    shots: int
    predicted: float
    """The model's mean over all samples (:func:`predict`)."""
    predicted_error: float
    predicted_drawn: float
    """The model's mean over the samples this run drew (their patterns' work)."""
    measured: float

    @property
    def ratio(self):
        """measured / predicted."""
        return self.measured / self.predicted

    @property
    def ratio_drawn(self):
        """measured / predicted_drawn."""
        return self.measured / self.predicted_drawn


_METHODS = {"click": "threshold-chain", "photon": "exact"}


def check_against_sampler(experiment, route=None, *, seconds=5.0, max_shots=100_000,
                          samples=20_000, rng=0, calibration=None):
    """Time ``experiment.sample`` (one worker, one thread) for about
    ``seconds`` and compare its time per sample with the model's.

    Two predictions: the mean over all samples (:func:`predict`), and the
    mean over the samples actually drawn, from their patterns.  Expensive
    samples are rare, so the first can be far from a short run's mean either
    way; the second checks the per-pattern costs alone.  The shot count is
    the predicted number that fits in ``seconds`` (at least 20, at most
    ``max_shots``).
    """
    estimate = predict(experiment, samples=samples, rng=rng, calibration=calibration)
    route = estimate.route if route is None else route
    if route not in estimate.routes:
        raise InputError(f"route must be one of {sorted(estimate.routes)}, got {route!r}")
    predicted, error = estimate.routes[route]
    shots = int(np.clip(seconds / predicted, 20, max_shots))
    method = _METHODS[route]
    experiment.sample(2, rng=rng, method=method, max_seconds=None)  # warm-up
    start = time.perf_counter()
    patterns = experiment.sample(shots, rng=rng, method=method, max_seconds=None).patterns
    measured = (time.perf_counter() - start) / shots
    drawn = np.array([pattern_log10_seconds(p, route, calibration=estimate.calibration)
                      for p in patterns])
    drawn = 10.0**drawn
    if route == "click":
        drawn *= estimate.tier_factors[(patterns > 0).sum(axis=1)]
    return SamplerCheck(experiment.name, experiment.n_modes, route, shots, predicted, error,
                        float(drawn.mean()), measured)


def spread(n_modes, count):
    """A pattern of ``count`` events spread as evenly as possible over
    ``n_modes`` modes (collisions only when count > n_modes)."""
    if count < 0:
        raise InputError(f"count must be >= 0, got {count}")
    k = np.arange(n_modes + 1)
    return np.diff(np.floor(k * count / n_modes)).astype(np.int64)


def _log2_sum(log2_terms):
    log2_terms = np.asarray(log2_terms, dtype=float)
    top = log2_terms.max()
    if top == -math.inf:
        return top
    return top + math.log2(np.exp2(log2_terms - top).sum())


def _log2(x):
    return math.log2(x) if x > 0 else -math.inf


def pattern_log10_seconds(pattern, route, *, calibration=None):
    """log10 of the predicted one-core seconds to draw the given pattern by
    ``route`` ("click": its clicks; "photon": its photon numbers), the work
    counted as in :mod:`jiuzhang_emu.samplers.planning` but in logarithms, so
    that patterns of thousands of events (Jiuzhang 4.0) do not overflow."""
    cal = Calibration() if calibration is None else calibration
    pattern = np.asarray(pattern, dtype=np.int64)
    M = len(pattern)
    if route == "click":
        before = np.cumsum(pattern > 0) - (pattern > 0)
        log2_work = _log2_sum(before)
        terms = (_log2(M * cal.click_mode_seconds + M**3 * cal.schur_seconds),
                 _log2(cal.subset_seconds) + log2_work)
    elif route == "photon":
        photons = np.cumsum(pattern) - pattern
        singles = np.cumsum(pattern % 2) - pattern % 2
        log2_groups = np.cumsum(np.log2(pattern // 2 + 1.0)) - np.log2(pattern // 2 + 1.0)
        log2_leaves = log2_groups + (singles + 1) // 2
        log2_poly = np.log2(((photons + 1) // 2 + 1.0) ** 2 * (photons + 2))
        used = photons > 0
        if not used.any():
            log2_work = -math.inf
        else:
            log2_work = _log2_sum((log2_leaves + log2_poly)[used])
        terms = (_log2(M * cal.mode_seconds + used.sum() * cal.call_seconds),
                 _log2(cal.work_seconds) + log2_work)
    else:
        raise InputError(f"route must be 'click' or 'photon', got {route!r}")
    return _log2_sum(terms) * math.log10(2)


def format_years(log10_years):
    """'3.4e+03 years', or '10^661 years' beyond floating point."""
    if log10_years < 300:
        return f"{10**log10_years:.2g} years"
    return f"10^{log10_years:.0f} years"


@dataclass(frozen=True)
class Claim:
    experiment: str
    task: str
    machine: str
    claim: str
    source: str


@dataclass(frozen=True)
class AdvantageRow:
    claim: Claim
    model: str
    route: str
    log10_seconds_here: float
    """One-core seconds for the task on the calibrated machine (log10)."""
    relative_error: float
    """Standard error of the phase-space estimate / estimate (0: a fixed pattern)."""
    log10_years: float
    """Years for the task on the claim's machine (log10)."""


@dataclass(frozen=True)
class AdvantageTable:
    rows: tuple
    calibration: Calibration

    def markdown(self):
        lines = ["| experiment | task | model | route | ours: 1 core here | ours: claim's machine "
                 "| published claim |", "|---|---|---|---|---|---|---|"]
        for row in self.rows:
            c = row.claim
            error = f" (+-{row.relative_error:.0%})" if row.relative_error else ""
            here = format_years(row.log10_seconds_here - math.log10(SECONDS_PER_YEAR))
            lines.append(f"| {c.experiment} | {c.task} | {row.model} | {row.route} | "
                         f"{here}{error} | {format_years(row.log10_years)} on {c.machine} | "
                         f"{c.claim} ({c.source}) |")
        return "\n".join(lines)


#: The published classical-cost claims (REFERENCE.md) and the task each one prices.
CLAIMS = (
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "TaihuLight",
          "2.5e9 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "Fugaku",
          "6e8 years", "Zhong et al. 2020"),
    Claim("Jiuzhang 1.0", "5e7 samples (the experiment's 200 s)", "Fugaku",
          "months", "Bulmer et al. 2022"),
    Claim("Jiuzhang 2.0", "4.5e7 samples (one pump setting)", "Fugaku",
          "speed-up ~1e24 (unverified)", "Zhong et al. 2021"),
    Claim("Jiuzhang 3.0", "the hardest sample (255 clicks)", "Frontier",
          "> 2e10 years", "Deng et al. 2023"),
    Claim("Jiuzhang 4.0", "one typical sample (~2200 clicks of 8176 modes)", "El Capitan",
          "> 1e42 years (best MPS method)", "Liu et al. 2025"),
)


def advantage_table(*, samples=20_000, rng=0, calibration=None):
    """Our predicted classical cost of each task of :data:`CLAIMS`.

    Jiuzhang 1.0: the published model, expected cost per sample (phase
    space).  2.0: published squeezing on a stand-in interferometer.  3.0 and
    4.0: fixed patterns, the events spread evenly over the modes and one
    photon per click (fewest photons, so a lower bound on the photon route);
    the cheaper route is shown.  ``samples`` and ``rng`` go to
    :func:`predict`.
    """
    from jiuzhang_emu.presets import jiuzhang1, jiuzhang2

    cal = Calibration() if calibration is None else calibration
    estimates = {}
    rows = []
    for claim in CLAIMS:
        experiment, count, modes = {
            "Jiuzhang 1.0": (jiuzhang1, None, None), "Jiuzhang 2.0": (jiuzhang2, None, None),
            "Jiuzhang 3.0": (None, 255, 144), "Jiuzhang 4.0": (None, 2200, 8176)}[claim.experiment]
        if experiment is not None:
            if claim.experiment not in estimates:
                estimates[claim.experiment] = predict(experiment(), samples=samples, rng=rng,
                                                      calibration=cal)
            estimate = estimates[claim.experiment]
            shots = float(claim.task.split()[0])
            seconds, error = estimate.routes[estimate.route]
            log10_here = math.log10(seconds * shots)
            model = ("published" if claim.experiment == "Jiuzhang 1.0"
                     else "published squeezing, stand-in interferometer")
            route, relative = estimate.route, error / seconds
        else:
            pattern = spread(modes, count)
            routes = {r: pattern_log10_seconds(pattern, r, calibration=cal)
                      for r in ("click", "photon")}
            route = min(routes, key=routes.get)
            log10_here, relative = routes[route], 0.0
            model = f"{count} events spread over {modes} modes"
        log10_there = log10_here + math.log10(cal.flops_per_core
                                              / supercomputer(claim.machine).rmax)
        rows.append(AdvantageRow(claim, model, route, log10_here, relative,
                                 log10_there - math.log10(SECONDS_PER_YEAR)))
    return AdvantageTable(tuple(rows), cal)
