"""Exact probabilities of detection patterns, for every detector model.

The engine behind :meth:`jiuzhang_emu.Experiment.probability`: given the
Gaussian state arriving at the detectors (efficiency applied as loss, see
:mod:`jiuzhang_emu.detectors`), a detector model, its per-mode dark-count
probabilities d_j and a pattern, :func:`detection_probability` gives p(pattern)
with the precision tier and error estimate that produced it, and
:func:`check_probability` refuses or flags a value whose error is too large.

Formulas (state with complex-basis Q, O = I - Q^-1 and means alpha, the
conventions of :mod:`jiuzhang_emu.states`):

* PNR: p(n) = lhaf(A_n) exp(-alpha^T Q^-1 alpha^* / 2) / (prod n_j! sqrt(det Q)),
  A_n repeating rows/columns j and j + M n_j times, loops
  gamma = alpha^* - A alpha (Hamilton et al., PRL 119, 170501 (2017);
  Quesada et al., PRA 100, 022341 (2019)).  For a pure state A = B (+) B^*
  and lhaf(A_n) = |lhaf(B_n)|^2, with B the M x M block: half the size.
  Dark counts: a mixture over which occupied modes hold a dark count.
* Threshold: p(S) = Tor(O_S) / sqrt(det Q), or the loop torontonian for
  displaced states (Quesada, Arrazola, Killoran, PRA 98, 062322 (2018);
  thewalrus's ``threshold_detection_prob``).  Dark counts cost nothing: with
  g_j = 1 - d_j, P(detectors outside Z dark) gains a factor prod_{j not in Z} g_j,
  which is absorbed exactly by I - O -> D (I - O) D, D = diag(sqrt(g)) on both
  blocks, times prod_j g_j.
* Pseudo-PNR: the k sub-modes of mode j carry b_j / sqrt(k) plus vacuum, so
  the O matrix of all M k sub-modes is V O V^T (V spreads mode j over its k
  sub-modes with weight 1/sqrt(k)) and det Q is unchanged.  The k sub-modes
  are exchangeable, so p(c) = prod_j C(k, c_j) Tor(O_c / k) / sqrt(det Q),
  O_c repeating mode j c_j times: exact, at the cost of a threshold
  probability with sum(c) clicks.  Threshold detection is the case k = 1.

Partly distinguishable light (see :mod:`jiuzhang_emu.experiment`) reaches
each detector in several internal (spectral-temporal) modes that it cannot
tell apart.  The state then holds ``internal_modes`` copies of the M outputs,
ordered block by block (mode j's copies are j, j + M, ...), and a detector
reports the total over its copies.  Threshold and pseudo-PNR probabilities then
follow from inclusion-exclusion over each detector's copies,
p(c) = prod_j C(k, c_j) sum_{z <= c} prod_j C(c_j, z_j) (-1)^(c_j - z_j) g_j^(-z_j)
P(sub-detectors outside z dark) (a "grouped torontonian", prod_j (c_j + 1)
determinants), and PNR probabilities from the sum over the ways each n_j
splits over the copies.  Both are exact and meant for small patterns.
"""
import itertools
import warnings
from math import comb, lgamma
from typing import NamedTuple

import numpy as np

from jiuzhang_emu.detectors import PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError, KernelError, PrecisionWarning, RuntimeLimitError
from jiuzhang_emu.kernels import hafnian, loop_hafnian, loop_torontonian, torontonian, work
from jiuzhang_emu.kernels.precision import (
    AUTO_RTOL,
    PROBABILITY_RTOL,
    TIER_ORDER,
    UNIT_ROUNDOFF,
    condition_number,
    escalate,
)

#: Photon-number patterns with dark counts sum 2^(occupied modes) PNR
#: probabilities; refuse more occupied modes than this.
MAX_DARK_COUNT_MODES = 16

#: Most terms the grouped (partly distinguishable) formulas may sum.
MAX_GROUPED_TERMS = 1 << 20

class ProbabilityResult(NamedTuple):
    """A probability with the precision that produced it.

    Attributes
    ----------
    value : float
    precision : str
        The most precise tier used: "double", "extended", "double-double"
        (the kernels) or "mpmath" (grouped detection of partly
        distinguishable light, 34 digits).
    error_estimate : float
        Estimated absolute error: the kernels' cancellation indicator times
        the unit roundoff of their tier, times the prefactors.
    """

    value: float
    precision: str
    error_estimate: float



def check_probability(result, pattern, precision):
    """Refuse a probability below -error or above 1 + PROBABILITY_RTOL
    (KernelError), round 1 + rounding to 1, and warn (PrecisionWarning, at
    the caller's caller) when the error estimate exceeds PROBABILITY_RTOL
    times the value ("auto") or the value itself (any precision).

    Parameters
    ----------
    result : ProbabilityResult
    pattern : ndarray of int64
        For the messages.
    precision : str
        The precision asked for.

    Returns
    -------
    ProbabilityResult
    """
    value, error = result.value, result.error_estimate
    if not np.isfinite(value) or value < -error or value > 1 + PROBABILITY_RTOL:
        raise KernelError(
            f"probability of pattern {pattern.tolist()}: computed {value:.6g} with an estimated "
            f"error of {error:.3g} in precision {result.precision!r}; a probability must lie in "
            "[0, 1], so this is a precision failure (use precision='auto', or fewer photons)")
    if value > 1:  # rounding
        result = result._replace(value=1.0)
    limit = PROBABILITY_RTOL if precision == "auto" else 1.0
    if error > limit * abs(result.value):
        digits = "not one digit is known" if error >= abs(result.value) else \
            f"relative error {error / abs(result.value):.2g}"
        warnings.warn(
            f"probability {result.value:.6g} of pattern {pattern.tolist()} has an estimated "
            f"absolute error {error:.3g} ({digits}) even in precision {result.precision!r}",
            PrecisionWarning, stacklevel=3)
    return result


def detection_probability(state, detector, pattern, dark_count, internal_modes=1,
                          **kernel_options):
    """p(pattern) for the state arriving at the detectors, before any check.

    Parameters
    ----------
    state : GaussianState
        The light at the detectors (efficiency applied), ``internal_modes``
        copies of each detector's mode, block by block.
    detector : PhotonNumberResolving, Threshold or PseudoPNR
        The detector model (its efficiency is already in ``state``).
    pattern : ndarray of int64 of shape (M,)
        Checked by ``detector.check_pattern``.
    dark_count : ndarray of shape (M,)
        Dark-count probability of each detector (each sub-detector for
        pseudo-PNR).
    internal_modes : int
        Copies of each output mode in ``state``.
    **kernel_options
        ``precision``, ``n_threads``, ``max_seconds`` for the kernels.

    Returns
    -------
    ProbabilityResult
    """
    if isinstance(detector, PhotonNumberResolving):
        return _pnr_with_dark_counts(state, pattern, dark_count, internal_modes,
                                     **kernel_options)
    if isinstance(detector, PseudoPNR):
        k = detector.n_detectors
    elif isinstance(detector, Threshold):
        k = 1
    else:
        raise InputError(f"detector must be PhotonNumberResolving, Threshold or PseudoPNR, "
                         f"got {type(detector).__name__}")
    reduced = _drop_certain_clicks(state, pattern, dark_count, internal_modes, k)
    if isinstance(reduced, ProbabilityResult):
        return reduced
    state, pattern, dark_count = reduced
    g = 1 - dark_count
    if internal_modes > 1:
        return _grouped_click_probability(state, pattern, g, k, internal_modes,
                                          kernel_options.get("precision", "auto"),
                                          kernel_options.get("max_seconds", 3600.0))
    multiplicity = float(np.prod([comb(k, int(c)) for c in pattern]))
    result = _threshold_probability(state, pattern, g, 1.0 / k, **kernel_options)
    return _combine([result], [float(np.prod(g ** k)) * multiplicity])


def _prefactor(state):
    """exp(-alpha^T Q^-1 alpha^* / 2) / sqrt(det Q), Q and alpha."""
    return state.vacuum_probability(), state.q_matrix(), state.complex_means()


def _combine(results, weights):
    """sum_i weights[i] * results[i], errors added in absolute value."""
    results = list(results)
    if not results:
        return ProbabilityResult(0.0, "double", 0.0)
    value = sum(w * r.value for w, r in zip(weights, results))
    error = sum(abs(w) * r.error_estimate for w, r in zip(weights, results))
    tier = max((r.precision for r in results), key=TIER_ORDER.index)
    return ProbabilityResult(float(value), tier, float(error))


def _run(kernel, *args, scale, **options):
    """A kernel value times ``scale`` as a ProbabilityResult.  The kernels'
    own precision warnings are held back: the caller judges the absolute
    error of the probability instead (see Experiment.probability)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        info = kernel(*args, return_info=True, **options)
    return ProbabilityResult(float(np.real(info.value)) * scale, info.precision,
                             info.absolute_error * scale)


def _compositions(total, parts):
    """All ways to write ``total`` as an ordered sum of ``parts`` non-negative integers."""
    for cuts in itertools.combinations(range(total + parts - 1), parts - 1):
        bounds = (-1, *cuts, total + parts - 1)
        yield [bounds[i + 1] - bounds[i] - 1 for i in range(parts)]


def _check_terms(count, what):
    if count > MAX_GROUPED_TERMS:
        raise RuntimeLimitError(
            f"{what} of partly distinguishable light needs {count:.3g} terms; at most "
            f"{MAX_GROUPED_TERMS} are supported (fewer photons, clicks or sources)"
        )


#: Python seconds per term of the grouped formulas around the kernel call or
#: determinant (measured 2-5e-4 s per split of a photon number, 3e-5 s per
#: determinant term); the pricing adds the kernels' own predictions.
_SPLIT_SECONDS = 5e-4
_DET_TERM_SECONDS = 3e-5
#: Seconds per multiply-add of an LU determinant: numpy (2e-8 at size 144,
#: 2e-10 at 544; the larger bound is kept) and mpmath at 34 digits (1.2e-4:
#: 6 partly distinguishable modes, blocks up to 84 x 84 complex, 292 s).
_DET_FLOP_SECONDS = 2e-8
_MPMATH_FLOP_SECONDS = 1.2e-4


def _check_grouped_seconds(seconds, max_seconds, what, count):
    if max_seconds is not None and seconds > max_seconds:
        raise RuntimeLimitError(
            f"{what} of partly distinguishable light: predicted run time {seconds:.3g} s for "
            f"{count:.3g} terms exceeds max_seconds={max_seconds:g}; pass max_seconds=None to "
            "run it anyway")


def _pnr_probability(state, pattern, internal_modes=1, **kernel_options):
    if internal_modes > 1:
        return _grouped_pnr_probability(state, pattern, internal_modes, **kernel_options)
    return _pnr_term(_pnr_setup(state), pattern, **kernel_options)


def _pnr_setup(state):
    """What every photon-number probability of ``state`` shares: vacuum
    probability, A, loops gamma, mode count and purity."""
    vacuum, Q, alpha = _prefactor(state)
    A = state.a_matrix()
    gamma = alpha.conj() - A @ alpha
    return vacuum, A, gamma, state.n_modes, abs(state.purity() - 1) < 1e-10


def _pnr_term(setup, pattern, **kernel_options):
    vacuum, A, gamma, n, pure = setup
    if not pattern.any():
        return ProbabilityResult(vacuum, "double", 0.0)
    scale = vacuum * np.exp(-sum(lgamma(k + 1) for k in pattern))
    # without displacement the hafnian: an odd photon number is then an exact
    # 0 with error 0 (the loop hafnian with zero loops rounds to ~1e-17 +- 1e-16)
    kernel = (lambda M, g, **kw: hafnian(M, **kw)) if not np.any(gamma) else loop_hafnian
    if pure:
        # pure: A = B (+) B^*, p = |lhaf(B_n)|^2 vacuum / prod n!
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PrecisionWarning)
            info = kernel(A[:n, :n], gamma[:n], reps=pattern, return_info=True,
                          **kernel_options)
        error = info.absolute_error
        value = abs(info.value) ** 2 * scale
        return ProbabilityResult(float(value), info.precision,
                                 float((2 * abs(info.value) + error) * error * scale))
    return _run(kernel, A, gamma, reps=np.concatenate([pattern, pattern]), scale=scale,
                **kernel_options)


def _grouped_pnr_probability(state, pattern, internal_modes, max_seconds=3600.0,
                             **kernel_options):
    """Sum over the ways each n_j splits over the ``internal_modes`` copies, priced
    (time) before the first term and summed as the terms come (memory: one
    term at a time; a list of 2^20 results and 2^20 recomputed A matrices
    made 8 modes take 116 s against max_seconds=60)."""
    count = np.prod([float(comb(int(n) + internal_modes - 1, internal_modes - 1))
                     for n in pattern])
    _check_terms(count, "a photon-number probability")
    setup = _pnr_setup(state)
    photons = int(pattern.sum())
    # the dearest split has every photon in its own row: 2^(N/2) leaves pure, 2^N mixed
    n_pairs = (photons + 1) // 2 if setup[4] else photons
    precision = kernel_options.get("precision", "auto")
    kernel = work.call_seconds("hafnian", work.hafnian_work([1] * n_pairs, n_pairs),
                               precision="double" if precision == "auto" else precision)
    _check_grouped_seconds(count * (_SPLIT_SECONDS + kernel), max_seconds,
                           "a photon-number probability", count)
    splits = itertools.product(*(_compositions(int(n), internal_modes) for n in pattern))
    value = error = 0.0
    tier = "double"
    for split in splits:
        r = _pnr_term(setup, np.array(split).T.ravel(), max_seconds=max_seconds,
                      **kernel_options)
        value += r.value
        error += r.error_estimate
        tier = max(tier, r.precision, key=TIER_ORDER.index)
    return ProbabilityResult(float(value), tier, float(error))


def _threshold_probability(state, repeats, g, scale, **kernel_options):
    """Probability that the sub-detectors picked by ``repeats`` click and all
    others stay dark, without the overall dark-count factor.

    repeats[j] sub-detectors of mode j click; the O matrix of mode j's
    sub-detectors is O_jj' * scale; g[j] = 1 - dark-count probability of each
    sub-detector of mode j.
    """
    n = state.n_modes
    vacuum, Q, alpha = _prefactor(state)
    rows = np.repeat(np.arange(n), repeats)
    idx = np.concatenate([rows, rows + n])
    sqrt_g = np.sqrt(g[np.concatenate([rows, rows])])
    # thewalrus's convention: O and gamma built from Q^*.
    O = state.o_matrix().conj()
    M = np.eye(len(idx)) - scale * O[np.ix_(idx, idx)]
    O_s = np.eye(len(idx)) - sqrt_g[:, None] * M * sqrt_g[None, :]
    if state.is_displaced():
        gamma = np.linalg.solve(Q, alpha.conj())
        gamma_s = np.sqrt(scale) * sqrt_g * gamma[idx]
        return _run(loop_torontonian, O_s, gamma_s, scale=vacuum, **kernel_options)
    return _run(torontonian, O_s, scale=vacuum, **kernel_options)


def _grouped_click_probability(state, pattern, g, k, internal_modes, precision="auto",
                               max_seconds=3600.0):
    """Pseudo-PNR (threshold for k = 1) probability by inclusion-exclusion
    over the copies of each detector; see the module docstring.

    The terms cancel like a torontonian's.  In float64 the error estimate is
    sum |terms| times u times the largest determinant size; "auto" (and
    "extended" / "double-double") redo the sum with mpmath at 34 digits when
    that estimate exceeds AUTO_RTOL.  Both passes are priced before they
    start, and the terms are generated one at a time (storing them all took
    7.85 GB for 16 modes before a MemoryError).
    """
    count = float(np.prod(pattern + 1.0))
    _check_terms(count, "a click probability")
    n_all = state.n_modes
    M = n_all // internal_modes
    largest = 2 * internal_modes * int(pattern.sum())
    # LU multiply-adds of all the terms: |z| photons-in-group rows of each size
    sizes = np.ones(1)
    for c in pattern:
        sizes = np.convolve(sizes, np.ones(int(c) + 1))
    flops = float(np.sum(sizes * (2.0 * internal_modes * np.arange(len(sizes))) ** 3 / 3))
    _check_grouped_seconds(count * _DET_TERM_SECONDS + _DET_FLOP_SECONDS * flops, max_seconds,
                           "a click probability", count)
    vacuum, Q, alpha = _prefactor(state)
    O = state.o_matrix().conj()  # thewalrus's convention, as above
    gamma = np.linalg.solve(Q, alpha.conj()) / np.sqrt(k) if state.is_displaced() else None
    copies = np.arange(internal_modes) * M

    def terms():
        for z in itertools.product(*(range(c + 1) for c in pattern)):
            z = np.array(z)
            weight = np.prod([comb(int(c), int(zj)) for c, zj in zip(pattern, z)])
            weight *= (-1) ** int((pattern - z).sum()) / np.prod(g ** z)
            rows = (np.repeat(np.arange(M), z)[:, None] + copies[None, :]).ravel()
            idx = np.concatenate([rows, rows + n_all])
            block = np.eye(len(idx)) - O[np.ix_(idx, idx)] / k
            yield weight, block, None if gamma is None else gamma[idx]

    def term(block, gz):
        if not len(block):
            return 1.0
        value = 1 / np.sqrt(np.linalg.det(block).real)
        if gz is not None:
            value *= np.exp((gz @ np.linalg.solve(block, gz.conj())).real / 2)
        return value

    scale = vacuum * np.prod(g ** k) * np.prod([comb(k, int(c)) for c in pattern])
    sums = {}

    def run(tier, index):
        if tier == "mpmath":
            _check_grouped_seconds(_MPMATH_FLOP_SECONDS * flops, max_seconds,
                                   "a click probability in mpmath", count)
            r = _grouped_sum_mpmath(terms(), count, scale, sums["abs"])
            return ([condition_number(r.value, r.error_estimate / UNIT_ROUNDOFF["mpmath"])],
                    [r.value], [r.error_estimate])
        total = abs_sum = 0.0
        for w, block, gz in terms():
            v = w * term(block, gz)
            total += v
            abs_sum += abs(v)
        sums["abs"] = abs_sum
        return ([condition_number(total, abs_sum * max(1, largest))], [scale * total],
                [scale * (abs_sum * UNIT_ROUNDOFF["double"] * max(1, largest))])

    ladder = escalate(run, 1, AUTO_RTOL, ("double",) if precision == "double"
                      else ("double", "mpmath"))
    value, error = (out.item() for out in ladder.outputs)
    return ProbabilityResult(float(value), str(ladder.tiers[0]), float(error))


def _grouped_sum_mpmath(terms, count, scale, abs_sum, dps=34):
    import mpmath

    with mpmath.workdps(dps):
        total = mpmath.mpf(0)
        for weight, block, gz in terms:
            if not len(block):
                total += weight
                continue
            B = mpmath.matrix(block.tolist())
            value = 1 / mpmath.sqrt(mpmath.re(mpmath.det(B)))
            if gz is not None:
                v = mpmath.matrix(gz.tolist())
                solved = mpmath.lu_solve(B, v.conjugate())
                value *= mpmath.exp(mpmath.re((v.T * solved)[0]) / 2)
            total += weight * value
        error = abs_sum * mpmath.mpf(10) ** (-dps) * 10 * count
        return ProbabilityResult(float(scale * total), "mpmath", float(scale * error))


def _drop_certain_clicks(state, pattern, dark_count, internal_modes, full):
    """Detectors of dark-count probability 1 report ``full`` (a click; all k
    sub-detectors for pseudo-PNR) whatever the light, where the dark-count
    factor D (I - O) D of the module docstring would be singular: the pattern
    is impossible unless they report ``full``, and otherwise they are
    marginalised out.  Returns (state, pattern, dark_count), or a
    ProbabilityResult when that settles the probability."""
    certain = dark_count >= 1
    if not certain.any():
        return state, pattern, dark_count
    if np.any(pattern[certain] != full):
        return ProbabilityResult(0.0, "double", 0.0)
    keep = np.flatnonzero(~certain)
    if not keep.size:
        return ProbabilityResult(1.0, "double", 0.0)
    copies = (np.arange(internal_modes)[:, None] * len(pattern) + keep[None, :]).ravel()
    return state.reduced(copies), pattern[keep], dark_count[keep]


def _pnr_with_dark_counts(state, pattern, dark_count, internal_modes=1, **kernel_options):
    """A photon-number probability as the mixture over which occupied
    detectors hold a dark count (one count each, probability d_j)."""
    occupied = np.flatnonzero(pattern)
    occupied = occupied[dark_count[occupied] > 0]
    if len(occupied) > MAX_DARK_COUNT_MODES:
        raise RuntimeLimitError(
            f"pattern with dark counts needs 2^{len(occupied)} photon-number probabilities; "
            f"at most {MAX_DARK_COUNT_MODES} occupied modes with dark counts are supported"
        )
    g = 1 - dark_count
    results, weights = [], []
    for dark in itertools.chain.from_iterable(
            itertools.combinations(occupied, size) for size in range(len(occupied) + 1)):
        dark = list(dark)
        weight = np.prod(dark_count[dark]) * np.prod(np.delete(g, dark))
        if weight:
            shifted = pattern.copy()
            shifted[dark] -= 1
            results.append(_pnr_probability(state, shifted, internal_modes, **kernel_options))
            weights.append(weight)
    return _combine(results, weights)

