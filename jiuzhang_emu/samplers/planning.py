"""Predicted cost of exact sampling, the choice of route, and the runtime guard.

Two exact routes exist for threshold detectors: photon-number sampling
coarse-grained (cost set by the photons: at mode k the chain rule evaluates a
loop hafnian of the D_k photons in modes < k, with D_k + 1 coefficients in z)
and the click chain rule (cost set by the clicks: 2^(c_k) subsets at mode k,
c_k the clicks in modes < k).  Bright, lossy light has many more photons than
clicks; "auto" picks the route with the smaller prediction.

Both predictions count the work of the chain rule on pilot patterns drawn
from the squashed model of the experiment, a classical state with the same
mean photon numbers and nearly the same photon-number variance (n + 2 n^2 per
squeezed mode against 2 n + 2 n^2), sampled in microseconds and averaged over
PILOT_SHOTS patterns.  The photon route counts loop-hafnian calls (one per
mode, all coefficients of L(z) at once) and their work (the hafnian work model
of :mod:`jiuzhang_emu.kernels._cost`, repeated rows included, times the D + 2
coefficients carried); the click route counts sum_k 2^(c_k) subsets (their
cost per subset, measured, does not grow with c over 8-22 clicks: the
depth-first Cholesky reuse amortises it) and the Schur complements at dark
modes (~M^3).  Experiments without a source list
fall back to independent-mode estimates (E[2^(N/2)] for a normal photon number
N; E[2^(c_k)] = prod_{j<k} (1 + p_j) from the click probabilities).  Constants
fitted on this machine (a 2-core AMD EPYC Zen 5).  Click route: within a
factor of ~2 over 4-96 modes.  Photon route: within 0.1-2x over 4-48 modes and
1-16 mean photons; it underestimates most where rare bright samples dominate
the mean (the squashed pilot has a lighter photon-number tail than squeezed
light), so the guard is an order-of-magnitude one there.

The classical adversaries cost polynomial time, but very different times
(microseconds per shot for the P-function samplers, about a second per shot
for the distinguishable-squeezer sampler on Jiuzhang 1.0, whose every
squeezer goes through its own exact chain rule), so they are priced by
timing: the sampler is built (its set-up time kept apart: every worker pays
it once) and draws 1, 2, 4, ... shots until a draw takes PILOT_SECONDS.
"""
import time

import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import RuntimeLimitError
from jiuzhang_emu.kernels._checks import check_max_seconds

_PHOTON_SECONDS = 3e-8      # fallback: per mode per (N + 1)^3 E[2^(N/2)]
_MODE_SECONDS = 5e-8        # native chain rule, per mode per shot
_CALL_SECONDS = 1.7e-6      # per loop-hafnian call of the chain rule
_WORK_SECONDS = 1.5e-9      # per unit of z-polynomial hafnian work
PILOT_SHOTS = 200
_CLICK_MODE_SECONDS = 2.6e-7  # click chain rule, per mode per shot
_SCHUR_SECONDS = 5e-10        # per M^3 (vacuum conditioning at dark modes)
_SUBSET_SECONDS = 1.4e-7      # per subset, 2^(c_k) at mode k
PILOT_SECONDS = 0.05        # adversaries: time a draw at least this long


def _photon_statistics(experiment):
    state = experiment.output_state()
    mu = state.mean_photon_number()
    sigma = np.sqrt(max(state.photon_number_covariance().sum(), 0.0))
    return mu, sigma


def _chain_rule_work(pattern):
    """(kernel calls, work units) of the photon-number chain rule producing
    ``pattern``: at each mode after the first photon, one loop hafnian of the
    occupied rows with loops linear in z, whose D + 1 coefficients (D photons
    so far) multiply the leaf-polynomial work; leaves and per-leaf work as in
    :func:`jiuzhang_emu.kernels._cost.hafnian_work`."""
    calls = work = 0.0
    pairs_groups = 1.0  # prod (r // 2 + 1) over modes so far
    singles = 0
    photons = 0
    for n in pattern:
        if photons:
            calls += 1
            leaves = pairs_groups * 2.0 ** ((singles + 1) // 2)
            work += leaves * ((photons + 1) // 2 + 1) ** 2 * (photons + 2)
        pairs_groups *= n // 2 + 1
        singles += n % 2
        photons += n
    return calls, work


_PILOTS = {}  # by fingerprint: both routes' predictions use the same pilot


def _pilot_patterns(experiment):
    from jiuzhang_emu.samplers.adversaries import adversary_sampler

    key = experiment.fingerprint()
    if key not in _PILOTS:
        sampler = adversary_sampler(experiment, "squashed")
        _PILOTS[key] = sampler.counts(PILOT_SHOTS, np.random.default_rng(20261122))
    return _PILOTS[key]


def _click_chain_work(clicks):
    """sum_k 2^(c_k), c_k the clicks before mode k, per pattern."""
    before = np.cumsum(clicks, axis=-1) - clicks
    return (2.0**before).sum(axis=-1)


_PREDICTED = {}  # exact routes, by (fingerprint, method): the pilot is not free


def seconds_per_shot(experiment, method):
    """Predicted seconds per shot of ``method`` ("exact", "threshold-chain"
    or an adversary) on one worker."""
    return _prediction(experiment, method)[1]


def _prediction(experiment, method):
    """(set-up seconds per worker, seconds per shot) of ``method``."""
    key = (experiment.fingerprint(), method)
    if key not in _PREDICTED:
        predict = {"exact": _exact_seconds, "threshold-chain": _click_chain_seconds}.get(method)
        _PREDICTED[key] = (0.0, predict(experiment)) if predict else _timed_pilot(
            experiment, method)
    return _PREDICTED[key]


def _timed_pilot(experiment, method):
    """(set-up seconds, seconds per shot) of an adversary, timed here."""
    from jiuzhang_emu.samplers.adversaries import adversary_sampler

    start = time.perf_counter()
    sampler = adversary_sampler(experiment, method)
    setup = time.perf_counter() - start
    rng = np.random.default_rng(20261207)
    shots = 1
    while True:
        start = time.perf_counter()
        photons = sampler.counts(shots, rng)
        experiment.detector.detect(photons, sampler.dark_counts, rng)
        seconds = time.perf_counter() - start
        if seconds >= PILOT_SECONDS or shots >= 4096:
            return setup, seconds / shots
        shots *= 2


def _click_chain_seconds(experiment):
    M, block = experiment.n_modes, experiment.internal_modes**2  # work per 2x2 block
    if experiment.sources is not None:
        work = _click_chain_work(_pilot_patterns(experiment) > 0).mean()
    else:
        p = experiment.click_probabilities()
        work = np.concatenate([[1.0], np.cumprod(1 + p)[:-1]]).sum()
    return M * _CLICK_MODE_SECONDS + block * (M**3 * _SCHUR_SECONDS + work * _SUBSET_SECONDS)


def _exact_seconds(experiment):
    M = experiment.n_modes
    if experiment.sources is not None:
        calls, work = np.mean([_chain_rule_work(p) for p in _pilot_patterns(experiment)], axis=0)
        return (M * experiment.internal_modes * _MODE_SECONDS + calls * _CALL_SECONDS
                + work * _WORK_SECONDS)
    mu, sigma = _photon_statistics(experiment)
    a = np.log(2) / 2
    growth = np.exp(min(a * mu + a * a * sigma * sigma / 2, 700.0))
    return _PHOTON_SECONDS * M * (mu + 1) ** 3 * growth


def auto_method(experiment):
    """The cheaper exact route: "threshold-chain" for threshold detectors
    when its prediction is lower, else "exact"."""
    if isinstance(experiment.detector, Threshold):
        if seconds_per_shot(experiment, "threshold-chain") < seconds_per_shot(experiment, "exact"):
            return "threshold-chain"
    return "exact"


def predicted_seconds(experiment, shots, method, n_workers=1):
    """Predicted wall time of ``shots`` shots of ``method`` on ``n_workers``
    workers (set-up included; a batch of shots runs on one worker)."""
    from jiuzhang_emu.samplers import BATCH_SIZE

    setup, per_shot = _prediction(experiment, method)
    return setup + per_shot * shots / min(n_workers, -(-shots // BATCH_SIZE))


def format_seconds(seconds):
    """``3.2 s``, ``4.1 min``, ``2.5 h``, ``3.1 days`` or ``2.0e+04 years``."""
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("h", 3600),
                       ("min", 60)):
        if seconds >= 2 * size:
            value = seconds / size
            return f"{value:.3g} {unit}" if value < 1e4 else f"{value:.2g} {unit}"
    return f"{seconds:.2g} s"


def check_runtime(experiment, shots, method, n_workers, max_seconds):
    """The predicted seconds of the run; refuse (RuntimeLimitError, with the
    estimate) one predicted to take longer than ``max_seconds``; None lifts
    the limit."""
    max_seconds = check_max_seconds(max_seconds)
    seconds = predicted_seconds(experiment, shots, method, n_workers)
    if max_seconds is not None and seconds > max_seconds:
        raise RuntimeLimitError(
            f"sampling {shots} shots of {experiment.name!r} with method {method!r} is predicted "
            f"to take {format_seconds(seconds)} ({seconds:.3g} s, "
            f"{seconds_per_shot(experiment, method):.3g} s per shot on {n_workers} worker(s)), "
            f"above the limit of {format_seconds(max_seconds)}",
            seconds=seconds, max_seconds=max_seconds)
    return seconds
