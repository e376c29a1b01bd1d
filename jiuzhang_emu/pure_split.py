"""A lossy Gaussian state as a pure state under a random displacement.

Any Gaussian state of covariance V and means m can be written

    V = V_p + W,   V_p pure (all symplectic eigenvalues 1),   W >= 0,

    rho = integral N(mu; m, W) D(mu) |psi_p><psi_p| D(mu)^dag dmu,

i.e. a pure state V_p displaced by a classical Gaussian random displacement
mu ~ N(m, W) (Oh, Liu, Alexeev, Fefferman, Jiang, Nat. Phys. 20, 1461 (2024),
arXiv:2306.03709, Methods, "pure-state decomposition").  The lossy-MPS
sampler simulates V_p, whose cost grows with its photon number
tr(V_p)/4 - M/2, so the split with the fewest photons in V_p is wanted.
Conventions: xxpp, hbar = 2, vacuum covariance I, alpha = (x + i p)/2,
Omega = [[0, I], [-I, 0]] (:mod:`jiuzhang_emu.states`).

Methods (``SPLITS``):

* ``"williamson"``: V = S D S^T, V_p = S S^T, W = S (D - I) S^T.  Always
  available, O(M^3), but far from optimal for lossy light (Jiuzhang 1.0:
  18.8 photons in V_p).
* ``"sdp"``: the optimum of Oh et al.'s semidefinite programme

      minimise tr(X)  subject to  X + i Omega >= 0,  V - X >= 0,

  written with the real form [[X, Omega], [-Omega, X]] >= 0, solved by SCS
  through cvxpy (extra ``sdp``).  It is solved in the Williamson basis of V
  (V = S D S^T, X = S X' S^T, objective tr(S^T S X')), where V's pure modes
  drop out (X' = I there) and a margin D - X' >= delta (D - I) keeps the
  solver off the boundary.  SCS meets the constraints only to its
  tolerance, so X' is then *purified*: X' = S' D' S'^T (Williamson),
  V_p = S S' S'^T S^T <= X, which lowers the photon number and raises W.
  If W still has an eigenvalue below -tol ||V||, the programme is solved
  again with a 10x larger margin;
  no split that fails :func:`check_split` is returned.
* ``"closed-form"``: when the loss commutes to the inputs, i.e. the
  effective transfer matrix T_eff = T diag(sqrt(efficiency)) (inputs x
  outputs) has orthogonal rows, T_eff = diag(t) U with U an isometry, and
  the input is a product of single-mode states (two-mode squeezers with
  equal loss on both modes become two single-mode squeezers under a 50:50
  beam splitter, which U absorbs).  Each input mode after its loss t_i^2
  has a 2x2 covariance C = R diag(a, b) R^T, a >= b; if b < 1 its split is
  V_p = R diag(1/b, b) R^T, W = R diag(a - 1/b, 0) R^T, else V_p = I,
  W = C - I.  U carries both to the outputs (vacuum in unused ones).  On
  uniform loss this reaches the SDP optimum (tests).
* ``"auto"``: closed-form where it applies (exact, instant), else sdp where
  cvxpy imports and the state has at most :data:`SDP_MAX_MODES` mixed modes
  (symplectic eigenvalue > 1; at most the number of inputs for squeezed
  light through a lossy interferometer, since V - I has rank <= 2 inputs),
  else williamson; williamson too if the SDP finds no valid split.

Partly distinguishable light (``Experiment.internal_modes > 1``) is split
as the state :meth:`Experiment.output_state` (internal_modes * M modes): sdp
or williamson, no closed form.  Dark counts belong to the detectors, not to
the state, and are not part of the split.
"""
import importlib.util
import time
import warnings
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.sources import TwoModeSqueezer, TwoModeSquashed
from jiuzhang_emu.states import GaussianState, symplectic_form, williamson

SPLITS = ("auto", "sdp", "closed-form", "williamson")

#: Largest number of mixed modes (:func:`mixed_modes`, the SDP's size) that
#: "auto" hands to the SDP.  Measured on 2 shared cores (SCS 3.3, eps 1e-7),
#: time and peak memory of the whole process: 50 mixed modes (Jiuzhang 1.0,
#: 100 outputs; Jiuzhang 2.0/3.0 stand-ins, 144 outputs) 2-3.5 s, 0.2 GB;
#: 100: 10 s, 0.3 GB; 144: 20 s, 0.45 GB; 200: 42 s, 0.7 GB (time ~ k^2.2,
#: memory ~ k^2, so 300 would take ~2 min and ~1.6 GB).
SDP_MAX_MODES = 200

#: SCS options, in one place.  eps 1e-7 gives the photon number to ~1e-5.
SDP_SOLVER_OPTIONS = {"eps_abs": 1e-7, "eps_rel": 1e-7, "max_iters": 200_000}

#: Margins delta tried in turn for D - X' >= delta (D - I) (Williamson basis,
#: see _sdp); the margin costs at most delta times the Williamson split's
#: excess photons.
SDP_MARGINS = (1e-6, 1e-5, 1e-4, 1e-3)

#: Modes with symplectic eigenvalue d - 1 <= PURE_GAP count as pure in the SDP.
PURE_GAP = 1e-9


class MissingDependencyError(InputError, ImportError):
    """An optional dependency needed by the chosen method is not installed."""


def _scale(cov):
    return max(1.0, float(np.linalg.norm(cov, 2)))


def symplectic_eigenvalues(cov):
    """Symplectic eigenvalues of a positive definite covariance, ascending.

    The moduli of the eigenvalues of cov^{1/2} Omega cov^{1/2} (a real
    antisymmetric, hence normal, matrix: stable to rounding times ||cov||).
    """
    n = cov.shape[0] // 2
    lam, U = np.linalg.eigh((cov + cov.T) / 2)
    root = (U * np.sqrt(np.clip(lam, 0, None))) @ U.T
    mu = np.linalg.eigvalsh(1j * (root @ symplectic_form(n) @ root))
    return np.sort(mu[n:])


@dataclass(frozen=True, eq=False)
class PureSplit:
    """A Gaussian state as a pure state under a Gaussian random displacement.

    Attributes
    ----------
    pure_cov : ndarray of shape (2M, 2M)
        V_p, pure (det 1, symplectic eigenvalues 1); xxpp, hbar = 2.
    noise_cov : ndarray of shape (2M, 2M)
        W = V - V_p, positive semidefinite to tolerance
        (:attr:`noise_min_eigenvalue`).
    means : ndarray of shape (2M,)
        The state's means, the displacement's mean.
    method : str
        The split that produced it: "sdp", "closed-form" or "williamson".
    info : dict
        Method details (sdp: margin, solver status, seconds, raw photons).
    """

    pure_cov: np.ndarray
    noise_cov: np.ndarray
    means: np.ndarray
    method: str
    info: dict = field(default_factory=dict, compare=False)

    @property
    def n_modes(self):
        return self.pure_cov.shape[0] // 2

    @property
    def pure_photons(self):
        """Mean photon number of the pure part, tr(V_p)/4 - M/2."""
        return float(np.trace(self.pure_cov) / 4 - self.n_modes / 2)

    @cached_property
    def _noise_eig(self):
        return np.linalg.eigh((self.noise_cov + self.noise_cov.T) / 2)

    @property
    def noise_min_eigenvalue(self):
        """Smallest eigenvalue of W (>= -tol ||V|| for a valid split)."""
        return float(self._noise_eig[0][0])

    @cached_property
    def _noise_factor(self):
        lam, U = self._noise_eig
        return U * np.sqrt(np.clip(lam, 0, None))

    def displacements(self, rng=None, size=1):
        """Draw displacements alpha = (mu_x + i mu_p) / 2, mu ~ N(means, W).

        mu = means + L z with z standard normal and L = U sqrt(max(Lambda, 0))
        from W = U Lambda U^T (rounding-negative eigenvalues clipped to 0).

        Parameters
        ----------
        rng : None, int, SeedSequence or Generator
            Anything ``numpy.random.default_rng`` accepts; the draws are the
            same for the same seed or Generator state.
        size : int
            Number of draws.

        Returns
        -------
        ndarray of shape (size, M), complex128
        """
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise InputError(f"size must be an integer >= 0, got {size!r}")
        rng = np.random.default_rng(rng)
        z = rng.standard_normal((int(size), 2 * self.n_modes))
        mu = self.means + z @ self._noise_factor.T
        n = self.n_modes
        return (mu[:, :n] + 1j * mu[:, n:]) / 2


# -- validity -------------------------------------------------------------
def _state_of(experiment_or_state):
    if isinstance(experiment_or_state, Experiment):
        return experiment_or_state.output_state()
    if isinstance(experiment_or_state, GaussianState):
        return experiment_or_state
    raise InputError(f"experiment_or_state must be an Experiment or a GaussianState, got "
                     f"{type(experiment_or_state).__name__}")


def _check_tol(tol):
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) \
            or not np.isfinite(tol) or not 0 < tol < 1:
        raise InputError(f"tol must be a number in (0, 1), got {tol!r}")
    return float(tol)


def _problems(split, state, tol):
    """The reasons ``split`` is not a valid split of ``state`` (empty if valid)."""
    V, Vp, W = state.cov, split.pure_cov, split.noise_cov
    if Vp.shape != V.shape or W.shape != V.shape or split.means.shape != state.means.shape:
        return [f"shapes: state cov {V.shape}, pure_cov {Vp.shape}, noise_cov {W.shape}"]
    scale = _scale(V)
    problems = []
    low = split.noise_min_eigenvalue
    if low < -tol * scale:
        problems.append(f"W is not positive semidefinite: smallest eigenvalue {low:.3g} < "
                        f"-tol*max(1, ||V||) = {-tol * scale:.3g}")
    d = symplectic_eigenvalues(Vp)
    off = float(np.max(np.abs(d - 1))) if d.size else 0.0
    if off > tol * _scale(Vp):
        problems.append(f"V_p is not pure: its symplectic eigenvalues lie in [{d[0]:.10g}, "
                        f"{d[-1]:.10g}], max |d - 1| = {off:.3g} > "
                        f"tol*max(1, ||V_p||) = {tol * _scale(Vp):.3g}")
    gap = float(np.max(np.abs(Vp + W - V)))
    if gap > tol * scale:
        problems.append(f"V_p + W != V: max |V_p + W - V| = {gap:.3g} > {tol * scale:.3g}")
    shift = float(np.max(np.abs(split.means - state.means), initial=0.0))
    if shift > tol * max(1.0, float(np.max(np.abs(state.means), initial=0.0))):
        problems.append(f"means differ from the state's by {shift:.3g}")
    return problems


def check_split(split, state, tol=1e-7):
    """Raise InputError unless ``split`` is a valid split of ``state``.

    Valid: W >= -tol max(1, ||V||) (smallest eigenvalue), every symplectic
    eigenvalue of V_p within tol max(1, ||V_p||) of 1, V_p + W = V and the
    means equal to the state's, each entry within tol max(1, ||V||).

    Parameters
    ----------
    split : PureSplit
    state : GaussianState or Experiment
        An Experiment stands for its output state.
    tol : float
    """
    if not isinstance(split, PureSplit):
        raise InputError(f"split must be a PureSplit, got {type(split).__name__}")
    problems = _problems(split, _state_of(state), _check_tol(tol))
    if problems:
        raise InputError(f"the {split.method} split is not valid: " + "; ".join(problems))


# -- williamson -----------------------------------------------------------
def _williamson(state):
    S, _ = state.williamson()
    pure = S @ S.T
    pure = (pure + pure.T) / 2
    return pure, state.cov - pure, {}


# -- sdp ------------------------------------------------------------------
def _import_cvxpy():
    try:
        import cvxpy
    except ImportError as exc:
        raise MissingDependencyError(
            f'method="sdp" needs cvxpy and scs: pip install "jiuzhang-emu[sdp]" ({exc})') from exc
    return cvxpy


def _sdp_solve(D, G, margin, cp):
    """X minimising tr(G X) with X + i Omega >= 0 and D - X >= margin (D - I) (SCS)."""
    n2 = D.shape[0]
    omega = symplectic_form(n2 // 2)
    X = cp.Variable((n2, n2), symmetric=True)
    constraints = [cp.bmat([[X, omega], [-omega, X]]) >> 0,
                   D - margin * (D - np.eye(n2)) - X >> 0]
    problem = cp.Problem(cp.Minimize(cp.trace(G @ X)), constraints)
    try:
        with warnings.catch_warnings():  # "inaccurate": judged by check_split below
            warnings.simplefilter("ignore")
            problem.solve(solver=cp.SCS, **SDP_SOLVER_OPTIONS)
    except cp.error.SolverError as exc:
        return None, f"SCS failed: {exc}"
    if X.value is None or problem.status not in ("optimal", "optimal_inaccurate"):
        return None, f"SCS status {problem.status}"
    return (X.value + X.value.T) / 2, problem.status


def _sdp(state, tol):
    """The SDP in the Williamson basis of V = S diag(d, d) S^T.

    The constraints are invariant under the symplectic congruence
    X = S X' S^T and tr(X) = tr(S^T S X').  Modes with d_k - 1 <= PURE_GAP
    are (numerically) pure: any physical X' <= diag(d, d) equals the
    identity there (a physical marginal <= I is I), so only the k mixed
    modes enter the programme, which keeps SCS off the degenerate boundary
    X = V.  The margin D - X' >= delta (D - I) keeps X' = I feasible.
    """
    cp = _import_cvxpy()
    V = state.cov
    M = state.n_modes
    S, d = state.williamson()
    mixed = np.flatnonzero(d - 1 > PURE_GAP)
    k = mixed.size
    idx = np.concatenate([mixed, mixed + M])
    inner = np.eye(2 * M)
    info = {"mixed_modes": int(k)}
    if k == 0:
        pure = S @ S.T
        return (pure + pure.T) / 2, V - (pure + pure.T) / 2, info
    D = np.diag(np.concatenate([d[mixed], d[mixed]]))
    Sm = S[:, idx]
    G = Sm.T @ Sm
    tried = []
    start = time.perf_counter()
    for margin in SDP_MARGINS:
        X, status = _sdp_solve(D, (G + G.T) / 2, margin, cp)
        if X is None:
            tried.append(f"margin {margin:g}: {status}")
            continue
        S2 = williamson(X)[0]
        inner[np.ix_(idx, idx)] = S2 @ S2.T
        pure = S @ inner @ S.T
        pure = (pure + pure.T) / 2
        info.update(margin=margin, status=status,
                    raw_photons=float((np.trace(S.T @ S) - np.trace(G) + np.trace(G @ X)) / 4
                                      - M / 2))
        split = PureSplit(pure, V - pure, state.means, "sdp", info)
        problems = _problems(split, state, tol)
        if not problems:
            info["seconds"] = time.perf_counter() - start
            return pure, V - pure, info
        tried.append(f"margin {margin:g}: " + "; ".join(problems))
    raise InputError("the SDP split found no valid split within tol = "
                     f"{tol:g} (tried margins {SDP_MARGINS}): " + " | ".join(tried))


def mixed_modes(state):
    """Number of modes of ``state`` with symplectic eigenvalue d > 1 +
    PURE_GAP: the size of the SDP (its pure modes drop out)."""
    return int(np.count_nonzero(state.williamson()[1] - 1 > PURE_GAP))


def sdp_available():
    """Whether cvxpy (with SCS) can be imported for method="sdp"."""
    return importlib.util.find_spec("cvxpy") is not None \
        and importlib.util.find_spec("scs") is not None


# -- closed form ----------------------------------------------------------
def _single_mode_split(C):
    """Optimal split of a 2x2 covariance (xp): (pure, noise)."""
    lam, R = np.linalg.eigh((C + C.T) / 2)  # ascending: b, a
    b, a = lam
    if b < 1:
        pure = R @ np.diag([b, 1 / b]) @ R.T
        noise = R @ np.diag([0.0, a - 1 / b]) @ R.T
    else:
        pure, noise = np.eye(2), C - np.eye(2)
    return pure, noise


def _blocks(cov, modes):
    n = cov.shape[0] // 2
    idx = np.concatenate([modes, np.asarray(modes) + n])
    return cov[np.ix_(idx, idx)]


def _closed_form_reason(experiment, tol):
    """(product input state, passive basis change B, T_eff) or a reason string."""
    if not isinstance(experiment, Experiment):
        return "the closed form needs an Experiment (its sources and transfer matrix), " \
               "got a GaussianState"
    if experiment.sources is None:
        return "the experiment was built from a GaussianState, not a list of sources"
    if experiment.internal_modes > 1:
        return (f"partly distinguishable sources (internal_modes = "
                f"{experiment.internal_modes})")
    T = experiment.transfer_matrix * np.sqrt(experiment.detector.efficiencies(
        experiment.n_modes))[None, :]
    G = T @ T.conj().T
    off = np.abs(G - np.diag(np.diag(G)))
    if off.size and off.max() > tol * max(1.0, float(np.abs(np.diag(G)).max())):
        i, j = np.unravel_index(np.argmax(off), off.shape)
        return (f"the loss does not commute to the inputs: rows {i} and {j} of "
                f"T diag(sqrt(efficiency)) overlap by {off[i, j]:.3g} (orthogonal rows needed)")
    keep = np.diag(G).real
    n_in = T.shape[0]
    B = np.eye(n_in)
    start = 0
    for source in experiment.sources:
        k = source.n_modes
        if k == 2:
            a, b = start, start + 1
            if not isinstance(source, (TwoModeSqueezer, TwoModeSquashed)):
                return f"source {source!r} is a two-mode source of unknown structure"
            if abs(keep[a] - keep[b]) > tol:
                return (f"two-mode source {source!r} on inputs {a}, {b} has unequal "
                        f"transmissions {keep[a]:.6g} and {keep[b]:.6g}")
            h = np.sqrt(0.5)
            B[np.ix_([a, b], [a, b])] = [[h, h], [h, -h]]
        elif k != 1:
            return f"source {source!r} feeds {k} modes"
        start += k
    # B is real, symmetric and orthogonal: input = product.passive(B).
    product = experiment.input_state().passive(B)
    cov = product.cov
    n = n_in
    mask = np.ones((2 * n, 2 * n), dtype=bool)
    for i in range(n):
        mask[np.ix_([i, i + n], [i, i + n])] = False
    cross = float(np.abs(cov[mask]).max(initial=0.0))
    if cross > tol * _scale(cov):
        return f"the input state is not a product of single-mode states (coupling {cross:.3g})"
    return product, B @ T


def closed_form_applies(experiment, tol=1e-7):
    """Whether method="closed-form" applies to ``experiment``."""
    return not isinstance(_closed_form_reason(experiment, tol), str)


def _closed_form(experiment, tol):
    found = _closed_form_reason(experiment, tol)
    if isinstance(found, str):
        raise InputError(f'method="closed-form" does not apply: {found}; use "sdp" or '
                         f'"williamson"')
    product, T = found
    n = T.shape[0]
    keep = np.sqrt(np.clip(np.sum(np.abs(T) ** 2, axis=1), 0, None))
    lit = keep > 0
    iso = np.zeros_like(T)
    iso[lit] = T[lit] / keep[lit, None]
    pure_in, noise_in = np.eye(2 * n), np.zeros((2 * n, 2 * n))
    for i in range(n):
        idx = [i, i + n]
        eta = keep[i] ** 2
        C = eta * product.cov[np.ix_(idx, idx)] + (1 - eta) * np.eye(2)
        p, w = _single_mode_split(C)
        pure_in[np.ix_(idx, idx)] = p
        noise_in[np.ix_(idx, idx)] = w
    S = np.block([[iso.T.real, -iso.T.imag], [iso.T.imag, iso.T.real]])
    out = S.shape[0]
    pure = S @ pure_in @ S.T + np.eye(out) - S @ S.T
    noise = S @ noise_in @ S.T
    return (pure + pure.T) / 2, (noise + noise.T) / 2, {}


# -- front end ------------------------------------------------------------
def split_pure(experiment_or_state, method="auto", *, tol=1e-7):
    """Split a (lossy) Gaussian state into a pure state and a random displacement.

    Parameters
    ----------
    experiment_or_state : Experiment or GaussianState
        An Experiment is split at its detectors (:meth:`Experiment.output_state`).
    method : {"auto", "sdp", "closed-form", "williamson"}
        See the module docstring.  "auto": closed-form where it applies, else
        sdp where cvxpy is installed and the state has at most
        SDP_MAX_MODES mixed modes (:func:`mixed_modes`), else williamson
        (also where the SDP finds no valid split: ``info["sdp_failed"]``).
    tol : float
        Validity tolerance of :func:`check_split`, relative to max(1, ||V||).

    Returns
    -------
    PureSplit
        Checked by :func:`check_split` before it is returned.

    Raises
    ------
    InputError
        Unknown method or input; "closed-form" where it does not apply;
        "sdp" without cvxpy (:class:`MissingDependencyError`, also an
        ImportError) or when no margin gives a valid split.
    """
    if not isinstance(method, str) or method not in SPLITS:
        raise InputError(f"method must be one of {SPLITS}, got {method!r}")
    tol = _check_tol(tol)
    state = _state_of(experiment_or_state)
    fallback = None
    if method == "auto":
        if isinstance(experiment_or_state, Experiment) and closed_form_applies(
                experiment_or_state, tol):
            method = "closed-form"
        elif sdp_available() and mixed_modes(state) <= SDP_MAX_MODES:
            method = "sdp"
        else:
            method = "williamson"
        fallback = "williamson"
    if method == "closed-form":
        pure, noise, info = _closed_form(experiment_or_state, tol)
    elif method == "sdp":
        try:
            pure, noise, info = _sdp(state, tol)
        except MissingDependencyError:
            raise
        except InputError as exc:
            if fallback is None:
                raise
            method = fallback
            pure, noise, info = _williamson(state)
            info["sdp_failed"] = str(exc)
    else:
        pure, noise, info = _williamson(state)
    for array in (pure, noise):
        array.setflags(write=False)
    split = PureSplit(pure, noise, state.means, method, info)
    check_split(split, state, tol)
    return split
