"""Total click-number distributions of a model, and tests of data against them.

Exact ("exact", up to EXACT_MAX_MODES modes): with P(T dark) the probability
that the modes of T register no count, the generating function of the click
number C over the modes of a set S is

    E[x^C] = E[prod_{j in S} (1 - c_j + x c_j)] = sum_{T subset S} P(T dark) (1 - x)^|T| x^(|S| - |T|),

so with V_t = sum_{|T| = t} P(T dark), P(C = c) = sum_t V_t (-1)^(c - s + t) C(t, c - s + t)
(s = |S|): 2^s Gaussian integrals, no sampling error.

Phase space ("phase-space", any size): every positive-P sample (alpha, beta)
of the output state (:mod:`jiuzhang_emu.phase_space`, drawn on the inputs and
propagated) gives
pi_j = g_j exp(-beta_j alpha_j), an unbiased estimate of mode j staying dark,
and prod_j (pi_j + x (1 - pi_j)) estimates E[x^C]; its coefficients, averaged
over samples, estimate P(C = c) with standard errors from their spread
(Drummond, Dellios, Reid et al.; the click-number test of arXiv:2211.03480).
Each sample's coefficients come from a K-point DFT of its generating function
(O(M) power sums and an FFT per sample, not the O(M^2) expansion): all of
them up to FULL_WINDOW_BINS counted modes, beyond that a window of the exact
mean +- WINDOW_SIGMAS standard deviations (Jiuzhang 4.0: ~1761 +- ~110 of
8176), the rest stated as ``outside_mass``.
The bins of one sample sum to one, so their estimates are strongly
correlated: statistics of several bins use their covariance
(``ClickNumberDistribution.covariance``; e.g. :meth:`mean_standard_error`).

Tests of observed click numbers against a distribution
(:func:`click_number_test`): chi-square over bins whose expected count is at
least ``min_expected`` (the rest merged into one bin), with the model's own
sampling variance added to each bin's (the phase-space error bars), and the
Wilson-Hilferty Z-score of chi2 / dof used by Drummond et al.
"""
from dataclasses import dataclass
from itertools import combinations
from math import comb

import mpmath
import numpy as np
from scipy import special

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.phase_space import click_count_estimates
from jiuzhang_emu.validation.statistics import (
    check_click_model,
    check_clicks,
    chi_square_power,
    dark_probabilities,
    max_count,
)

EXACT_MAX_MODES = 20  # 2^20 Gaussian integrals: seconds
AUTO_EXACT_MODES = 14  # "auto" is exact up to here (milliseconds)
DEFAULT_SAMPLES = 200_000


@dataclass(frozen=True)
class ClickNumberDistribution:
    """P(C = c) for c = 0..len(modes), with standard errors (0 when exact).

    Attributes
    ----------
    probabilities, standard_errors : ndarray of shape (n + 1,)
    modes : ndarray of int
        The modes whose clicks are counted.
    method : {"exact", "phase-space"}
    samples : int or None
        Phase-space samples used.
    n_modes, max_count : int or None
        The model's mode count and largest pattern entry (1: threshold, k:
        pseudo-PNR), checked against data in :func:`click_number_test`.
    covariance : ndarray of shape (n + 1, n + 1) or (K, K), or None
        Covariance of the probability estimates (zeros when exact; its
        diagonal is standard_errors**2), over the window's K bins when
        ``window`` is set.  None: not known.
    window : (int, int) or None
        (first, stop): the phase-space estimate covers the click numbers
        first .. stop - 1 only (``probabilities`` and ``standard_errors``
        are 0 outside); None: every click number.
    outside_mass : float
        The probability outside the window under a normal approximation,
        erfc(d / sqrt(2)) with d the nearer cut edge's distance from the exact
        mean in (phase-space estimated) standard deviations; 0 without a
        window.  Estimates within the window carry the aliasing of that mass
        (each bin c also holds the bins c +- K, ...).
    """

    probabilities: np.ndarray
    standard_errors: np.ndarray
    modes: np.ndarray
    method: str
    samples: object = None
    n_modes: object = None
    max_count: object = None
    covariance: object = None
    window: object = None
    outside_mass: float = 0.0

    def mean(self):
        c = np.arange(len(self.probabilities))
        return float(c @ self.probabilities)

    def mean_standard_error(self):
        """Standard error of :meth:`mean`, sqrt(c^T covariance c).

        Not sqrt(sum_c (c - mean)^2 standard_errors_c^2): that leaves out the
        correlations of the bins and understates the error (about 4x for
        Jiuzhang 1.0's phase-space estimate).
        """
        if self.covariance is None:
            raise InputError("the covariance of the estimates is not known: build the "
                             "distribution with click_number_distribution")
        c = np.arange(*(self.window or (0, len(self.probabilities))))
        return float(np.sqrt(max(c @ self.covariance @ c, 0.0)))


def click_number_distribution(experiment, *, method="auto", modes=None, samples=None,
                              rng=None):
    """The distribution of the number of clicks of a model.

    Parameters
    ----------
    experiment : Experiment
        Threshold or pseudo-PNR detection (a click: at least one count at a
        mode).
    method : {"auto", "exact", "phase-space"}
        "auto": exact up to AUTO_EXACT_MODES counted modes, else phase space.
    modes : array_like of int, optional
        Count only these modes (default all).
    samples : int, optional
        Phase-space samples (default DEFAULT_SAMPLES).
    rng : anything numpy.random.default_rng accepts

    Returns
    -------
    ClickNumberDistribution
    """
    check_click_model(experiment)
    modes = experiment._modes(modes)
    if method not in ("auto", "exact", "phase-space"):
        raise InputError(f"method must be 'auto', 'exact' or 'phase-space', got {method!r}")
    if method == "auto":
        method = "exact" if len(modes) <= AUTO_EXACT_MODES else "phase-space"
    if method == "exact":
        if len(modes) > EXACT_MAX_MODES:
            raise InputError(f"method='exact' sums 2^{len(modes)} terms; at most "
                             f"{EXACT_MAX_MODES} modes (use method='phase-space')")
        n = len(modes) + 1
        return ClickNumberDistribution(_exact(experiment, modes), np.zeros(n), modes, "exact",
                                       None, experiment.n_modes, max_count(experiment),
                                       np.zeros((n, n)))
    samples = DEFAULT_SAMPLES if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InputError(f"samples must be an integer >= 2, got {samples!r}")
    mean, error, covariance, (windows, distances) = click_count_estimates(
        experiment, (modes,), int(samples), np.random.default_rng(rng), covariance=True,
        return_windows=True)
    (first, K), distance = windows[0], distances[0]
    if K == len(modes) + 1:
        return ClickNumberDistribution(mean, error, modes, "phase-space", int(samples),
                                       experiment.n_modes, max_count(experiment), covariance)
    probabilities, errors = np.zeros(len(modes) + 1), np.zeros(len(modes) + 1)
    probabilities[first:first + K], errors[first:first + K] = mean, error
    return ClickNumberDistribution(probabilities, errors, modes, "phase-space", int(samples),
                                   experiment.n_modes, max_count(experiment), covariance,
                                   (first, first + K), float(special.erfc(distance / np.sqrt(2))))


def _exact(experiment, modes):
    s = len(modes)
    V = np.zeros(s + 1)
    V[0] = 1.0
    for t in range(1, s + 1):
        subsets = np.array(list(combinations(modes, t)), dtype=np.intp)
        V[t] = dark_probabilities(experiment, subsets).sum()
    # P(C = c) = sum_t V_t (-1)^(c - s + t) C(t, c - s + t), summed in 50 digits
    with mpmath.workdps(50):
        probabilities = []
        for c in range(s + 1):
            total = mpmath.mpf(0)
            for t in range(s - c, s + 1):
                j = c - s + t
                total += (-1) ** j * comb(t, j) * mpmath.mpf(float(V[t]))
            probabilities.append(float(total))
    return np.array(probabilities)


@dataclass(frozen=True)
class CountTest:
    """Chi-square and Z-score of observed counts against expected ones.

    Attributes
    ----------
    chi2 : float
    dof : int
        Bins after merging, minus one (the totals agree by construction).
    pvalue : float
        Upper tail of the chi-square distribution at chi2.
    z_score : float
        Wilson-Hilferty ((chi2 / dof)^(1/3) - (1 - 2 / (9 dof))) / sqrt(2 / (9 dof)):
        about standard normal for a correct model; |Z| > 6 is a clear failure
        (Drummond et al.).
    bins : list of tuple
        The click numbers merged into each bin.
    observed, expected, bin_z : ndarray
        Per bin; bin_z = (observed - expected) / sigma.
    """

    chi2: float
    dof: int
    pvalue: float
    z_score: float
    bins: list
    observed: np.ndarray
    expected: np.ndarray
    bin_z: np.ndarray


def click_number_test(data, model, *, min_expected=5.0):
    """Test observed click numbers against a model's distribution.

    Parameters
    ----------
    data : array_like
        Patterns of shape (shots, modes) (threshold patterns or counts; the
        model's modes are counted), or a histogram of click numbers of length
        len(model.probabilities).
    model : ClickNumberDistribution
    min_expected : float
        Bins with a smaller expected count are merged (from the tails inward
        into their neighbour; the issue's "merge sparse bins").

    Returns
    -------
    CountTest
    """
    if not isinstance(model, ClickNumberDistribution):
        raise InputError(f"model must be a ClickNumberDistribution, got {type(model).__name__}")
    n_bins = len(model.probabilities)
    data = np.asarray(data)
    if data.ndim == 2:
        clicks = check_clicks(data, model.n_modes, name="data", max_count=model.max_count)
        if clicks.shape[1] <= model.modes.max():
            raise InputError(f"data has {clicks.shape[1]} modes; the model counts modes up to "
                             f"{model.modes.max()}")
        # (intp: numpy < 2 refuses the uint64 sum of uint8 clicks in bincount)
        observed = np.bincount(clicks[:, model.modes].sum(axis=1, dtype=np.intp),
                               minlength=n_bins)
    elif data.ndim == 1 and len(data) == n_bins:
        if data.dtype.kind not in "biuf" or np.any(data < 0):
            raise InputError("a click-number histogram must hold non-negative counts")
        observed = data.astype(float)
    else:
        raise InputError(f"data must be patterns (shots, modes) or a histogram of length "
                         f"{n_bins}, got shape {data.shape}")
    shots = observed.sum()
    if shots <= 0:
        raise InputError("data holds no shots")
    expected = shots * model.probabilities
    model_var = (shots * model.standard_errors) ** 2
    return count_test(observed, expected, model_var, _merge_bins(expected, min_expected),
                      min_expected)


def count_test(observed, expected, model_var, bins, min_expected):
    """Chi-square over ``bins`` (tuples of indices into the counts, each bin
    summed), each bin's variance its expected count plus the model's
    variance, with p-value and Wilson-Hilferty Z."""
    obs = np.array([observed[list(b)].sum() for b in bins], dtype=float)
    exp = np.array([expected[list(b)].sum() for b in bins])
    var = np.array([max(expected[list(b)].sum(), 0.0) + model_var[list(b)].sum() for b in bins])
    if len(bins) < 2:
        raise InputError(f"only one bin has an expected count >= {min_expected}: too few shots "
                         f"({observed.sum():g}) for a test")
    bin_z = (obs - exp) / np.sqrt(var)
    chi2 = float(np.sum((obs - exp) ** 2 / var))
    dof = len(bins) - 1
    pvalue = float(mpmath.gammainc(dof / 2, chi2 / 2, regularized=True))
    k = 2 / (9 * dof)
    z = ((chi2 / dof) ** (1 / 3) - (1 - k)) / np.sqrt(k)
    return CountTest(chi2, dof, pvalue, float(z), bins, obs, exp, bin_z)


def count_test_power(model, alternative, shots, level, *, min_expected=5.0):
    """Power of :func:`click_number_test` against ``model`` at significance
    ``level`` when ``shots`` samples follow ``alternative``.

    The chi-square over the bins the test would merge at this number of shots
    is about noncentral chi2(bins - 1, lambda) with

        lambda = sum_bins n d^2 / (p + n s^2),

    p the model's bin probability, s^2 the variance of its phase-space
    estimate (0 when exact; the test adds n^2 s^2 to each bin's variance, so
    lambda stays finite as n grows when the model is not exact), and
    d^2 = (p_alt - p)^2 less the variances of both phase-space estimates (an
    unbiased estimate of the squared difference), floored at 0.

    Parameters
    ----------
    model, alternative : ClickNumberDistribution
        Over the same modes.
    shots : int or float
    level : float
        The test's significance level.

    Returns
    -------
    float
    """
    for name, value in (("model", model), ("alternative", alternative)):
        if not isinstance(value, ClickNumberDistribution):
            raise InputError(f"{name} must be a ClickNumberDistribution, got "
                             f"{type(value).__name__}")
    if len(model.probabilities) != len(alternative.probabilities):
        raise InputError(f"model and alternative count {len(model.probabilities) - 1} and "
                         f"{len(alternative.probabilities) - 1} modes")
    bins = _merge_bins(shots * model.probabilities, min_expected)
    if len(bins) < 2:
        return 0.0  # too few shots for the test to run at all
    noncentrality = 0.0
    for b in bins:
        b = list(b)
        p, q = model.probabilities[b].sum(), alternative.probabilities[b].sum()
        var_p = (model.standard_errors[b] ** 2).sum()
        var_q = (alternative.standard_errors[b] ** 2).sum()
        d2 = max((q - p) ** 2 - var_p - var_q, 0.0)
        noncentrality += shots * d2 / max(p + shots * var_p, 1e-300)
    return chi_square_power(noncentrality, len(bins) - 1, level)


def _merge_bins(expected, min_expected):
    """Consecutive bins, each with expected count >= min_expected (the last
    one may absorb a short tail)."""
    bins, current, acc = [], [], 0.0
    for c, e in enumerate(expected):
        current.append(c)
        acc += e
        if acc >= min_expected:
            bins.append(tuple(current))
            current, acc = [], 0.0
    if current:
        if bins:
            bins[-1] = bins[-1] + tuple(current)
        else:
            bins.append(tuple(current))
    return bins
