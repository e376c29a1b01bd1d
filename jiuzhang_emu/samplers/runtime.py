"""The predicted time of a run, and the refusal of absurd ones before they start.

Exact methods ("exact", "threshold-chain") are priced by the cost model,
:func:`jiuzhang_emu.cost.predict`, the same estimate that ``method="auto"``
compares.  The classical adversaries cost polynomial time, but very different
times (microseconds per shot for the P-function samplers, about a second per
shot for the distinguishable-squeezer sampler on Jiuzhang 1.0, whose every
squeezer goes through its own exact chain rule), so they are priced by
timing: the sampler is built (its set-up time kept apart: every worker pays
it once) and draws 1, 2, 4, ... shots until a draw takes ``PILOT_SECONDS``.
The "mps" route is timed alike on its built network, from a whole batch of
shots (a batch is one matrix product per mode, much cheaper per shot than
a single shot), and the "boltzmann" route alike on its fitted machine (a
batch's chains run in lockstep blocks; timed on one shot, with its own
burn-in, 10,000 shots of ``jiuzhang4()`` were predicted at 30 minutes and
took about 2).  A
prepared route whose module gives ``seconds_per_shot``
(the "greedy" set: reading rows) is priced by it; its preparation is
priced before it starts (:func:`jiuzhang_emu.samplers.plan_run`).
"""
import time

import numpy as np

from jiuzhang_emu import cost
from jiuzhang_emu.errors import InputError, RuntimeLimitError
from jiuzhang_emu.kernels.checks import check_max_seconds

PILOT_SECONDS = 0.05  # adversaries: time a draw at least this long
_PILOTS = {}  # adversaries, by (fingerprint, method): the pilot is not free


def _timed_pilot(experiment, method, network=None):
    """(set-up seconds, seconds per shot) of an adversary or of the "mps"
    route on ``network``, timed here."""
    from jiuzhang_emu.samplers import BATCH_SIZE
    from jiuzhang_emu.samplers.engine import route_sampler

    if method in ("mps", "boltzmann") and network is None:
        what = "network (a LossyMPS)" if method == "mps" else "network (its BoltzmannMachine)"
        raise InputError(f"method {method!r} is timed on what it prepared: pass {what}")
    key = (experiment.fingerprint(), method, network and network.parameters)
    if key not in _PILOTS:
        start = time.perf_counter()
        sampler = route_sampler(experiment, method, network)
        setup = time.perf_counter() - start
        rng = np.random.default_rng(20261207)
        shots = BATCH_SIZE if method in ("mps", "boltzmann") else 1
        while True:
            start = time.perf_counter()
            counts = sampler.counts(shots, rng)
            experiment.detector.detect(counts, sampler.dark_counts, rng)
            seconds = time.perf_counter() - start
            if seconds >= PILOT_SECONDS or shots >= 4096:
                break
            shots *= 2
        _PILOTS[key] = (setup, seconds / shots)
    return _PILOTS[key]


def _prediction(experiment, method, network=None):
    """(set-up seconds per worker, seconds per shot) of ``method``."""
    from jiuzhang_emu.samplers.engine import PREPARED_ROUTES

    if method in cost.ROUTES:
        return 0.0, cost.predict(experiment).routes[method][0]
    route = PREPARED_ROUTES.get(method)
    if route is not None and hasattr(route, "seconds_per_shot"):  # its own estimate
        return 0.0, route.seconds_per_shot(experiment)
    return _timed_pilot(experiment, method, network)


def seconds_per_shot(experiment, method, network=None):
    """Predicted seconds per shot of ``method`` ("exact", "threshold-chain",
    "fan-out", "mps" on its ``network``, or an adversary) on one worker."""
    return _prediction(experiment, method, network)[1]


def run_seconds(experiment, shots, method, n_workers=1, network=None):
    """Predicted wall time of ``shots`` shots of ``method`` on ``n_workers``
    workers (set-up included; a batch of shots runs on one worker)."""
    from jiuzhang_emu.samplers import BATCH_SIZE

    setup, per_shot = _prediction(experiment, method, network)
    return setup + per_shot * shots / min(n_workers, -(-shots // BATCH_SIZE))


def check_run_seconds(experiment, shots, method, n_workers, max_seconds, network=None):
    """Refuse a run predicted to exceed ``max_seconds`` (RuntimeLimitError,
    with the estimate); return its predicted seconds.  None lifts the limit
    and returns None: nothing is priced (an estimate can take seconds at
    Jiuzhang scale)."""
    max_seconds = check_max_seconds(max_seconds)
    if max_seconds is None:
        return None
    seconds = run_seconds(experiment, shots, method, n_workers, network)
    if seconds > max_seconds:
        raise RuntimeLimitError(
            f"sampling {shots} shots of {experiment.name!r} with method {method!r} is predicted "
            f"to take {cost.format_seconds(seconds)} ({seconds:.3g} s, "
            f"{seconds_per_shot(experiment, method, network):.3g} s per shot on {n_workers} "
            f"worker(s)), "
            f"above the limit of {cost.format_seconds(max_seconds)}",
            seconds=seconds, max_seconds=max_seconds)
    return seconds
