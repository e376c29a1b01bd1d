"""Brute-force reference implementations of the GBS kernels, for tests.

Every function here is written straight from the definition of the quantity
it computes and shares no code with the native kernels.  They are
exponential-time test oracles: use them only for small inputs (hafnians and
loop hafnians up to about 16 rows, torontonians up to about 8 modes,
permanents up to about 8 rows).  The (loop) hafnian recursion expands the
first remaining row over its partners and memoises on the set of remaining
rows, so it costs O(N 2^N) instead of (N-1)!!; the torontonians sum over all
2^n subsets with a determinant each; the permanent sums over all n!
permutations.

Conventions are those of the package (and of thewalrus):

* ``hafnian(A)`` sums, over the perfect matchings of the rows of a symmetric
  matrix A, the product of the matched entries; the diagonal is not used.
* ``loop_hafnian(A, diag)`` also admits self-loops, the loop on row i weighing
  ``diag[i]`` (default: the diagonal of A).
* Repeated rows are handled by :func:`expand_reps`: row/column i stands
  ``reps[i]`` times, and the entry between two copies of i is A[i, i].
* ``torontonian(O)`` (Quesada, Arrazola, Killoran, PRA 98, 062322 (2018))
  and ``loop_torontonian(O, gamma)`` take a 2n x 2n matrix O in the
  complex basis (a_1..a_n, a_1^dag..a_n^dag) with I - O Hermitian positive
  definite, and sum over the subsets Z of the n modes, keeping rows and
  columns i and i + n of every mode i in Z::

      Tor(O)         = sum_Z (-1)^(n - |Z|) / sqrt(det(I - O)_Z)
      ltor(O, gamma) = sum_Z (-1)^(n - |Z|)
                       exp(gamma_Z^T (I - O)_Z^-1 conj(gamma_Z) / 2) / sqrt(det(I - O)_Z)

* ``permanent(M)`` sums, over the permutations s of the rows, prod_i M[i, s(i)].

The hafnian, loop hafnian and permanent use only element access and Python
arithmetic, so they also run on object arrays of :mod:`mpmath` numbers (for
high-precision reference values); the torontonians use :func:`numpy.linalg.det` and
:func:`numpy.linalg.solve` in float64.
"""
import itertools
from functools import lru_cache

import numpy as np

__all__ = [
    "expand_reps",
    "hafnian",
    "loop_hafnian",
    "loop_torontonian",
    "permanent",
    "torontonian",
    "torontonian_terms",
]


def _rows(A):
    """Return ``A`` as a list of row lists (any element type) and its size."""
    arr = np.asarray(A, dtype=object) if not isinstance(A, np.ndarray) else A
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {arr.shape}")
    return [list(row) for row in arr], arr.shape[0]


def _matching_sum(rows, n, loops):
    """Sum over the (loop) perfect matchings of rows 0..n-1.

    The first unmatched row is either matched with a later row j (weight
    ``rows[i][j]``) or, when ``loops`` is given, closed by a loop (weight
    ``loops[i]``); the rest is solved recursively on the remaining rows,
    memoised on the set of remaining rows.
    """

    @lru_cache(maxsize=None)
    def rec(remaining):
        if not remaining:
            return 1
        i, rest = remaining[0], remaining[1:]
        total = 0
        if loops is not None:
            total = total + loops[i] * rec(rest)
        for pos, j in enumerate(rest):
            total = total + rows[i][j] * rec(rest[:pos] + rest[pos + 1:])
        return total

    return rec(tuple(range(n)))


def hafnian(A):
    """Hafnian of a symmetric matrix, by summing over all perfect matchings.

    Parameters
    ----------
    A : array_like of shape (N, N)
        Symmetric; real, complex or an object array (e.g. of mpmath numbers).
        The diagonal is not used.

    Returns
    -------
    scalar
        1 for N = 0, 0 for odd N, otherwise
        ``sum_{matchings mu} prod_{(i, j) in mu} A[i, j]``.
    """
    rows, n = _rows(A)
    if n % 2:
        return 0
    return _matching_sum(rows, n, None)


def loop_hafnian(A, diag=None):
    """Loop hafnian of a symmetric matrix: the sum over all matchings of the
    rows into pairs and singletons (loops).

    Parameters
    ----------
    A : array_like of shape (N, N)
        Symmetric; real, complex or an object array.  Off-diagonal entries
        weight the edges.
    diag : array_like of shape (N,), optional
        Loop weights; default the diagonal of ``A``.

    Returns
    -------
    scalar
        ``sum_{mu} prod_{(i, j) in mu, i != j} A[i, j] prod_{(i, i) in mu} diag[i]``;
        1 for N = 0.
    """
    rows, n = _rows(A)
    loops = [rows[i][i] for i in range(n)] if diag is None else list(diag)
    if len(loops) != n:
        raise ValueError(f"diag must have length {n}, got {len(loops)}")
    return _matching_sum(rows, n, loops)


def expand_reps(A, reps, diag=None):
    """Repeat the rows and columns of ``A`` (and the entries of ``diag``).

    Parameters
    ----------
    A : array_like of shape (N, N)
    reps : array_like of int of shape (N,)
        How many times each row/column appears; 0 removes it.
    diag : array_like of shape (N,), optional
        Loop weights to repeat alongside.

    Returns
    -------
    ndarray of shape (sum(reps), sum(reps))
        ``A[idx][:, idx]`` with ``idx = repeat(arange(N), reps)``: the entry
        between two copies of row i is ``A[i, i]``.
    ndarray of shape (sum(reps),)
        Only when ``diag`` is given: ``diag[idx]``.
    """
    A = np.asarray(A)
    reps = np.asarray(reps, dtype=int)
    if reps.shape != (A.shape[0],) or np.any(reps < 0):
        raise ValueError(f"reps must be {A.shape[0]} non-negative integers, got {reps}")
    idx = np.repeat(np.arange(A.shape[0]), reps)
    expanded = A[np.ix_(idx, idx)]
    if diag is None:
        return expanded
    return expanded, np.asarray(diag)[idx]


def _mode_subsets(n):
    """All subsets of range(n), as tuples, by increasing size."""
    for size in range(n + 1):
        yield from itertools.combinations(range(n), size)


def _check_o(O):
    O = np.asarray(O)
    if O.ndim != 2 or O.shape[0] != O.shape[1] or O.shape[0] % 2:
        raise ValueError(f"O must be a 2n x 2n matrix, got shape {O.shape}")
    return O, O.shape[0] // 2


def _subset_terms(O, gamma):
    """Signed terms of the (loop) torontonian sum, one per subset of modes."""
    O, n = _check_o(O)
    M = np.eye(2 * n) - O
    terms = []
    for Z in _mode_subsets(n):
        keep = list(Z) + [i + n for i in Z]
        MZ = M[np.ix_(keep, keep)]
        det = np.linalg.det(MZ).real if keep else 1.0
        if not det > 0:
            raise ValueError(f"I - O restricted to modes {Z} has determinant {det}")
        term = 1 / np.sqrt(det)
        if gamma is not None and keep:
            gZ = np.asarray(gamma)[keep]
            exponent = gZ @ np.linalg.solve(MZ, np.conj(gZ))
            term = term * np.exp(exponent.real / 2)
        terms.append((-1) ** (n - len(Z)) * term)
    return terms


def torontonian_terms(O, gamma=None):
    """The signed terms of the (loop) torontonian sum, one per subset of modes.

    Parameters
    ----------
    O : array_like of shape (2n, 2n)
        Complex-basis O matrix; I - O Hermitian positive definite.
    gamma : array_like of shape (2n,), optional
        Loop vector; None for the torontonian.

    Returns
    -------
    ndarray of shape (2^n,)
        The terms, subsets ordered by size then lexicographically; their sum
        is the (loop) torontonian and the sum of their moduli measures the
        cancellation.
    """
    if gamma is not None:
        gamma = np.asarray(gamma)
        n = np.shape(O)[0] // 2
        if gamma.shape != (2 * n,):
            raise ValueError(f"gamma must have shape ({2 * n},), got {gamma.shape}")
    return np.array(_subset_terms(O, gamma))


def torontonian(O):
    """Torontonian by the direct sum over the 2^n subsets of modes.

    Parameters
    ----------
    O : array_like of shape (2n, 2n)
        Complex-basis O matrix; I - O Hermitian positive definite.

    Returns
    -------
    float
        ``sum_Z (-1)^(n - |Z|) / sqrt(det (I - O)_Z)``; 1 for n = 0.
    """
    return float(np.sum(_subset_terms(O, None)))


def loop_torontonian(O, gamma):
    """Loop torontonian by the direct sum over the 2^n subsets of modes.

    Parameters
    ----------
    O : array_like of shape (2n, 2n)
        Complex-basis O matrix; I - O Hermitian positive definite.
    gamma : array_like of shape (2n,)
        Loop (displacement) vector in the same basis.

    Returns
    -------
    float
        ``sum_Z (-1)^(n - |Z|) exp(Re(gamma_Z^T (I - O)_Z^-1 conj(gamma_Z)) / 2)
        / sqrt(det (I - O)_Z)``.
    """
    return float(np.sum(torontonian_terms(O, gamma)))


def permanent(M):
    """Permanent by the sum over all n! permutations.

    Parameters
    ----------
    M : array_like of shape (n, n)

    Returns
    -------
    scalar
        ``sum_s prod_i M[i, s(i)]``; 1 for n = 0.
    """
    rows, n = _rows(M)
    total = 0  # range(0) has one permutation, the empty one, of weight 1
    for perm in itertools.permutations(range(n)):
        term = 1
        for i, j in enumerate(perm):
            term = term * rows[i][j]
        total = total + term
    return total
