"""Schmidt data of a pure Gaussian state at every cut of its mode chain.

Oh et al., Nat. Phys. 20, 1461 (2024), arXiv:2306.03709, Methods ("MPS
construction").  For the cut before mode c, the right block R_c = modes
c..M-1 of the pure state is in the mixed state of covariance
V_R = S_c diag(nu, nu) S_c^T (Williamson), i.e. thermal states of the mean
photons nbar_k = (nu_k - 1) / 2 put through the Gaussian unitary U(S_c).
The eigenvectors of the block's density matrix, which are the right
Schmidt vectors of the cut, are therefore U(S_c)|n> for Fock patterns n of
the block's thermal modes, with Schmidt weights

    lambda_n^2 = prod_k nbar_k^{n_k} / (1 + nbar_k)^{n_k + 1}.

A :class:`Cut` keeps the ``chi`` largest weights.  Removing a photon from a
pattern multiplies its weight by (1 + nbar_k) / nbar_k > 1, so the kept
patterns form a downward-closed set (every pattern minus one photon is
kept), which the site tensors' recurrence (:mod:`jiuzhang_emu.fock`) needs.
The weight left out, 1 - sum of the kept weights, is the cut's truncation
error.  Cut 0 (the whole state, pure) keeps only the vacuum pattern; cut M
(no modes) keeps the empty pattern.
"""
import heapq
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.states import williamson

#: No more patterns are kept once the weight left out is below MIN_WEIGHT
#: (a cut far from the middle needs far fewer than chi): at most
#: M * MIN_WEIGHT of the state's norm in all.
MIN_WEIGHT = 1e-7
#: Patterns of smaller weight are never candidates (below any rounding).
_NEGLIGIBLE = 1e-30


@dataclass(frozen=True)
class Cut:
    """The Schmidt data of the cut before mode ``position``.

    Attributes
    ----------
    position : int
        c: the right block is modes c..M-1.
    symplectic : ndarray of shape (2m, 2m)
        S_c, from the block's thermal modes (ordered by decreasing nbar) to
        its physical modes, xxpp.
    occupations : ndarray of shape (m,)
        nbar_k, decreasing.
    patterns : ndarray of int16, shape (chi_c, m)
        The kept Schmidt patterns, by decreasing weight (vacuum first).
    weights : ndarray of shape (chi_c,)
        Their Schmidt weights lambda^2.
    """

    position: int
    symplectic: np.ndarray
    occupations: np.ndarray
    patterns: np.ndarray
    weights: np.ndarray

    @property
    def bond(self):
        """chi_c, the kept patterns."""
        return len(self.patterns)

    @property
    def discarded_weight(self):
        """1 - the kept Schmidt weight (>= 0 up to rounding)."""
        return max(0.0, 1.0 - float(self.weights.sum()))


def top_patterns(occupations, chi, min_weight=MIN_WEIGHT):
    """The ``chi`` Fock patterns of largest weight prod_k p_k(n_k) under the
    thermal distributions p_k(n) = nbar^n / (1 + nbar)^(n+1), in
    decreasing order of weight, and no more once the weight left out is
    below ``min_weight``; ``occupations`` must be in decreasing order.

    Best-first enumeration: a pattern's children add one photon to a mode at
    or after its last occupied one, so every pattern has one parent and the
    heap pops them in order of weight.

    Returns
    -------
    patterns : ndarray of int16, shape (n, len(occupations))
    weights : ndarray of shape (n,)
    """
    occupations = np.asarray(occupations, dtype=np.float64)
    m = len(occupations)
    active = np.flatnonzero(occupations > 0)
    log_vacuum = -float(np.log1p(occupations).sum())
    steps = np.log(occupations[active]) - np.log1p(occupations[active])
    log_floor = np.log(_NEGLIGIBLE)
    heap = [(-log_vacuum, (), 0)]  # (-log weight, photons' active indices, first child)
    patterns, weights, kept = [], [], 0.0
    while heap and len(patterns) < chi and 1 - kept > min_weight:
        negative, photons, first = heapq.heappop(heap)
        patterns.append(photons)
        weights.append(-negative)
        kept += np.exp(-negative)
        for k in range(first, len(active)):
            log_weight = -negative + steps[k]
            if log_weight < log_floor:
                break  # the later modes' steps are smaller still
            heapq.heappush(heap, (-log_weight, photons + (k,), k))
    dense = np.zeros((len(patterns), m), dtype=np.int16)
    for row, photons in enumerate(patterns):
        np.add.at(dense[row], active[list(photons)], 1)
    return dense, np.exp(weights)


def cuts(pure_cov, chi, min_weight=MIN_WEIGHT):
    """The Schmidt data of cuts 0..M of the pure state ``pure_cov``.

    Parameters
    ----------
    pure_cov : ndarray of shape (2M, 2M)
        A pure state's covariance (xxpp, hbar = 2).
    chi : int
        Patterns kept per cut at most.

    Returns
    -------
    list of Cut, length M + 1
    """
    M = pure_cov.shape[0] // 2
    return [cut(pure_cov, c, chi, min_weight) for c in range(M + 1)]


def cut(pure_cov, position, chi, min_weight=MIN_WEIGHT):
    """The :class:`Cut` before mode ``position`` (see :func:`cuts`)."""
    M = pure_cov.shape[0] // 2
    m = M - position
    if m == 0:
        return Cut(position, np.zeros((0, 0)), np.zeros(0), np.zeros((1, 0), dtype=np.int16),
                   np.ones(1))
    block = np.r_[position:M, M + position:2 * M]
    S, nu = williamson(pure_cov[np.ix_(block, block)])
    occupations = np.clip((nu - 1) / 2, 0, None)
    if position == 0:
        occupations = np.zeros(m)  # the whole pure state: nu = 1 up to rounding
    order = np.argsort(-occupations, kind="stable")
    S = S[:, np.r_[order, m + order]]
    occupations = occupations[order]
    patterns, weights = top_patterns(occupations, chi, min_weight)
    return Cut(position, S, occupations, patterns, weights)
