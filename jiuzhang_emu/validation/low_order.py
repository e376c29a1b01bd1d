"""Low-order click statistics of a model and of a stream of samples, at any
size (Jiuzhang 4.0: 8176 modes, 33 million pairs).

Conventions as :mod:`jiuzhang_emu.validation.statistics`: c_j = 1 when mode
j clicks (at least one count), p_j = <c_j>, the pair cumulant (click
covariance) kappa_ij = <c_i c_j> - p_i p_j (kappa_jj = p_j (1 - p_j)), the
third-order cumulant kappa_abc = <c_a c_b c_c> - sum_3 <c_a c_b> p_c
+ 2 p_a p_b p_c.

Model side (exact).  p_j from :meth:`~jiuzhang_emu.Experiment.click_probabilities`;
<c_i c_j> for a block of rows i against the columns j >= the block's first
row from :meth:`~jiuzhang_emu.Experiment.pair_click_probabilities` (one GEMM
of the output moments and batched 4 x 4 determinants per block), so the
upper triangle of kappa is computed once, in blocks of rows whose size
follows a memory budget (:func:`pair_cumulant_blocks`, kept as a matrix by
:func:`pair_cumulant_matrix`: 535 MB at M = 8176).  Third order on given
triples from the no-click probabilities of the triples and their sub-pairs
(:meth:`~jiuzhang_emu.Experiment.dark_probabilities`), by the
inclusion-exclusion and partition formulas of the statistics module.

Sample side (one pass over an iterable of pattern chunks,
:func:`stream_statistics`): the shots, the click count of every mode, the
co-click matrix X^T X (X the shots x M click indicators) accumulated by a
float32 symmetric rank-k update (BLAS ssyrk) into a float32 matrix that is
flushed into a float64 one every 2^24 shots: every partial sum is an integer
below 2^24, exact in float32, and the float64 total is exact below 2^53
shots; the click-number histogram; co-click counts of given triples (and of
their sub-pairs); the joint histogram of the click counts of given groups.
The sample cumulants use the same formulas on the empirical moments (count /
shots), so they equal :func:`~jiuzhang_emu.validation.statistics.sample_click_correlators`'s.

Standard errors.  The sample covariance of two click indicators over n shots
has variance Var[(c_i - p_i)(c_j - p_j)] / n to first order, exact from the
model's 2 x 2 joint law of (c_i, c_j) (p_i, p_j, kappa_ij:
:func:`~jiuzhang_emu.validation.statistics.pair_variance`): no fourth-order
model moments and nothing per pair kept from the data, so it costs O(1) per
pair at 33 million pairs.  The sample third cumulant's variance is Var[h] / n
with h = (c_a - p_a)(c_b - p_b)(c_c - p_c) - kappa_bc (c_a - p_a)
- kappa_ac (c_b - p_b) - kappa_ab (c_c - p_c) (the influence function of the
third cumulant), exact from the model's 8-outcome law of the triple.

Comparisons (:func:`compare_rates`, :func:`compare_pairs`,
:func:`compare_triples`): RMS relative deviation and binomial z of the
rates; for cumulants the least-squares slope through the origin of sample on
model (Oh et al., Nat. Phys. 20, 1461 (2024)), the l2 distance, the RMS z and
the largest |z| with its Bonferroni p-value, and binned densities for plots.

Memory: every function that keeps an M x M matrix takes ``memory_budget``
(bytes, default DEFAULT_MEMORY_BUDGET = 12 GB) and refuses, before any work,
a size whose estimate (:func:`memory_estimate`) exceeds it.
"""
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import stats
from scipy.linalg import blas

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.validation.statistics import (
    _cumulant,
    _subset_moments,
    check_click_model,
    check_clicks,
    clicks_per_shot,
    max_z_test,
    pair_variance,
)

#: Default memory budget (bytes) of the low-order statistics: 12 GB.
DEFAULT_MEMORY_BUDGET = 12 * 10**9
#: Bytes per pair of one block of pair_click_probabilities (N, M blocks,
#: probabilities, the kappa block and its temporaries): an upper estimate
#: (pair_cumulant_matrix of the full jiuzhang4(), 512-row blocks: 1.7 GB peak
#: in all, against 2.2 GB estimated).
_PAIR_BYTES = 160
#: Fixed working set of one block (the batched 4 x 4 determinants of
#: output_moments._CHUNK pairs), bytes.
_BLOCK_FIXED = 600 * 10**6
#: Largest block of rows (bigger blocks are not faster).
_MAX_BLOCK_ROWS = 512
#: Rows per symmetric rank-k update of the co-click matrix.
_PIECE = 4096
#: Shots between flushes of the float32 co-click accumulator (exact below 2^24).
_FLUSH = 1 << 24
#: Largest joint histogram of grouped counts (bins).
_MAX_GROUP_BINS = 10**6


# -- memory ---------------------------------------------------------------------
def memory_estimate(n_modes, n_inputs=0, *, model_matrix=True, sample_matrix=True,
                    block_rows=_MAX_BLOCK_ROWS):
    """Peak bytes of the low-order statistics of ``n_modes`` modes.

    Parameters
    ----------
    n_modes, n_inputs : int
        Output modes M and inputs of the transfer matrix (its output moments
        keep three complex inputs x M arrays).
    model_matrix : bool
        The model's M x M pair cumulants kept (float64).
    sample_matrix : bool
        The sample co-click matrix kept (float64, plus its float32
        accumulator).
    block_rows : int
        Rows per block of pair probabilities.

    Returns
    -------
    int
    """
    M = int(n_modes)
    total = 3 * 16 * int(n_inputs) * M + _BLOCK_FIXED + block_rows * M * _PAIR_BYTES
    if model_matrix:
        total += 8 * M * M
    if sample_matrix:
        total += 12 * M * M
    return int(total)


def check_memory(needed, memory_budget, what):
    """InputError when ``needed`` bytes exceed ``memory_budget``, naming
    ``what`` and the budget that would do."""
    budget = _check_budget(memory_budget)
    if needed > budget:
        raise InputError(
            f"{what} needs about {needed / 1e9:.2f} GB, above memory_budget = "
            f"{budget / 1e9:.2f} GB: raise memory_budget to at least {needed / 1e9:.2f} GB "
            f"(--memory-budget on the command line), or use fewer modes")


def _check_budget(memory_budget):
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, (int, float,
                                                                         np.integer,
                                                                         np.floating)) \
            or not memory_budget > 0:
        raise InputError(f"memory_budget must be a positive number of bytes, got "
                         f"{memory_budget!r}")
    return float(memory_budget)


def block_rows_for(n_modes, memory_budget=DEFAULT_MEMORY_BUDGET, reserved=0):
    """Rows per block of pair probabilities that fit ``memory_budget`` after
    ``reserved`` bytes (at least 1, at most _MAX_BLOCK_ROWS)."""
    free = _check_budget(memory_budget) - reserved - _BLOCK_FIXED
    rows = int(free // max(1, n_modes * _PAIR_BYTES))
    return max(1, min(_MAX_BLOCK_ROWS, int(n_modes), rows))


# -- model side -----------------------------------------------------------------
def pair_cumulant_blocks(experiment, *, block_rows=None, memory_budget=DEFAULT_MEMORY_BUDGET,
                         rates=None):
    """The upper triangle of the model's pair cumulants, block by block.

    Parameters
    ----------
    experiment : Experiment
        Threshold or pseudo-PNR detection.
    block_rows : int, optional
        Rows per block (default: from ``memory_budget``).
    memory_budget : float
        Bytes.
    rates : ndarray of shape (M,), optional
        The click probabilities, when already computed.

    Yields
    ------
    start, stop : int
        The block's rows; its columns are start..M-1.
    block : ndarray of shape (stop - start, M - start)
        kappa[start:stop, start:] (kappa_jj = p_j (1 - p_j); the block's
        entries below the diagonal are the mirrored ones above it).
    """
    check_click_model(experiment)
    M = experiment.n_modes
    if block_rows is None:
        block_rows = block_rows_for(M, memory_budget)
    if isinstance(block_rows, bool) or not isinstance(block_rows, (int, np.integer)) or \
            block_rows < 1:
        raise InputError(f"block_rows must be an integer >= 1, got {block_rows!r}")
    p = experiment.click_probabilities() if rates is None else rates
    for start in range(0, M, int(block_rows)):
        stop = min(M, start + int(block_rows))
        both = experiment.pair_click_probabilities(np.arange(start, stop), np.arange(start, M))
        both -= p[start:stop, None] * p[None, start:]
        square = both[:, :stop - start]  # (i, j) and (j, i) both computed: keep i <= j
        square[...] = np.triu(square) + np.triu(square, 1).T
        yield start, stop, both


def pair_cumulant_matrix(experiment, *, memory_budget=DEFAULT_MEMORY_BUDGET, block_rows=None):
    """Exact click rates and the M x M click covariance matrix of a model
    (kappa_ij off the diagonal, p_j (1 - p_j) on it), by blocks of rows.

    Parameters
    ----------
    experiment : Experiment
    memory_budget : float
        Bytes (default 12 GB); refused before any work when the matrix and a
        block do not fit.
    block_rows : int, optional

    Returns
    -------
    rates : ndarray of shape (M,)
    covariance : ndarray of shape (M, M), float64
    """
    check_click_model(experiment)
    M = experiment.n_modes
    check_memory(memory_estimate(M, experiment.n_inputs, sample_matrix=False,
                                 block_rows=block_rows or 1), memory_budget,
                 f"the {M} x {M} pair cumulant matrix")
    rates = experiment.click_probabilities()
    matrix = np.empty((M, M))
    for start, stop, block in pair_cumulant_blocks(
            experiment, block_rows=block_rows, rates=rates,
            memory_budget=_check_budget(memory_budget) - 8 * M * M):
        matrix[start:stop, start:] = block
        matrix[start:, start:stop] = block.T
    return rates, matrix


def random_triples(n_modes, count, rng=None):
    """``count`` distinct random mode triples (sorted rows, sorted
    lexicographically); all triples when there are at most ``count``."""
    M = int(n_modes)
    generator = np.random.default_rng(rng)
    if M * (M - 1) * (M - 2) // 6 <= count:
        return np.array(list(combinations(range(M), 3)), dtype=np.intp).reshape(-1, 3)
    drawn = set()
    while len(drawn) < count:
        drawn.add(tuple(sorted(generator.choice(M, 3, replace=False).tolist())))
    return np.array(sorted(drawn), dtype=np.intp)


def triple_statistics(experiment, triples):
    """Exact third-order click cumulants of given triples and the variance
    of one shot's contribution to their sample estimates.

    Parameters
    ----------
    experiment : Experiment
    triples : array_like of int, shape (T, 3)
        Distinct modes per row (sorted here).

    Returns
    -------
    triples : ndarray of shape (T, 3)
    cumulants, variances : ndarray of shape (T,)
        kappa_abc, and Var[h] of the module docstring (the sample
        cumulant over n shots has variance about variances / n).
    """
    check_click_model(experiment)
    triples = _check_triples(triples, experiment.n_modes)
    dark = {(k,): 1 - experiment.click_probabilities()[triples[:, k]] for k in range(3)}
    for sub in combinations(range(3), 2):
        dark[sub] = experiment.dark_probabilities(triples[:, sub])
    dark[(0, 1, 2)] = experiment.dark_probabilities(triples)
    moments = _subset_moments(3, lambda t, cols: dark[cols])
    return triples, _cumulant(3, moments), _triple_variance(moments)


def _triple_variance(moments):
    """Var[h] from the triple's moments (8-outcome law)."""
    m = dict(moments)
    m[()] = 1.0
    p = [m[(k,)] for k in range(3)]
    kappa = {sub: m[sub] - p[sub[0]] * p[sub[1]] for sub in combinations(range(3), 2)}
    kappa3 = _cumulant(3, moments)
    second = 0.0
    for bits in np.ndindex(2, 2, 2):
        ones = tuple(k for k in range(3) if bits[k])
        zeros = [k for k in range(3) if not bits[k]]
        law = 0.0
        for size in range(len(zeros) + 1):
            for extra in combinations(zeros, size):
                law = law + (-1) ** size * m[tuple(sorted(ones + extra))]
        d = [bits[k] - p[k] for k in range(3)]
        h = (d[0] * d[1] * d[2] - kappa[(1, 2)] * d[0] - kappa[(0, 2)] * d[1]
             - kappa[(0, 1)] * d[2])
        second = second + np.clip(law, 0, 1) * h**2
    return np.maximum(second - kappa3**2, 1e-300)


def _check_triples(triples, n_modes):
    triples = np.asarray(triples)
    if triples.ndim != 2 or triples.shape[1] != 3 or triples.dtype.kind not in "iu":
        raise InputError(f"triples must be integers of shape (T, 3), got {triples.dtype} of "
                         f"shape {triples.shape}")
    triples = np.sort(triples.astype(np.intp), axis=1)
    if triples.size and (triples.min() < 0 or triples.max() >= n_modes):
        raise InputError(f"triples must hold modes in [0, {n_modes}), got values in "
                         f"[{triples.min()}, {triples.max()}]")
    if np.any(np.diff(triples, axis=1) == 0):
        raise InputError("triples must hold distinct modes in each row")
    return triples


# -- sample side ----------------------------------------------------------------
@dataclass
class SampleStatistics:
    """Low-order statistics of a stream of patterns (:func:`stream_statistics`).

    Attributes
    ----------
    shots, n_modes : int
    click_counts : ndarray of int64, shape (M,)
        Shots in which each mode clicked.
    coclicks : ndarray of shape (M, M) or None
        Shots in which both modes clicked (float64 holding integers; the
        diagonal is ``click_counts``); None when pairs were not asked for.
    histogram : ndarray of int64, shape (M + 1,)
        Shots per number of clicked modes.
    detector_clicks, detector_clicks_squared : int
        Sums over shots of the clicks per shot as
        :func:`~jiuzhang_emu.validation.statistics.clicks_per_shot` counts
        them (pseudo-PNR: clicking detectors) and of their squares.
    triples : ndarray of shape (T, 3) or None
    triple_counts : dict
        positions (a sub-tuple of (0, 1, 2) with two or three entries) ->
        co-click counts of those columns of ``triples``, shape (T,).
    groups : tuple of ndarray or None
    grouped_counts : ndarray or None
        Shots per joint group click counts, one axis per group (n_g + 1).
    kept : ndarray or None
        The first ``keep_shots`` patterns (as given) with at most
        ``keep_clicks`` clicked modes.
    """

    shots: int
    n_modes: int
    click_counts: np.ndarray
    coclicks: object
    histogram: np.ndarray
    detector_clicks: int
    detector_clicks_squared: int
    triples: object = None
    triple_counts: dict = None
    groups: object = None
    grouped_counts: object = None
    kept: object = None

    @property
    def rates(self):
        """Click rate per mode, shape (M,)."""
        return self.click_counts / self.shots

    def mean_clicks(self):
        """Mean clicks per shot (as clicks_per_shot counts them) and its
        standard error."""
        n = self.shots
        mean = self.detector_clicks / n
        if n < 2:
            return mean, float("nan")
        variance = (self.detector_clicks_squared - n * mean**2) / (n - 1)
        return mean, float(np.sqrt(max(variance, 0.0) / n))

    def covariance_block(self, start, stop, col_start=0):
        """Sample pair cumulants (click covariances, biased: 1/shots) of rows
        start..stop-1 against columns col_start..M-1."""
        if self.coclicks is None:
            raise InputError("pair statistics were not accumulated (pairs=False)")
        r = self.rates
        return (self.coclicks[start:stop, col_start:] / self.shots
                - r[start:stop, None] * r[None, col_start:])

    def pair_cumulants(self, pairs):
        """Sample pair cumulants of given pairs (P, 2): the values of
        :func:`~jiuzhang_emu.validation.statistics.sample_click_correlators`."""
        if self.coclicks is None:
            raise InputError("pair statistics were not accumulated (pairs=False)")
        pairs = np.asarray(pairs, dtype=np.intp)
        r = self.rates
        both = self.coclicks[pairs[:, 0], pairs[:, 1]] / self.shots
        return _cumulant(2, {(0,): r[pairs[:, 0]], (1,): r[pairs[:, 1]], (0, 1): both})

    def triple_cumulants(self):
        """Sample third-order cumulants of ``triples``, shape (T,)."""
        if self.triples is None:
            raise InputError("no triples were given to stream_statistics")
        moments = {(k,): self.rates[self.triples[:, k]] for k in range(3)}
        for positions, counts in self.triple_counts.items():
            moments[positions] = counts / self.shots
        return _cumulant(3, moments)


def as_chunks(patterns):
    """(chunks, array): an array (or array-like of shape (shots, modes)) is
    one chunk and the array itself; any other iterable is chunks, array None."""
    if isinstance(patterns, np.ndarray):
        return [patterns], patterns
    if isinstance(patterns, (list, tuple)):
        try:
            array = np.asarray(patterns)
        except ValueError:  # ragged: a list of chunks of different sizes
            array = None
        if array is not None and array.ndim == 2 and array.dtype != object:
            return [array], array
        return patterns, None
    if hasattr(patterns, "__iter__"):
        return patterns, None
    array = np.asarray(patterns)
    return [array], array


def stream_statistics(chunks, n_modes=None, *, max_count=None, detector_kind="threshold",
                      pairs=True, triples=None, groups=None, keep_clicks=None,
                      keep_shots=10_000, memory_budget=DEFAULT_MEMORY_BUDGET):
    """Low-order statistics of patterns given chunk by chunk, in one pass.

    Parameters
    ----------
    chunks : iterable of array_like of int, each of shape (shots_k, M)
        Threshold patterns (0/1), pseudo-PNR or photon counts (a click: a
        count > 0); chunks of any sizes, empty ones skipped.
    n_modes : int, optional
        The width every chunk must have (default: the first chunk's).
    max_count : int, optional
        Entries above it are refused (1: threshold data).
    detector_kind : str
        How clicks per shot are counted for ``detector_clicks``
        (:func:`~jiuzhang_emu.validation.statistics.clicks_per_shot`).
    pairs : bool
        Accumulate the co-click matrix (O(M^2) memory, O(shots M^2) time).
    triples : array_like of int, shape (T, 3), optional
    groups : sequence of array_like of int, optional
        Disjoint mode groups for the joint grouped counts.
    keep_clicks : int, optional
        Keep patterns with at most this many clicked modes (for tests that
        need whole patterns, e.g. likelihood ratios) ...
    keep_shots : int
        ... up to this many.
    memory_budget : float
        Bytes (default 12 GB); the co-click matrix is refused before the
        first chunk is read when it does not fit.

    Returns
    -------
    SampleStatistics
    """
    if n_modes is not None:
        _check_memory_for_pairs(n_modes, pairs, memory_budget)
    stat = None
    pending = 0
    accumulator = None
    for index, chunk in enumerate(chunks):
        chunk = np.asarray(chunk)
        if chunk.ndim == 2 and chunk.shape[0] == 0:
            continue
        clicks = check_clicks(chunk, n_modes, name=f"patterns (chunk {index})",
                              max_count=max_count)
        if stat is None:
            n_modes = clicks.shape[1]
            _check_memory_for_pairs(n_modes, pairs, memory_budget)
            stat = _empty_statistics(n_modes, pairs, triples, groups)
            if pairs:
                accumulator = np.zeros((n_modes, n_modes), dtype=np.float32, order="F")
        for start in range(0, len(clicks), _PIECE):
            piece = clicks[start:start + _PIECE]
            if pairs:
                if pending + len(piece) > _FLUSH:
                    _flush(stat, accumulator)
                    pending = 0
                blas.ssyrk(1.0, piece.astype(np.float32), beta=1.0, c=accumulator, trans=1,
                           lower=0, overwrite_c=1)
                pending += len(piece)
            _accumulate(stat, piece, chunk[start:start + _PIECE], detector_kind,
                        keep_clicks, keep_shots)
    if stat is None:
        raise InputError("patterns must hold at least one shot, got no non-empty chunk")
    if pairs:
        _flush(stat, accumulator)
        _mirror_upper(stat.coclicks)
    stat.kept = np.concatenate(stat.kept) if stat.kept else None
    return stat


def _mirror_upper(matrix, block_rows=1024):
    """Fill the strict lower triangle from the upper one, by blocks of rows
    (no index arrays of M^2 / 2 entries)."""
    M = len(matrix)
    for start in range(0, M, block_rows):
        stop = min(M, start + block_rows)
        below = np.arange(stop)[None, :] < np.arange(start, stop)[:, None]
        matrix[start:stop, :stop] = np.where(below, matrix[:stop, start:stop].T,
                                             matrix[start:stop, :stop])


def _check_memory_for_pairs(n_modes, pairs, memory_budget):
    if pairs:
        check_memory(memory_estimate(n_modes, model_matrix=False, block_rows=0) - _BLOCK_FIXED,
                     memory_budget, f"the {n_modes} x {n_modes} sample co-click matrix")


def _empty_statistics(M, pairs, triples, groups):
    stat = SampleStatistics(0, M, np.zeros(M, dtype=np.int64),
                            np.zeros((M, M)) if pairs else None,
                            np.zeros(M + 1, dtype=np.int64), 0, 0)
    if triples is not None:
        stat.triples = _check_triples(triples, M)
        stat.triple_counts = {sub: np.zeros(len(stat.triples), dtype=np.int64)
                              for sub in ((0, 1), (0, 2), (1, 2), (0, 1, 2))}
    if groups is not None:
        stat.groups = _check_groups(groups, M)
        shape = tuple(len(g) + 1 for g in stat.groups)
        stat.grouped_counts = np.zeros(shape, dtype=np.int64)
    stat.kept = []
    return stat


def _check_groups(groups, M):
    groups = tuple(np.asarray(g) for g in groups)
    if not groups or any(g.ndim != 1 or g.size == 0 or g.dtype.kind not in "iu"
                         for g in groups):
        raise InputError("groups must be a non-empty sequence of non-empty integer mode lists")
    joined = np.concatenate(groups)
    if joined.min() < 0 or joined.max() >= M or len(np.unique(joined)) != len(joined):
        raise InputError(f"groups must be disjoint and hold modes in [0, {M})")
    bins = int(np.prod([len(g) + 1 for g in groups], dtype=float))
    if bins > _MAX_GROUP_BINS:
        raise InputError(f"groups give {bins} joint bins, above {_MAX_GROUP_BINS}: use fewer "
                         f"or smaller groups")
    return tuple(g.astype(np.intp) for g in groups)


def _flush(stat, accumulator):
    stat.coclicks += accumulator
    accumulator[...] = 0


def _accumulate(stat, clicks, patterns, detector_kind, keep_clicks, keep_shots):
    stat.shots += len(clicks)
    stat.click_counts += clicks.sum(axis=0, dtype=np.int64)
    per_shot = clicks.sum(axis=1, dtype=np.intp)
    stat.histogram += np.bincount(per_shot, minlength=stat.n_modes + 1)
    detector = np.asarray(clicks_per_shot(patterns, detector_kind), dtype=np.int64)
    stat.detector_clicks += int(detector.sum())
    stat.detector_clicks_squared += int((detector**2).sum())
    if stat.triples is not None:
        x = clicks.astype(bool)
        columns = [x[:, stat.triples[:, k]] for k in range(3)]
        for sub in ((0, 1), (0, 2), (1, 2)):
            stat.triple_counts[sub] += (columns[sub[0]] & columns[sub[1]]).sum(axis=0)
        stat.triple_counts[(0, 1, 2)] += (columns[0] & columns[1] & columns[2]).sum(axis=0)
    if stat.groups is not None:
        counts = [clicks[:, g].sum(axis=1, dtype=np.intp) for g in stat.groups]
        flat = np.ravel_multi_index(counts, stat.grouped_counts.shape)
        stat.grouped_counts += np.bincount(flat, minlength=stat.grouped_counts.size).reshape(
            stat.grouped_counts.shape)
    if keep_clicks is not None:
        have = sum(len(k) for k in stat.kept)
        if have < keep_shots:
            rows = np.flatnonzero(per_shot <= keep_clicks)[:keep_shots - have]
            if rows.size:
                stat.kept.append(np.asarray(patterns)[rows])


# -- comparisons ----------------------------------------------------------------
@dataclass(frozen=True)
class RateComparison:
    """Sampled click rates against a model's (:func:`compare_rates`).

    Attributes
    ----------
    rms_relative_deviation : float
        sqrt(mean_j ((r_j - p_j) / p_j)^2).
    z_scores : ndarray of shape (M,)
        Binomial z = (r_j - p_j) / sqrt(p_j (1 - p_j) / shots).
    chi2_diagonal : float
        sum_j z_j^2 (descriptive: the rates are correlated).
    max_z : MomentTest
        The largest |z| with its Bonferroni p-value (valid whatever the
        correlations).
    """

    rms_relative_deviation: float
    z_scores: np.ndarray
    chi2_diagonal: float
    max_z: object


def compare_rates(sample, model_rates):
    """Click rates of a :class:`SampleStatistics` against exact ones."""
    r, p, n = sample.rates, np.asarray(model_rates, float), sample.shots
    z = (r - p) / np.sqrt(np.maximum(p * (1 - p), 1e-300) / n)
    return RateComparison(float(np.sqrt(np.mean(((r - p) / p) ** 2))), z, float(z @ z),
                          max_z_test(z))


@dataclass(frozen=True)
class CumulantComparison:
    """Sample cumulants against a model's (:func:`compare_pairs`,
    :func:`compare_triples`).

    Attributes
    ----------
    count : int
        Cumulants compared.
    slope : float
        Least squares through the origin of sample on model.
    l2 : float
        Euclidean distance between the two cumulant vectors.
    rms_z, max_abs_z, pvalue : float
        Over the z = (sample - model) / model standard error; p the
        Bonferroni bound min(1, 2 count P(Z > max |z|)).
    density : tuple (counts, model_edges, sample_edges)
        2-D histogram of (model, sample) values for plots.
    z_histogram : tuple (counts, edges)
    binned : tuple (model_means, sample_means, sample_errors)
        Per bin of model values (the density's edges, bins holding at least
        two cumulants): the mean model value, the mean sample value and the
        standard error of that mean (the spread within the bin).
    """

    count: int
    slope: float
    l2: float
    rms_z: float
    max_abs_z: float
    pvalue: float
    density: tuple
    z_histogram: tuple
    binned: tuple

    def row(self):
        """The figures as one line of text."""
        return (f"slope {self.slope:.4f}, l2 {self.l2:.4g}, RMS z {self.rms_z:.2f}, "
                f"max abs z {self.max_abs_z:.1f} over {self.count}, p = {self.pvalue:.3g} "
                f"(Bonferroni)")


def compare_pairs(model_rates, model_covariance, sample, *, block_rows=256, bins=60):
    """All pair cumulants of a :class:`SampleStatistics` against the model's
    M x M click covariance (:func:`pair_cumulant_matrix`), by blocks of rows.

    Parameters
    ----------
    model_rates : ndarray of shape (M,)
    model_covariance : ndarray of shape (M, M)
    sample : SampleStatistics
        With the co-click matrix.
    block_rows : int
    bins : int
        Bins per axis of the plots' densities.

    Returns
    -------
    CumulantComparison
    """
    rates = np.asarray(model_rates, float)
    M = sample.n_modes
    if model_covariance.shape != (M, M) or rates.shape != (M,):
        raise InputError(f"the model has {model_covariance.shape[0]} modes, the samples "
                         f"{M}")

    def blocks():
        for start in range(0, M - 1, block_rows):
            stop = min(M - 1, start + block_rows)
            keep = np.arange(start, M)[None, :] > np.arange(start, stop)[:, None]
            model = model_covariance[start:stop, start:][keep]
            data = sample.covariance_block(start, stop, start)[keep]
            pi = np.broadcast_to(rates[start:stop, None], keep.shape)[keep]
            pj = np.broadcast_to(rates[None, start:], keep.shape)[keep]
            variance = pair_variance(pi, pj, model)
            yield model, data, (data - model) / np.sqrt(variance / sample.shots)

    return _reduce(blocks, bins)


def compare_triples(model_cumulants, model_variances, sample, *, bins=40):
    """Third-order cumulants of a :class:`SampleStatistics` (its triples)
    against the model's (:func:`triple_statistics` on the same triples)."""
    data = sample.triple_cumulants()
    model = np.asarray(model_cumulants, float)
    z = (data - model) / np.sqrt(np.asarray(model_variances, float) / sample.shots)
    return _reduce(lambda: iter([(model, data, z)]), bins)


def _reduce(blocks, bins):
    """Slope, l2, RMS z and max |z| over the blocks (first pass), then the
    densities over the ranges found (second pass)."""
    count, cross, square, distance, z_square, z_max = 0, 0.0, 0.0, 0.0, 0.0, 0.0
    low = np.full(3, np.inf)
    high = np.full(3, -np.inf)
    for model, data, z in blocks():
        if model.size == 0:
            continue
        count += model.size
        cross += float(model @ data)
        square += float(model @ model)
        distance += float((data - model) @ (data - model))
        z_square += float(z @ z)
        z_max = max(z_max, float(np.abs(z).max()))
        for k, values in enumerate((model, data, z)):
            low[k] = min(low[k], float(values.min()))
            high[k] = max(high[k], float(values.max()))
    if count == 0:
        raise InputError("no cumulants to compare (fewer than two modes or no triples)")
    value_edges = np.linspace(min(low[0], low[1]), max(high[0], high[1]), bins + 1)
    if value_edges[0] == value_edges[-1]:
        value_edges = value_edges[0] + np.linspace(-1e-12, 1e-12, bins + 1)
    z_edges = np.linspace(min(low[2], -4.0), max(high[2], 4.0), 2 * bins + 1)
    density = np.zeros((bins, bins), dtype=np.int64)
    z_counts = np.zeros(2 * bins, dtype=np.int64)
    sums = np.zeros((4, bins))  # count, model, data, data^2 per model bin
    for model, data, z in blocks():
        density += np.histogram2d(model, data, bins=(value_edges, value_edges))[0].astype(
            np.int64)
        z_counts += np.histogram(z, bins=z_edges)[0]
        where = np.clip(np.searchsorted(value_edges, model, side="right") - 1, 0, bins - 1)
        for k, weights in enumerate((None, model, data, data * data)):
            sums[k] += np.bincount(where, weights=weights, minlength=bins)
    full = sums[0] >= 2
    n = sums[0][full]
    means = sums[2][full] / n
    spread = np.maximum(sums[3][full] / n - means**2, 0) * n / (n - 1)
    binned = (sums[1][full] / n, means, np.sqrt(spread / n))
    pvalue = float(min(1.0, 2 * count * stats.norm.sf(z_max)))
    return CumulantComparison(count, cross / square if square > 0 else float("nan"),
                              float(np.sqrt(distance)), float(np.sqrt(z_square / count)),
                              z_max, pvalue, (density, value_edges, value_edges),
                              (z_counts, z_edges), binned)


def pair_power_front(model_rates, model_covariance, alternative_rates, alternative_blocks):
    """The pairs that can carry the largest-|z| power against an alternative.

    The power of the max-|z| test (:func:`~jiuzhang_emu.validation.statistics.max_z_power`)
    is the largest single-pair power, Phi(|b| sqrt(n) - c a) + Phi(-|b| sqrt(n) - c a)
    with a = s0 / s1, b = d / s1 (d the alternative's shift of the
    cumulant, s0 and s1 the per-shot standard deviations under the model
    and the alternative): increasing in |b|, decreasing in a, so only the
    Pareto front (no other pair with larger |b| and smaller a) can give the
    maximum, at every n.  Streaming over the alternative's blocks keeps one
    block and the front (usually a few hundred pairs).

    Parameters
    ----------
    model_rates, model_covariance
        The model's (M,) rates and (M, M) click covariance.
    alternative_rates : ndarray of shape (M,)
    alternative_blocks : iterable
        (start, stop, block) of :func:`pair_cumulant_blocks` of the
        alternative.

    Returns
    -------
    shift, null_sd, alternative_sd : ndarray
        Per front pair: d, s0, s1 (one shot); max_z_power(shift, null_sd /
        sqrt(n), alternative_sd / sqrt(n), critical) is the power at n shots.
    """
    M = len(model_rates)
    front = (np.zeros(0), np.zeros(0), np.zeros(0))
    for start, stop, block in alternative_blocks:
        keep = np.arange(start, M)[None, :] > np.arange(start, stop)[:, None]
        if not keep.any():
            continue
        pi0 = np.broadcast_to(model_rates[start:stop, None], keep.shape)[keep]
        pj0 = np.broadcast_to(model_rates[None, start:], keep.shape)[keep]
        pi1 = np.broadcast_to(alternative_rates[start:stop, None], keep.shape)[keep]
        pj1 = np.broadcast_to(alternative_rates[None, start:], keep.shape)[keep]
        null = model_covariance[start:stop, start:][keep]
        alt = block[keep]
        s0 = np.sqrt(pair_variance(pi0, pj0, null))
        s1 = np.sqrt(pair_variance(pi1, pj1, alt))
        front = _pareto(np.concatenate([front[0], alt - null]),
                        np.concatenate([front[1], s0]), np.concatenate([front[2], s1]))
    return front


def _pareto(shift, s0, s1):
    """Entries not dominated in (larger |shift| / s1, smaller s0 / s1)."""
    a, b = s0 / s1, np.abs(shift) / s1
    order = np.lexsort((-b, a))  # a ascending, then |b| descending
    best = np.maximum.accumulate(b[order])
    previous = np.concatenate([[-np.inf], best[:-1]])
    chosen = order[b[order] > previous]
    return shift[chosen], s0[chosen], s1[chosen]


def mahalanobis(covariance, vectors):
    """v^T C^-1 v for each row of ``vectors`` by a Cholesky factor of C
    (O(M^3 / 3): seconds at M = 8176, one copy of C); None when C is not
    numerically positive definite."""
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        factor = cho_factor(covariance, lower=True, check_finite=False)
    except LinAlgError:
        return None
    vectors = np.atleast_2d(np.asarray(vectors, float))
    solved = cho_solve(factor, vectors.T, check_finite=False)
    return np.einsum("ij,ji->i", vectors, solved)
