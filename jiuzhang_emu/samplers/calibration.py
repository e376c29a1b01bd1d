"""The exact samplers timed against the cost model: :func:`calibrate`
measures this machine's :class:`~jiuzhang_emu.cost.Calibration`, and
:func:`check_against_sampler` compares a real run with the prediction.

Both run samplers, so they live here, above :mod:`jiuzhang_emu.cost`, which
only prices work; the work of a drawn pattern is the cost model's
(:func:`jiuzhang_emu.cost.routes.log2_terms`), so the rates fitted here are
the rates it prices with.
"""
import itertools
import platform
import time
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu import cost
from jiuzhang_emu.cost.machines import best_seconds
from jiuzhang_emu.cost.routes import check_route, pattern_log10_seconds, route_options, terms
from jiuzhang_emu.detectors import PhotonNumberResolving, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.sources import TwoModeSqueezer


def _per_batch_rates(seconds, columns):
    """Rates r >= 0 with seconds ~ columns @ r, fitted in relative terms."""
    from scipy.optimize import nnls

    seconds = np.asarray(seconds)
    weights = 1 / seconds
    rates, _ = nnls(np.asarray(columns) * weights[:, None], seconds * weights)
    return rates


def _jiuzhang_like(n_modes, r, transmission, detector):
    """The timed workload: light as ``presets.jiuzhang_like(n_modes, r=r,
    transmission=transmission, rng=n_modes)`` builds it (two-mode squeezers,
    a Haar-random interferometer, uniform loss)."""
    U = haar_unitary(n_modes, rng=n_modes)
    return Experiment([TwoModeSqueezer(r)] * (n_modes // 2), U.T * np.sqrt(transmission),
                      detector)


def calibrate(*, batches=6, rng=0):
    """Measure the :class:`~jiuzhang_emu.cost.Calibration` of this machine
    (~20-40 s).

    Times the native samplers on one thread in batches of the sampling
    batch size (so per-call overheads weigh as in ``Experiment.sample``), on
    Jiuzhang-like experiments of three sizes whose work per batch spreads
    over decades, and fits the seconds per unit of each work term
    (:func:`jiuzhang_emu.cost.routes.terms`, summed over the batch) by
    non-negative least squares in relative error.  The precision tiers'
    factors are timed on the same shots of a larger experiment, the fan-out
    route's rates on its own sampler (:func:`_fanout_rates`), and the
    sustained float rate comes from :func:`jiuzhang_emu.cost.measure_flops`.
    """
    from jiuzhang_emu.kernels import sample_clicks
    from jiuzhang_emu.kernels.precision import TIERS
    from jiuzhang_emu.samplers import BATCH_SIZE as shots
    from jiuzhang_emu.samplers.exact import PhotonNumberSampler

    rng = np.random.default_rng(rng)
    seconds, columns = [], []
    # two brightnesses per size, so that the work does not follow the size
    for n_modes, r in itertools.product((8, 14, 20), (0.7, 1.5)):
        experiment = _jiuzhang_like(n_modes, r, 0.4, Threshold())
        G, v, block = experiment.vacuum_form()  # float64 only: tiers are timed below

        def draw():
            return sample_clicks(G, v, block, u, "double", 1)[0]

        u = rng.random((shots, n_modes))
        draw()  # warm-up
        for _ in range(batches):
            u = rng.random((shots, n_modes))
            seconds.append(best_seconds(draw, 1))
            columns.append(terms(draw(), "threshold-chain").sum(axis=0))
    click_mode, schur, subset = _per_batch_rates(seconds, columns)
    G, v, block = _jiuzhang_like(24, 1.5, 0.4, Threshold()).vacuum_form()
    u = rng.random((16, 24))
    tier_seconds = {tier: best_seconds(lambda: sample_clicks(G, v, block, u, tier, 1), 1)
                    for tier in TIERS}

    seconds, columns = [], []
    for n_modes, r in itertools.product((6, 10, 14), (0.5, 1.0)):
        experiment = _jiuzhang_like(n_modes, r, 0.5, PhotonNumberResolving())
        sampler = PhotonNumberSampler(experiment.output_state())
        sampler.sample(rng, shots)  # warm-up
        for _ in range(batches):
            seed = int(rng.integers(2**63))
            seconds.append(best_seconds(
                lambda: sampler.sample(np.random.default_rng(seed), shots), 1))
            patterns = sampler.sample(np.random.default_rng(seed), shots)
            columns.append(terms(patterns, "exact").sum(axis=0))
    mode, call, work = _per_batch_rates(seconds, columns)
    fanout = _fanout_rates(rng, batches, shots)
    return cost.Calibration(fanout_mode_seconds=fanout[0], fanout_call_seconds=fanout[1],
                            fanout_work_seconds=fanout[2], fanout_substep_seconds=fanout[3],
                            subset_seconds=float(subset), click_mode_seconds=float(click_mode),
                            schur_seconds=float(schur), work_seconds=float(work),
                            call_seconds=float(call), mode_seconds=float(mode),
                            extended_factor=tier_seconds["extended"] / tier_seconds["double"],
                            double_double_factor=(tier_seconds["double-double"]
                                                  / tier_seconds["double"]),
                            flops_per_core=float(cost.measure_flops()),
                            machine=f"measured: {platform.node()} ({platform.machine()})")


def _fanout_terms(sampler, seed, shots):
    """Clicks of ``shots`` shots of a fan-out sampler drawn from ``seed``, and
    their work terms in each shot's own processing order (the sampler's
    orders, recomputed from the same draws)."""
    from jiuzhang_emu.cost.routes import log2_terms

    clicks = sampler.counts(shots, np.random.default_rng(seed))
    orders = sampler.draws(np.random.default_rng(seed), shots)[-1]
    return clicks, np.exp2(log2_terms(clicks, "fan-out", order=orders,
                                      n_detectors=sampler.n_detectors))


def _fanout_rates(rng, batches, shots):
    """Seconds per term of the "fan-out" route, timed on its own sampler
    (one thread, batches of ``shots``) on Jiuzhang-like threshold experiments
    of four sizes and two brightnesses."""
    from jiuzhang_emu.samplers.fanout import FanOutSampler

    seconds, columns = [], []
    for n_modes, r in itertools.product((6, 14, 22, 28), (0.9, 1.5)):
        sampler = FanOutSampler(_jiuzhang_like(n_modes, r, 0.4, Threshold()), n_threads=1)
        sampler.counts(2, rng)  # warm-up
        for _ in range(batches):
            seed = int(rng.integers(2**63))
            seconds.append(best_seconds(
                lambda: sampler.counts(shots, np.random.default_rng(seed)), 1))
            columns.append(_fanout_terms(sampler, seed, shots)[1].sum(axis=0))
    return [float(rate) for rate in _per_batch_rates(seconds, columns)]


@dataclass(frozen=True)
class SamplerCheck:
    """A run of the real exact sampler against the model's prediction
    (seconds per sample, this machine, one thread)."""

    name: str
    n_modes: int
    route: str
    shots: int
    predicted: float
    """The model's mean over all samples (:func:`jiuzhang_emu.cost.predict`)."""
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


def check_against_sampler(experiment, route=None, *, seconds=5.0, max_shots=100_000,
                          samples=20_000, rng=0, calibration=None):
    """Time ``experiment.sample`` (one worker, one thread) for about
    ``seconds`` and compare its time per sample with the model's.

    Two predictions: the mean over all samples
    (:func:`jiuzhang_emu.cost.predict`), and the mean over the samples
    actually drawn, from their patterns.  Expensive samples are rare, so the
    first can be far from a short run's mean either way; the second checks
    the per-pattern costs alone.  The shot count is the predicted number that
    fits in ``seconds`` (at least 20, at most ``max_shots``).  ``route`` (the
    sampler method, "exact" or "threshold-chain"; default the cheaper) is
    the method run.
    """
    estimate = cost.predict(experiment, samples=samples, rng=rng, calibration=calibration)
    route = estimate.route if route is None else check_route(route)
    if route not in estimate.routes:
        raise InputError(f"route must be one of {sorted(estimate.routes)}, got {route!r}")
    predicted, error = estimate.routes[route]
    shots = int(np.clip(seconds / predicted, 20, max_shots))
    if route == "fan-out":
        return _check_fanout(experiment, estimate, shots, rng)
    experiment.sample(2, rng=rng, method=route, max_seconds=None)  # warm-up
    start = time.perf_counter()
    patterns = experiment.sample(shots, rng=rng, method=route, max_seconds=None).patterns
    measured = (time.perf_counter() - start) / shots
    options = route_options(experiment, route)
    drawn = np.array([pattern_log10_seconds(p, route, calibration=estimate.calibration, **options)
                      for p in patterns])
    drawn = 10.0**drawn
    if route == "threshold-chain":
        drawn *= estimate.tier_factors[(patterns > 0).sum(axis=1)]
    return SamplerCheck(experiment.name, experiment.n_modes, route, shots, predicted, error,
                        float(drawn.mean()), measured)


def _check_fanout(experiment, estimate, shots, rng):
    """:func:`check_against_sampler` for the "fan-out" route: its sampler
    (one thread) is timed directly, so that each shot's processing order is
    known for the drawn prediction (``Experiment.sample`` only adds dark
    counts)."""
    from jiuzhang_emu.cost.routes import rates
    from jiuzhang_emu.samplers.fanout import FanOutSampler

    sampler = FanOutSampler(experiment, n_threads=1)
    seed = int(np.random.default_rng(rng).integers(2**63))
    sampler.counts(2, np.random.default_rng(seed + 1))  # warm-up
    start = time.perf_counter()
    sampler.counts(shots, np.random.default_rng(seed))
    measured = (time.perf_counter() - start) / shots
    _, terms_ = _fanout_terms(sampler, seed, shots)
    drawn = terms_ @ rates("fan-out", estimate.calibration)
    predicted, error = estimate.routes["fan-out"]
    return SamplerCheck(experiment.name, experiment.n_modes, "fan-out", shots, predicted, error,
                        float(drawn.mean()), measured)
