"""The run engine: a run is planned once, and its batches flow to sinks.

:func:`plan_run` checks a run's arguments, resolves its method ("auto": the
exact route predicted to be cheaper by :func:`jiuzhang_emu.cost.predict`),
fixes its root seed and splits its shots into batches of ``BATCH_SIZE``;
:meth:`RunPlan.priced` then predicts the time of the batches still to draw
and refuses a run predicted to exceed ``max_seconds``
(:mod:`jiuzhang_emu.samplers.runtime`).  :func:`run` draws the
batches in order (:func:`iter_batches`, on the workers of
:mod:`jiuzhang_emu.samplers.workers`) and hands each to its sinks: objects
with ``start(plan)``, ``add(index, patterns, unresolved_mass)`` and
``close()``, such as :class:`Collect` (in memory), :class:`ProgressBar` and
the sample-file writer of :mod:`jiuzhang_emu.files`.  :func:`sample` is a
plan, a collector and a bar.

Each route draws with a per-route sampler (:func:`route_sampler`):
``counts(size, rng)``, the counts at the detectors before the detector
model, shape (size, M) (photon numbers; clicks for the click chain; fired
detectors for the fan-out route), or, for a route that prepared the whole
run's rows (the "greedy" set of :data:`PREPARED_ROUTES`),
``batch_counts(index, size, rng)``, the rows of batch ``index`` (clicks,
dark counts in its targets); ``dark_counts`` for the detector model and
``unresolved_mass``.  The detector model then turns
counts into patterns: photon numbers by ``detect``, the counts of a sampler
with ``counts_are_clicks`` (the fan-out route) by ``fire_dark``, which adds
dark counts only.

Randomness and parallel runs: ``rng`` is anything
:func:`numpy.random.default_rng` accepts.  Batch i uses the child seed
``SeedSequence(entropy, spawn_key=(*spawn_key, i))`` of the root
``SeedSequence(entropy, spawn_key)`` (an int seed has the empty spawn key, so
batch i of ``rng=7`` is ``SeedSequence(7, spawn_key=(i,))``; a spawned child
such as ``SeedSequence(7).spawn(3)[1]``, spawn key (1,), draws batch i from
spawn key (1, i)), so a seed gives the same samples whatever the number of
workers (local processes, ``n_workers``) or a Dask ``client``, and children
spawned from one seed give different samples.  Only the entropy and the
spawn key of a SeedSequence are used (a non-default ``pool_size`` is not).
A Generator passed as ``rng`` is used as one stream (single worker only).
"""
import sys
from dataclasses import dataclass, field, replace

import numpy as np

from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu import cost
from jiuzhang_emu.kernels.checks import check_max_seconds
from jiuzhang_emu.samplers import runtime
from jiuzhang_emu.samplers.adversaries import ADVERSARIES, adversary_sampler
from jiuzhang_emu.samplers.exact import PhotonNumberSampler
from jiuzhang_emu.samplers import fanout
from jiuzhang_emu.samplers import boltzmann, greedy
from jiuzhang_emu.samplers import mps as mps_route
from jiuzhang_emu.samplers.threshold_chain import ThresholdChainSampler
from jiuzhang_emu.samplers.workers import check_n_workers, map_batches

BATCH_SIZE = 64
METHODS = ("auto", "exact", "threshold-chain", "fan-out", "mps", "boltzmann", *ADVERSARIES)
#: Methods that sample only threshold detection.
THRESHOLD_ONLY = ("threshold-chain", "greedy", "boltzmann")
#: Routes prepared once per run before their batches (a whole-set construction,
#: a fitted model): module with ``check_experiment``, ``prepare`` and ``Sampler``.
PREPARED_ROUTES = {"greedy": greedy, "boltzmann": boltzmann}


@dataclass(frozen=True, eq=False)
class Samples:
    """Detection patterns and what produced them.

    Attributes
    ----------
    patterns : ndarray of int64, shape (shots, modes)
    experiment : dict
        ``Experiment.describe()``: name, modes, detector, fingerprint, ...
    method : str
    seed_entropy : int or None
        The root seed's entropy (None when a Generator was passed).
    version : str
        jiuzhang_emu version.
    unresolved_mass : float
        Largest probability mass rounding may have misplaced in a draw (no
        cutoff is used): the exact photon sampler's estimate, at most 1e-8
        (a draw above it raises PrecisionLimitError).  Method "mps": the
        largest probability mass its truncation left out of a shot.
    extra : dict
        Method "mps": ``{"mps": LossyMPS.summary()}``, the network's
        parameters and truncation; method "boltzmann": ``{"boltzmann":
        BoltzmannMachine.summary()}``, the fit and its measured errors.
    seed_spawn_key : tuple of int or None
        The root seed's spawn key: () for an int seed, (j,) for the child j
        of ``SeedSequence(...).spawn``; None when a Generator was passed.
        :attr:`seed` rebuilds the root seed from the two.
    """

    patterns: np.ndarray
    experiment: dict
    method: str
    seed_entropy: object
    version: str
    unresolved_mass: float = 0.0
    extra: dict = field(default_factory=dict)
    seed_spawn_key: object = ()

    @property
    def seed(self):
        """The root ``SeedSequence`` (entropy and spawn key); passed as
        ``rng`` it draws these samples again.  None for a Generator's."""
        if self.seed_entropy is None:
            return None
        return np.random.SeedSequence(self.seed_entropy, spawn_key=self.seed_spawn_key or ())

    @property
    def shots(self):
        return self.patterns.shape[0]

    def __len__(self):
        return self.shots

    def __array__(self, dtype=None, copy=None):
        array = self.patterns if dtype is None else self.patterns.astype(dtype, copy=False)
        return array.copy() if copy else array

    @property
    def detector(self):
        return self.experiment["detector"]["kind"]


def check_shots(shots):
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise InputError(f"shots must be an integer >= 1, got {shots!r}")
    return int(shots)


def check_method(method, experiment):
    """The method's name, with "auto" resolved to the cheaper exact route for
    ``experiment``; a method that cannot sample ``experiment`` is refused."""
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        return cost.predict(experiment).route
    if method in THRESHOLD_ONLY and not isinstance(experiment.detector, Threshold):
        raise InputError(f"method {method!r} samples threshold detectors only, and "
                         f"{experiment.name!r} has {experiment.detector.kind} detection; "
                         f"use 'exact' (or 'auto')")
    if method == "fan-out":
        fanout.check_experiment(experiment)
    if method == "mps":
        mps_route.check_experiment(experiment)
    if method in PREPARED_ROUTES:
        PREPARED_ROUTES[method].check_experiment(experiment)
    if method in ADVERSARIES and experiment.sources is None:
        raise InputError(f"method {method!r} replaces the experiment's sources, and "
                         f"{experiment.name!r} is built from a GaussianState, not sources")
    return method


def root_seed(rng):
    """(entropy, root) for ``rng``: root is a SeedSequence (a given one with
    its spawn key), or the Generator itself (entropy None)."""
    if isinstance(rng, np.random.Generator):
        return None, rng
    if isinstance(rng, np.random.SeedSequence):
        return rng.entropy, rng
    try:
        sequence = np.random.SeedSequence(rng)
    except (TypeError, ValueError) as exc:
        raise InputError(f"rng must be None, an int, a SeedSequence or a Generator, "
                         f"got {rng!r}") from exc
    return sequence.entropy, sequence


def batch_sizes(shots):
    """Sizes of the shot batches, in order."""
    full, rest = divmod(shots, BATCH_SIZE)
    return [BATCH_SIZE] * full + ([rest] if rest else [])


@dataclass(frozen=True, eq=False)
class RunPlan:
    """A checked run: what to draw, how, and from which seed.

    Attributes
    ----------
    experiment : Experiment
    shots : int
        Shots of the whole run.
    method : str
        Resolved (never "auto").
    n_workers : int
    client : dask.distributed.Client or None
    seed_entropy : int, sequence of int, or None
        The root SeedSequence's entropy; None when ``generator`` is used.
    seed_spawn_key : tuple of int or None
        The root SeedSequence's spawn key; None with ``generator``.
    generator : numpy.random.Generator or None
        One stream for the whole run (single worker only).
    first_batch : int
        The first batch to draw (later than 0: a resumed run).
    prepared : object or None
        What the route prepared once for the whole run: the network
        (LossyMPS) of "mps", the construction of "greedy", the fitted
        machine of "boltzmann"; None for the other methods.
    predicted_seconds : float or None
        Predicted wall time of the batches from ``first_batch`` on; None
        until :meth:`priced`.
    seconds_per_shot : float or None
        Predicted seconds per shot on one worker; None until :meth:`priced`.
    """

    experiment: object
    shots: int
    method: str
    n_workers: int = 1
    client: object = None
    seed_entropy: object = None
    seed_spawn_key: object = ()
    generator: object = None
    first_batch: int = 0
    prepared: object = None
    predicted_seconds: object = None
    seconds_per_shot: object = None

    @property
    def mps(self):
        """The network of the "mps" route, else None."""
        return self.prepared if self.method == "mps" else None

    @property
    def batch_sizes(self):
        return batch_sizes(self.shots)

    @property
    def first_shot(self):
        """Shots of the batches before ``first_batch``."""
        return sum(self.batch_sizes[:self.first_batch])

    def priced(self, max_seconds, first_batch=0):
        """This plan from batch ``first_batch`` on, with the predicted time of
        its remaining shots; a run predicted to take longer than
        ``max_seconds`` is refused (:class:`~jiuzhang_emu.RuntimeLimitError`
        with the estimate).  None lifts the limit, and then nothing is priced
        (an estimate takes seconds at Jiuzhang scale; :meth:`prediction`
        prices on demand)."""
        plan = replace(self, first_batch=first_batch)
        if not plan.remaining_shots:  # a finished run: nothing to price
            return replace(plan, predicted_seconds=0.0, seconds_per_shot=0.0)
        seconds = runtime.check_run_seconds(self.experiment, plan.remaining_shots, self.method,
                                            self.n_workers, max_seconds, self.prepared)
        return plan if seconds is None else plan._with_seconds(seconds)

    @property
    def remaining_shots(self):
        return self.shots - self.first_shot

    def _with_seconds(self, seconds):
        return replace(self, predicted_seconds=float(seconds),
                       seconds_per_shot=runtime.seconds_per_shot(self.experiment, self.method,
                                                                 self.prepared))

    def prediction(self):
        """``N shots by 'method' on W worker(s), predicted T (S s per shot)``
        for the shots still to draw (priced here if :meth:`priced` did not)."""
        plan = self
        if plan.predicted_seconds is None:
            plan = self._with_seconds(runtime.run_seconds(self.experiment, self.remaining_shots,
                                                          self.method, self.n_workers,
                                                          self.prepared))
        return (f"{plan.remaining_shots} shots by {plan.method!r} on {plan.n_workers} "
                f"worker(s), predicted {cost.format_seconds(plan.predicted_seconds)} "
                f"({plan.seconds_per_shot:.3g} s per shot)")


def plan_run(experiment, shots, *, rng=None, method="auto", n_workers=1, client=None, mps=None,
             progress=None, prepared_path=None, max_seconds=None):
    """Check a run's arguments and fix its method, seed and batches.

    Parameters
    ----------
    experiment : Experiment
    shots : int
    rng : None, int, SeedSequence or Generator
        None: fresh entropy.  A Generator only with one local worker.
    method, n_workers, client, mps
        As for :func:`sample`.
    progress : bool or sink, optional
        As for :func:`sample`; a bool or None also sets the "mps" route's
        build progress bar (when it builds) and a prepared route's (as does
        a :class:`ProgressBar` sink's ``enabled``).
    prepared_path : str or os.PathLike, optional
        Methods of :data:`PREPARED_ROUTES`: the file the route keeps what it
        prepares for the run in, so that a stopped run resumes (the sample
        file writer passes one next to the sample file); None: in memory.
    max_seconds : float, optional
        Methods of :data:`PREPARED_ROUTES` whose module predicts its
        preparation (``predict_seconds``): refuse a preparation predicted to
        take longer, before it starts (RuntimeLimitError).  The batches are
        priced by :meth:`RunPlan.priced`.

    Returns
    -------
    RunPlan
        Not yet priced: see :meth:`RunPlan.priced`.
    """
    shots = check_shots(shots)
    method = check_method(method, experiment)
    n_workers = check_n_workers(n_workers)
    entropy, root = root_seed(rng)
    if entropy is None and (n_workers > 1 or client is not None):
        raise InputError("rng must be a seed (int or SeedSequence), not a Generator, "
                         "for parallel runs: batches need independent child seeds")
    if method == "mps":
        bar = progress if progress is None or isinstance(progress, (bool, np.bool_)) else False
        prepared = mps_route.network_for(experiment, mps, n_workers, client, bar)
    elif mps is not None:
        raise InputError(f"mps is an argument of method 'mps', not of {method!r}")
    elif method in PREPARED_ROUTES:  # a ProgressBar sink's setting also shows the preparation
        bar = progress if progress is None or isinstance(progress, (bool, np.bool_)) else \
            progress.enabled if isinstance(progress, ProgressBar) else False
        route = PREPARED_ROUTES[method]
        limit = {} if max_seconds is None or not hasattr(route, "predict_seconds") else {
            "max_seconds": check_max_seconds(max_seconds)}
        prepared = route.prepare(experiment, shots, root, path=prepared_path,
                                 n_workers=n_workers, progress=bar, **limit)
    else:
        prepared = None
    if entropy is None:
        return RunPlan(experiment, shots, method, n_workers, client, None, None, root,
                       prepared=prepared)
    key = tuple(int(k) for k in root.spawn_key)
    return RunPlan(experiment, shots, method, n_workers, client, entropy, key, prepared=prepared)


def route_sampler(experiment, method, prepared=None):
    """The per-route sampler of ``method`` (module docstring); ``prepared``
    what the route prepared for the run (:class:`RunPlan`)."""
    if method == "exact":
        return _ExactCounts(experiment)
    if method == "threshold-chain":
        return ThresholdChainSampler(experiment)
    if method == "fan-out":
        return fanout.FanOutSampler(experiment)
    if method == "mps":
        return mps_route.MPSSampler(experiment, prepared)
    if method in PREPARED_ROUTES:
        return PREPARED_ROUTES[method].Sampler(experiment, prepared)
    return adversary_sampler(experiment, method)


class _ExactCounts:
    """The exact sampler's photon numbers per detector (internal modes summed)."""

    def __init__(self, experiment):
        self._sampler = PhotonNumberSampler(experiment.output_state())
        self._shape = (experiment.internal_modes, experiment.n_modes)
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)

    @property
    def unresolved_mass(self):
        return self._sampler.unresolved_mass

    def counts(self, size, rng):
        photons = self._sampler.sample(rng, size)
        return photons.reshape(size, *self._shape).sum(axis=1)


class _BatchDraw:
    """Draws batch i of an experiment: ``(patterns, unresolved_mass)``;
    picklable, builds its route sampler once per process."""

    def __init__(self, experiment, method, entropy, key, generator=None, prepared=None):
        self.experiment, self.method, self.prepared = experiment, method, prepared
        self.entropy, self.key, self.generator = entropy, key, generator
        self._sampler = None

    def __getstate__(self):
        return {**self.__dict__, "_sampler": None}

    def __call__(self, index, size):
        generator = self.generator
        if generator is None:
            generator = np.random.default_rng(
                np.random.SeedSequence(self.entropy, spawn_key=(*self.key, index)))
        if self._sampler is None:
            self._sampler = route_sampler(self.experiment, self.method, self.prepared)
        if hasattr(self._sampler, "batch_counts"):  # rows of a whole-run construction
            counts = self._sampler.batch_counts(index, size, generator)
        else:
            counts = self._sampler.counts(size, generator)
        detector = self.experiment.detector
        add_dark = detector.fire_dark if getattr(self._sampler, "counts_are_clicks", False) \
            else detector.detect
        patterns = add_dark(counts, self._sampler.dark_counts, generator)
        return patterns, self._sampler.unresolved_mass


def iter_batches(plan):
    """Yield ``(index, patterns, unresolved_mass)`` for the batches of
    ``plan`` from ``plan.first_batch`` on, in order."""
    draw = _BatchDraw(plan.experiment, plan.method, plan.seed_entropy, plan.seed_spawn_key,
                      plan.generator, plan.prepared)
    sizes = plan.batch_sizes
    batches = [(i, sizes[i]) for i in range(plan.first_batch, len(sizes))]
    for index, (patterns, mass) in map_batches(draw, batches, plan.n_workers, plan.client):
        yield index, patterns, mass


def run(plan, *sinks):
    """Draw the batches of ``plan`` into ``sinks``: each gets ``start(plan)``,
    then ``add(index, patterns, unresolved_mass)`` per batch in order, and
    ``close()`` however the run ends."""
    try:
        for sink in sinks:
            sink.start(plan)
        for index, patterns, mass in iter_batches(plan):
            for sink in sinks:
                sink.add(index, patterns, mass)
    finally:
        for sink in sinks:
            sink.close()


class Collect:
    """A sink keeping the patterns in memory; :meth:`samples` the result."""

    def __init__(self):
        self._patterns, self._mass = [], 0.0

    def start(self, plan):
        pass

    def add(self, index, patterns, unresolved_mass):
        self._patterns.append(patterns)
        self._mass = max(self._mass, unresolved_mass)

    def close(self):
        pass

    def samples(self, plan):
        from jiuzhang_emu._version import __version__

        extra = {} if plan.mps is None else {"mps": plan.mps.summary()}
        if plan.method == "boltzmann":
            extra["boltzmann"] = plan.prepared.summary()
        return Samples(np.concatenate(self._patterns), plan.experiment.describe(), plan.method,
                       plan.seed_entropy, __version__, self._mass, extra,
                       seed_spawn_key=plan.seed_spawn_key)


class ProgressBar:
    """A sink showing a tqdm progress bar over shots with the plan's
    predicted time (shown next to tqdm's own estimate, which needs a finished
    batch).  ``enabled=None`` shows it when stderr is a terminal; without
    tqdm there is no bar."""

    def __init__(self, enabled=None, description="sampling"):
        self.enabled, self.description = enabled, description
        self._bar = None

    def start(self, plan):
        enabled = sys.stderr.isatty() if self.enabled is None else self.enabled
        try:
            from tqdm import tqdm
        except ImportError:
            return
        if enabled:
            description = self.description
            if plan.predicted_seconds is not None:
                description += f" (predicted {cost.format_seconds(plan.predicted_seconds)})"
            self._bar = tqdm(total=plan.shots, initial=plan.first_shot, unit="shot",
                             desc=description, file=sys.stderr, dynamic_ncols=True)

    def add(self, index, patterns, unresolved_mass):
        if self._bar is not None:
            self._bar.update(len(patterns))

    def close(self):
        if self._bar is not None:
            self._bar.close()


def progress_sink(progress):
    """The sink of a ``progress`` argument: a :class:`ProgressBar` for None
    or a bool, else ``progress`` itself (a sink)."""
    if progress is None or isinstance(progress, (bool, np.bool_)):
        return ProgressBar(progress)
    return progress


def sample(experiment, shots, *, rng=None, method="auto", n_workers=1, client=None,
           max_seconds=3600.0, progress=None, mps=None):
    """Samples of an experiment's detection patterns: exact, or from a
    classical adversary matched to its first moments.

    Parameters
    ----------
    experiment : Experiment
    shots : int
    rng : None, int, SeedSequence or Generator
    method : {"auto", "exact", "threshold-chain", "fan-out", "mps", "thermal", "squashed", \
"coherent", "distinguishable", "uniform", "greedy", "boltzmann"}
        "exact": photon-number sampling, coarse-grained by the detector
        model.  "threshold-chain": the torontonian chain rule (threshold
        detectors).  "fan-out": threshold and pseudo-PNR clicks at a cost
        ~2^(clicks / 2) (:mod:`jiuzhang_emu.samplers.fanout`;
        indistinguishable light).  "mps": approximate, from a matrix product
        state of the pure part (:mod:`jiuzhang_emu.samplers.mps`; never
        chosen by "auto").  "greedy": a set of rows constructed once for the
        whole run to match the first and second click moments, not i.i.d.
        (:mod:`jiuzhang_emu.samplers.greedy`; threshold detectors).
        "boltzmann": the k = 2 low-order marginal sampler, a fitted
        Boltzmann machine sampled by Gibbs sweeps
        (:mod:`jiuzhang_emu.samplers.boltzmann`; threshold detectors,
        approximate, never chosen by "auto").  "auto": the exact route
        predicted to be cheapest.  The others: the classical adversaries of
        :mod:`jiuzhang_emu.samplers.adversaries`.
    n_workers : int
        Local worker processes; the samples do not depend on it.
    client : dask.distributed.Client, optional
    max_seconds : float or None
        Refuse a run predicted to take longer (default one hour; "greedy":
        its construction, priced before it starts); None lifts the limit.
    progress : bool or sink, optional
        Show a progress bar with the predicted time; None: when stderr is a
        terminal.  A sink (``start``, ``add``, ``close``: module docstring)
        is fed instead.
    mps : LossyMPS, str or os.PathLike, optional
        Method "mps" only: the network
        (:func:`jiuzhang_emu.samplers.mps.build_mps`), or the path of an
        MPS file (built or resumed with its stored parameters, or built
        there with the defaults when it does not exist); None: built in
        memory with the defaults.

    Returns
    -------
    Samples
    """
    plan = plan_run(experiment, shots, rng=rng, method=method, n_workers=n_workers,
                    client=client, mps=mps, progress=progress,
                    max_seconds=max_seconds).priced(max_seconds)
    memory = Collect()
    run(plan, memory, progress_sink(progress))
    return memory.samples(plan)
