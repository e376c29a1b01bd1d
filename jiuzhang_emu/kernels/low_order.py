"""Checked front end of the whole-set greedy kernel (csrc/greedy.c): a 0/1
matrix of L rows whose column sums and pair co-click counts follow given
first- and second-order click probabilities.

Villalonga, Niu, Li, Neven, Platt, Smelyanskiy, Boixo, arXiv:2109.11525 (the
second-order marginal spoofer), built over the whole set of rows rather than
batch by batch.  Column j is set after columns 0..j-1, row by row in a
given order; with t rows of column j already set, row i gets the bit b that
maximises the deficit

    D(b) = sum_{l<j} [(t+1) P_lj(x_il, b) - c_lj(x_il, b)] + (t+1) P_j(b) - c_j(b),

P_lj(a, b) the target probability of (x_l, x_j) = (a, b) (from p_l, p_j and
p_lj = P(both click)), P_j(1) = p_j, c the counts of those cells over the t
rows set before (ties: b = 0).  Every prefix of the visiting order thus tracks
its targets, and the finished column's counts stay within O(1) of L p_j and
L p_lj.  Cost O(L j) per column, O(L M^2 / 2) in all; the rows of a column are
set in sequence, so only a part of the work runs on several threads, and the
result does not depend on their number.  :func:`greedy_columns_reference`
is the naive twin (numpy, the deficits as written above) that the tests
compare with.
"""
import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels
from jiuzhang_emu.kernels.checks import as_array, check_integer


def _check(X, j0, j1, p, pair, order):
    if not (isinstance(X, np.ndarray) and X.dtype == np.uint8 and X.ndim == 2
            and X.flags.c_contiguous and X.flags.writeable):
        raise InputError(f"X must be a writeable C-ordered uint8 array of shape (L, M), got "
                         f"{type(X).__name__} {getattr(X, 'dtype', '')} "
                         f"{getattr(X, 'shape', '')}")
    L, M = X.shape
    if L < 1 or M < 1:
        raise InputError(f"X must have at least one row and one column, got shape {X.shape}")
    j0 = check_integer(j0, "j0", low=0, high=M - 1)
    j1 = check_integer(j1, "j1", low=j0 + 1, high=M)
    p = as_array(p, "p", (M,), "real")
    pair = as_array(pair, "pair", (j1 - j0, j1), "real")
    for name, a in (("p", p), ("pair", pair)):
        if a.size and not (a.min() >= 0 and a.max() <= 1):
            raise InputError(f"{name} must hold probabilities in [0, 1], got "
                             f"{a.min() if a.min() < 0 else a.max()}")
    order = np.ascontiguousarray(order)
    if order.shape != (j1 - j0, L) or order.dtype.kind not in "iu":
        raise InputError(f"order must be an integer array of shape ({j1 - j0}, {L}), got "
                         f"{order.dtype} {order.shape}")
    if not np.all(np.sort(order, axis=1) == np.arange(L)):
        raise InputError(f"order must hold one permutation of the {L} rows per column")
    if X[:, :j0].max(initial=0) > 1:
        raise InputError("X must hold 0/1 entries in its columns < j0")
    return j0, j1, p, pair, order.astype(np.int32)


def greedy_columns(X, j0, j1, p, pair, order, n_threads=None):
    """Set columns ``j0..j1-1`` of ``X`` in place by the whole-set greedy rule.

    Parameters
    ----------
    X : ndarray of uint8, shape (L, M), C order
        Columns < ``j0`` already set (0/1); the others are overwritten.
    j0, j1 : int
        The columns to set, 0 <= j0 < j1 <= M.
    p : array_like of shape (M,)
        Target click probabilities.
    pair : array_like of shape (j1 - j0, j1)
        ``pair[c, l]`` = target P(modes l and j0 + c both click), for
        l < j0 + c (the rest is not read).
    order : array_like of int, shape (j1 - j0, L)
        Per column, the permutation of the rows it visits in turn (the
        caller's randomness).
    n_threads : int, optional
        None for all usable cores; the result does not depend on it.

    Returns
    -------
    X : ndarray
        The same array.
    """
    threads = effective_n_threads(n_threads)
    j0, j1, p, pair, order = _check(X, j0, j1, p, pair, order)
    _kernels.greedy_columns(X, j0, j1, p, pair, order, threads)
    return X


def greedy_columns_reference(X, j0, j1, p, pair, order):
    """The naive twin of :func:`greedy_columns`: the deficits of the module
    docstring counted cell by cell, in numpy (O(L j) per row; small inputs)."""
    j0, j1, p, pair, order = _check(X, j0, j1, p, pair, order)
    for j in range(j0, j1):
        plj = pair[j - j0, :j]
        pl = p[:j]
        # target P_lj(a, b), index [a, b, l]
        target = np.array([[1 - pl - p[j] + plj, p[j] - plj], [pl - plj, plj]])
        counts = np.zeros((2, 2, j))
        ones = 0
        for t, i in enumerate(order[j - j0]):
            a = X[i, :j].astype(np.intp)
            l = np.arange(j)
            deficit = [np.sum((t + 1) * target[a, b, l] - counts[a, b, l])
                       + (t + 1) * (p[j] if b else 1 - p[j]) - (ones if b else t - ones)
                       for b in (0, 1)]
            b = int(deficit[1] > deficit[0])
            X[i, j] = b
            counts[a, b, l] += 1
            ones += b
    return X
