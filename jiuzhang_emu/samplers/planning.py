"""Predicted cost of exact sampling, the choice of route, and the runtime guard.

Two exact routes exist for threshold detectors: photon-number sampling
coarse-grained (cost set by the photons: at mode k the chain rule evaluates
D_k + 1 loop hafnians, D_k the photons in modes < k) and the torontonian chain
rule (cost set by the clicks C: ~2^C per mode).  Bright, lossy light has many
more photons than clicks; "auto" picks the route with the smaller prediction.

The photon route's prediction counts the loop-hafnian calls and their work
(the hafnian work model of :mod:`jiuzhang_emu.kernels._cost`, repeated rows
included) on pilot patterns drawn from the squashed model of the experiment,
a classical state with the same mean photon numbers and nearly the same
photon-number variance (n + 2 n^2 per squeezed mode against 2 n + 2 n^2),
sampled in microseconds; the work is averaged over PILOT_SHOTS patterns.
Experiments without a source list fall back to the squeezed-light estimate
E[2^(N/2)] for a normal N.  The click route uses the per-mode click
probabilities p_j with E[2^C] = prod_j (1 + p_j).  Constants fitted on this
machine (a 2-core AMD EPYC Zen 5): right within a factor of ~3, which is what
a guard against hour-long runs needs.
"""
import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import RuntimeLimitError

_PHOTON_SECONDS = 3e-8      # fallback: per mode per (N + 1)^3 E[2^(N/2)]
_MODE_SECONDS = 1e-6        # native chain rule, per mode per shot
_CALL_SECONDS = 3e-6        # per loop-hafnian call of the chain rule
_WORK_SECONDS = 1.4e-8      # per unit of hafnian work (small complex hafnians)
PILOT_SHOTS = 200
_CHAIN_MODE_SECONDS = 3e-4  # Python overhead of one chain-rule step
_CHAIN_SECONDS = 2e-9       # per mode per C E[2^C]
_ADVERSARY_SECONDS = 2e-5   # per shot, any adversary (P-function or Poisson draws)


def _photon_statistics(experiment):
    state = experiment.output_state()
    mu = state.mean_photon_number()
    sigma = np.sqrt(max(state.photon_number_covariance().sum(), 0.0))
    return mu, sigma


def _chain_rule_work(pattern):
    """(kernel calls, work units) of the photon-number chain rule producing
    ``pattern``; work as in :func:`jiuzhang_emu.kernels._cost.hafnian_work`."""
    calls = work = 0.0
    pairs_groups = 1.0  # prod (r // 2 + 1) over modes so far
    singles = 0
    photons = 0
    for n in pattern:
        if photons:
            calls += photons + 1
            for m in range(photons + 1):
                odd = singles + m % 2
                leaves = pairs_groups * (m // 2 + 1) * 2.0 ** ((odd + 1) // 2)
                work += leaves * ((photons + m) / 2 + 1) ** 2
        pairs_groups *= n // 2 + 1
        singles += n % 2
        photons += n
    return calls, work


def _pilot_patterns(experiment):
    from jiuzhang_emu.samplers.adversaries import adversary_sampler

    sampler = adversary_sampler(experiment, "squashed")
    return sampler.photons(PILOT_SHOTS, np.random.default_rng(20261122))


_PREDICTED = {}  # exact route, by experiment fingerprint: the pilot is not free


def seconds_per_shot(experiment, method):
    """Predicted seconds per shot of ``method`` ("exact", "threshold-chain"
    or an adversary) on one worker."""
    M = experiment.n_modes
    if method == "exact":
        key = experiment.fingerprint()
        if key not in _PREDICTED:
            _PREDICTED[key] = _exact_seconds(experiment)
        return _PREDICTED[key]
    if method == "threshold-chain":
        p = experiment.click_probabilities()
        return M * (_CHAIN_MODE_SECONDS + _CHAIN_SECONDS * p.sum() * np.prod(1 + p))
    return _ADVERSARY_SECONDS * (1 + M / 100)


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
    if isinstance(experiment.detector, Threshold) and experiment.internal_modes == 1:
        if seconds_per_shot(experiment, "threshold-chain") < seconds_per_shot(experiment, "exact"):
            return "threshold-chain"
    return "exact"


def check_runtime(experiment, shots, method, n_workers, max_seconds):
    """Refuse (RuntimeLimitError, with the estimate) a run predicted to take
    longer than ``max_seconds``; None lifts the limit."""
    if max_seconds is None:
        return
    seconds = seconds_per_shot(experiment, method) * shots / n_workers
    if seconds > max_seconds:
        raise RuntimeLimitError(
            f"sampling {shots} shots of {experiment.name!r} with method {method!r} is predicted "
            f"to take {seconds:.3g} s ({seconds / 3600:.3g} h, {seconds / shots:.3g} s per shot "
            f"on {n_workers} worker(s)), above max_seconds={max_seconds:g}; pass "
            f"max_seconds=None to run it anyway"
        )
