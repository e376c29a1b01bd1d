"""Grouped click counts: the joint distribution of the numbers of clicks in
several disjoint groups of modes (the "grouped count probabilities" of
Drummond, Dellios, Reid et al., arXiv:2211.03480), and a chi-square test of
data against it.

With groups g_1..g_G (sizes n_g) and t_g = |T n g_g| for a dark set T, the
joint generating function is

    E[prod_g x_g^(C_g)] = sum_T P(T dark) prod_g (1 - x_g)^(t_g) x_g^(n_g - t_g),

so P(c_1..c_G) = sum_t V[t] prod_g K_g[c_g, t_g] with V[t] the sum of P(T dark)
over the dark sets with those group counts and K_g[c, t] = (-1)^(c - n_g + t)
C(t, c - n_g + t): exact up to EXACT_MAX_MODES modes in all.  In phase space
each positive-P sample gives prod_g prod_{j in g} (pi_j + x_g (1 - pi_j)), the
groups' polynomials multiplied as an outer product; averaged over samples,
with standard errors.  Each group's polynomial is transformed on a window of
its counts (all of 0..n_g up to FULL_WINDOW_BINS, else the exact mean +-
WINDOW_SIGMAS standard deviations; :func:`~jiuzhang_emu.phase_space.click_windows`),
so two or three groups of Jiuzhang 4.0's 8176 modes fit in _MAX_BINS joint
bins; more bins are refused before any sampling.  One group is the total click-number distribution of
:mod:`jiuzhang_emu.validation.click_numbers`.
"""
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np
from scipy import special

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.phase_space import click_count_estimates, click_windows, experiment_sampler
from jiuzhang_emu.validation.click_numbers import (
    AUTO_EXACT_MODES,
    DEFAULT_SAMPLES,
    EXACT_MAX_MODES,
    count_test,
)
from jiuzhang_emu.validation.statistics import (
    check_click_model,
    check_clicks,
    dark_probabilities,
    max_count,
)

_MAX_BINS = 10**6


@dataclass(frozen=True)
class GroupedDistribution:
    """P(C_1 = c_1, ..., C_G = c_G), one axis per group (length n_g + 1).

    Attributes
    ----------
    probabilities, standard_errors : ndarray
    groups : tuple of ndarray
    method : {"exact", "phase-space"}
    samples : int or None
    n_modes, max_count : int
        The model's mode count and largest pattern entry.
    window : tuple of (int, int) or None
        Per group (first, stop): axis g covers the click counts first .. stop - 1
        (a phase-space window, see :func:`~jiuzhang_emu.phase_space.click_windows`);
        None: every count 0..n_g.
    outside_mass : float
        Normal-approximation probability that some group's count falls
        outside its window (0 without a window).
    """

    probabilities: np.ndarray
    standard_errors: np.ndarray
    groups: tuple
    method: str
    samples: object
    n_modes: int
    max_count: int
    window: object = None
    outside_mass: float = 0.0


def _check_groups(experiment, groups):
    try:
        groups = tuple(np.asarray(g, dtype=np.intp).ravel() for g in groups)
    except (TypeError, ValueError) as exc:
        raise InputError("groups must be a sequence of sequences of mode indices") from exc
    if not groups or any(len(g) == 0 for g in groups):
        raise InputError("groups must be a non-empty sequence of non-empty mode lists")
    every = np.concatenate(groups)
    if every.min() < 0 or every.max() >= experiment.n_modes:
        raise InputError(f"group modes must lie in [0, {experiment.n_modes}), got values in "
                         f"[{every.min()}, {every.max()}]")
    if len(np.unique(every)) != len(every):
        raise InputError("groups must be disjoint (a mode appears twice)")
    return groups


def _check_bins(sizes, what):
    bins = int(np.prod(sizes))
    if bins > _MAX_BINS:
        raise InputError(f"the groups make {bins} joint bins ({what} {list(sizes)}), above "
                         f"{_MAX_BINS}: use fewer or smaller groups")


def grouped_click_distribution(experiment, groups, *, method="auto", samples=None, rng=None):
    """The joint distribution of the click counts of disjoint mode groups.

    Parameters
    ----------
    experiment : Experiment
        Threshold or pseudo-PNR detection.
    groups : sequence of sequences of int
        Disjoint groups of output modes.
    method : {"auto", "exact", "phase-space"}
        "auto": exact when the groups hold at most AUTO_EXACT_MODES modes.
    samples : int, optional
        Phase-space samples (default DEFAULT_SAMPLES).
    rng : seed

    Returns
    -------
    GroupedDistribution
    """
    check_click_model(experiment)
    groups = _check_groups(experiment, groups)
    n = sum(len(g) for g in groups)
    if method not in ("auto", "exact", "phase-space"):
        raise InputError(f"method must be 'auto', 'exact' or 'phase-space', got {method!r}")
    if method == "auto":
        method = "exact" if n <= AUTO_EXACT_MODES else "phase-space"
    if method == "exact":
        _check_bins([len(g) + 1 for g in groups], "counts per group")
        if n > EXACT_MAX_MODES:
            raise InputError(f"method='exact' sums 2^{n} terms; at most {EXACT_MAX_MODES} "
                             f"modes in all (use method='phase-space')")
        p = _exact(experiment, groups)
        return GroupedDistribution(p, np.zeros_like(p), groups, "exact", None,
                                   experiment.n_modes, max_count(experiment))
    samples = DEFAULT_SAMPLES if samples is None else samples
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 2:
        raise InputError(f"samples must be an integer >= 2, got {samples!r}")
    rng = np.random.default_rng(rng)
    sampler = experiment_sampler(experiment)  # built once: windows, then estimates
    windows, distances = click_windows(experiment, groups, sampler, rng)
    _check_bins([K for _, K in windows], "window lengths")
    mean, error = click_count_estimates(experiment, groups, int(samples), rng, windows=windows,
                                        sampler=sampler)
    if all(K == len(g) + 1 for (_, K), g in zip(windows, groups)):
        return GroupedDistribution(mean, error, groups, "phase-space", int(samples),
                                   experiment.n_modes, max_count(experiment))
    outside = min(1.0, float(sum(special.erfc(d / np.sqrt(2)) for d in distances)))
    return GroupedDistribution(mean, error, groups, "phase-space", int(samples),
                               experiment.n_modes, max_count(experiment),
                               tuple((first, first + K) for first, K in windows), outside)


def _exact(experiment, groups):
    modes = np.concatenate(groups)
    owner = np.concatenate([np.full(len(g), i) for i, g in enumerate(groups)])
    sizes = [len(g) for g in groups]
    V = np.zeros([s + 1 for s in sizes])
    V[(0,) * len(groups)] = 1.0
    for t in range(1, len(modes) + 1):
        picks = np.array(list(combinations(range(len(modes)), t)), dtype=np.intp)
        values = dark_probabilities(experiment, modes[picks])
        counts = np.stack([(owner[picks] == g).sum(axis=1) for g in range(len(groups))], axis=1)
        np.add.at(V, tuple(counts.T), values)
    p = V
    for axis, size in enumerate(sizes):
        K = np.zeros((size + 1, size + 1))
        for c in range(size + 1):
            for t in range(size - c, size + 1):
                j = c - size + t
                K[c, t] = (-1) ** j * comb(t, j)
        p = np.moveaxis(np.tensordot(K, p, axes=([1], [axis])), 0, axis)
    return p


def grouped_count_test(patterns, model, *, min_expected=5.0):
    """Chi-square of the joint group click counts of ``patterns`` against a
    GroupedDistribution: bins expecting at least ``min_expected`` counts are
    kept, all others merged into one bin; the model's phase-space variance is
    added to each bin's.  ``bins`` in the result lists the flat bin indices
    (numpy ravel order over the group axes) of each tested bin."""
    if not isinstance(model, GroupedDistribution):
        raise InputError(f"model must be a GroupedDistribution, got {type(model).__name__}")
    clicks = check_clicks(patterns, model.n_modes, name="patterns", max_count=model.max_count)
    counts = tuple(clicks[:, g].sum(axis=1) for g in model.groups)
    observed = np.zeros(model.probabilities.shape)
    shots = len(clicks)
    if model.window is not None:  # counts outside the window join the merged bin
        counts = tuple(c - first for c, (first, _) in zip(counts, model.window))
        inside = np.all([(c >= 0) & (c < K) for c, K in
                         zip(counts, model.probabilities.shape)], axis=0)
        counts = tuple(c[inside] for c in counts)
    np.add.at(observed, counts, 1)
    expected = (shots * model.probabilities).ravel()
    model_var = ((shots * model.standard_errors) ** 2).ravel()
    observed = observed.ravel()
    keep = np.flatnonzero(expected >= min_expected)
    rest = np.flatnonzero(expected < min_expected)
    bins = [(int(i),) for i in keep]
    outside = shots - observed.sum()
    if outside or (model.window is not None and rest.size):
        # the shots outside the window: one more bin, expected shots * outside_mass
        observed = np.append(observed, outside)
        expected = np.append(expected, shots * model.outside_mass)
        model_var = np.append(model_var, 0.0)
        rest = np.append(rest, len(expected) - 1)
    if rest.size and expected[rest].sum() > 0:
        bins.append(tuple(int(i) for i in rest))
    return count_test(observed, expected, model_var, bins, min_expected)
