"""Gaussian states of M bosonic modes.

Conventions (the same as thewalrus and Strawberry Fields, so cross-checks are
direct):

* Quadratures are ordered xxpp: r = (x_1..x_M, p_1..p_M), with hbar = 2, so
  x = a + a^dag, p = -i (a - a^dag), and the vacuum covariance is the identity.
* ``cov[i, j] = <{r_i - <r_i>, r_j - <r_j>}> / 2`` and ``means[i] = <r_i>``.
* The complex basis is xi = (a_1..a_M, a_1^dag..a_M^dag) = W r with
  W = [[I, iI], [I, -iI]] / 2.  ``sigma = W^* cov W^T``, i.e.
  sigma[i, j] = <{xi_i^dag, xi_j}> / 2 - <xi_i^dag><xi_j>, and
  ``Q = sigma + I/2`` = [[N + I, M^*], [M, N^* + I]] with N[i, j] =
  <a_i^dag a_j> and M[i, j] = <a_i a_j> (centred): the Husimi matrix, I for
  vacuum, exactly thewalrus's ``Qmat``;
  ``A = X (I - Q^-1)^*``, ``O = I - Q^-1``, X = [[0, I], [I, 0]]
  (Hamilton et al., PRL 119, 170501 (2017); Quesada et al., PRA 98, 062322
  (2018)).
* A transfer matrix T has shape (inputs, outputs) and maps
  b_j = sum_i T[i, j] a_i (+ vacuum noise when T is not unitary); it must be
  contractive (largest singular value <= 1).

A covariance is physical when cov + i Omega >= 0 (Omega = [[0, I], [-I, 0]],
the uncertainty principle for hbar = 2); every state is checked on
construction.

Supported range: every quadrature variance (eigenvalue of cov) at most
:data:`MAX_VARIANCE` = e^(2 MAX_SQUEEZING) = e^8 ~ 2981, i.e. squeezing
r <= 4 (34.7 dB), or up to 1490 thermal photons per mode.  A float64
covariance with entries ~e^(2r) loses ~2r/ln(10) digits in Q^-1 and up to
~4r/ln(10) in det(cov) and in the torontonians' principal minors of Q^-1.
At r = 4 purities stay within 2e-8 (measured 1e-8 at 100 modes, growing
with the mode count) and vacuum and click probabilities within 1e-9
(relative, against closed forms and mpmath); at r = 5 purity is off by 2e-6
at 100 modes, and further out results break down (a two-mode vacuum
probability 14 % off at r = 18, purity inf at r = 10), so larger values are
refused with an InputError.
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import check_transfer_matrix
from jiuzhang_emu.kernels.checks import check_integer

#: Tolerance of the physicality and contractivity checks, relative to the
#: largest entry.
ATOL = 1e-10

#: Largest supported squeezing parameter r (see the module docstring).
MAX_SQUEEZING = 4.0

#: Largest supported quadrature variance, e^(2 MAX_SQUEEZING).
MAX_VARIANCE = float(np.exp(2 * MAX_SQUEEZING))


def symplectic_form(n):
    """Omega = [[0, I], [-I, 0]] for n modes (xxpp)."""
    eye = np.eye(n)
    zero = np.zeros((n, n))
    return np.block([[zero, eye], [-eye, zero]])


def _complex_basis(n):
    """W such that (a, a^dag) = W (x, p) for hbar = 2."""
    eye = np.eye(n)
    return 0.5 * np.block([[eye, 1j * eye], [eye, -1j * eye]])


def check_covariance(cov, name="cov"):
    """Return ``cov`` as a float64 array after checking that it is a
    physical covariance matrix in xxpp order (hbar = 2).

    Raises
    ------
    InputError
        Not square of even size, not real and finite, not symmetric, or
        violating the uncertainty principle cov + i Omega >= 0.
    """
    cov = np.asarray(cov)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.shape[0] % 2:
        raise InputError(f"{name} must be a square matrix of even size 2M, got shape {cov.shape}")
    if cov.dtype.kind == "c":
        if np.abs(cov.imag).max(initial=0) > ATOL:
            raise InputError(f"{name} must be real (xxpp quadratures), got complex entries")
        cov = cov.real
    if cov.dtype.kind not in "biuf":
        raise InputError(f"{name} must hold real numbers, got dtype {cov.dtype}")
    cov = np.array(cov, dtype=np.float64)
    if not np.all(np.isfinite(cov)):
        raise InputError(f"{name} must be finite")
    scale = max(1.0, float(np.abs(cov).max(initial=0)))
    asym = float(np.abs(cov - cov.T).max(initial=0))
    if asym > ATOL * scale:
        raise InputError(f"{name} must be symmetric, got |cov - cov.T| = {asym:.3g}")
    cov = (cov + cov.T) / 2
    if cov.size:
        eig = np.linalg.eigvalsh(cov + 1j * symplectic_form(cov.shape[0] // 2))
        # the eigenvalues of i*Omega are +-1, so eig.max() - 1 <= largest variance
        if eig[-1] - 1 > MAX_VARIANCE * (1 + 1e-12):
            variance = float(np.linalg.eigvalsh(cov)[-1])
            raise InputError(
                f"{name} must have every quadrature variance <= e^(2 * {MAX_SQUEEZING:g}) = "
                f"{MAX_VARIANCE:.6g} (squeezing r <= {MAX_SQUEEZING:g}, the supported range: "
                f"float64 loses ~2r/ln(10) digits), got largest variance {variance:.6g}, "
                f"i.e. r = {0.5 * np.log(variance):.4g}"
            )
        if eig[0] < -ATOL * scale:
            raise InputError(
                f"{name} violates the uncertainty principle: cov + i*Omega must be positive "
                f"semidefinite (hbar = 2, vacuum = identity), got smallest eigenvalue "
                f"{eig[0]:.3g}"
            )
    return cov


def _as_numbers(value, name):
    """``value`` as a finite complex array, refusing bools, strings and None."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iufc":
        raise InputError(f"{name} must hold real or complex numbers, got {value!r}")
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {value!r}")
    return arr


def check_fraction(value, name, length=None):
    """Return ``value`` as a float array (scalar broadcast to ``length``)
    after checking every entry lies in [0, 1]."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":  # bools, strings, None, complex numbers
        raise InputError(f"{name} must be a real number in [0, 1] (or an array of them), "
                         f"got {value!r}")
    arr = arr.astype(np.float64)
    if length is not None:
        if arr.ndim == 0:
            arr = np.full(length, float(arr))
        elif arr.shape != (length,):
            raise InputError(f"{name} must be a scalar or have shape ({length},), got {arr.shape}")
    bad = ~((arr >= 0) & (arr <= 1))
    if np.any(bad):
        where = f" at index {int(np.argwhere(bad)[0][0])}" if arr.ndim else ""
        raise InputError(f"{name} must lie in [0, 1], got {arr[bad].flat[0].item()!r}{where}")
    return arr


def williamson(cov):
    """Williamson decomposition cov = S diag(d, d) S^T of a positive definite
    covariance (not checked to be physical: a solver's output may miss by
    rounding).

    Returns
    -------
    S : ndarray of shape (2M, 2M)
        Symplectic (S Omega S^T = Omega).
    d : ndarray of shape (M,)
        Symplectic eigenvalues, >= 1 for a physical state.

    Notes
    -----
    With W = cov^{-1/2}, the antisymmetric A = W Omega W has eigenvalues
    +-i/d_k; an eigenvector x + iy of iA for +1/d_k gives A x = y / d_k,
    A y = -x / d_k, so O = [x, -y] is orthogonal with O^T A O =
    diag(1/d, 1/d) Omega, and S = cov^{1/2} O diag(1/d, 1/d)^{1/2}.
    """
    n = cov.shape[0] // 2
    lam, U = np.linalg.eigh(cov)
    root = (U * np.sqrt(lam)) @ U.T
    inv_root = (U / np.sqrt(lam)) @ U.T
    A = inv_root @ symplectic_form(n) @ inv_root
    mu, vecs = np.linalg.eigh(1j * A)
    mu, vecs = mu[n:], vecs[:, n:]  # the positive half: +1/d_k
    x, y = np.sqrt(2) * vecs.real, np.sqrt(2) * vecs.imag
    O = np.concatenate([x, -y], axis=1)
    S = root @ O * np.sqrt(np.concatenate([mu, mu]))[None, :]
    return S, 1 / mu


@dataclass(frozen=True, eq=False)
class GaussianState:
    """A Gaussian state: covariance and means in xxpp order, hbar = 2.

    Parameters
    ----------
    cov : array_like of shape (2M, 2M)
        Real symmetric covariance; physical (cov + i Omega >= 0).
    means : array_like of shape (2M,), optional
        Quadrature means; default zero.
    """

    cov: np.ndarray
    means: np.ndarray = None

    def __post_init__(self):
        cov = check_covariance(self.cov)
        n = cov.shape[0]
        means = np.zeros(n) if self.means is None else np.asarray(self.means)
        if means.shape != (n,):
            raise InputError(f"means must have shape ({n},), matching cov, got {means.shape}")
        if means.dtype.kind not in "iuf" or not np.all(np.isfinite(means)):
            raise InputError(f"means must be finite real numbers (xxpp quadrature means), "
                             f"got {self.means!r}")
        cov.setflags(write=False)
        means = np.array(means, dtype=np.float64)
        means.setflags(write=False)
        object.__setattr__(self, "cov", cov)
        object.__setattr__(self, "means", means)

    # -- builders ---------------------------------------------------------
    @classmethod
    def vacuum(cls, n_modes):
        """The M-mode vacuum."""
        return cls(np.eye(2 * check_integer(n_modes, "n_modes", low=0)))

    @classmethod
    def from_complex(cls, sigma, alpha=None):
        """Build from the complex-basis covariance sigma (2M x 2M, as
        :meth:`complex_covariance`) and complex means alpha = <a> (M,)."""
        sigma = _as_numbers(sigma, "sigma")
        if sigma.ndim != 2 or sigma.shape[0] != sigma.shape[1] or sigma.shape[0] % 2:
            raise InputError(f"sigma must be a square matrix of even size 2M, got shape "
                             f"{sigma.shape}")
        n = sigma.shape[0] // 2
        Winv = np.linalg.inv(_complex_basis(n))
        cov = (Winv.conj() @ sigma @ Winv.T).real
        means = None
        if alpha is not None:
            alpha = _as_numbers(alpha, "alpha")
            if alpha.shape != (n,):
                raise InputError(f"alpha must have shape ({n},), one amplitude per mode, got "
                                 f"{alpha.shape}")
            means = 2 * np.concatenate([alpha.real, alpha.imag])
        return cls(cov, means)

    @classmethod
    def from_moments(cls, N, M, alpha=None):
        """Build from normally ordered centred moments.

        Parameters
        ----------
        N : array_like of shape (M, M)
            N[i, j] = <a_i^dag a_j> - <a_i^dag><a_j> (Hermitian).
        M : array_like of shape (M, M)
            M[i, j] = <a_i a_j> - <a_i><a_j> (symmetric).
        alpha : array_like of shape (M,), optional
            Complex means <a_i>.
        """
        N = np.atleast_2d(_as_numbers(N, "N"))
        M = np.atleast_2d(_as_numbers(M, "M"))
        if N.ndim != 2 or N.shape[0] != N.shape[1] or M.shape != N.shape:
            raise InputError(f"N and M must be square matrices of the same shape (M, M), got "
                             f"shapes {N.shape} and {M.shape}")
        eye = np.eye(N.shape[0]) / 2
        sigma = np.block([[N + eye, M.conj()], [M, N.conj() + eye]])
        return cls.from_complex(sigma, alpha)

    # -- basic properties -------------------------------------------------
    @property
    def n_modes(self):
        return self.cov.shape[0] // 2

    def _mode_index(self, modes):
        n = self.n_modes
        modes = np.atleast_1d(np.asarray(modes))
        if modes.dtype.kind not in "iu" or modes.ndim != 1:
            raise InputError(f"modes must be a sequence of mode indices, got {modes!r}")
        if modes.size and (modes.min() < 0 or modes.max() >= n):
            raise InputError(f"modes must lie in [0, {n - 1}], got {modes.tolist()}")
        if len(set(modes.tolist())) != modes.size:
            raise InputError(f"modes must not repeat, got {modes.tolist()}")
        return np.concatenate([modes, modes + n]).astype(np.intp)

    def is_displaced(self, atol=ATOL):
        return bool(np.any(np.abs(self.means) > atol))

    def purity(self):
        """Tr(rho^2) = 1 / sqrt(det cov) (hbar = 2).

        Relative error about cond(cov) times the unit roundoff, as rounding
        the covariance itself costs that much: below 2e-8 in the supported
        range (see the module docstring)."""
        sign, logdet = np.linalg.slogdet(self.cov)
        return float(np.exp(-0.5 * logdet))

    def is_pure(self, rtol=1e-8):
        return abs(self.purity() - 1) < rtol

    def williamson(self):
        """Williamson decomposition cov = S diag(d, d) S^T (:func:`williamson`)."""
        return williamson(self.cov)

    def pure_decomposition(self):
        """The state as a pure state under a random displacement (Williamson):
        cov = T + W, T = S S^T pure, W = S (D - I) S^T = noise noise^T.

        A draw of the state is the pure state T displaced to
        ``means + noise @ z``, z standard normal (the exact samplers' first
        step per shot).

        Returns
        -------
        pure_cov : ndarray of shape (2M, 2M)
            T, the covariance of the pure state (xxpp, hbar = 2).
        noise : ndarray of shape (2M, 2M)
            The displacement's covariance factor: W = noise @ noise.T.
        """
        S, d = self.williamson()
        excess = np.sqrt(np.clip(d - 1, 0, None))
        return S @ S.T, S * np.concatenate([excess, excess])[None, :]

    # -- operations -------------------------------------------------------
    def tensor(self, *others):
        """The product state self ⊗ others (mode order kept)."""
        states = (self, *others)
        sizes = [s.n_modes for s in states]
        n = sum(sizes)
        cov = np.zeros((2 * n, 2 * n))
        means = np.zeros(2 * n)
        start = 0
        for s, m in zip(states, sizes):
            idx = np.r_[start:start + m, n + start:n + start + m]
            cov[np.ix_(idx, idx)] = s.cov
            means[idx] = s.means
            start += m
        return GaussianState(cov, means)

    def reduced(self, modes):
        """The marginal state of ``modes`` (in the given order)."""
        idx = self._mode_index(modes)
        return GaussianState._unchecked(self.cov[np.ix_(idx, idx)], self.means[idx])

    @classmethod
    def _unchecked(cls, cov, means):
        """A state derived from a checked one (a marginal is physical when the
        whole is): skips the eigenvalue check, which samplers would otherwise
        repeat on every conditional step."""
        state = object.__new__(cls)
        cov, means = np.array(cov, dtype=np.float64), np.array(means, dtype=np.float64)
        cov.setflags(write=False)
        means.setflags(write=False)
        object.__setattr__(state, "cov", cov)
        object.__setattr__(state, "means", means)
        return state

    def passive(self, T):
        """Apply a contractive transfer matrix T of shape (M, outputs).

        b_j = sum_i T[i, j] a_i plus the vacuum noise that keeps the map
        physical, cov -> S cov S^T + I - S S^T with S the real (xxpp) form of
        T^T.  ``outputs`` may differ from M (e.g. Jiuzhang 1.0's 50 -> 100).
        """
        T = check_transfer_matrix(T, n_inputs=self.n_modes)
        W = T.T
        S = np.block([[W.real, -W.imag], [W.imag, W.real]])
        cov = S @ self.cov @ S.T + np.eye(S.shape[0]) - S @ S.T
        return GaussianState((cov + cov.T) / 2, S @ self.means)

    def loss(self, transmission, modes=None):
        """Pure loss: mode i keeps a fraction ``transmission[i]`` of its light.

        Parameters
        ----------
        transmission : float or array_like of shape (len(modes),)
            Intensity transmission in [0, 1].
        modes : sequence of int, optional
            Default all modes.
        """
        modes = np.arange(self.n_modes) if modes is None else np.asarray(modes)
        idx = self._mode_index(modes)
        eta = check_fraction(transmission, "transmission", len(modes))
        scale = np.ones(2 * self.n_modes)
        scale[idx] = np.sqrt(np.concatenate([eta, eta]))
        cov = scale[:, None] * self.cov * scale[None, :] + np.diag(1 - scale ** 2)
        return GaussianState(cov, scale * self.means)

    def displace(self, alpha):
        """Displace by complex amplitudes alpha (shape (M,)): <a> += alpha."""
        alpha = _as_numbers(alpha, "alpha")
        if alpha.shape not in ((), (self.n_modes,)):
            raise InputError(f"alpha must be a scalar or have shape ({self.n_modes},), got "
                             f"{alpha.shape}")
        alpha = np.broadcast_to(alpha, (self.n_modes,))
        shift = 2 * np.concatenate([alpha.real, alpha.imag])
        return GaussianState(self.cov, self.means + shift)

    # -- complex basis ----------------------------------------------------
    def complex_covariance(self):
        """sigma = W^* cov W^T, the covariance of (a, a^dag); I/2 for vacuum."""
        W = _complex_basis(self.n_modes)
        return W.conj() @ self.cov @ W.T

    def complex_means(self):
        """alpha = (<a>, <a>^*), shape (2M,)."""
        return _complex_basis(self.n_modes) @ self.means

    def q_matrix(self):
        """Husimi covariance Q = sigma + I/2 (read-only, computed once)."""
        return self._q

    def o_matrix(self):
        """O = I - Q^-1 (threshold detection, torontonians; read-only, computed once)."""
        return self._o

    @cached_property
    def _q(self):
        Q = self.complex_covariance() + np.eye(2 * self.n_modes) / 2
        Q.setflags(write=False)
        return Q

    @cached_property
    def _o(self):
        O = np.eye(2 * self.n_modes) - np.linalg.inv(self._q)
        O.setflags(write=False)
        return O

    def a_matrix(self):
        """A = X (I - Q^-1)^* (photon counting, hafnians)."""
        n = self.n_modes
        X = np.block([[np.zeros((n, n)), np.eye(n)], [np.eye(n), np.zeros((n, n))]])
        return X @ self.o_matrix().conj()

    def vacuum_probability(self):
        """Probability that every mode is empty,
        exp(-alpha^T Q^-1 alpha^* / 2) / sqrt(det Q)."""
        Q = self.q_matrix()
        alpha = self.complex_means()
        exponent = -0.5 * (alpha @ np.linalg.solve(Q, alpha.conj())).real
        return float(np.exp(exponent - 0.5 * np.linalg.slogdet(Q)[1]))

    def mode_vacuum_probabilities(self, transmission=1.0):
        """Probability that mode i is empty, for each mode, after an extra
        loss of transmission ``transmission`` (scalar) on every mode.

        Uses each mode's 2 x 2 Q block, Q -> I + t (Q - I), alpha -> sqrt(t) alpha.
        """
        n = self.n_modes
        Q = self.q_matrix()
        i = np.arange(n)
        blocks = np.empty((n, 2, 2), dtype=np.complex128)
        blocks[:, 0, 0] = Q[i, i]
        blocks[:, 0, 1] = Q[i, i + n]
        blocks[:, 1, 0] = Q[i + n, i]
        blocks[:, 1, 1] = Q[i + n, i + n]
        blocks = np.eye(2) + transmission * (blocks - np.eye(2))
        alpha = self.complex_means()
        alpha = np.sqrt(transmission) * np.stack([alpha[:n], alpha[n:]], axis=1)
        solved = np.linalg.solve(blocks, alpha.conj()[..., None])[..., 0]
        exponent = -0.5 * np.einsum("ij,ij->i", alpha, solved).real
        return np.exp(exponent) / np.sqrt(np.linalg.det(blocks).real)

    # -- photon-number moments --------------------------------------------
    def _normal_moments(self):
        """N[i, j] = <da_i^dag da_j>, M[i, j] = <da_i da_j> and <a>."""
        n = self.n_modes
        sigma = self.complex_covariance()
        N = sigma[:n, :n] - np.eye(n) / 2
        M = sigma[n:, :n]
        return N, M, self.complex_means()[:n]

    def mean_photon_numbers(self):
        """<n_i> for each mode, shape (M,)."""
        N, _, alpha = self._normal_moments()
        return np.real(np.diag(N)) + np.abs(alpha) ** 2

    def mean_photon_number(self):
        """Total mean photon number."""
        return float(self.mean_photon_numbers().sum())

    def photon_number_covariance(self):
        """Cov(n_i, n_j), shape (M, M), by Wick's theorem:
        |M_ij|^2 + |N_ij|^2 + 2 Re(a_i^* a_j^* M_ij + a_i a_j^* N_ij)
        + delta_ij <n_i>."""
        N, M, alpha = self._normal_moments()
        ac = alpha.conj()
        cov = (np.abs(M) ** 2 + np.abs(N) ** 2
               + 2 * np.real(np.outer(ac, ac) * M + np.outer(alpha, ac) * N))
        return cov + np.diag(self.mean_photon_numbers())
