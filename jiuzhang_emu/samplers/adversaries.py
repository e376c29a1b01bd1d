"""Classical adversaries: samplers that a validation of a GBS experiment must
tell apart from the ideal model, each matched to the experiment's first moments.

Selected by name through ``Experiment.sample(shots, method=NAME)``.  Each
adversary draws photon numbers at the detectors; the experiment's detector
model then turns them into patterns (threshold coarse-graining, pseudo-PNR
splitting, dark counts) exactly as for the exact sampler, so every adversary
works for PNR, threshold and pseudo-PNR detection.  Conventions: xxpp,
hbar = 2 (vacuum covariance I, x = 2 Re alpha), transfer matrix T of shape
(inputs, outputs), b_j = sum_i T[i, j] a_i; see :mod:`jiuzhang_emu.states`.

"Squeezers" below are :class:`~jiuzhang_emu.sources.SingleModeSqueezer` and
:class:`~jiuzhang_emu.sources.TwoModeSqueezer` (with any thermal fraction);
the other sources (coherent, thermal, squashed, vacuum) are classical and are
kept as they are.  The classical replacements of the squeezers are fully
indistinguishable (the mean photon numbers do not depend on it: no source has
first-order coherence with another).

* ``"thermal"``, ``"squashed"``: every squeezer replaced by its thermal,
  resp. squashed counterpart of the same mean photon number
  (:mod:`jiuzhang_emu.adversary_models`, where the models are described).

  Both output states are classical (cov >= I), so they are sampled exactly
  and fast from their Glauber P-function, a Gaussian mixture of coherent
  states (Rahimi-Keshari, Ralph, Caves, PRX 6, 021039 (2016); Qi, Brod,
  Quesada, Garcia-Patron, PRL 124, 100502 (2020)): per shot the coherent
  amplitude q (xxpp) ~ N(means, cov - I), alpha = (q_x + i q_p) / 2, and
  n_j ~ Poisson(|alpha_j|^2) independently.  Beyond OUTPUT_SIDE_MAX_MODES
  output modes the amplitudes are drawn on the inputs, source by source, and
  propagated, alpha_out = T^T alpha_in (:class:`InputPFunctionSampler`: no
  output covariance, so Jiuzhang 4.0's 8176 modes take seconds per thousand
  shots); up to it from the output state as before, so that seeded runs
  repeat their draws (the two are the same Gaussian mixture, tested).  cov - I is factorised by eigh,
  eigenvalues above -1e-9 (relative) clipped at 0; below that the state is
  not classical and :class:`PFunctionSampler` refuses it.
* ``"coherent"``: every squeezed input mode i replaced by a coherent state
  of the same mean photon number n_i = sinh^2 r with a uniformly random phase,
  drawn independently for every input mode (the two modes of a two-mode
  squeezer get independent phases) and every shot: alpha_i = sqrt(n_i)
  e^{i phi_i}, i.e. each such input is a phase-randomised coherent state, a
  Poisson mixture of Fock states.  The classical sources are kept: their
  amplitude is drawn from their P-function (a genuine Coherent source keeps its
  fixed amplitude and phase).  Then alpha_out = T^T alpha_in,
  alpha_out_j *= sqrt(eta_j) (detector efficiency), and n_j ~
  Poisson(|alpha_out_j|^2).  The phases are shared by all outputs of a shot,
  so an output is Poissonian only given the phases: its counts have variance
  <n_j> + Var|alpha_out_j|^2 (= <n_j> + <n_j>^2 - sum_i w_ij^2 with
  w_ij = eta_j |T_ij|^2 n_i when only squeezers feed it).
* ``"greedy"`` (threshold detectors): the second-order marginal spoofer of
  Villalonga et al., arXiv:2109.11525, built once for the whole run: a route
  of its own, :mod:`jiuzhang_emu.samplers.greedy` (listed here with the
  adversaries; :func:`adversary_sampler` does not build it).
* ``"distinguishable"``: the light of every squeezer is distinguishable from
  every other's (the indistinguishability v = 0 model of
  :mod:`jiuzhang_emu.sources`): each squeezer is sampled alone through the
  interferometer with the exact sampler
  (:class:`~jiuzhang_emu.samplers.exact.PhotonNumberSampler`), the classical
  sources together likewise (they share the common internal mode, as in
  :class:`~jiuzhang_emu.Experiment` with v = 0), and the photon numbers add.
  This is, in distribution, ``adversary_experiment(experiment,
  "distinguishable")``: the experiment rebuilt with every squeezer's
  ``indistinguishability=0``.  The distinguishable-photon hypothesis of the
  Jiuzhang validations (Zhong et al., Science 370, 1460 (2020)).
* ``"uniform"``: every detector independent and alike, matched to the mean
  count: photon numbers i.i.d. Poisson(lambda) on every mode, and every
  detector given the experiment's average dark-count probability d (the mean
  over modes).  PNR: lambda = mean photon number per mode (mean over modes
  of ``mean_photon_numbers()``), so the mean count per mode is the ideal one
  averaged over modes.  Threshold: lambda = log((1 - d) / (1 - p)), p the mean
  over modes of ``click_probabilities()``, so each detector clicks
  independently with probability p.  Pseudo-PNR (k detectors per mode):
  Poisson photons split uniformly give each sub-detector Poisson(lambda / k)
  photons independently, and lambda = k log((1 - d) / (1 - p)) with p =
  ``mean_clicks()`` / (M k), so every one of the M k detectors fires
  independently with the average sub-detector click probability p and the
  mean count of every mode is ``mean_clicks()`` / M.  p >= d always (a
  detector clicks at least when dark), so lambda >= 0.  Going through
  Poisson photons and the detector model keeps one code path for all
  detectors; the uniform hypothesis of Zhong et al., Science 370, 1460 (2020).

:func:`~jiuzhang_emu.adversary_models.adversary_experiment` gives the Gaussian
:class:`~jiuzhang_emu.Experiment` of "thermal", "squashed" and "distinguishable",
whose exact probabilities validation code can compute; its
``mean_photon_numbers()`` equal the ideal experiment's.
"""
import numpy as np

from jiuzhang_emu.adversary_models import (
    SQUEEZERS,
    adversary_experiment,
    adversary_sources,
    check_adversary_name,
)
from jiuzhang_emu.detectors import PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.phase_space import mode_blocks
from jiuzhang_emu.samplers.exact import PhotonNumberSampler
from jiuzhang_emu.states import GaussianState

ADVERSARIES = ("thermal", "squashed", "coherent", "distinguishable", "uniform", "greedy")

#: Most negative eigenvalue of cov - I, relative to max(1, max |cov|), still
#: taken for rounding of a classical state.
CLASSICAL_RTOL = 1e-9

#: "thermal" / "squashed" up to this many output modes (internal copies
#: included) draw from the output state's P-function as before (seeded runs
#: repeat their draws); beyond, from the inputs' (InputPFunctionSampler).
OUTPUT_SIDE_MAX_MODES = 512

#: Poisson mean standing in for "every detector surely clicks".
_SURE_CLICK = 50.0


def adversary_sampler(experiment, name):
    """A photon-number sampler of the adversary ``name`` for ``experiment``.

    Returns
    -------
    object
        With ``counts(size, rng)`` (int64 array of shape (size, M): photon
        numbers at the detectors, efficiency applied), ``dark_counts``
        (per-mode probabilities for ``detector.detect``) and
        ``unresolved_mass``.
    """
    check_adversary_name(name, ADVERSARIES)
    if name == "greedy":
        raise InputError("adversary 'greedy' is built once per run, not per batch: use "
                         "sample(..., method='greedy') (jiuzhang_emu.samplers.greedy)")
    if name in ("thermal", "squashed"):
        adversary = adversary_experiment(experiment, name)
        if adversary.internal_modes * adversary.n_modes <= OUTPUT_SIDE_MAX_MODES:
            # the draws of earlier versions (same distribution as the input side)
            return PFunctionSampler(adversary.output_state(),
                                    experiment.detector.dark_counts(experiment.n_modes))
        return InputPFunctionSampler(adversary)
    return {"coherent": CoherentSampler, "distinguishable": DistinguishableSampler,
            "uniform": UniformSampler}[name](experiment)


def _p_function_factor(state):
    """F with F F^T = cov - I (columns of zero weight dropped), or raise if
    the state is not classical."""
    return _p_function_factor_of(state.cov)


def _p_function_factor_of(cov):
    lam, U = np.linalg.eigh(cov - np.eye(cov.shape[0]))
    scale = max(1.0, float(np.abs(cov).max(initial=0)))
    if lam.size and lam.min() < -CLASSICAL_RTOL * scale:
        raise InputError(
            f"the state is not classical: cov - I (hbar = 2) has eigenvalue {lam.min():.3g} "
            f"< 0, so it has no Gaussian P-function to sample (a squeezed source left in?)")
    keep = lam > CLASSICAL_RTOL * scale * 1e-3
    return U[:, keep] * np.sqrt(lam[keep])[None, :]


class PFunctionSampler:
    """Exact photon numbers of a classical Gaussian state (cov >= I) from its
    P-function: alpha ~ N(means, cov - I) in xxpp, n_j ~ Poisson(|alpha_j|^2).

    Parameters
    ----------
    state : GaussianState
        Classical: cov - I positive semidefinite up to rounding.
    dark_counts : ndarray of shape (M,), optional
        Passed on to the detector model; default zero.
    """

    unresolved_mass = 0.0

    def __init__(self, state, dark_counts=None):
        self.n_modes = state.n_modes
        self._factor = _p_function_factor(state)
        self._means = np.asarray(state.means)
        self.dark_counts = np.zeros(self.n_modes) if dark_counts is None else dark_counts

    def amplitudes(self, size, rng):
        """Complex coherent amplitudes, shape (size, M)."""
        n = self.n_modes
        q = self._means + rng.standard_normal((size, self._factor.shape[1])) @ self._factor.T
        return (q[:, :n] + 1j * q[:, n:]) / 2

    def counts(self, size, rng):
        return rng.poisson(np.abs(self.amplitudes(size, rng)) ** 2)


class InputPFunctionSampler:
    """Photon numbers of a classical Gaussian experiment (every source
    classical) from the P-function of its inputs: the P-function amplitudes
    of a linear lossy network transform like the mode operators, with no
    added noise (loss mixes in vacuum, alpha = 0), so per shot the input
    amplitude alpha_in (xxpp q ~ N(means, cov_in - I), alpha = (q_x + i q_p) / 2)
    gives alpha_out = T^T alpha_in (T with detector efficiency and the
    internal copies of :meth:`~jiuzhang_emu.Experiment.output_moments`) and
    n_j ~ Poisson(sum over copies |alpha_out|^2).  Equal in distribution to
    :class:`PFunctionSampler` of the output state, without forming it:
    cov_in - I is factored by independent blocks (one per source), composed
    with T once, and a chunk of shots is one real GEMM (R x 2M per shot,
    R <= 2 inputs), so it runs at Jiuzhang 4.0's 8176 modes.

    Parameters
    ----------
    experiment : Experiment
        Classical: every input block's cov - I positive semidefinite up to
        rounding (else InputError).
    """

    unresolved_mass = 0.0

    def __init__(self, experiment):
        moments = experiment.output_moments()
        state, T = moments.input_state, moments.transfer_matrix
        n = state.n_modes
        cov, means = state.cov, np.asarray(state.means)
        rows = []
        for block in mode_blocks(cov[:n, :n], cov[:n, n:], cov[n:, n:]):
            index = np.concatenate([block, n + block])
            F = _p_function_factor_of(cov[np.ix_(index, index)])  # (2k, r)
            k = len(block)
            rows.append(((F[:k] + 1j * F[k:]) / 2).T @ T[block])  # (r, outputs)
        amplitudes = np.concatenate(rows) if rows else np.zeros((0, T.shape[1]), complex)
        factor = np.ascontiguousarray(amplitudes).view(np.float64)
        if factor.shape[0] > factor.shape[1]:
            _, sv, vt = np.linalg.svd(factor, full_matrices=False)
            factor = sv[:, None] * vt
        self._factor = factor
        self._mean = (((means[:n] + 1j * means[n:]) / 2) @ T).view(np.float64)
        self._internal_modes = experiment.internal_modes
        self.n_modes = experiment.n_modes
        self.dark_counts = experiment.detector.dark_counts(self.n_modes)

    def amplitudes(self, size, rng):
        """Complex coherent amplitudes at the detectors, internal copies
        side by side: shape (size, internal_modes * M)."""
        z = rng.standard_normal((size, self._factor.shape[0])) @ self._factor
        z += self._mean
        return z.view(complex)

    def counts(self, size, rng):
        rate = np.abs(self.amplitudes(size, rng)) ** 2
        return rng.poisson(rate.reshape(size, self._internal_modes, self.n_modes).sum(axis=1))


class CoherentSampler:
    """Squeezed inputs replaced by phase-randomised coherent states of the
    same mean photon number (see the module docstring)."""

    unresolved_mass = 0.0

    def __init__(self, experiment):
        squeezed, photons, kept = [], [], []
        start = 0
        for source in adversary_sources(experiment, "coherent"):
            modes = range(start, start + source.n_modes)
            if isinstance(source, SQUEEZERS):
                squeezed.extend(modes)
                photons.extend([np.sinh(source.r) ** 2] * source.n_modes)
                kept.append(GaussianState.vacuum(source.n_modes))
            else:
                kept.append(source.state())
            start += source.n_modes
        self._squeezed = np.array(squeezed, dtype=np.intp)
        self._radius = np.sqrt(np.array(photons, dtype=float))
        self._classical = PFunctionSampler(kept[0].tensor(*kept[1:]))
        efficiency = experiment.detector.efficiencies(experiment.n_modes)
        self._T = np.asarray(experiment.transfer_matrix) * np.sqrt(efficiency)[None, :]
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)

    def counts(self, size, rng):
        alpha = self._classical.amplitudes(size, rng)
        phases = rng.uniform(0, 2 * np.pi, (size, len(self._squeezed)))
        alpha[:, self._squeezed] += self._radius * np.exp(1j * phases)
        return rng.poisson(np.abs(alpha @ self._T) ** 2)


class DistinguishableSampler:
    """Each squeezer alone (and the classical sources together) through the
    interferometer, sampled exactly; photon numbers added."""

    def __init__(self, experiment):
        sources = adversary_sources(experiment, "distinguishable")
        groups = [[i] for i, s in enumerate(sources) if isinstance(s, SQUEEZERS)]
        groups.append([i for i, s in enumerate(sources) if not isinstance(s, SQUEEZERS)])
        efficiency = experiment.detector.efficiencies(experiment.n_modes)
        self._samplers = []
        for group in groups:
            if not group:
                continue
            states = [s.state() if i in group else GaussianState.vacuum(s.n_modes)
                      for i, s in enumerate(sources)]
            state = states[0].tensor(*states[1:]).passive(experiment.transfer_matrix)
            if np.any(efficiency < 1):
                state = state.loss(efficiency)
            if state.mean_photon_number() > 0:
                self._samplers.append(PhotonNumberSampler(state))
        self.n_modes = experiment.n_modes
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)

    @property
    def unresolved_mass(self):
        return max((s.unresolved_mass for s in self._samplers), default=0.0)

    def counts(self, size, rng):
        photons = np.zeros((size, self.n_modes), dtype=np.int64)
        for sampler in self._samplers:
            photons += sampler.sample(rng, size)
        return photons


class UniformSampler:
    """I.i.d. Poisson photon numbers with one mean on every mode and the
    average dark count on every detector (see the module docstring)."""

    unresolved_mass = 0.0

    def __init__(self, experiment):
        M = experiment.n_modes
        detector = experiment.detector
        dark = float(np.mean(detector.dark_counts(M)))
        if isinstance(detector, (Threshold, PseudoPNR)):
            k = detector.n_detectors if isinstance(detector, PseudoPNR) else 1
            click = experiment.mean_clicks() / (M * k)  # per (sub-)detector
            if dark >= 1:
                rate = 0.0
            elif click >= 1:
                rate = _SURE_CLICK
            else:
                rate = min(_SURE_CLICK, max(0.0, np.log((1 - dark) / (1 - click))))
            self.rate = k * rate
        else:
            self.rate = experiment.mean_photon_number() / M
        self.n_modes = M
        self.dark_counts = np.full(M, dark)

    def counts(self, size, rng):
        return rng.poisson(self.rate, (size, self.n_modes))
