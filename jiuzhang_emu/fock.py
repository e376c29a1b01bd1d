"""Fock-basis matrix elements of Gaussian unitaries and displacements.

The site tensors of the MPS of a pure Gaussian state (Oh et al., Nat. Phys.
20, 1461 (2024), arXiv:2306.03709: Gamma^[k]_ab(j) = <j|<n_b|U(G_k)|n_a>) are
blocks of <p|U(S)|q> between small photon-number patterns; their sampler then
displaces each mode by D(alpha).  This module computes both.

Conventions: xxpp quadratures, hbar = 2 (x = a + a^dag, p = -i (a - a^dag),
alpha = (x + i p) / 2), squeezing as in Strawberry Fields (x squeezed for
phase 0).  A real symplectic S (S Omega S^T = Omega) defines the Gaussian
unitary U(S) by U(S)^dag r U(S) = S r, so U(S) maps a covariance V to
S V S^T and U(S)|0> has covariance S S^T.  U(S) is fixed up to a phase by S;
here the phase makes the vacuum amplitude <0|U(S)|0> real and positive (so
U(S1) U(S2) = e^(i theta) U(S1 S2) with theta not always 0).

Gaussian unitary (Bogoliubov form).  With S = [[Sxx, Sxp], [Spx, Spp]],
U^dag a U = W a + V a^dag (a, a^dag: columns of the m mode operators), where
W = (Sxx + Spp + i (Spx - Sxp)) / 2 and V = (Sxx - Spp + i (Spx + Sxp)) / 2.
The matrix element between the unnormalised coherent states
(b^*| = <0| e^(b . a) and |g) = e^(g . a^dag)|0>
solves  d_b f = W g f + V d_g f  and  d_g f = W^T b f - V^dag d_b f,  so

    (b^*| U |g) = c0 exp(b^T X b / 2 + b^T Y g + g^T Z g / 2),
    X = V W^(*-1),  Y = W^(dag -1),  Z = -V^dag W^(dag -1),  c0 = |det W|^(-1/2),

and differentiating (the generating function of the hafnian)

    <p|U(S)|q> = c0 haf(sigma_(p+q)) / sqrt(p! q!),   sigma = [[X, Y], [Y^T, Z]],

sigma_(p+q) repeating output row/column i p_i times and input row/column
m + i q_i times (Miatto and Quesada, Quantum 4, 366 (2020); Oh et al. use
its Bloch-Messiah form).  thewalrus's ``fock_tensor`` (Choi expansion) gives
the same elements (tests/test_fock.py).

Recurrence (Miatto and Quesada, without displacement): expanding the
hafnian along one copy of row i of a pattern P over the 2m indices (P_i >= 1,
P' = P - e_i),

    F(P) = (1 / sqrt(P_i)) sum_l sigma[i, l] sqrt(P'_l) F(P' - e_l),

F(P) = <p|U|q>.  :func:`unitary_amplitudes` fills a whole block of a site
tensor with it: every F it needs lies in the block when both pattern sets are
downward closed.  Entries with an odd total photon number vanish.

Displacement: <n|D(alpha)|k> = sqrt(k!/n!) alpha^(n-k) e^(-|alpha|^2/2)
L_k^(n-k)(|alpha|^2) for n >= k and its mirror (Cahill and Glauber, Phys. Rev.
177, 1857 (1969)), exact: not the exponential of a truncated generator, whose
elements are wrong near the cutoff.  Along each diagonal n - k the Laguerre
recurrence in the degree runs on the matrix elements themselves (all of
modulus <= 1): ~1e-15 absolute error for |alpha| <= 8 and 40 x 40 blocks.  The
recurrence along the columns (thewalrus.fock_gradients.displacement) amplifies
rounding by ~(|alpha| + sqrt(n))^k / sqrt(k!), an O(1) error there.
"""
import numpy as np
from scipy.special import gammaln

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import hafnian
from jiuzhang_emu.kernels.checks import check_integer
from jiuzhang_emu.states import symplectic_form

#: Largest |S Omega S^T - Omega| (relative to max(1, |S|^2)) accepted as symplectic.
SYMPLECTIC_RTOL = 1e-8


def _check_symplectic(S):
    S = np.asarray(S)
    if S.ndim != 2 or S.shape[0] != S.shape[1] or S.shape[0] % 2 or S.shape[0] == 0:
        raise InputError(f"S must be a real 2m x 2m matrix (m >= 1), got shape {S.shape}")
    if np.iscomplexobj(S) or not np.issubdtype(S.dtype, np.number):
        raise InputError(f"S must be real, got dtype {S.dtype}")
    S = S.astype(float)
    if not np.all(np.isfinite(S)):
        raise InputError("S must be finite, got non-finite entries")
    omega = symplectic_form(S.shape[0] // 2)
    deviation = np.abs(S @ omega @ S.T - omega).max()
    scale = max(1.0, np.abs(S).max() ** 2)
    if deviation > SYMPLECTIC_RTOL * scale:
        raise InputError(f"S must be symplectic (S Omega S^T = Omega within "
                         f"{SYMPLECTIC_RTOL:g} x {scale:.3g}), got a deviation of {deviation:.3g}")
    return S


def bogoliubov(S):
    """Complex form of a symplectic matrix: U(S)^dag a U(S) = W a + V a^dag.

    Parameters
    ----------
    S : array_like of shape (2m, 2m)
        Real symplectic matrix, xxpp, hbar = 2.

    Returns
    -------
    W, V : ndarray of shape (m, m), complex128
    """
    S = _check_symplectic(S)
    m = S.shape[0] // 2
    Sxx, Sxp, Spx, Spp = S[:m, :m], S[:m, m:], S[m:, :m], S[m:, m:]
    return (Sxx + Spp + 1j * (Spx - Sxp)) / 2, (Sxx - Spp + 1j * (Spx + Sxp)) / 2


def gaussian_unitary_kernel(S):
    """Hafnian kernel of the Fock matrix elements of a Gaussian unitary.

    Parameters
    ----------
    S : array_like of shape (2m, 2m)
        Real symplectic matrix (xxpp, hbar = 2); U(S)^dag r U(S) = S r, so
        U(S)|0> has covariance S S^T.

    Returns
    -------
    sigma : ndarray of shape (2m, 2m), complex128
        Complex symmetric; rows/columns 0..m-1 are the output modes, m..2m-1
        the input modes: <p|U(S)|q> = vacuum haf(sigma_(p+q)) / sqrt(p! q!).
    vacuum : float
        <0|U(S)|0> = |det W|^(-1/2), real and positive by the phase convention
        of this module (see the module docstring).
    """
    W, V = bogoliubov(S)
    W_dag_inv = np.linalg.inv(W.conj().T)  # Y = W^(dag -1); Y^T = W^(*-1)
    X = V @ W_dag_inv.T
    Z = -V.conj().T @ W_dag_inv
    sigma = np.block([[(X + X.T) / 2, W_dag_inv], [W_dag_inv.T, (Z + Z.T) / 2]])
    _, log_abs_det = np.linalg.slogdet(W)
    return sigma, float(np.exp(-0.5 * log_abs_det))


def _check_sigma(sigma, vacuum):
    sigma = np.asarray(sigma)
    if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or sigma.shape[0] % 2 \
            or sigma.shape[0] == 0:
        raise InputError(f"sigma must be a 2m x 2m matrix (m >= 1), got shape {sigma.shape}")
    sigma = sigma.astype(complex)
    if not np.all(np.isfinite(sigma)):
        raise InputError("sigma must be finite, got non-finite entries")
    asymmetry = np.abs(sigma - sigma.T).max()
    if asymmetry > 1e-10 * max(1.0, np.abs(sigma).max()):
        raise InputError(f"sigma must be symmetric, got |sigma - sigma^T| = {asymmetry:.3g}")
    vacuum = complex(vacuum)
    if not np.isfinite(vacuum):
        raise InputError(f"vacuum must be a finite number, got {vacuum}")
    return sigma, vacuum


class _PatternSet:
    """A downward-closed set of photon-number patterns with its lowering maps.

    For pattern a, slot s runs over its occupied modes in increasing order
    (slot 0 is the first occupied mode): ``mode[a, s]`` is the mode,
    ``root[a, s]`` = sqrt(a[mode]) and ``lower[a, s]`` the index of
    a - e_mode.  Unused slots have root 0 and lower = the vacuum's index.
    """

    def __init__(self, patterns, width, name):
        arr = np.asarray(patterns)
        if arr.ndim != 2 or arr.shape[1] != width or arr.shape[0] == 0:
            raise InputError(f"{name} must be a non-empty integer array of shape (n, {width}), "
                             f"got shape {arr.shape}")
        if arr.size and not (np.issubdtype(arr.dtype, np.integer)
                             or (np.issubdtype(arr.dtype, np.floating)
                                 and np.all(arr == np.round(arr)))):
            raise InputError(f"{name} must hold integers, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        if np.any(arr < 0):
            bad = arr[np.nonzero(np.any(arr < 0, axis=1))[0][0]]
            raise InputError(f"{name} must be non-negative, got pattern {bad.tolist()}")
        self.patterns = np.ascontiguousarray(arr)
        self.n = arr.shape[0]
        self.total = arr.sum(axis=1)
        rows, modes = np.nonzero(arr)  # row-major: each row's modes ascending
        counts = np.bincount(rows, minlength=self.n)
        self.slots = int(counts.max()) if counts.size else 0
        if width == 0:
            if self.n != 1:
                raise InputError(f"{name} over 0 modes must hold the empty pattern once, "
                                 f"got {self.n} patterns")
            uniq_inv, lower_flat = np.zeros(1, np.int64), np.zeros(0, np.int64)
            self.vacuum = 0
        else:
            lowered = arr[rows].copy()
            lowered[np.arange(rows.size), modes] -= 1
            both = np.concatenate([arr, lowered])
            _, inverse = np.unique(both, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            uniq_inv = inverse[:self.n]
            if np.unique(uniq_inv).size != self.n:
                _, first, counts_u = np.unique(uniq_inv, return_index=True, return_counts=True)
                dup = arr[first[np.argmax(counts_u > 1)]]
                raise InputError(f"{name} must not repeat a pattern, got {dup.tolist()} twice")
            position = np.full(inverse.max() + 1, -1, np.int64)
            position[uniq_inv] = np.arange(self.n)
            lower_flat = position[inverse[self.n:]]
            if np.any(lower_flat < 0):
                k = int(np.argmax(lower_flat < 0))
                raise InputError(
                    f"{name} must be downward closed (a pattern minus one photon in any mode "
                    f"is also in the set): {arr[rows[k]].tolist()} is in it, its sub-pattern "
                    f"{lowered[k].tolist()} is not")
            vac = np.nonzero(self.total == 0)[0]
            self.vacuum = int(vac[0])  # present: the set is downward closed and non-empty
        slot = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
        self.mode = np.zeros((self.n, self.slots), np.int64)
        self.root = np.zeros((self.n, self.slots))
        self.lower = np.full((self.n, self.slots), self.vacuum, np.int64)
        self.mode[rows, slot] = modes
        self.root[rows, slot] = np.sqrt(arr[rows, modes])
        self.lower[rows, slot] = lower_flat
        self.levels = [np.nonzero(self.total == t)[0] for t in range(int(self.total.max()) + 1)]


def unitary_amplitudes(sigma, vacuum, first_cutoff, out_patterns, in_patterns):
    """Block of a site tensor: <j, out | U | in> by the hafnian recurrence.

    Parameters
    ----------
    sigma : array_like of shape (2m, 2m)
        Kernel of U from :func:`gaussian_unitary_kernel` (outputs, then inputs).
    vacuum : complex
        <0|U|0>.
    first_cutoff : int
        Photon numbers j = 0 .. first_cutoff - 1 of output mode 0.
    out_patterns : array_like of int of shape (n_out, m - 1)
        Patterns of output modes 1..m-1 (shape (1, 0) when m = 1); downward
        closed (each pattern minus one photon in any mode is also in the set).
    in_patterns : array_like of int of shape (n_in, m)
        Patterns of input modes 0..m-1; downward closed.

    Returns
    -------
    ndarray of shape (n_in, first_cutoff, n_out), complex128
        Entry [a, j, b] = <j, out_patterns[b] | U | in_patterns[a]>.

    Notes
    -----
    Row of the expansion: output mode 0 for j > 0; for j = 0 the first
    occupied output mode, else the first occupied input mode.  The j = 0 grid
    is filled level by level in the output photon number (its first column,
    output vacuum, level by level in the input photon number), then each
    j from j - 1 and j - 2: work O(n_in n_out first_cutoff (slots_in +
    slots_out)), slots = the most occupied modes of a pattern.
    """
    sigma, vacuum = _check_sigma(sigma, vacuum)
    m = sigma.shape[0] // 2
    d = check_integer(first_cutoff, "first_cutoff", low=1)
    out = _PatternSet(out_patterns, m - 1, "out_patterns")
    inp = _PatternSet(in_patterns, m, "in_patterns")
    s_out, s_in = sigma[1:m], sigma[m:]  # rows of output modes 1..m-1 and of the inputs
    out_col, in_col = 1 + out.mode, m + inp.mode  # global indices of the slots' modes

    grid = np.zeros((inp.n, out.n), complex)
    grid[inp.vacuum, out.vacuum] = vacuum
    # Output vacuum: expand along the first occupied input mode.
    col = grid[:, out.vacuum]
    for level in inp.levels[1:]:
        first, rest = inp.mode[level, 0], inp.lower[level, 0]
        coef = inp.root[rest] * s_in[first[:, None], in_col[rest]]
        col[level] = (coef * col[inp.lower[rest]]).sum(axis=1) / inp.root[level, 0]
    # Other outputs: expand along the first occupied output mode (row 1 + k).
    in_col_t = in_col.T
    for level in out.levels[1:]:
        first, rest = out.mode[level, 0], out.lower[level, 0]
        acc = np.zeros((inp.n, level.size), complex)
        for s in range(out.slots):
            coef = out.root[rest, s] * s_out[first, out_col[rest, s]]
            acc += grid[:, out.lower[rest, s]] * coef
        rows = s_out[first]  # (level, 2m): sigma rows of the expanded modes
        for s in range(inp.slots):
            coef = inp.root[:, s, None] * rows[:, in_col_t[s]].T
            acc += grid[np.ix_(inp.lower[:, s], rest)] * coef
        grid[:, level] = acc / out.root[level, 0]

    result = np.empty((inp.n, d, out.n), complex)
    result[:, 0] = grid
    # j >= 1: expand along output mode 0 (row 0 of sigma).
    coef_out = out.root * sigma[0, out_col]  # (n_out, slots_out)
    coef_in = inp.root * sigma[0, in_col]  # (n_in, slots_in)
    for j in range(1, d):
        prev = result[:, j - 1]
        acc = np.sqrt(j - 1) * sigma[0, 0] * result[:, j - 2] if j >= 2 \
            else np.zeros((inp.n, out.n), complex)
        for s in range(out.slots):
            acc += prev[:, out.lower[:, s]] * coef_out[:, s]
        for s in range(inp.slots):
            acc += prev[inp.lower[:, s]] * coef_in[:, s, None]
        result[:, j] = acc / np.sqrt(j)
    return result


def unitary_amplitudes_reference(sigma, vacuum, first_cutoff, out_patterns, in_patterns):
    """:func:`unitary_amplitudes` entry by entry with the hafnian kernel (the oracle).

    Each entry is vacuum haf(sigma_P) / sqrt(P!) for P = (j, out, in), from
    :func:`jiuzhang_emu.kernels.hafnian` with ``precision="auto"``.
    """
    sigma, vacuum = _check_sigma(sigma, vacuum)
    m = sigma.shape[0] // 2
    d = check_integer(first_cutoff, "first_cutoff", low=1)
    out = _PatternSet(out_patterns, m - 1, "out_patterns").patterns
    inp = _PatternSet(in_patterns, m, "in_patterns").patterns
    result = np.zeros((len(inp), d, len(out)), complex)
    for a, q in enumerate(inp):
        for j in range(d):
            for b, p in enumerate(out):
                reps = np.concatenate([[j], p, q])
                if reps.sum() % 2:
                    continue
                norm = np.exp(-0.5 * gammaln(reps + 1).sum())
                result[a, j, b] = vacuum * norm * hafnian(sigma, reps=reps, precision="auto")
    return result


def displacement_matrix(alpha, rows, cols):
    """Exact Fock matrix elements <n|D(alpha)|k> for n < rows, k < cols.

    Parameters
    ----------
    alpha : complex or array_like of complex
        Displacements, D(alpha) = exp(alpha a^dag - alpha^* a), alpha = (x + i p) / 2
        (hbar = 2); any shape.
    rows, cols : int
        Output and input photon-number cutoffs (>= 1).

    Returns
    -------
    ndarray of shape (*alpha.shape, rows, cols), complex128
        sqrt(k!/n!) alpha^(n-k) e^(-|alpha|^2/2) L_k^(n-k)(|alpha|^2) for
        n >= k and sqrt(n!/k!) (-alpha^*)^(k-n) e^(-|alpha|^2/2)
        L_n^(k-n)(|alpha|^2) for n < k: the elements of the unitary D(alpha),
        not of the exponential of a truncated generator.

    Notes
    -----
    Along each diagonal n - k = delta (and its mirror) the three-term
    recurrence of the Laguerre polynomials in their degree, written for the
    matrix elements themselves (all of modulus <= 1): with
    u_k = |alpha|^delta e^(-x/2) sqrt(k!/(k+delta)!) L_k^(delta)(x), x = |alpha|^2,
    u_0 = |alpha|^delta e^(-x/2) / sqrt(delta!) (from logarithms) and
    u_(k+1) sqrt((k+1)(k+1+delta)) = (2k+1+delta-x) u_k - sqrt(k(k+delta)) u_(k-1).
    The recurrence of the columns, <n|D|k> = (sqrt(n) <n-1|D|k-1> -
    alpha^* <n|D|k-1>) / sqrt(k) (thewalrus), amplifies rounding by
    ~(|alpha| + sqrt(n))^k / sqrt(k!): 1e-7 absolute at |alpha| = 6, 40 x 12.
    """
    rows = check_integer(rows, "rows", low=1)
    cols = check_integer(cols, "cols", low=1)
    alpha = np.asarray(alpha)
    if not np.issubdtype(alpha.dtype, np.number) or np.issubdtype(alpha.dtype, np.bool_):
        raise InputError(f"alpha must be complex numbers, got dtype {alpha.dtype}")
    alpha = alpha.astype(complex)
    if not np.all(np.isfinite(alpha)):
        raise InputError("alpha must be finite, got non-finite entries")
    shape = alpha.shape
    alpha = alpha.reshape(-1)  # the work runs along the batch: contiguous vectors
    radius = np.abs(alpha)
    x = radius ** 2
    size, degrees = max(rows, cols), min(rows, cols)
    delta = np.arange(size)[:, None]  # |n - k|
    with np.errstate(divide="ignore"):
        log_radius = np.log(radius)
    log_first = -0.5 * x - 0.5 * gammaln(delta + 1.0)
    log_first[1:] += delta[1:] * log_radius  # -inf where alpha = 0: exp gives 0
    # u[k, delta] = |alpha|^delta e^(-x/2) sqrt(k!/(k+delta)!) L_k^(delta)(x), a matrix
    # element of D in modulus, so every value of the recurrence is <= 1.
    u = np.empty((degrees, size, alpha.size))
    u[0] = np.exp(log_first)
    for k in range(1, degrees):
        u[k] = ((2 * k - 1) + delta - x) * u[k - 1]
        if k >= 2:
            u[k] -= np.sqrt((k - 1) * (k - 1 + delta)) * u[k - 2]
        u[k] /= np.sqrt(k * (k + delta))
    # Phases: e^(i delta arg alpha) below the diagonal, (-1)^delta e^(-i delta arg alpha) above.
    unit = np.where(radius > 0, alpha / np.where(radius > 0, radius, 1.0), 1.0)
    below = np.empty((size, alpha.size), complex)
    below[0] = 1.0
    for step in range(1, size):
        np.multiply(below[step - 1], unit, out=below[step])
    above = np.conj(below)
    above[1::2] *= -1
    out = np.empty((rows, cols, alpha.size), complex)
    for k in range(degrees):  # n >= k: the entries of degree k, delta = n - k
        np.multiply(u[k, :rows - k], below[:rows - k], out=out[k:, k])
    for n in range(min(rows, cols - 1)):  # n < k: degree n, delta = k - n >= 1
        np.multiply(u[n, 1:cols - n], above[1:cols - n], out=out[n, n + 1:])
    return np.ascontiguousarray(np.moveaxis(out, -1, 0)).reshape(*shape, rows, cols)
