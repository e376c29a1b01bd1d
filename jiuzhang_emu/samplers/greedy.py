"""The whole-set greedy spoofer: method "greedy" (threshold detectors).

The second-order marginal spoofer of Villalonga, Niu, Li, Neven, Platt,
Smelyanskiy, Boixo, arXiv:2109.11525, built over the whole run: the
``shots`` x M click matrix of a run is constructed once, column by column,
so that its column sums and pair co-click counts follow L p_j and L p_jk
(L = shots), p_j = ``experiment.click_probabilities()`` and p_jk =
``experiment.pair_click_probabilities()``, dark counts included (so the
route's ``dark_counts`` are zero).  Column j visits the rows in a random
order and gives each the bit that maximises the deficit of the cells it
falls in, sum_{l<j} [(t+1) P_lj(x_l, b) - c_lj(x_l, b)] + (t+1) P_j(b) -
c_j(b) over the t rows already set (:mod:`jiuzhang_emu.kernels.low_order`,
native code).  ``sweeps`` refinement sweeps (default 1 up to 4096 modes,
none above; our addition) then
revisit every column and flip the bits that lower the squared count error of
its pairs (and, weighted by sqrt(M), of its clicks).  The rows are then
shuffled once, and batch i of the run is rows [64 i, 64 i + size) of the
shuffled set.

What a run guarantees:

- the samples are NOT independent draws of any distribution: they are one
  constructed set, built to match the experiment's first and second click
  moments and nothing more (higher orders follow from the construction);
- over the whole set, the column sums are within ~1-2 counts of L p_j and
  the pair counts within a few counts of L p_jk (measured, L = 10,000, one
  sweep: RMS 0.7 counts at 52 modes, 3.5 at 1022; without the sweep 1.5 and
  6.3), i.e. the first and second moments match to O(1/L) in the counts
  that grow slowly with M; against the shot noise of L independent samples
  the pair z-scores have RMS 0.02 (52 modes) and 0.22 (1022 modes);
- the rows are shuffled with a seed, so a prefix of the run (a sample file
  read in part) is a uniform subset of the set drawn without replacement:
  its error is that of sampling without replacement, no more;
- a resumed construction (the side file ``path`` of :func:`prepare`, kept
  by the sample-file writer next to its file as OUT.greedy.h5) reproduces
  exactly the rows of the uninterrupted run of the same seed and shots, and
  the rows do not depend on the number of workers or threads.

Randomness: column j's visiting order is a permutation drawn from
``SeedSequence(entropy, spawn_key=(*key, STREAM, 0, j))`` and the final
shuffle from spawn key ``(*key, STREAM, 1)``, (entropy, key) the run's root
seed (a Generator root gives the entropy: one draw of 63 bits).  Batch seeds
use ``(*key, i)`` with i < 2**32, so the streams are disjoint.

Cost: O(L M^2 / 2) time for the construction and O(L M^2) per sweep, at
:data:`SECONDS_PER_PAIR_ROW` per (row, pair) (measured with 2 threads:
0.5-0.9 ns on a quiet 2-core machine, 3-5 ns when it is shared with load
~5-8; :func:`predict_seconds` uses 1 ns, and a run priced above
``max_seconds`` is refused before it starts: 10,000 shots of 8176 modes,
~3.3e11 pair-rows for the construction and 6.7e11 per sweep, predict ~17
minutes with one sweep, so none by default there), plus the pair targets, one block of
``pair_click_probabilities`` per chunk of columns; memory L M bytes for the
matrix (82 MB at 10,000 x 8176), the side file's chunk, and one chunk of
pair targets.
"""
import ast
import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu import cost
from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError, RuntimeLimitError
from jiuzhang_emu.kernels.checks import check_integer
from jiuzhang_emu.kernels.low_order import greedy_columns, greedy_refine

#: Spawn-key element of the construction's streams (module docstring).
STREAM = 2**32 + 0x6772
#: Predicted seconds per (row, column pair) of the construction.
SECONDS_PER_PAIR_ROW = 1.0e-9
#: Pair-row work per chunk of columns (one kernel call, one checkpoint):
#: ~0.5 s; Ctrl-C is answered between chunks.
CHUNK_WORK = 1 << 30
#: Refinement sweeps after the construction (:func:`jiuzhang_emu.kernels.
#: low_order.greedy_refine`) up to ``SWEEP_MODES`` modes; none above, where
#: one sweep (twice the construction's work) would take the 10,000-shot
#: Jiuzhang 4.0 run past 15 minutes on 2 cores.
DEFAULT_SWEEPS = 1
SWEEP_MODES = 4096
FORMAT = "jiuzhang_emu greedy construction"
FORMAT_VERSION = 1


def check_experiment(experiment):
    """Refuse what the route cannot sample (before any work)."""
    if not isinstance(experiment.detector, Threshold):
        raise InputError(f"method 'greedy' needs threshold detectors, and {experiment.name!r} "
                         f"has {experiment.detector.kind} detection (use 'exact' or "
                         f"'threshold-chain' on a threshold model)")


def predict_seconds(experiment, shots, n_workers=1, columns_done=0, sweeps=None,
                    sweeps_done=0, sweep_columns=0):
    """Predicted seconds of the construction of ``shots`` rows and its
    refinement sweeps (from the given progress on): ``SECONDS_PER_PAIR_ROW``
    times L sum_j j for the construction and L M (M - 1) per sweep."""
    M = experiment.n_modes
    sweeps = default_sweeps(M) if sweeps is None else sweeps
    pairs = (M * (M - 1) - columns_done * (columns_done - 1)) / 2
    pairs += (M - 1) * (M * (sweeps - sweeps_done) - sweep_columns)
    return SECONDS_PER_PAIR_ROW * shots * pairs


def default_sweeps(n_modes):
    """``DEFAULT_SWEEPS`` up to ``SWEEP_MODES`` modes, else 0."""
    return DEFAULT_SWEEPS if n_modes <= SWEEP_MODES else 0


def click_weight(n_modes):
    """lambda of the refinement sweeps: sqrt(M) (measured at 430 modes: the
    click counts stay within ~1.5 of L p_j while the pair error halves)."""
    return float(np.sqrt(n_modes))


def seconds_per_shot(experiment):
    """Predicted seconds per shot once the set is built: reading its rows
    and the detector model's pass over them (~10 ns per mode)."""
    return 1e-8 * experiment.n_modes


@dataclass(frozen=True, eq=False)
class GreedySet:
    """A finished whole-run construction.

    Attributes
    ----------
    rows : ndarray of uint8, shape (shots, M)
        The clicks, shuffled: batch i is rows [64 i, 64 i + size).
    fingerprint : str
        The experiment's fingerprint.
    seconds : float
        Construction time of this call (0 for a file that was complete).
    path : str or None
        The side file, if any.
    """

    rows: np.ndarray
    fingerprint: str
    seconds: float = 0.0
    path: object = None

    @property
    def shots(self):
        return self.rows.shape[0]


def _seed(root):
    """(entropy, spawn key) of a root SeedSequence, or drawn from a Generator."""
    if isinstance(root, np.random.Generator):
        return int(root.integers(2**63)), ()
    return root.entropy, tuple(int(k) for k in root.spawn_key)


def _stream(entropy, key, *tail):
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(*key, STREAM, *tail)))


def _identity(experiment, shots, entropy, key, sweeps):
    return {"format": FORMAT, "format_version": FORMAT_VERSION,
            "fingerprint": experiment.fingerprint(), "n_modes": experiment.n_modes,
            "shots": shots, "seed_entropy": str(entropy), "seed_spawn_key": repr(tuple(key)),
            "sweeps": sweeps}


def _orders(entropy, key, L, stage, j0, j1):
    """The visiting orders of columns j0..j1-1 in a stage: (0,) the
    construction, (2, s) refinement sweep s."""
    return np.array([_stream(entropy, key, *stage, j).permutation(L) for j in range(j0, j1)],
                    dtype=np.int32)


def _checkpoint(handle, X, j0, j1, **counters):
    """Write columns j0..j1-1 and then the counters, flushed (None: in memory)."""
    if handle is None:
        return
    handle["clicks"][:, j0:j1] = X[:, j0:j1]
    handle.flush()
    handle.attrs.update(counters)
    handle.flush()


def stored_seed(path):
    """The root SeedSequence of the construction in the side file ``path``,
    or None (no such file, or not a construction): how a run started without
    a seed resumes its construction."""
    import h5py

    if not os.path.isfile(path):
        return None
    try:
        with h5py.File(path, "r") as handle:
            if handle.attrs.get("format") != FORMAT:
                return None
            entropy = int(handle.attrs["seed_entropy"])
            key = ast.literal_eval(str(handle.attrs["seed_spawn_key"]))
    except (OSError, KeyError, ValueError, SyntaxError):
        return None
    return np.random.SeedSequence(entropy, spawn_key=tuple(int(k) for k in key))


def _open_side_file(path, identity, shape):
    """(h5py File, (columns done, sweeps done, columns of the next sweep
    done)): a new file, or an existing one of this
    construction (any other is refused and left unchanged)."""
    import h5py

    if os.path.exists(path):
        try:
            handle = h5py.File(path, "r+")
        except OSError as exc:
            raise InputError(f"path {path!r} exists and is not an HDF5 file of a greedy "
                             f"construction ({exc}); left unchanged: remove it or pass "
                             f"another path") from exc
        attrs = {k: handle.attrs.get(k) for k in identity}
        attrs = {k: v.decode() if isinstance(v, bytes) else v for k, v in attrs.items()}
        differences = [f"{k} {attrs[k]!r} in the file, {v!r} here"
                       for k, v in identity.items() if attrs[k] is None or str(attrs[k]) != str(v)]
        if differences or "clicks" not in handle or handle["clicks"].shape != shape:
            handle.close()
            raise InputError(f"{path!r} holds another greedy construction and is left "
                             f"unchanged: " + ("; ".join(differences) or "no clicks dataset")
                             + " (remove it or pass another path)")
        return handle, tuple(int(handle.attrs[k])
                             for k in ("columns_done", "sweeps_done", "sweep_columns"))
    handle = h5py.File(path, "w")
    handle.attrs.update(identity)
    handle.attrs.update(columns_done=0, sweeps_done=0, sweep_columns=0)
    handle.create_dataset("clicks", shape=shape, dtype=np.uint8,
                          chunks=(min(shape[0], 4096), min(shape[1], 64)), compression="lzf")
    handle.flush()
    return handle, (0, 0, 0)


class _ColumnBar:
    """A tqdm bar over columns (``enabled`` None: when stderr is a terminal)."""

    def __init__(self, enabled, total, initial, seconds):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="column", file=sys.stderr,
                             desc=f"greedy set (predicted {cost.format_seconds(seconds)})",
                             dynamic_ncols=True)

    def update(self, n):
        if self._bar is not None:
            self._bar.update(n)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def prepare(experiment, shots, root, *, path=None, n_workers=1, progress=None,
            max_seconds=None, n_threads=None, sweeps=None):
    """Construct (or resume) the whole run's click matrix.

    Parameters
    ----------
    experiment : Experiment
        Threshold detectors.
    shots : int
        L, the rows of the whole run.
    root : SeedSequence or Generator
        The run's root seed (module docstring).
    path : str or os.PathLike, optional
        HDF5 side file: finished columns are checkpointed there after every
        chunk, and an existing file of the same experiment, shots and seed
        is resumed (a complete one just read); a file of another
        construction is refused and left unchanged.  None: in memory.
    n_workers : int
        Threads of the kernel's parallel part when ``n_threads`` is None
        (on a machine shared with other work more threads can be slower:
        measured 4x at load 7 on 2 cores); the rows do not depend on it.
    progress : bool, optional
        A progress bar over columns; None: when stderr is a terminal.
    max_seconds : float, optional
        Refuse (RuntimeLimitError) a construction predicted to take longer.
    n_threads : int, optional
        Kernel threads (default ``n_workers``).
    sweeps : int, optional
        Refinement sweeps after the construction (0: the construction
        alone); None: :func:`default_sweeps`.

    Returns
    -------
    GreedySet
    """
    check_experiment(experiment)
    L, M = int(shots), experiment.n_modes
    entropy, key = _seed(root)
    sweeps = default_sweeps(experiment.n_modes) if sweeps is None else \
        check_integer(sweeps, "sweeps", low=0)
    identity = _identity(experiment, L, entropy, key, sweeps)
    path = None if path is None else os.fspath(path)
    handle, (done, swept, sweep_done) = (_open_side_file(path, identity, (L, M))
                                         if path is not None else (None, (0, 0, 0)))
    start = time.perf_counter()
    try:
        X = np.zeros((L, M), dtype=np.uint8)
        if done:
            X[:, :done] = handle["clicks"][:, :done]  # all of it once a sweep started
        chunk = max(1, CHUNK_WORK // (L * M))
        threads = n_threads or n_workers
        seconds = predict_seconds(experiment, L, n_workers, done, sweeps, swept, sweep_done)
        if max_seconds is not None and seconds > max_seconds:
            raise RuntimeLimitError(
                f"the greedy construction of {L} shots of {experiment.name!r} ({M} modes) is "
                f"predicted to take {cost.format_seconds(seconds)} ({seconds:.3g} s), above "
                f"the limit of {cost.format_seconds(max_seconds)}",
                seconds=seconds, max_seconds=max_seconds)
        bar = _ColumnBar(progress, M * (1 + sweeps), done + M * swept + sweep_done, seconds)
        try:
            if done < M:
                p = experiment.click_probabilities()
                for j0 in range(done, M, chunk):
                    j1 = min(M, j0 + chunk)
                    order = _orders(entropy, key, L, (0,), j0, j1)
                    pair = experiment.pair_click_probabilities(np.arange(j0, j1), np.arange(j1))
                    greedy_columns(X, j0, j1, p, np.clip(pair, 0, 1), order, n_threads=threads)
                    _checkpoint(handle, X, j0, j1, columns_done=j1)
                    bar.update(j1 - j0)
            for sweep in range(swept, sweeps):
                for j0 in range(sweep_done if sweep == swept else 0, M, chunk):
                    j1 = min(M, j0 + chunk)
                    order = _orders(entropy, key, L, (2, sweep), j0, j1)
                    pair = experiment.pair_click_probabilities(np.arange(j0, j1))
                    greedy_refine(X, j0, j1, np.clip(pair, 0, 1), order, click_weight(M),
                                  n_threads=threads)
                    done_now = (sweep + 1, 0) if j1 == M else (sweep, j1)
                    _checkpoint(handle, X, j0, j1, sweeps_done=done_now[0],
                                sweep_columns=done_now[1])
                    bar.update(j1 - j0)
        finally:
            bar.close()
    finally:
        if handle is not None:
            handle.close()
    rows = X[_stream(entropy, key, 1).permutation(L)]
    return GreedySet(rows, experiment.fingerprint(), time.perf_counter() - start, path)


class Sampler:
    """The route sampler of "greedy": batch i is rows [64 i, 64 i + size) of
    the shuffled construction (``rng`` unused: the construction is fixed)."""

    counts_are_clicks = False
    unresolved_mass = 0.0

    def __init__(self, experiment, prepared):
        check_experiment(experiment)
        if not isinstance(prepared, GreedySet) or prepared.fingerprint != experiment.fingerprint():
            raise InputError("prepared must be the GreedySet of this experiment (greedy.prepare)")
        self.prepared = prepared
        self.dark_counts = np.zeros(experiment.n_modes)  # in the targets

    def batch_counts(self, index, size, rng):
        from jiuzhang_emu.samplers.engine import BATCH_SIZE

        start = BATCH_SIZE * index
        rows = self.prepared.rows[start:start + size]
        if len(rows) != size:
            raise InputError(f"batch {index} of {size} shots is past the construction's "
                             f"{self.prepared.shots} rows")
        return rows.astype(np.int64)
