"""Low-order click statistics: exact from a model, estimated from samples.

A click at output mode j means at least one count there (threshold: the
detector fires; pseudo-PNR: at least one of its detectors fires).  Every
k-th order statistic follows from the probabilities that the detectors of a
set of at most k modes all stay dark, which are Gaussian integrals:
P(A dark) = prod_{j in A} g_j exp(-v_A^T G_A^-1 v_A) / sqrt(det G_A)
(:meth:`~jiuzhang_emu.Experiment.dark_probabilities`, from the output
moments of :mod:`jiuzhang_emu.output_moments`; g_j = 1 - dark count, to the
k-th power for k pseudo-PNR detectors).  Then, by inclusion-exclusion,

    <c_i1 ... c_ik> = sum_{T subset S} (-1)^|T| P(T dark),

and the connected correlators (joint cumulants) follow from the moments by
the partition formula kappa(S) = sum_pi (|pi| - 1)! (-1)^(|pi| - 1)
prod_{B in pi} <prod_{j in B} c_j>.  For order 2 this is the covariance
<c_i c_j> - <c_i><c_j> used by USTC and by Villalonga et al.

For photon-number-resolving models, :func:`photon_number_moments` gives the
exact means and covariances of the counts (Wick's theorem on the output
state, internal copies summed per detector, a dark count adding one count
with probability d), and :func:`sample_photon_number_moments` their estimates.

Sample estimates use the same formulas on empirical moments; their standard
errors come from batch means (the shots split into ``n_batches`` consecutive
batches, the statistic computed per batch): valid for any statistic, with no
distributional assumption beyond independent shots.
"""
from dataclasses import dataclass
from itertools import combinations
from math import factorial

import numpy as np
from scipy import stats

from jiuzhang_emu.detectors import PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError

#: Largest dense lookup table of lower-order moments (entries).
_MAX_TABLE = 2 * 10**7


def check_click_model(experiment):
    """Click statistics need click detectors: threshold or pseudo-PNR."""
    if not isinstance(experiment.detector, (Threshold, PseudoPNR)):
        raise InputError(
            f"click statistics need threshold or pseudo-PNR detection, got "
            f"{experiment.detector.kind} detection; build the model with Threshold() detectors "
            f"(photon-number patterns give clicks by counts > 0)")


def dark_probabilities(experiment, subsets):
    """P(every mode of each subset registers no count), dark counts included:
    :meth:`~jiuzhang_emu.Experiment.dark_probabilities` (from the output
    moments, so at any scale).

    Parameters
    ----------
    experiment : Experiment
    subsets : array_like of int, shape (S, k)
        Distinct output modes per row.

    Returns
    -------
    ndarray of shape (S,)
    """
    return experiment.dark_probabilities(subsets)


def _all_subsets(n_modes, order):
    size = 1
    for i in range(order):
        size = size * (n_modes - i) // (i + 1)
    if size * order > 10**9:
        raise InputError(f"order {order} over {n_modes} modes has {size} subsets: too many; "
                         f"pass subsets= explicitly")
    return np.array(list(combinations(range(n_modes), order)), dtype=np.intp).reshape(-1, order)


def _table(n_modes, order, rows, values):
    """Dense symmetric lookup of values over sorted index tuples."""
    if n_modes**order > _MAX_TABLE:
        raise InputError(f"order {order + 1} statistics over {n_modes} modes need a table of "
                         f"{n_modes}^{order} entries, above {_MAX_TABLE}")
    table = np.zeros((n_modes,) * order)
    table[tuple(rows.T)] = values
    return table


def _subset_moments(order, lookup):
    """moment(S[:, positions]) for every nonempty positions subset, by the
    inclusion-exclusion over dark sets; lookup(t, cols) gives P(dark) of the
    columns ``cols`` (sorted per row) of size t."""
    moments = {}
    for size in range(1, order + 1):
        for positions in combinations(range(order), size):
            total = 1.0
            for t in range(1, size + 1):
                for sub in combinations(positions, t):
                    total = total + (-1) ** t * lookup(t, sub)
            moments[positions] = total
    return moments


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _set_partitions(rest):
        yield [(first,)] + partition
        for i, block in enumerate(partition):
            yield partition[:i] + [(first,) + block] + partition[i + 1:]


def _cumulant(order, moments):
    """Joint cumulant of all ``order`` positions from the subset moments."""
    total = 0.0
    for partition in _set_partitions(tuple(range(order))):
        blocks = len(partition)
        term = (-1) ** (blocks - 1) * factorial(blocks - 1)
        for block in partition:
            term = term * moments[tuple(sorted(block))]
        total = total + term
    return total


def click_correlators(experiment, order, *, subsets=None, connected=True):
    """Exact k-th order click correlators of a model.

    Parameters
    ----------
    experiment : Experiment
        Threshold or pseudo-PNR detection.
    order : int
        k >= 1.
    subsets : array_like of int, shape (S, order), optional
        Which mode sets (distinct modes per row); default all of them, in
        lexicographic order.
    connected : bool
        True: joint cumulants (order 2: covariances); False: raw moments
        <c_i1 ... c_ik>.

    Returns
    -------
    subsets : ndarray of shape (S, order)
    values : ndarray of shape (S,)
    """
    check_click_model(experiment)
    order = _check_order(order)
    M = experiment.n_modes
    subsets = _check_subsets(subsets, M, order)
    subsets = np.sort(subsets, axis=1)
    singles = dark_probabilities(experiment, np.arange(M)[:, None])
    tables = {1: singles}
    for t in range(2, order):
        rows = _all_subsets(M, t)
        tables[t] = _table(M, t, rows, dark_probabilities(experiment, rows))
    top = dark_probabilities(experiment, subsets)

    def lookup(t, cols):
        if t == order:
            return top
        if t == 1:
            return singles[subsets[:, cols[0]]]
        return tables[t][tuple(subsets[:, c] for c in cols)]

    moments = _subset_moments(order, lookup)
    values = _cumulant(order, moments) if connected else moments[tuple(range(order))]
    return subsets, np.asarray(values, dtype=float) * np.ones(len(subsets))


def _check_order(order):
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise InputError(f"order must be an integer >= 1, got {order!r}")
    return int(order)


def _check_subsets(subsets, n_modes, order):
    if subsets is None:
        return _all_subsets(n_modes, order)
    subsets = np.asarray(subsets)
    if subsets.ndim != 2 or subsets.shape[1] != order or subsets.dtype.kind not in "iu":
        raise InputError(f"subsets must be integers of shape (S, {order}), got "
                         f"{subsets.dtype} of shape {subsets.shape}")
    if subsets.size and (subsets.min() < 0 or subsets.max() >= n_modes):
        raise InputError(f"subsets must hold modes in [0, {n_modes}), got values in "
                         f"[{subsets.min()}, {subsets.max()}]")
    if order > 1 and np.any(np.diff(np.sort(subsets, axis=1), axis=1) == 0):
        raise InputError("subsets must hold distinct modes in each row")
    return subsets.astype(np.intp)


def max_count(experiment):
    """The largest entry a click-model pattern can hold: 1 (threshold) or k
    (pseudo-PNR)."""
    return getattr(experiment.detector, "n_detectors", 1)


def check_clicks(patterns, n_modes=None, name="patterns", max_count=None):
    """Click indicators (uint8, shape (shots, modes)) from threshold data or
    counts (a click = at least one count); with ``max_count``, entries above
    it are refused (threshold data must be 0/1)."""
    patterns = np.asarray(patterns)
    if patterns.ndim != 2 or patterns.shape[0] == 0:
        raise InputError(f"{name} must be a non-empty 2-d array (shots, modes), got shape "
                         f"{patterns.shape}")
    if n_modes is not None and patterns.shape[1] != n_modes:
        raise InputError(f"{name} has {patterns.shape[1]} modes, the model has {n_modes}")
    if patterns.dtype.kind not in "biu" or (patterns.size and patterns.min() < 0):
        raise InputError(f"{name} must hold non-negative integer counts, got dtype "
                         f"{patterns.dtype}")
    if max_count is not None and patterns.size and patterns.max() > max_count:
        shot, mode = np.argwhere(patterns > max_count)[0]
        kind = "0/1 (threshold data)" if max_count == 1 else f"at most {max_count}"
        raise InputError(f"{name} must hold {kind}, got {patterns[shot, mode]} at shot {shot}, "
                         f"mode {mode}")
    return (patterns > 0).astype(np.uint8)


def sample_click_correlators(patterns, order, *, subsets=None, connected=True, n_batches=20):
    """k-th order click correlators estimated from patterns, with standard
    errors (batch means).

    Parameters
    ----------
    patterns : array_like of int, shape (shots, modes)
        Threshold patterns or counts (a click = count > 0).
    order, subsets, connected
        As for :func:`click_correlators`.
    n_batches : int
        Consecutive batches for the standard errors (at least 2 and at most
        the number of shots).

    Returns
    -------
    subsets : ndarray of shape (S, order)
    estimates, standard_errors : ndarray of shape (S,)
    """
    clicks = check_clicks(patterns)
    order = _check_order(order)
    shots, M = clicks.shape
    if isinstance(n_batches, bool) or not isinstance(n_batches, (int, np.integer)) or not (
            2 <= n_batches <= shots):
        raise InputError(f"n_batches must be an integer in [2, shots={shots}], got {n_batches!r}")
    subsets = np.sort(_check_subsets(subsets, M, order), axis=1)

    estimate = np.empty(len(subsets))
    per_batch = np.empty((n_batches, len(subsets)))
    edges = np.linspace(0, shots, n_batches + 1).astype(int)
    step = max(1, 10**7 // shots)  # shots x subsets per chunk
    for start in range(0, len(subsets), step):
        part = slice(start, start + step)
        estimate[part] = _sample_statistic(clicks, subsets[part], order, connected)
        for i in range(n_batches):
            per_batch[i, part] = _sample_statistic(clicks[edges[i]:edges[i + 1]],
                                                   subsets[part], order, connected)
    errors = per_batch.std(axis=0, ddof=1) / np.sqrt(n_batches)
    return subsets, estimate, errors


def _sample_statistic(clicks, subsets, order, connected):
    """Empirical moments (or cumulants) of click products over ``subsets``."""
    c = clicks.astype(float)
    moments = {}
    for size in range(1, order + 1):
        for positions in combinations(range(order), size):
            product = c[:, subsets[:, positions[0]]]
            for col in positions[1:]:
                product = product * c[:, subsets[:, col]]
            moments[positions] = product.mean(axis=0)
    return _cumulant(order, moments) if connected else moments[tuple(range(order))]


def photon_number_moments(experiment):
    """Exact means (M,) and covariance (M, M) of the counts of a
    photon-number-resolving model, dark counts included."""
    if not isinstance(experiment.detector, PhotonNumberResolving):
        raise InputError(f"photon-number moments need photon-number-resolving detection, got "
                         f"{experiment.detector.kind} detection")
    state, M, internal = experiment.output_state(), experiment.n_modes, experiment.internal_modes
    means = state.mean_photon_numbers().reshape(internal, M).sum(axis=0)
    cov = state.photon_number_covariance().reshape(internal, M, internal, M).sum(axis=(0, 2))
    d = experiment.detector.dark_counts(M)
    return means + d, cov + np.diag(d * (1 - d))


def sample_photon_number_moments(patterns, *, n_batches=20):
    """Means and covariance of photon-number patterns with standard errors
    (batch means, as :func:`sample_click_correlators`).

    Returns
    -------
    means, mean_errors : ndarray of shape (M,)
    covariance, covariance_errors : ndarray of shape (M, M)
    """
    patterns = np.asarray(patterns)
    if patterns.ndim != 2 or patterns.shape[0] == 0:
        raise InputError(f"patterns must be a non-empty 2-d array (shots, modes), got shape "
                         f"{patterns.shape}")
    if patterns.dtype.kind not in "biu" or (patterns.size and patterns.min() < 0):
        raise InputError(f"patterns must hold non-negative integer counts, got dtype "
                         f"{patterns.dtype}")
    shots = len(patterns)
    if isinstance(n_batches, bool) or not isinstance(n_batches, (int, np.integer)) or not (
            2 <= n_batches <= shots):
        raise InputError(f"n_batches must be an integer in [2, shots={shots}], got {n_batches!r}")
    x = patterns.astype(float)
    edges = np.linspace(0, shots, n_batches + 1).astype(int)
    batches = [x[edges[i]:edges[i + 1]] for i in range(n_batches)]
    batch_means = np.array([b.mean(axis=0) for b in batches])
    batch_covs = np.array([np.cov(b, rowvar=False, bias=True) for b in batches])
    scale = np.sqrt(n_batches)
    return (x.mean(axis=0), batch_means.std(axis=0, ddof=1) / scale,
            np.cov(x, rowvar=False, bias=True), batch_covs.std(axis=0, ddof=1) / scale)


# -- tests of sample moments against a model, and their power -------------------
#
# The report's verdicts (:mod:`jiuzhang_emu.validation.report`) need, for each
# test, a p-value and its power against an alternative model at a given
# number of shots.  Two kinds of test:
#
# * chi-square (Mahalanobis) of a vector of sample means against the model's
#   means, with the model's exact covariance of one shot's values C:
#   n (x - mu)^T C^-1 (x - mu) ~ chi2(k) under the model; under a model with
#   means mu' it is about noncentral chi2(k, n d^T C^-1 d), d = mu' - mu.
# * max |z| over many z-scores with a Bonferroni bound:
#   p = min(1, count * P(|Z| > max |z|)) whatever their correlations; Z
#   standard normal, or Student t with ``dof`` degrees of freedom for
#   batch-means standard errors.  Its power is bounded below by the largest
#   single-entry power at the per-entry critical value.


@dataclass(frozen=True)
class MomentTest:
    """A test of sample moments against a model.

    Attributes
    ----------
    kind : {"chi-square", "max-z"}
    statistic : float
        The chi-square, or the largest |z|.
    pvalue : float
    dof : int
        Chi-square degrees of freedom, or the number of z-scores.
    z_scores : ndarray
        Per entry (estimate - model) / standard error.
    """

    kind: str
    statistic: float
    pvalue: float
    dof: int
    z_scores: np.ndarray


def click_moments_of(experiment):
    """Per-mode click probabilities (M,) and the covariance matrix (M, M) of
    the click indicators of one shot (diagonal p (1 - p), off-diagonal the
    pair covariances), exact."""
    _, rates = click_correlators(experiment, 1)
    pairs, cov = click_correlators(experiment, 2)
    matrix = np.diag(rates * (1 - rates))
    matrix[pairs[:, 0], pairs[:, 1]] = cov
    matrix[pairs[:, 1], pairs[:, 0]] = cov
    return rates, matrix


def _inverse_quadratic(covariance, vectors):
    """v^T C^-1 v for each row v of ``vectors`` (C positive definite, or
    positive semi-definite: directions of zero variance are left out)."""
    w, U = np.linalg.eigh(covariance)
    keep = w > w.max(initial=0) * 1e-12
    y = np.atleast_2d(vectors) @ U[:, keep]
    return (y**2 / w[keep]).sum(axis=1), int(keep.sum())


def mean_vector_test(means, model_means, covariance, shots):
    """Chi-square test of sample means of one shot's values against a model.

    Parameters
    ----------
    means, model_means : ndarray of shape (k,)
    covariance : ndarray of shape (k, k)
        The model's covariance of one shot's values.
    shots : int

    Returns
    -------
    MomentTest
        kind "chi-square"; z_scores per entry against the model's variance.
    """
    diff = np.asarray(means, float) - np.asarray(model_means, float)
    (quadratic,), dof = _inverse_quadratic(covariance, diff)
    chi2 = float(shots * quadratic)
    sd = np.sqrt(np.maximum(np.diag(covariance), 1e-300) / shots)
    return MomentTest("chi-square", chi2, float(stats.chi2.sf(chi2, dof)), dof, diff / sd)


def mean_vector_power(model_means, alternative_means, covariance, shots, level):
    """Power of :func:`mean_vector_test` at ``level`` when the data follow a
    model with ``alternative_means`` (noncentral chi-square)."""
    diff = np.asarray(alternative_means, float) - np.asarray(model_means, float)
    (quadratic,), dof = _inverse_quadratic(covariance, diff)
    return chi_square_power(shots * quadratic, dof, level)


def chi_square_power(noncentrality, dof, level):
    """P(chi2 > the level-``level`` critical value of chi2(dof)) when the
    statistic is noncentral chi2(dof, noncentrality)."""
    critical = stats.chi2.isf(level, dof)
    if noncentrality <= 0:
        return float(level)
    return float(stats.ncx2.sf(critical, dof, noncentrality))


def pair_covariance_variance(rates, subsets, covariances):
    """Variance of one shot's contribution to the sample covariance of two
    click indicators, E[(c_i - p_i)^2 (c_j - p_j)^2] - cov_ij^2, exact from
    the model's p_i, p_j and cov_ij (two indicators have a 2 x 2 joint law):
    the sample covariance over n shots has variance about this / n."""
    return pair_variance(rates[subsets[:, 0]], rates[subsets[:, 1]], covariances)


def pair_variance(pi, pj, covariances):
    """:func:`pair_covariance_variance` from per-pair arrays: the click
    probabilities ``pi``, ``pj`` of the two modes and their covariance."""
    both = covariances + pi * pj
    law = ((both, (1 - pi) ** 2 * (1 - pj) ** 2), (pi - both, (1 - pi) ** 2 * pj**2),
           (pj - both, pi**2 * (1 - pj) ** 2), (1 - pi - pj + both, pi**2 * pj**2))
    fourth = sum(np.clip(p, 0, 1) * value for p, value in law)
    return np.maximum(fourth - covariances**2, 1e-300)


def max_z_test(z_scores, *, dof=None):
    """Bonferroni test of many z-scores: p = min(1, count P(|Z| > max |z|)),
    Z standard normal (``dof`` None) or Student t with ``dof`` degrees of
    freedom (batch-means standard errors from dof + 1 batches)."""
    z = np.asarray(z_scores, float)
    worst = float(np.abs(z).max()) if z.size else 0.0
    tail = stats.norm.sf(worst) if dof is None else stats.t.sf(worst, dof)
    return MomentTest("max-z", worst, float(min(1.0, 2 * z.size * tail)), int(z.size), z)


def max_z_critical(count, level, dof=None):
    """|z| above which :func:`max_z_test` rejects at ``level``."""
    tail = level / (2 * count)
    return float(stats.norm.isf(tail) if dof is None else stats.t.isf(tail, dof))


def max_z_power(shift, null_sd, alternative_sd, critical):
    """Lower bound on the power of a max-|z| test: the largest power of a
    single entry, each estimate normal with mean model + ``shift`` and
    standard deviation ``alternative_sd``, rejected beyond ``critical``
    times ``null_sd``."""
    shift = np.asarray(shift, float)
    upper = stats.norm.sf((critical * null_sd - shift) / alternative_sd)
    lower = stats.norm.cdf((-critical * null_sd - shift) / alternative_sd)
    return float(np.max(upper + lower, initial=0.0))


def shots_for_power(power, target=0.8, *, start=1, limit=10**12):
    """The smallest number of shots n with ``power(n) >= target`` (power
    nondecreasing in n, n >= ``start``), rounded up to two significant
    digits; None when even ``limit`` shots fall short."""
    if power(limit) < target:
        return None
    low = max(1, int(start))
    if power(low) >= target:
        return low
    high = low
    while power(high) < target:  # power(limit) >= target: this ends
        low, high = high, min(2 * high, limit)
    while high - low > 1:
        mid = (low + high) // 2
        if power(mid) >= target:
            high = mid
        else:
            low = mid
    step = 10 ** max(0, len(str(high)) - 2)  # up to two significant digits
    return -(-high // step) * step


def clicks_per_shot(patterns, detector_kind):
    """Clicks in each shot, counted as ``Experiment.mean_clicks`` does:
    clicking detectors (threshold, pseudo-PNR), or modes with at least one
    photon (photon-number resolving)."""
    patterns = np.asarray(patterns)
    if detector_kind == "photon-number-resolving":
        return np.count_nonzero(patterns, axis=1)
    return patterns.sum(axis=1)


@dataclass(frozen=True)
class ClickRateSummary:
    """Sampled click rates next to a model's exact ones (:func:`click_rate_summary`).

    Attributes
    ----------
    shots : int
    mean_clicks, mean_clicks_error, exact_mean_clicks, mean_clicks_z : float
        Clicks per shot: sample mean, its standard error, the model's value,
        and z = (mean - exact) / error.
    rates, exact_rates, rate_z : ndarray of shape (M,)
        Click rate per mode, sampled and exact, and the binomial z-score of
        each.
    """

    shots: int
    mean_clicks: float
    mean_clicks_error: float
    exact_mean_clicks: float
    mean_clicks_z: float
    rates: np.ndarray
    exact_rates: np.ndarray
    rate_z: np.ndarray


def click_rate_summary(patterns, experiment):
    """The clicks per shot and the click rate per mode of ``patterns``
    (shots, M) against ``experiment``'s exact values (click detectors)."""
    check_click_model(experiment)
    indicators = check_clicks(patterns, experiment.n_modes)
    shots = len(indicators)
    clicks = clicks_per_shot(patterns, experiment.detector.kind)
    exact_mean = experiment.mean_clicks()
    error = clicks.std(ddof=1) / np.sqrt(shots) if shots > 1 else float("nan")
    rates, exact_rates = indicators.mean(axis=0), experiment.click_probabilities()
    rate_z = (rates - exact_rates) / np.sqrt(exact_rates * (1 - exact_rates) / shots)
    return ClickRateSummary(shots, float(clicks.mean()), float(error), float(exact_mean),
                            float((clicks.mean() - exact_mean) / error), rates, exact_rates,
                            rate_z)
