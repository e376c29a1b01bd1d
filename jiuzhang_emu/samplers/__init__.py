"""Samplers: detection patterns of an :class:`~jiuzhang_emu.Experiment`.

The exact sampler draws photon numbers at the detectors
(:mod:`jiuzhang_emu.samplers.exact`) and lets the detector model turn them
into patterns (threshold: coarse-graining; pseudo-PNR: each photon to one of k
detectors; dark counts added), which is exact for every detector model.
Partly distinguishable light is sampled on its internal modes and summed per
detector.  For threshold detectors the torontonian chain rule
(:mod:`jiuzhang_emu.samplers.threshold_chain`) is a second exact route;
"auto" takes the one predicted to be cheaper, and a run predicted to exceed
``max_seconds`` is refused (:mod:`jiuzhang_emu.samplers.runtime`).

Classical adversaries (:mod:`jiuzhang_emu.samplers.adversaries`: "thermal",
"squashed", "coherent", "distinguishable", "uniform", "greedy"), matched to
the experiment's first moments (greedy: to its first and second moments), are
selected by ``method`` and go through the same batches, seeds and detector
model.

Randomness and parallel runs: ``rng`` is anything
:func:`numpy.random.default_rng` accepts.  Shots are drawn in batches of
``BATCH_SIZE``; batch i uses the child seed ``SeedSequence(entropy,
spawn_key=(*spawn_key, i))`` of the root ``SeedSequence(entropy, spawn_key)``
(an int seed has the empty spawn key, so batch i of ``rng=7`` is
``SeedSequence(7, spawn_key=(i,))``; a spawned child such as
``SeedSequence(7).spawn(3)[1]``, spawn key (1,), draws batch i from spawn key
(1, i)), so a seed gives the same samples whatever the number of workers (a
local process pool, ``n_workers``) or a Dask ``client``, and children spawned
from one seed give different samples.  Only the entropy and the spawn key of
a SeedSequence are used (a non-default ``pool_size`` is not).  A Generator
passed as ``rng`` is used as one stream (single worker only).

Interrupting a run (Ctrl-C, or SIGTERM where the caller turns it into
KeyboardInterrupt) stops it within a second or two: the native kernels poll
for signals, and a local pool's workers are terminated.  A pool worker also
exits at once when the process that started the pool dies without cleaning
up (SIGKILL): it watches its parent's sentinel (see :func:`_start_worker`).
"""
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from jiuzhang_emu import cost
from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError, JiuzhangEmuError
from jiuzhang_emu.samplers.adversaries import ADVERSARIES, adversary_experiment, adversary_sampler
from jiuzhang_emu.samplers import runtime
from jiuzhang_emu.samplers.exact import PhotonNumberSampler
from jiuzhang_emu.samplers.threshold_chain import ThresholdChainSampler

BATCH_SIZE = 64
METHODS = ("auto", "exact", "threshold-chain", *ADVERSARIES)


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
        (a draw above it raises PrecisionLimitError).
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


#: Methods that sample only threshold detection.
THRESHOLD_ONLY = ("threshold-chain", "greedy")


def check_method(method, experiment=None):
    """The method's name, with "auto" resolved to the cheaper exact route for
    ``experiment`` (:func:`jiuzhang_emu.cost.predict`); a method that
    cannot sample ``experiment`` at all is refused."""
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if experiment is None:
        return "exact" if method == "auto" else method
    if method == "auto":
        return cost.predict(experiment).route
    if method in THRESHOLD_ONLY and not isinstance(experiment.detector, Threshold):
        raise InputError(f"method {method!r} samples threshold detectors only, and "
                         f"{experiment.name!r} has {experiment.detector.kind} detection; "
                         f"use 'exact' (or 'auto')")
    if method in ADVERSARIES and experiment.sources is None:
        raise InputError(f"method {method!r} replaces the experiment's sources, and "
                         f"{experiment.name!r} is built from a GaussianState, not sources")
    return method


def check_workers(n_workers):
    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)) or n_workers < 1:
        raise InputError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    return int(n_workers)


def root_seed(rng):
    """(entropy, root) for ``rng``: root is a SeedSequence (a given one with
    its spawn key: :func:`spawn_key`), or the Generator itself (entropy
    None)."""
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


def spawn_key(root):
    """The spawn key of a root SeedSequence as a tuple of ints (() for an
    int seed); None for a Generator."""
    if isinstance(root, np.random.Generator):
        return None
    return tuple(int(k) for k in root.spawn_key)


def batch_seed(entropy, key, index):
    """The SeedSequence of batch ``index`` of the root seed (entropy, key)."""
    return np.random.SeedSequence(entropy, spawn_key=(*key, index))


def batch_sizes(shots):
    """Sizes of the shot batches, in order."""
    full, rest = divmod(shots, BATCH_SIZE)
    return [BATCH_SIZE] * full + ([rest] if rest else [])


class _ExactPhotons:
    """The exact sampler's photon numbers per detector (internal modes summed)."""

    def __init__(self, experiment):
        self._sampler = PhotonNumberSampler(experiment.output_state())
        self._shape = (experiment.internal_modes, experiment.n_modes)
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)

    @property
    def unresolved_mass(self):
        return self._sampler.unresolved_mass

    def photons(self, size, rng):
        photons = self._sampler.sample(rng, size)
        return photons.reshape(size, *self._shape).sum(axis=1)


def photon_sampler(experiment, method):
    """The photon-number sampler of ``method`` ("exact" or an adversary):
    ``photons(size, rng)`` of shape (size, M), ``dark_counts`` for the
    detector model and ``unresolved_mass``."""
    if method == "exact":
        return _ExactPhotons(experiment)
    if method == "threshold-chain":
        return ThresholdChainSampler(experiment)
    return adversary_sampler(experiment, method)


class _BatchRunner:
    """Draws batch i of an experiment; picklable, builds its sampler once per
    process (a pool worker gets it once, at start: :func:`_start_worker`)."""

    def __init__(self, experiment, method, entropy, key=()):
        self.experiment, self.method, self.entropy, self.key = experiment, method, entropy, key
        self._sampler = None

    def __getstate__(self):
        return {**self.__dict__, "_sampler": None}

    def __call__(self, index, size, generator=None):
        if generator is None:
            generator = np.random.default_rng(batch_seed(self.entropy, self.key, index))
        if self._sampler is None:
            self._sampler = photon_sampler(self.experiment, self.method)
        photons = self._sampler.photons(size, generator)
        patterns = self.experiment.detector.detect(photons, self._sampler.dark_counts, generator)
        return patterns, self._sampler.unresolved_mass


def iter_batches(experiment, shots, *, rng=None, method="auto", first_batch=0, n_workers=1,
                 client=None, max_seconds=3600.0):
    """Yield ``(index, patterns, unresolved_mass)`` for the shot batches
    ``first_batch, first_batch + 1, ...`` in order.

    Parameters
    ----------
    experiment : Experiment
    shots : int
        Total shots of the run (batches before ``first_batch`` are skipped:
        a resumed run).
    rng, method
        As for :func:`sample`.
    n_workers : int
        Local worker processes (1: this process).
    client : dask.distributed.Client, optional
        Run the batches on a Dask cluster instead.
    max_seconds : float or None
        Refuse a run predicted to take longer (RuntimeLimitError with the
        estimate); None lifts the limit.
    """
    shots = check_shots(shots)
    method = check_method(method, experiment)
    n_workers = check_workers(n_workers)
    remaining = shots - min(first_batch * BATCH_SIZE, shots)
    runtime.check_run_seconds(experiment, remaining, method, n_workers, max_seconds)
    entropy, root = root_seed(rng)
    sizes = batch_sizes(shots)
    indices = range(first_batch, len(sizes))
    runner = _BatchRunner(experiment, method, entropy, spawn_key(root))
    if entropy is None:
        if n_workers > 1 or client is not None:
            raise InputError("rng must be a seed (int or SeedSequence), not a Generator, "
                             "for parallel runs: batches need independent child seeds")
        for i in indices:
            yield (i, *runner(i, sizes[i], root))
        return
    if client is not None:
        futures = client.map(runner, list(indices), [sizes[i] for i in indices], pure=False)
        try:
            for i, future in zip(indices, futures):
                yield (i, *future.result())
        finally:
            client.cancel(futures)
        return
    if n_workers == 1:
        for i in indices:
            yield (i, *runner(i, sizes[i]))
        return
    # forkserver: forking a process whose OpenMP runtime is live can hang.
    # concurrent.futures, not multiprocessing.Pool: a Pool whose worker died
    # holding a queue lock deadlocks in terminate(); the executor marks itself
    # broken instead.  Leaving the block kills the workers: an interrupted
    # run stops at once.
    context = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
    executor = ProcessPoolExecutor(n_workers, mp_context=context, initializer=_start_worker,
                                   initargs=(runner, os.getpid()))
    workers = {}
    try:
        futures = [executor.submit(_run_batch, (i, sizes[i])) for i in indices]
        for i, future in zip(indices, futures):
            yield (i, *_next_result(future, executor, workers))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        for worker in _seen_workers(executor, workers).values():
            if worker.exitcode is None:
                worker.kill()
            worker.join(1)


class WorkerError(JiuzhangEmuError, RuntimeError):
    """A pool worker process died while the run was sampling."""


def _seen_workers(executor, workers):
    """Add the executor's live worker processes to ``workers`` (pid ->
    process) and return it: a broken executor forgets its processes."""
    workers.update(getattr(executor, "_processes", None) or {})
    return workers


def _next_result(future, executor, workers, poll_seconds=1.0):
    """The result of a batch's ``future``, waited for in slices, so that this
    thread runs its signal handlers and sees a worker that died.

    A worker ended by SIGTERM or SIGINT (e.g. `timeout` signals the whole
    process group) ends the run as an interrupt; any other death is a
    :class:`WorkerError` (the batches it held are lost).
    """
    while True:
        _check_workers(_seen_workers(executor, workers))
        try:
            return future.result(timeout=poll_seconds)
        except FuturesTimeout:
            pass
        except BrokenProcessPool:
            _check_workers(workers)
            raise WorkerError("a worker process ended while sampling; the batches it held "
                              "are lost, so the run stops") from None


def _check_workers(workers):
    """Raise for the dead workers in ``workers``: WorkerError naming one that
    did not end by SIGTERM/SIGINT (the executor terminates the others once
    one died), else KeyboardInterrupt."""
    dead = {pid: worker.exitcode for pid, worker in workers.items()
            if worker.exitcode is not None}
    if not dead:
        return
    interrupts = (-signal.SIGTERM, -signal.SIGINT)
    for pid, code in dead.items():
        if code in interrupts:
            continue
        try:
            cause = f"killed by {signal.Signals(-code).name}" if code < 0 else None
        except ValueError:
            cause = f"killed by signal {-code}"
        cause = cause or f"exit status {code}"
        raise WorkerError(f"worker process {pid} ended while sampling ({cause}); "
                          f"the batches it held are lost, so the run stops")
    raise KeyboardInterrupt


_WORKER_RUNNER = None


def _start_worker(runner, caller):
    """Pool initializer: keep the runner; Ctrl-C is the parent's to handle
    (it terminates the pool); exit as soon as the process that started the
    pool (pid ``caller``) is gone.

    A worker killed with its pool's parent would otherwise live on: it waits
    for tasks on a queue whose write end it holds itself, and with the
    forkserver start method its parent is the fork server, which in turn
    waits for its children (so ``PR_SET_PDEATHSIG`` would not fire either),
    all of them holding the caller's stdout and stderr.  The watch thread
    waits on the parent's sentinel (a pipe that closes when the caller dies),
    or polls ``caller`` where there is no sentinel.
    """
    global _WORKER_RUNNER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_RUNNER = runner
    threading.Thread(target=_exit_with_parent, args=(caller,), daemon=True,
                     name="jiuzhang_emu-parent-watch").start()


def _exit_with_parent(caller, poll_seconds=0.5):
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    if parent is not None and parent.pid == caller and sentinel is not None:
        multiprocessing.connection.wait([sentinel])
    elif os.name != "posix":  # os.kill(pid, 0) would end the process there
        return
    else:
        while True:
            try:
                os.kill(caller, 0)
            except ProcessLookupError:
                break
            except OSError:  # exists, owned by someone else: not ours any more
                break
            time.sleep(poll_seconds)
    os._exit(1)


def _run_batch(task):
    return _WORKER_RUNNER(*task)


def progress_bar(total, initial=0, enabled=None, description="sampling", predicted=None):
    """A tqdm progress bar over shots, or a stand-in doing nothing.

    ``enabled=None`` shows it when stderr is a terminal; without tqdm there
    is no bar.  ``predicted`` (seconds) is shown next to tqdm's own estimate,
    which needs a finished batch.
    """
    if enabled is None:
        enabled = sys.stderr.isatty()
    try:
        from tqdm import tqdm
    except ImportError:
        enabled = False
    if not enabled:
        return _NoBar()
    if predicted is not None:
        description = f"{description} (predicted {cost.format_seconds(predicted)})"
    return tqdm(total=total, initial=initial, unit="shot", desc=description, file=sys.stderr,
                dynamic_ncols=True)


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def sample(experiment, shots, *, rng=None, method="auto", n_workers=1, client=None,
           max_seconds=3600.0, progress=None):
    """Samples of an experiment's detection patterns: exact, or from a
    classical adversary matched to its first moments.

    Parameters
    ----------
    experiment : Experiment
    shots : int
    rng : None, int, SeedSequence or Generator
    method : {"auto", "exact", "threshold-chain", "thermal", "squashed", "coherent", \
"distinguishable", "uniform"}
        "exact": photon-number sampling, coarse-grained by the detector
        model.  "threshold-chain": the torontonian chain rule (threshold
        detectors).  "auto": the exact route predicted to be cheaper.  The
        others: the classical adversaries of
        :mod:`jiuzhang_emu.samplers.adversaries`.
    n_workers : int
        Local worker processes; the samples do not depend on it.
    client : dask.distributed.Client, optional
    max_seconds : float or None
        Refuse a run predicted to take longer (default one hour); None lifts
        the limit.
    progress : bool, optional
        Show a progress bar with the predicted time; None: when stderr is a
        terminal.

    Returns
    -------
    Samples
    """
    from jiuzhang_emu import __version__

    shots = check_shots(shots)
    method = check_method(method, experiment)
    n_workers = check_workers(n_workers)
    entropy, root = root_seed(rng)
    predicted = runtime.check_run_seconds(experiment, shots, method, n_workers, max_seconds)
    bar = progress_bar(shots, enabled=progress, predicted=predicted)
    patterns, unresolved = [], 0.0
    try:
        for _, batch, mass in iter_batches(experiment, shots, rng=root, method=method,
                                           n_workers=n_workers, client=client,
                                           max_seconds=None):
            patterns.append(batch)
            unresolved = max(unresolved, mass)
            bar.update(len(batch))
    finally:
        bar.close()
    return Samples(np.concatenate(patterns), experiment.describe(), method, entropy,
                   __version__, unresolved, seed_spawn_key=spawn_key(root))
