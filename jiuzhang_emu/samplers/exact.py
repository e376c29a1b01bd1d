"""Exact photon-number sampling of a Gaussian state, with no photon cutoff.

Algorithm (Quesada et al., PRX Quantum 3, 010306 (2022), Sec. IV; Bulmer et
al., Sci. Adv. 8, eabl9236 (2022)):

1. Williamson: cov = S D S^T.  The state is the pure state T = S S^T
   displaced by Gaussian noise of covariance S (D - I) S^T, so each shot first
   draws its displacement (``pure_means``).
2. One heterodyne outcome beta of all modes of the pure state is drawn
   (covariance T + I, hbar = 2).  Then, for k = 1..M, n_k is drawn from
   p(n_k | n_<k, beta_>k), proportional to |<n_<=k, beta_>k|psi>|^2: the
   amplitude of a pure state, a loop hafnian of the B matrix restricted to
   modes <= k with loop vector gamma + B[:, >k] beta_>k^* (B = A[:M, :M]^*,
   gamma = alpha - B alpha^*: the Bargmann function of the pure state is
   exp(a^T B a / 2 + gamma^T a), and projecting a mode on <beta| sets its
   a to beta^*).  Drawing beta once is enough: (n_<k, beta_>=k) is then jointly
   distributed, so forgetting beta_k leaves beta_>k distributed given n_<k.
3. No cutoff.  With N' photons in modes < k, the amplitude of n_k = j is
   sqrt(j!) [z^j] E(z) L(z), E(z) = exp(b z^2 / 2 + g z) (b = B_kk, g the loop
   of mode k) and L(z) = lhaf(B_<k; n_<k; loops + z B_<k,k), a polynomial of
   degree N'.  The native code gets all its coefficients in one pass of the
   loop-hafnian recursion with loop weights linear in z (csrc/hafnian_impl.h);
   the Python reference computes them as N' + 1 separate loop hafnians (see
   ``_polynomial``).  Then every amplitude follows from a recursion, and the normaliser
   sum_j |amplitude_j|^2 = int |L(z) E(z)|^2 e^{-|z|^2} d^2z / pi is a Gaussian
   integral of a polynomial, computed exactly from the weight's moments.  n_k is
   the first j whose cumulative probability passes u * normaliser: the whole
   infinite distribution, nothing left out.  The walk ends at the latest at a
   Chernoff bound J, P(n_k >= J) <= E[t^n_k] t^-J <= 1e-14, where E[t^n_k] is
   the normaliser of L(sqrt(t) z) E(sqrt(t) z) over that of L E (t = (1 +
   1/|b|)/2, at most 2), so time and memory stay bounded.
4. Rounding.  The only inexactness, and it can be large: the repeated-row
   sieve of the loop hafnian (Bulmer et al. 2022) is a finite difference of
   order n/2 for n photons in one mode, and cancels by ~1e29 at n = 91, where
   the float64 coefficients of L(z) drowned the small ones (the normaliser
   came out 5.6e7 times too large and 98 % of the draws had the impossible
   parity, issue 13).  So each draw estimates the probability mass rounding
   may misplace: 2 ||dL E|| / ||L E|| (a total-variation bound) with |dL_m|
   the unit roundoff times the sum of the moduli of the terms of ell_m, plus
   the normaliser's and the amplitudes' rounding.  Above ``MAX_MASS`` the
   coefficients are recomputed in long double, then in quad precision
   (113-bit mantissa, :data:`jiuzhang_emu.kernels.HAS_QUAD`), skipping a tier whose unit
   roundoff cannot meet the budget; quad only where the coefficients miss it
   on their own.  Still above, the sampler raises
   :class:`~jiuzhang_emu.errors.PrecisionLimitError` rather than return the
   shot.  ``unresolved_mass`` reports the largest estimate.  The quad tier is
   GCC's ``_Complex __float128`` (software arithmetic, no libquadmath): it is
   compiled where ``__float128`` exists and long double is narrower (GCC on
   x86_64 Linux); where long double is itself IEEE quad (aarch64 Linux) the
   long double tier already has its precision; elsewhere (clang, e.g. macOS
   arm64; MSVC) it is absent (``JZ_HAS_QUAD`` = 0, csrc/jz_kernels.h) and
   such draws are refused.

Supported range: draws exact to ``unresolved_mass`` <= ``MAX_MASS`` = 1e-8.
Float64 and long double reach ~50 photons in one mode when two modes are
bright, fewer when more are.  Quad reaches further at a cost that grows
steeply with the photons in the mode (software arithmetic; one core of a
shared x86_64 machine: ~1.5 s for a draw after 58 photons in one mode, ~7 s
after 71, ~40 s after 91, ~70 s after 99, 7.5 minutes after 172, where even
quad's estimate, 29, missed the budget), so it is tried only up to 100
photons so far (csrc/sampler.c, QUAD_MAX_PHOTONS); past that such a draw is
refused at once.  Measured
over 1000 shots (seed 1), refused without / with quad: a squeezer r = 1.5
into a 50:50 splitter never; r = 2.0 0.7 % / none; r = 2.5 (100 shots) 9 % /
1 % (that 172-photon draw); three squeezers r = 1.5 through Haar(3, rng=2)
2.0 % / 1.0 %: the draws still refused there (at mode 1, after 20-33
photons) miss the budget by the float64 rounding of the normaliser
(estimates 1e-8 to 4e-5), which no coefficient tier changes.  Brighter light
raises PrecisionLimitError, naming the shot, the mode and the estimate.
"""
from math import factorial, lgamma

import numpy as np

from jiuzhang_emu.errors import PrecisionLimitError
from jiuzhang_emu.kernels import loop_hafnian, sample_photons
from jiuzhang_emu.states import GaussianState

#: Stop accumulating when what is left of the normaliser is below this
#: fraction (rounding, not truncation: the terms there are ~1e-16 each).
_RESOLVED = 1e-12
#: The largest estimated probability mass rounding may misplace in one draw
#: (MAX_MASS of csrc/sampler.c): above it a draw is refused.
MAX_MASS = 1e-8
#: The most photons the inverse-CDF walk goes through in one mode
#: (MAX_WALK of csrc/sampler.c): a draw whose tail bound is larger is refused.
MAX_WALK = 1e7


class PhotonNumberSampler:
    """Draws exact photon-number patterns of a Gaussian state.

    Parameters
    ----------
    state : GaussianState
    """

    def __init__(self, state):
        n = state.n_modes
        pure_cov, self._noise = state.pure_decomposition()
        self.pure_cov = pure_cov
        self._heterodyne = np.linalg.cholesky(pure_cov + np.eye(2 * n))
        self._means = np.asarray(state.means)
        self._B = np.ascontiguousarray(_b_matrix(pure_cov))
        self.n_modes = n
        self.unresolved_mass = 0.0

    def heterodyne_draws(self, rng, size):
        """Per shot: the loops gamma + B beta^* of the pure state after its
        random displacement, every mode heterodyned, and the heterodyne
        outcomes beta, shape (size, M) each, drawn in a fixed order from
        ``rng``; and the displaced means, shape (size, 2M)."""
        n, B = self.n_modes, self._B
        pure_means = self._means + rng.standard_normal((size, 2 * n)) @ self._noise.T
        heterodyne = pure_means + rng.standard_normal((size, 2 * n)) @ self._heterodyne.T
        alpha = (pure_means[:, :n] + 1j * pure_means[:, n:]) / 2
        beta = (heterodyne[:, :n] + 1j * heterodyne[:, n:]) / 2
        gamma = alpha - alpha.conj() @ B.T
        loops = gamma + beta.conj() @ B.T
        return np.ascontiguousarray(loops), np.ascontiguousarray(beta), pure_means

    def _inputs(self, rng, size):
        """Per shot: loops, heterodyne outcomes (:meth:`heterodyne_draws`)
        and one uniform per mode, drawn in a fixed order from ``rng``."""
        loops, beta, _ = self.heterodyne_draws(rng, size)
        return loops, beta, rng.random((size, self.n_modes))

    def sample(self, rng, size=None, n_threads=1):
        """``size`` patterns, int64 array of shape (size, M), by the native
        chain rule (csrc/sampler.c); one pattern of shape (M,) for size None."""
        if size is None:
            return self.sample(rng, 1, n_threads)[0]
        loops, beta, uniforms = self._inputs(rng, size)
        patterns, unresolved, refused = sample_photons(self._B, loops, beta, uniforms, n_threads)
        if refused.any():
            shot = int(np.flatnonzero(refused)[0])
            raise _refusal(shot, patterns[shot], unresolved[shot])
        self.unresolved_mass = max(self.unresolved_mass, float(unresolved.max(initial=0)))
        return patterns

    def sample_reference(self, rng, size):
        """The same draws as :meth:`sample`, by the chain rule in Python (the
        reference implementation the native one is tested against)."""
        loops_all, beta_all, uniforms = self._inputs(rng, size)
        patterns = np.zeros((size, self.n_modes), dtype=np.int64)
        for shot in range(size):
            loops = loops_all[shot]
            for k in range(self.n_modes):
                loops = loops - self._B[:, k] * beta_all[shot, k].conj()
                patterns[shot, k] = self._draw(k, loops, patterns[shot], uniforms[shot, k])
        return patterns

    def _draw(self, k, loops, pattern, u):
        B = self._B
        occupied = np.flatnonzero(pattern[:k])
        ell = _polynomial(B[np.ix_(occupied, occupied)], loops[occupied], B[occupied, k],
                          pattern[occupied])
        j, left = inverse_cdf(ell, B[k, k], loops[k], u)
        self.unresolved_mass = max(self.unresolved_mass, left)
        return j


def inverse_cdf(ell, b, g, u):
    """The photon number j that the uniform ``u`` selects from the state
    L(z) E(z), E = exp(b z^2 / 2 + g z), L(z) = sum_m ell_m z^m: the first j
    whose cumulative sum_i |sqrt(i!) [z^i] L E|^2 passes u times the
    normaliser, and the share of the normaliser left unresolved (0 unless
    the walk stopped at rounding)."""
    norm = _normaliser(ell, b, g)
    target = u * norm
    total, j = 0.0, -1
    for amplitudes in _amplitudes(ell, b, g):
        for amplitude in amplitudes:
            j += 1
            total += abs(amplitude) ** 2
            if total > target:
                return j, 0.0
        left = norm - total
        if left <= _RESOLVED * norm and j > len(ell) + 4 * abs(g) ** 2 + 16:
            return j, left / norm


def _refusal(shot, pattern, error):
    """The PrecisionLimitError for a shot the native sampler refused at the
    mode it marked -1 (csrc/sampler.c)."""
    k = int(np.flatnonzero(pattern < 0)[0])
    before = pattern[:k]
    if np.isnan(error):
        cause = "its normaliser is not a positive float64 (out of range, or lost to rounding)"
    elif error < 0:
        cause = (f"its photon-number tail reaches {-error:.3g} photons, beyond the walk's "
                 f"limit of {MAX_WALK:g}")
    else:
        cause = (f"rounding could misplace an estimated {error:.2g} of its probability even "
                 f"with long double coefficients, above the budget of {MAX_MASS:g}")
    return PrecisionLimitError(
        f"the exact photon sampler cannot resolve the draw of shot {shot} at mode {k} "
        f"(after {int(before.sum())} photons, at most {int(before.max(initial=0))} in one "
        f"mode): {cause}; this light is too bright for the exact sampler (the "
        f"loop-hafnian coefficients of many photons in one mode cancel; see "
        f"PhotonNumberSampler for the supported range)")


def _b_matrix(pure_cov):
    """B = A[:M, :M]^* = O[M:, :M] of a pure state (O = I - Q^-1)."""
    n = pure_cov.shape[0] // 2
    return GaussianState(pure_cov).o_matrix()[n:, :n]


def _polynomial(B_sub, loops, column, reps):
    """Coefficients of L(z) = lhaf(B_sub; reps; loops + z column), degree D = sum(reps).

    ell_m = lhaf(A_m) / m! where A_m appends a vertex joined to the rows by
    ``column``, with no loop and no self-edge, repeated m times: the m factors
    z column_i each pair with a distinct photon.  Each ell_m is computed to
    the kernels' relative precision (the repeated-row sieve makes m copies cost
    m/2 + 1 branches); interpolating L(z) instead loses the small high-order
    coefficients, which large photon numbers then amplify.  (The native
    sampler computes the same coefficients in one pass, each as its own sum,
    so it does not interpolate either.)
    """
    degree = int(reps.sum())
    q = len(reps)
    A = np.zeros((q + 1, q + 1), dtype=complex)
    A[:q, :q], A[:q, q], A[q, :q] = B_sub, column, column
    diag = np.concatenate([loops, [0]])
    ell = np.empty(degree + 1, dtype=complex)
    for m in range(degree + 1):
        value = loop_hafnian(A, diag, reps=np.concatenate([reps, [m]]), precision="double")
        ell[m] = value / factorial(m)
    return ell


def _amplitudes(ell, b, g, chunk=32):
    """Yield successive chunks of sqrt(j!) [z^j] E(z) L(z), j = 0, 1, ..."""
    degree = len(ell) - 1
    # q_i = sqrt(i!) [z^i] E(z):  q_{i+1} = (g q_i + b sqrt(i) q_{i-1}) / sqrt(i + 1)
    q = [1.0 + 0j]
    start = 0
    while True:
        stop = start + chunk
        while len(q) < stop:
            i = len(q) - 1
            q.append((g * q[i] + (b * np.sqrt(i) * q[i - 1] if i else 0)) / np.sqrt(i + 1))
        out = np.empty(chunk, dtype=complex)
        for j in range(start, stop):
            m = np.arange(min(j, degree) + 1)
            # sqrt(j! / (j - m)!) q_{j-m}
            ratio = np.exp(0.5 * np.cumsum(np.log(np.arange(j, j - len(m) + 1, -1.0))))
            weights = np.concatenate([[1.0], ratio])
            out[j - start] = np.sum(ell[m] * weights * np.array([q[j - mm] for mm in m]))
        yield out
        start = stop


def _normaliser(ell, b, g):
    """int |L(z)|^2 |E(z)|^2 e^{-|z|^2} d^2z / pi, exactly.

    With z = x + i y the weight is exp(-v^T P v / 2 + h^T v),
    P = 2 [[1 - Re b, Im b], [Im b, 1 + Re b]], h = 2 (Re g, -Im g): a Gaussian
    (|b| < 1 for a physical state) whose complex moments E[z^a conj(z)^c]
    follow from Isserlis' theorem.  The moments grow as sqrt(a! c!), so they
    are carried divided by it, mt_ac = E[z^a conj(z)^c] / sqrt(a! c!), against
    the coefficients times sqrt(m!) (as csrc/sampler.c does: the plain moments
    overflow float64 from about 170 photons).
    """
    P = 2 * np.array([[1 - b.real, b.imag], [b.imag, 1 + b.real]])
    h = 2 * np.array([g.real, -g.imag])
    cov = np.linalg.inv(P)
    mean_v = cov @ h
    weight = 2 / np.sqrt(np.linalg.det(P)) * np.exp(0.5 * h @ mean_v)
    mu = mean_v[0] + 1j * mean_v[1]
    s = cov[0, 0] - cov[1, 1] + 2j * cov[0, 1]  # E[dz dz]
    t = cov[0, 0] + cov[1, 1]  # E[dz conj(dz)]
    d = len(ell)
    mt = np.zeros((d, d), dtype=complex)  # E[z^a conj(z)^c] / sqrt(a! c!)
    for a in range(d):
        for c in range(d):
            if a == 0 and c == 0:
                mt[a, c] = 1
            elif a > 0:
                value = mu * mt[a - 1, c]
                if a > 1:
                    value += np.sqrt(a - 1) * s * mt[a - 2, c]
                if c > 0:
                    value += np.sqrt(c) * t * mt[a - 1, c - 1]
                mt[a, c] = value / np.sqrt(a)
            else:
                value = mu.conjugate() * mt[0, c - 1]
                if c > 1:
                    value += np.sqrt(c - 1) * s.conjugate() * mt[0, c - 2]
                mt[a, c] = value / np.sqrt(c)
    scaled = ell * np.exp(0.5 * np.array([lgamma(m + 1) for m in range(d)]))
    return float(weight * np.real(scaled @ mt @ scaled.conj()))
