"""Positive-P phase-space samples of a Gaussian output state.

In the positive-P representation every normally ordered moment is a
phase-space average, <a_i1^dag ... a_j1 ...> = E[beta_i1 ... alpha_j1 ...],
with independent complex variables alpha and beta (beta = alpha^* only for
classical states).  For a Gaussian state the pair (alpha, beta) can be taken
jointly Gaussian with mean (<a>, <a>^*) and second moments
E[d alpha d alpha^T] = M, E[d beta d beta^T] = M^*, E[d beta d alpha^T] = N
(N_ij = <da_i^dag da_j>, M_ij = <da_i da_j>): the complex symmetric matrix

    Sigma = [[M, N^T], [N, M^*]]

is factored as Sigma = C C^T (Takagi: Sigma = U D U^T, C = U D^(1/2)), and
(d alpha, d beta) = C w with w real standard normal.  This is the method of
Drummond, Opanchuk, Dellios, Reid (PRA 105, 012427 (2022)) written for any
Gaussian state: squeezed, thermalised, lossy, displaced.  A no-count
projector is normally ordered, |0><0| = :exp(-n):, so the probability that a
set of modes stays dark is E[prod_j exp(-beta_j alpha_j)]: each phase-space
sample gives an unbiased (complex) estimate of every click-pattern statistic,
and the spread over samples gives the error bars.

:func:`click_count_estimates` turns the samples into the joint distribution of
the click counts of groups of modes: per sample, prod over groups of
G_g(x_g) = prod_{j in group} (pi_j + x_g (1 - pi_j)), pi_j the estimate that
mode j stays dark, expanded in the x_g and averaged.  The bins of one sample
are strongly correlated (they sum to one), so a statistic of several bins,
such as the mean click number sum_c c P(C = c), needs their covariance
(``covariance=True``), not only the per-bin standard errors: at Jiuzhang 1.0
sqrt(sum_c (c - mean)^2 SE_c^2) understates the mean's error about 4x.  A
sample's contribution to the mean is sum_j (1 - pi_j); at Jiuzhang 1.0 it has
light tails (excess kurtosis ~0, largest of 300,000 samples 4.8 standard
deviations out), so the errors from the spread of independent samples hold.

At scale (Jiuzhang 4.0: 1024 squeezers, 8176 modes; issue 17):

* Samples are drawn on the inputs and propagated
  (:class:`InputPhaseSpaceSampler`): loss adds vacuum, whose positive-P
  amplitudes are zero, so alpha_out = T^T alpha_in and beta_out =
  T^dag beta_in with T the transfer matrix, detector efficiency folded in
  (and the internal copies of partly distinguishable sources); the input's
  Sigma is block diagonal (one block per source).  No 2M x 2M matrix is
  formed; a chunk of samples is one GEMM.  Used for every experiment.
* The coefficients of a sample's G(x) come from a K-point DFT on a window
  of click numbers first .. first + K - 1 (:func:`window_coefficients`):
  p_(first+m) = (1/K) sum_k G(z_k) z_k^-(first+m), z_k = e^(2 pi i k / K),
  exact when the window holds 0..n, otherwise each bin also holds the bins
  K, 2K, ... away (aliasing) -- negligible when the window covers the
  distribution's support, which concentrates about its mean (Jiuzhang 4.0:
  ~1761 +- ~67 of 8176 clicks).  log G(z_k) is summed per mode by series
  (:func:`log_window_transform`), so a sample costs O(n) power sums plus an
  FFT instead of the O(n^2) expansion (:func:`expand_naive`, kept as the
  reference), and products of thousands of factors neither overflow nor
  underflow.  Windows: :func:`click_windows`.

Takagi by the real embedding: for Sigma = R + i J, the eigenvectors (x, y)
of [[R, J], [J, -R]] with eigenvalues d >= 0 give Takagi vectors x + i y.
"""
import numpy as np

from jiuzhang_emu.errors import InputError, KernelError


def takagi_factor(sigma):
    """C with C C^T = sigma for a complex symmetric matrix (Takagi)."""
    n = sigma.shape[0]
    R, J = sigma.real, sigma.imag
    d, vectors = np.linalg.eigh(np.block([[R, J], [J, -R]]))
    keep = d > 0
    keep[:n] = False  # eigenvalues come in pairs +-d: keep the n largest
    u = vectors[:n, keep] + 1j * vectors[n:, keep]
    return u * np.sqrt(d[keep])


def mode_blocks(*matrices):
    """The independent blocks of modes: index arrays of the connected
    components of the graph with an edge i - j wherever one of the (n, n)
    ``matrices`` has a nonzero [i, j] (one source's modes form a block)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    pattern = np.zeros(matrices[0].shape, dtype=bool)
    for matrix in matrices:
        pattern |= np.asarray(matrix) != 0
    _, labels = connected_components(csr_matrix(pattern), directed=False)
    order = np.argsort(labels, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(labels[order])) + 1)


class PhaseSpaceSampler:
    """Draws positive-P samples (alpha, beta) of a Gaussian state.

    Parameters
    ----------
    state : GaussianState
    """

    def __init__(self, state):
        N, M, alpha = state._normal_moments()
        sigma = np.block([[M, N.T], [N, M.conj()]])
        sigma = (sigma + sigma.T) / 2
        self._factor = takagi_factor(sigma)
        self._mean = np.concatenate([alpha, alpha.conj()])
        self.n_modes = state.n_modes

    def sample(self, size, rng):
        """(alpha, beta), each complex of shape (size, modes)."""
        w = rng.standard_normal((size, self._factor.shape[1]))
        z = self._mean + w @ self._factor.T
        return z[:, : self.n_modes], z[:, self.n_modes:]


class InputPhaseSpaceSampler:
    """Positive-P samples of the output of a linear lossy network, drawn on
    its inputs and propagated.

    Loss adds vacuum, whose positive-P amplitudes are zero, so the amplitudes
    transform linearly and without noise: alpha_out = T^T alpha_in,
    beta_out = T^dag beta_in (then E[beta_out alpha_out^T] = T^dag N_in T = N
    and E[alpha_out alpha_out^T] = T^T M_in T = M, as in
    :mod:`jiuzhang_emu.output_moments`).  The input's Sigma is Takagi-factored
    block by block (:func:`mode_blocks`: one block per independent source),
    C_in C_in^T = Sigma_in with R columns, and composed with T once:
    (alpha_out, beta_out) = mean + w [C_a^T T, C_b^T T^*], w real standard
    normal of R entries, one real GEMM (R x 4M per sample) per chunk.  Where
    R > 4M the composed factor is compressed to its 4M-row SVD (w U is
    standard normal again).  Used for every experiment (this is never dearer
    per sample than factoring the output: R <= 2 inputs, and the set-up is
    O(inputs R M) instead of O(M^3)).

    The samples match :class:`PhaseSpaceSampler`'s in mean and in
    E[z z^T] (z = (alpha, beta)), hence in every analytic (normally ordered)
    moment and every estimate built from them; E[z z^dag] depends on the
    Takagi factor chosen, so the spread of the estimates (the error bars) may
    differ a little between the two.

    Parameters
    ----------
    input_state : GaussianState
        On the ``inputs`` modes.
    T : ndarray of shape (inputs, outputs)
        Transfer matrix, detector efficiency folded in.
    """

    def __init__(self, input_state, T):
        N, M, alpha = input_state._normal_moments()
        self.n_modes = m = T.shape[1]
        rows_alpha, rows_beta = [], []
        for block in mode_blocks(N, M):  # C_b^T T[block]: O(k r_b M) per block
            sigma = np.block([[M[np.ix_(block, block)], N[np.ix_(block, block)].T],
                              [N[np.ix_(block, block)], M[np.ix_(block, block)].conj()]])
            factor = takagi_factor((sigma + sigma.T) / 2)  # (2k, r)
            k = len(block)
            rows_alpha.append(factor[:k].T @ T[block])
            rows_beta.append(factor[k:].T @ T[block].conj())
        R = sum(len(r) for r in rows_alpha)
        factor = np.empty((R, 4 * m))  # real: re/im of alpha, then of beta
        if R:
            factor[:, :2 * m] = np.concatenate(rows_alpha).view(np.float64)
            factor[:, 2 * m:] = np.concatenate(rows_beta).view(np.float64)
        if factor.shape[0] > factor.shape[1]:
            _, s, vt = np.linalg.svd(factor, full_matrices=False)
            factor = s[:, None] * vt
        self._factor = factor
        mean = T.T @ alpha
        self._mean = np.concatenate([mean, mean.conj()]).view(np.float64)

    def sample(self, size, rng):
        """(alpha, beta), each complex of shape (size, outputs)."""
        w = rng.standard_normal((size, self._factor.shape[0]))
        z = w @ self._factor
        z += self._mean
        m = self.n_modes
        return z[:, :2 * m].view(complex), z[:, 2 * m:].view(complex)


def experiment_sampler(experiment):
    """The :class:`InputPhaseSpaceSampler` of an experiment's detected light:
    ``internal_modes * n_modes`` output copies, detector efficiency included."""
    moments = experiment.output_moments()
    return InputPhaseSpaceSampler(moments.input_state, moments.transfer_matrix)


#: Series radius: a mode's factor pi + z q is expanded in z q / pi where
#: |q / pi| <= _RHO, in pi / (z q) where |pi / q| < _RHO, else multiplied
#: out at the K points.
_RHO = 0.8
#: Terms of those series: _RHO^n / n < 1e-17 beyond.
_TERMS = 200
#: Bins of one group kept whole by the automatic window (beyond: a window).
FULL_WINDOW_BINS = 1024
#: Automatic window: the mean click number +- this many standard deviations.
WINDOW_SIGMAS = 6.0
#: Complex entries of one chunk's largest work array (bounds the memory).
_CHUNK_ENTRIES = 1 << 22


def expand_naive(dark):
    """Coefficients of prod_j (pi_j + x (1 - pi_j)) by repeated multiplication:
    ``dark`` (size, n) complex -> (size, n + 1).  O(n^2) per sample; the
    reference twin of :func:`window_coefficients`."""
    size, n = dark.shape
    poly = np.zeros((size, n + 1), dtype=complex)
    poly[:, 0] = 1
    for j in range(n):
        shifted = np.zeros_like(poly)
        shifted[:, 1:] = poly[:, :-1]
        poly = poly * dark[:, j:j + 1] + shifted * (1 - dark[:, j:j + 1])
    return poly


def log_window_transform(dark, first, K):
    """log G(z_k) - 2 pi i k first / K at z_k = exp(2 pi i k / K), k < K, for
    G(z) = prod_j (pi_j + z q_j), q = 1 - pi: shape (size, K), complex.

    exp of it, Fourier transformed, gives the coefficients of z^first ..
    z^(first + K - 1) (each plus the ones K, 2K, ... away: the aliasing of a
    K-point DFT; none when the window holds every degree 0..n).  Per mode,
    with x = q / pi: where |x| <= _RHO, log(pi + z q) = log pi +
    sum_n (-1)^(n+1) x^n z^n / n; where |1 / x| < _RHO, log q + log z +
    sum_n (-1)^(n+1) x^-n z^-n / n; between (n_mid modes, ~6 % of Jiuzhang
    4.0's at _RHO = 0.8), q (z - root) multiplied out at the K points with
    rescaling.  The series need only the power sums sum_j x_j^n (a batched
    GEMM, :func:`_power_sums`) and one inverse FFT, so a sample costs
    O(n _TERMS + K log K + K n_mid) instead of O(n K), and the logs keep
    products of thousands of factors finite.
    """
    size, n = dark.shape
    q = 1 - dark
    abs_dark, abs_q = np.abs(dark), np.abs(q)
    forward = abs_q <= _RHO * abs_dark
    backward = ~forward & (abs_dark < _RHO * abs_q)
    middle = ~(forward | backward)
    const = np.zeros(size, dtype=complex)
    series = np.zeros((size, K), dtype=complex)
    terms = np.arange(1, _TERMS + 1)
    signs = np.where(terms % 2 == 1, 1.0, -1.0) / terms
    for mask, num, den, abs_den, direction in ((forward, q, dark, abs_dark, 1),
                                               (backward, dark, q, abs_q, -1)):
        rows, cols = np.nonzero(mask)
        if not rows.size:
            continue
        # sum log den: real logs of |den|, and the phase of the product of den / |den|
        # (unit factors: no overflow; one complex log per sample, not per mode)
        values, magnitudes = den[rows, cols], abs_den[rows, cols]
        const += np.bincount(rows, np.log(magnitudes), size)
        units = _packed(values / magnitudes - 1, rows, size) + 1
        const += 1j * np.angle(np.prod(units, axis=1))
        sums = _power_sums(_packed(num[rows, cols] / values, rows, size), _TERMS)
        index = (direction * terms) % K
        if K >= _TERMS:  # distinct powers of z
            series[:, index] += sums * signs
        else:
            np.add.at(series, (slice(None), index), sums * signs)
    # sum_n s_n z_k^n with z_k^K = 1: an inverse DFT of the folded series
    log_g = K * np.fft.ifft(series, axis=1) + const[:, None]
    k = np.arange(K)
    shift = (backward.sum(axis=1) - first) % K  # the log z of the backward modes
    log_g += 2j * np.pi * ((shift[:, None] * k[None, :]) % K) / K
    if middle.any():
        log_g += _log_middle_product(dark, q, middle, np.exp(2j * np.pi * k / K))
    return log_g


def _packed(values, rows, size):
    """The ``values`` of each row (``rows`` sorted) side by side, padded with
    0: shape (size, largest row count)."""
    counts = np.bincount(rows, minlength=size)
    slots = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    packed = np.zeros((size, int(counts.max())), dtype=values.dtype)
    packed[rows, slots] = values
    return packed


def _power_sums(x, terms):
    """sum_j x[s, j]^n for n = 1..terms: (size, terms).  With n = a + B b,
    x^n = x^a (x^B)^b, so the sums are one batched GEMM of the first B powers
    by the powers of x^B (B ~ sqrt(terms): 2 sqrt(terms) elementwise passes
    instead of 2 terms)."""
    size, width = x.shape
    B = int(np.ceil(np.sqrt(terms)))
    NB = -(-terms // B)
    step = max(1, _CHUNK_ENTRIES // (4 * max(1, width) * (B + NB)))  # buffers in cache
    low = np.empty((min(step, size), B, width), dtype=complex)
    high = np.empty((min(step, size), NB, width), dtype=complex)
    sums = np.empty((size, NB, B), dtype=complex)
    for start in range(0, size, step):
        xs = x[start:start + step]
        lo, hi = low[:len(xs)], high[:len(xs)]
        lo[:, 0] = xs
        for a in range(1, B):
            np.multiply(lo[:, a - 1], xs, out=lo[:, a])
        hi[:, 0] = 1
        for b in range(1, NB):
            np.multiply(hi[:, b - 1], lo[:, B - 1], out=hi[:, b])
        sums[start:start + step] = hi @ lo.transpose(0, 2, 1)  # [s, b, a]: x^(B b + a + 1)
    return sums.reshape(size, NB * B)[:, :terms]


def _log_middle_product(dark, q, middle, z):
    """log prod_{j in middle} (pi_j + z_k q_j) per sample, (size, K): the
    factors multiplied slot by slot (rows padded with the factor 1), rescaled
    every 16 slots so that thousands of them neither overflow nor underflow."""
    size, K = dark.shape[0], len(z)
    rows, cols = np.nonzero(middle)
    # pi + z q = q (z - root), root = -pi / q (padding: root 0, q 1, times z^-1 below)
    logs = np.log(q[rows, cols])
    log_scale = np.bincount(rows, logs.real, size) + 1j * np.bincount(rows, logs.imag, size)
    roots = _packed(-dark[rows, cols] / q[rows, cols], rows, size)
    width = roots.shape[1]
    padding = width - np.bincount(rows, minlength=size)  # factors z - 0 to divide out
    product = np.ones((size, K), dtype=complex)
    factor = np.empty_like(product)
    for t in range(width):
        np.subtract(z[None, :], roots[:, t:t + 1], out=factor)
        product *= factor
        if t % 16 == 15 or t == width - 1:
            scale = np.abs(product).max(axis=1)
            scale[scale == 0] = 1
            product /= scale[:, None]
            log_scale += np.log(scale)
    k = np.arange(K)
    with np.errstate(divide="ignore"):
        return (np.log(product) + log_scale[:, None]
                - 2j * np.pi * ((padding[:, None] * k[None, :]) % K) / K)


def window_coefficients(dark, first, K):
    """Coefficients of z^first .. z^(first + K - 1) of prod_j (pi_j + z q_j)
    per sample (aliased modulo K), from :func:`log_window_transform`:
    shape (size, K), complex.  Equal to ``expand_naive(dark)`` when
    first = 0 and K = n + 1, up to rounding relative to the largest |G(z_k)|."""
    log_g = log_window_transform(dark, first, K)
    scale = log_g.real.max(axis=1, keepdims=True)
    if np.any(scale > 700):
        raise KernelError(f"a phase-space sample's generating function exceeds e^700 "
                          f"(|G| up to e^{scale.max():.0f}): the positive-P estimate has "
                          f"diverged; use a smaller group")
    return np.fft.fft(np.exp(log_g - scale), axis=1) * (np.exp(scale) / K)


def click_windows(experiment, groups, sampler, rng, *, sigmas=None, full_bins=None,
                  pilot=1000):
    """Per group, (first, K): the click numbers first .. first + K - 1 to
    estimate.  The whole range 0..n_g where n_g + 1 <= ``full_bins``, else
    the exact mean (click probabilities) +- ``sigmas`` standard deviations
    (defaults: the module's FULL_WINDOW_BINS and WINDOW_SIGMAS, read at the
    call), sigma from ``pilot`` phase-space samples (sum_{i != j} q_i q_j estimates
    E[C (C - 1)]), clipped to 0..n_g.  Also the distance of the nearer cut
    edge in (estimated) standard deviations per group (inf when whole)."""
    sigmas = WINDOW_SIGMAS if sigmas is None else sigmas
    full_bins = FULL_WINDOW_BINS if full_bins is None else full_bins
    windows, distances = [], []
    need = [len(g) + 1 > full_bins for g in groups]
    if any(need):
        rate = experiment.click_probabilities()
        dark = _dark_estimates(experiment, sampler, pilot, rng)
    for modes, windowed in zip(groups, need):
        n = len(modes)
        if not windowed:
            windows.append((0, n + 1))
            distances.append(np.inf)
            continue
        q = 1 - dark[:, modes]
        first = q.sum(axis=1)
        second = first**2 - (q**2).sum(axis=1)
        mean = float(rate[modes].sum())
        variance = float(np.mean(second.real)) + mean - mean**2
        sigma = np.sqrt(max(variance, mean * (1 - mean / n), 1.0))
        low = max(0, int(np.floor(mean - sigmas * sigma)))
        high = min(n, int(np.ceil(mean + sigmas * sigma)))
        windows.append((low, high - low + 1))
        cut = [d for d, edge in ((mean - low, low > 0), (high - mean, high < n)) if edge]
        distances.append(min(cut) / sigma if cut else np.inf)
    return windows, distances


def _dark_estimates(experiment, sampler, size, rng):
    """pi_j = g_j exp(-sum over copies beta alpha) of ``size`` samples: (size, M)."""
    internal_modes, M = experiment.internal_modes, experiment.n_modes
    g_all = experiment.detector.dark_factors(M)
    alpha, beta = sampler.sample(size, rng)
    return g_all * np.exp(-(alpha * beta).reshape(size, internal_modes, M).sum(axis=1))


def click_count_estimates(experiment, groups, samples, rng, *, covariance=False,
                          windows=None, return_windows=False, sampler=None):
    """Positive-P estimates of P(C_1 = c_1, ..., C_G = c_G) for disjoint mode
    groups, and their standard errors (arrays with one axis per group of
    length len(group) + 1, or of the group's window's length K_g),
    dark counts included (:meth:`~jiuzhang_emu.detectors.Detector.dark_factors`).

    Samples are drawn on the inputs (:class:`InputPhaseSpaceSampler`) and
    each sample's generating function is transformed on a window of click
    numbers (:func:`window_coefficients`, :func:`click_windows`); a group's
    window is its whole range 0..n_g up to FULL_WINDOW_BINS bins.  The
    joint estimate of G groups is the average of outer products of the
    groups' per-sample coefficients: for G >= 2 it and its squares are
    GEMMs over the samples.

    With ``covariance=True`` (one group only) also the covariance matrix of
    the estimates, bins by bins (its diagonal is the squared standard
    errors), for statistics of several bins.

    Parameters
    ----------
    windows : sequence of (first, K), optional
        Per group; default :func:`click_windows`.
    return_windows : bool
        Also return (windows, distances) of :func:`click_windows`.
    sampler : InputPhaseSpaceSampler, optional
        ``experiment_sampler(experiment)``, when the caller already built it.
    """
    sampler = experiment_sampler(experiment) if sampler is None else sampler
    if windows is None:
        windows, distances = click_windows(experiment, groups, sampler, rng)
    else:
        distances = [np.inf if w == (0, len(g) + 1) else np.nan
                     for w, g in zip(windows, groups)]
    shape = tuple(K for _, K in windows)
    if covariance and len(groups) != 1:
        raise InputError(f"covariance=True needs one group, got {len(groups)}")
    per_sample = max(shape) * 8 + int(np.prod(shape[:-1])) * 4 + 4 * experiment.n_modes * \
        experiment.internal_modes
    chunk = int(max(1, min(2_000, _CHUNK_ENTRIES // per_sample)))
    if len(groups) == 1:
        result = _one_group(experiment, groups[0], windows[0], sampler, samples, rng,
                            covariance, chunk)
    else:
        result = _several_groups(experiment, groups, windows, sampler, samples, rng, chunk)
    return result + ((windows, distances),) if return_windows else result


def _one_group(experiment, modes, window, sampler, samples, rng, covariance, chunk):
    first, K = window
    shift = None  # the first chunk's mean: sums of squares of small deviations
    total, total_sq = np.zeros(K), np.zeros(K)
    total_outer = np.zeros((K, K)) if covariance else None
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        dark = _dark_estimates(experiment, sampler, size, rng)[:, modes]
        values = window_coefficients(dark, first, K).real
        if shift is None:
            shift = values.mean(axis=0)
        deviations = values - shift
        total += deviations.sum(axis=0)
        total_sq += (deviations**2).sum(axis=0)
        if covariance:
            total_outer += deviations.T @ deviations
        done += size
    centred = total / samples
    mean = shift + centred
    scale = 1 / (samples - 1)  # unbiased variance of one sample, then / samples
    variance = np.maximum(total_sq - samples * centred**2, 0) * scale / samples
    error = np.sqrt(variance)
    if not covariance:
        return mean, error
    cov = (total_outer - samples * np.outer(centred, centred)) * scale / samples
    return mean, error, (cov + cov.T) / 2


def _several_groups(experiment, groups, windows, sampler, samples, rng, chunk):
    """sum_s Re(u_s v_s^T) and sum_s Re(u_s v_s^T)^2 = (|u|^2^T |v|^2 +
    Re((u^2)^T v^2)) / 2 over samples: u the outer product of all groups'
    coefficients but the last, v the last group's."""
    shape = tuple(K for _, K in windows)
    head = int(np.prod(shape[:-1]))
    total = np.zeros((head, shape[-1]))
    total_sq = np.zeros((head, shape[-1]))
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        dark = _dark_estimates(experiment, sampler, size, rng)
        coefficients = [window_coefficients(dark[:, modes], first, K)
                        for modes, (first, K) in zip(groups, windows)]
        u = coefficients[0]
        for c in coefficients[1:-1]:
            u = (u[:, :, None] * c[:, None, :]).reshape(size, -1)
        v = coefficients[-1]
        total += (u.T @ v).real
        total_sq += 0.5 * ((np.abs(u) ** 2).T @ (np.abs(v) ** 2) + ((u**2).T @ (v**2)).real)
        done += size
    mean = total / samples
    variance = np.maximum(total_sq / samples - mean**2, 0) * (samples / (samples - 1)) / samples
    return mean.reshape(shape), np.sqrt(variance).reshape(shape)
