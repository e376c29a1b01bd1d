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
