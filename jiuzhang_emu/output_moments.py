"""The output moments of a linear-optical experiment, without its output state.

A passive lossy transfer matrix T (inputs x outputs, b_j = sum_i T[i, j] a_i
plus vacuum noise) maps the input's normally ordered centred moments
N_in = <da^dag da^T>, M_in = <da da^T> and means alpha_in = <a> to

    N = T^dag N_in T,    M = T^T M_in T,    alpha = T^T alpha_in

(the vacuum noise of loss has no normally ordered moments).  Every quantity
a click or photon-number statistic of a few modes needs is a few entries of
N and M: one entry costs O(inputs), a block of rows x cols one GEMM.  At
Jiuzhang 4.0's scale (1024 inputs, 8176 outputs) the output covariance has
16352^2 entries and is never formed; its 33 million two-mode marginals come
from blocks of N and M.

No-count probabilities.  The probability that the modes of a set S all stay
empty is exp(-gamma^T Q_S^-1 gamma^* / 2) / sqrt(det Q_S), with
Q_S = [[N_S + I, M_S^*], [M_S, N_S^* + I]] the Husimi matrix of the marginal
and gamma = (alpha_S, alpha_S^*) (:meth:`GaussianState.vacuum_probability`);
extra loss t before detection scales N, M by t and alpha by sqrt(t).
"""
import numpy as np

from jiuzhang_emu.states import GaussianState

#: Mode sets per batched determinant (bounds the memory of one batch).
_CHUNK = 1 << 18


class OutputMoments:
    """N, M and alpha of ``input_state`` after the transfer matrix ``T``.

    Parameters
    ----------
    input_state : GaussianState
    T : ndarray of shape (inputs, outputs)
        Checked, contractive (detector efficiency folded in).
    """

    def __init__(self, input_state, T):
        N_in, M_in, alpha_in = input_state._normal_moments()
        self.n_modes = T.shape[1]
        self._T = T
        self._input_state = input_state
        self._NT = N_in @ T  # so that N[rows, cols] = T[:, rows]^dag (N_in T)[:, cols]
        self._MT = M_in @ T
        self.means = T.T @ alpha_in if input_state.is_displaced() else None
        self._diagonal = None

    @property
    def input_state(self):
        """The GaussianState on the transfer matrix's inputs (internal copies included)."""
        return self._input_state

    @property
    def transfer_matrix(self):
        """T of shape (inputs, outputs), detector efficiency folded in (read-only view)."""
        view = self._T.view()
        view.setflags(write=False)
        return view

    def blocks(self, rows, cols):
        """(N[rows][:, cols], M[rows][:, cols]) for index arrays ``rows``, ``cols``."""
        T_rows = self._T[:, rows]
        return T_rows.conj().T @ self._NT[:, cols], T_rows.T @ self._MT[:, cols]

    def diagonal(self):
        """(N_jj, M_jj) of every output mode: real and complex arrays of shape (M,)."""
        if self._diagonal is None:
            n = np.einsum("ij,ij->j", self._T.conj(), self._NT).real
            m = np.einsum("ij,ij->j", self._T, self._MT)
            self._diagonal = (n, m)
        return self._diagonal

    def mean_photon_numbers(self):
        """<n_j> = N_jj + |alpha_j|^2 per output mode."""
        n = self.diagonal()[0]
        return n if self.means is None else n + np.abs(self.means) ** 2

    def state(self, modes):
        """The marginal GaussianState of ``modes`` (int array, in order)."""
        modes = np.asarray(modes, dtype=np.intp)
        N, M = self.blocks(modes, modes)
        N = (N + N.conj().T) / 2
        M = (M + M.T) / 2
        alpha = np.zeros(len(modes)) if self.means is None else self.means[modes]
        # xxpp covariance of the centred moments (hbar = 2): sigma = W^* cov W^T inverted
        eye = np.eye(len(modes))
        xx = eye + 2 * (N.real + M.real)
        pp = eye + 2 * (N.real - M.real)
        xp = 2 * (M.imag + N.imag)
        cov = np.block([[xx, xp], [xp.T, pp]])
        means = 2 * np.concatenate([alpha.real, alpha.imag])
        return GaussianState((cov + cov.T) / 2, means)

    def vacuum_probabilities(self, subsets, transmission=1.0):
        """P(every mode of each row of ``subsets`` is empty), shape (S,).

        Parameters
        ----------
        subsets : ndarray of int, shape (S, k)
            Distinct output modes per row.
        transmission : float
            Extra loss in front of the detectors.
        """
        S, k = subsets.shape
        out = np.empty(S)
        chunk = max(1, _CHUNK // max(1, k * k))
        for start in range(0, S, chunk):
            rows = subsets[start:start + chunk]
            T_rows = self._T[:, rows]  # (inputs, s, k)
            N = np.einsum("isa,isb->sab", T_rows.conj(), self._NT[:, rows])
            M = np.einsum("isa,isb->sab", T_rows, self._MT[:, rows])
            alpha = None if self.means is None else self.means[rows]
            out[start:start + chunk] = _vacuum(N, M, alpha, transmission)
        return out

    def pair_vacuum_probabilities(self, rows, cols):
        """P(modes i and j both empty) for i in ``rows``, j in ``cols``:
        shape (len(rows), len(cols)); where i == j, P(i empty)."""
        rows, cols = np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)
        N, M = self.blocks(rows, cols)
        n, m = self.diagonal()
        out = np.empty((len(rows), len(cols)))
        step = max(1, _CHUNK // max(1, len(cols)))
        for start in range(0, len(rows), step):
            r = rows[start:start + step]
            shape = (len(r), len(cols))
            N2 = np.empty(shape + (2, 2), dtype=complex)
            M2 = np.empty(shape + (2, 2), dtype=complex)
            N2[..., 0, 0] = n[r][:, None]
            N2[..., 1, 1] = n[cols][None, :]
            N2[..., 0, 1] = N[start:start + step]
            N2[..., 1, 0] = N[start:start + step].conj()
            M2[..., 0, 0] = m[r][:, None]
            M2[..., 1, 1] = m[cols][None, :]
            M2[..., 0, 1] = M2[..., 1, 0] = M[start:start + step]
            alpha = None
            if self.means is not None:
                alpha = np.stack(np.broadcast_arrays(self.means[r][:, None],
                                                     self.means[cols][None, :]), axis=-1)
                alpha = alpha.reshape(-1, 2)
            p = _vacuum(N2.reshape(-1, 2, 2), M2.reshape(-1, 2, 2), alpha, 1.0).reshape(shape)
            same = r[:, None] == cols[None, :]
            if same.any():  # a mode with itself: its own no-count probability
                single = self.vacuum_probabilities(r[:, None])
                p = np.where(same, single[:, None], p)
            out[start:start + step] = p
        return out


def _vacuum(N, M, alpha, transmission):
    """Batched no-count probabilities of the moments N, M (s, k, k) and means
    alpha (s, k) or None, after an extra loss ``transmission``."""
    s, k, _ = N.shape
    eye = np.eye(k)
    Q = np.empty((s, 2 * k, 2 * k), dtype=complex)
    Q[:, :k, :k] = transmission * N + eye
    Q[:, :k, k:] = transmission * M.conj()
    Q[:, k:, :k] = transmission * M
    Q[:, k:, k:] = transmission * N.conj() + eye
    _, logdet = np.linalg.slogdet(Q)
    log_p = -0.5 * logdet
    if alpha is not None:
        gamma = np.sqrt(transmission) * np.concatenate([alpha, alpha.conj()], axis=1)
        solved = np.linalg.solve(Q, gamma.conj()[..., None])[..., 0]
        log_p -= 0.5 * np.einsum("si,si->s", gamma, solved).real
    return np.exp(log_p)
