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
prod_{j in group} (pi_j + x_g (1 - pi_j)), pi_j the estimate that mode j
stays dark, expanded in the x_g and averaged.  The bins of one sample are
strongly correlated (they sum to one), so a statistic of several bins, such
as the mean click number sum_c c P(C = c), needs their covariance
(``covariance=True``), not only the per-bin standard errors: at Jiuzhang 1.0
sqrt(sum_c (c - mean)^2 SE_c^2) understates the mean's error about 4x.  A
sample's contribution to the mean is sum_j (1 - pi_j); at Jiuzhang 1.0 it has
light tails (excess kurtosis ~0, largest of 300,000 samples 4.8 standard
deviations out), so the errors from the spread of independent samples hold.

Takagi by the real embedding: for Sigma = R + i J, the eigenvectors (x, y)
of [[R, J], [J, -R]] with eigenvalues d >= 0 give Takagi vectors x + i y.
"""
import numpy as np


def takagi_factor(sigma):
    """C with C C^T = sigma for a complex symmetric matrix (Takagi)."""
    n = sigma.shape[0]
    R, J = sigma.real, sigma.imag
    d, vectors = np.linalg.eigh(np.block([[R, J], [J, -R]]))
    keep = d > 0
    keep[:n] = False  # eigenvalues come in pairs +-d: keep the n largest
    u = vectors[:n, keep] + 1j * vectors[n:, keep]
    return u * np.sqrt(d[keep])


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


_CHUNK = 2_000


def click_count_estimates(experiment, groups, samples, rng, *, covariance=False):
    """Positive-P estimates of P(C_1 = c_1, ..., C_G = c_G) for disjoint mode
    groups, and their standard errors (arrays with one axis of length
    len(group) + 1 per group), dark counts included
    (:meth:`~jiuzhang_emu.detectors.Detector.dark_factors`).

    With ``covariance=True`` also the covariance matrix of the estimates,
    flattened bins by flattened bins (its diagonal is the squared standard
    errors), for statistics of several bins.
    """
    sampler = PhaseSpaceSampler(experiment.output_state())
    internal_modes, M = experiment.internal_modes, experiment.n_modes
    g_all = experiment.detector.dark_factors(M)
    shape = tuple(len(g) + 1 for g in groups)
    n_bins = int(np.prod(shape))
    shift = None  # the first chunk's mean: sums of squares of small deviations
    total = np.zeros(n_bins)
    total_sq = np.zeros(n_bins)
    total_outer = np.zeros((n_bins, n_bins)) if covariance else None
    done = 0
    while done < samples:
        size = min(_CHUNK, samples - done)
        alpha, beta = sampler.sample(size, rng)
        # normally ordered photon number per detector, internal copies summed
        n_out = (alpha * beta).reshape(size, internal_modes, M).sum(axis=1)
        joint = np.ones((size,), dtype=complex)
        for modes in groups:
            dark = g_all[modes] * np.exp(-n_out[:, modes])
            poly = np.zeros((size, len(modes) + 1), dtype=complex)
            poly[:, 0] = 1
            for j in range(len(modes)):
                shifted = np.zeros_like(poly)
                shifted[:, 1:] = poly[:, :-1]
                poly = poly * dark[:, j:j + 1] + shifted * (1 - dark[:, j:j + 1])
            joint = joint[..., None] * poly.reshape((size,) + (1,) * (joint.ndim - 1) + (-1,))
        values = joint.real.reshape(size, n_bins)
        if shift is None:
            shift = values.mean(axis=0)
        deviations = values - shift
        total += deviations.sum(axis=0)
        total_sq += (deviations**2).sum(axis=0)
        if covariance:
            total_outer += deviations.T @ deviations
        done += size
    centred = total / samples
    mean = (shift + centred).reshape(shape)
    scale = 1 / (samples - 1)  # unbiased variance of one sample, then / samples
    variance = np.maximum(total_sq - samples * centred**2, 0) * scale / samples
    error = np.sqrt(variance).reshape(shape)
    if not covariance:
        return mean, error
    cov = (total_outer - samples * np.outer(centred, centred)) * scale / samples
    return mean, error, (cov + cov.T) / 2
