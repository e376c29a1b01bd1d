"""A Gaussian boson sampling experiment: sources -> interferometer -> detectors.

``Experiment(sources, transfer_matrix, detector)`` puts the sources' modes in
order on the interferometer's inputs; the transfer matrix T of shape
(inputs, outputs) maps b_j = sum_i T[i, j] a_i (plus vacuum noise when T is
lossy), and one detector of the given model watches each output mode.
Detector efficiency acts as loss in front of the detectors, so
:meth:`Experiment.output_state` is the state the (then ideal) detectors see.
Formulas and conventions: :mod:`jiuzhang_emu.probabilities`,
:mod:`jiuzhang_emu.detectors`, :mod:`jiuzhang_emu.states`.

Partly distinguishable sources (``indistinguishability`` v < 1, see
:mod:`jiuzhang_emu.sources`) add internal modes: such a source's light is
split by a beam splitter of transmissivity v between the shared internal mode
and a private one, and the interferometer acts alike on every internal mode.
The output state then holds ``internal_modes`` = 1 + (number of such sources)
copies of the M outputs, block by block, and each detector adds up its copies.
"""
import hashlib
from collections.abc import Iterable, Mapping

import numpy as np

from jiuzhang_emu.detectors import Detector, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import check_transfer_matrix
from jiuzhang_emu.output_moments import OutputMoments
from jiuzhang_emu.probabilities import check_probability, detection_probability
from jiuzhang_emu.sources import Source, sources_state
from jiuzhang_emu.states import GaussianState

class Experiment:
    """A GBS experiment.

    Parameters
    ----------
    sources : sequence of Source, or GaussianState
        The input light, modes in order; a GaussianState is used as given.
    transfer_matrix : array_like of shape (inputs, outputs)
        Contractive; inputs must equal the sources' total mode count.
    detector : Detector, optional
        The detector model on every output mode; default ideal threshold.
    name : str, optional
    provenance : dict, optional
        Which parts are published data and which are stand-ins (presets
        fill it in).
    """

    def __init__(self, sources, transfer_matrix, detector=None, *, name="experiment",
                 provenance=None):
        if isinstance(sources, GaussianState):
            self.sources = None
            self._input_state = sources
        else:
            if isinstance(sources, Source):
                sources = [sources]
            elif isinstance(sources, (str, bytes)) or not isinstance(sources, Iterable):
                raise InputError(f"sources must be a Source, a sequence of Sources or a "
                                 f"GaussianState, got {sources!r}")
            self.sources = tuple(sources)
            self._input_state = sources_state(self.sources)
        self.transfer_matrix = check_transfer_matrix(
            transfer_matrix, "transfer_matrix", n_inputs=self._input_state.n_modes)
        self.transfer_matrix.setflags(write=False)
        if not isinstance(name, str):
            raise InputError(f"name must be a str, got {name!r}")
        if provenance is not None and not isinstance(provenance, Mapping):
            raise InputError(f"provenance must be a dict or None, got {provenance!r}")
        detector = Threshold() if detector is None else detector
        if not isinstance(detector, Detector):
            raise InputError(f"detector must be a Detector (PhotonNumberResolving, Threshold, "
                             f"PseudoPNR), got {type(detector).__name__}")
        self.detector = detector
        self._efficiency = detector.efficiencies(self.n_modes)
        self._dark_count = detector.dark_counts(self.n_modes)
        self.name = name
        self.provenance = dict(provenance or {})
        #: How a preset builds this experiment again (:mod:`jiuzhang_emu.presets`), or None.
        self.preset = None
        self._output_state = None
        self._output_moments = None
        self._vacuum_form = None
        self._private = [] if self.sources is None else [
            (start, source) for start, source in zip(
                np.cumsum([0] + [s.n_modes for s in self.sources]), self.sources)
            if source.indistinguishability < 1]

    @property
    def internal_modes(self):
        """Copies of each output mode: 1, plus one per partly distinguishable source."""
        return 1 + len(self._private)

    def __repr__(self):
        return (f"Experiment(name={self.name!r}, inputs={self.n_inputs}, modes={self.n_modes}, "
                f"detector={type(self.detector).__name__})")

    def describe(self):
        """A JSON-serialisable summary (for sample files and reports)."""
        detector = self.detector
        return {
            "name": self.name,
            "n_inputs": self.n_inputs,
            "n_modes": self.n_modes,
            "internal_modes": self.internal_modes,
            "sources": [repr(s) for s in self.sources] if self.sources else "GaussianState",
            "detector": {"kind": detector.kind,
                         "n_detectors": getattr(detector, "n_detectors", 1),
                         "efficiency": np.atleast_1d(detector.efficiency).tolist(),
                         "dark_count": np.atleast_1d(detector.dark_count).tolist()},
            "mean_photon_number": self.mean_photon_number(),
            "provenance": self.provenance,
            "preset": self.preset,
            "fingerprint": self.fingerprint(),
        }

    def fingerprint(self):
        """SHA-256 of the experiment's definition: sources (or input state),
        transfer matrix and detector model, exactly as given."""
        digest = hashlib.sha256()
        if self.sources is None:
            digest.update(self._input_state.cov.tobytes())
            digest.update(self._input_state.means.tobytes())
        else:
            digest.update(repr(self.sources).encode())
        digest.update(self.transfer_matrix.tobytes())
        for array in (self._efficiency, self._dark_count):
            digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
        digest.update(f"{self.detector.kind}/{getattr(self.detector, 'n_detectors', 1)}".encode())
        return digest.hexdigest()

    @property
    def n_inputs(self):
        return self.transfer_matrix.shape[0]

    @property
    def n_modes(self):
        """Number of output modes (detectors, or detector groups for pseudo-PNR)."""
        return self.transfer_matrix.shape[1]

    def input_state(self):
        return self._input_state

    def output_state(self):
        """The Gaussian state at the detectors, detector efficiency included.

        With partly distinguishable sources it has ``internal_modes * n_modes``
        modes, copy b of output j being mode j + b * n_modes.
        """
        if self._output_state is None:
            state, T = self._input_state, self.transfer_matrix
            if self._private:
                state, T = self._with_internal_modes()
            state = state.passive(T)
            if np.any(self._efficiency < 1):
                state = state.loss(np.tile(self._efficiency, self.internal_modes))
            self._output_state = state
        return self._output_state

    def output_moments(self):
        """The output's normally ordered moments by blocks
        (:class:`~jiuzhang_emu.output_moments.OutputMoments`), detector
        efficiency included, internal copies as in :meth:`output_state`:
        what every low-order statistic needs, without forming the output
        covariance (Jiuzhang 4.0's has 16352^2 entries)."""
        if self._output_moments is None:
            state, T = self._input_state, self.transfer_matrix
            if self._private:
                state, T = self._with_internal_modes()
            efficiency = np.tile(self._efficiency, self.internal_modes)
            self._output_moments = OutputMoments(state, T * np.sqrt(efficiency)[None, :])
        return self._output_moments

    def _with_internal_modes(self):
        """Input state and transfer matrix over (shared inputs, then each
        partly distinguishable source's private copies of its inputs)."""
        n_in, M = self.transfer_matrix.shape
        n_private = sum(source.n_modes for _, source in self._private)
        size = n_in + n_private
        splitter = np.eye(size)
        T = np.zeros((size, M * self.internal_modes), dtype=complex)
        T[:n_in, :M] = self.transfer_matrix
        p = n_in
        for block, (start, source) in enumerate(self._private, start=1):
            v = source.indistinguishability
            for i in range(start, start + source.n_modes):
                splitter[[i, i, p, p], [i, p, i, p]] = [np.sqrt(v), np.sqrt(1 - v),
                                                        -np.sqrt(1 - v), np.sqrt(v)]
                T[p, block * M:(block + 1) * M] = self.transfer_matrix[i]
                p += 1
        state = self._input_state.tensor(GaussianState.vacuum(n_private)).passive(splitter)
        return state, T

    # -- probabilities ----------------------------------------------------
    def _modes(self, modes):
        if modes is None:
            return np.arange(self.n_modes)
        modes = np.atleast_1d(np.asarray(modes))
        if modes.dtype.kind not in "iu" or modes.ndim != 1:
            raise InputError(f"modes must be a sequence of mode indices, got {modes!r}")
        if modes.size and (modes.min() < 0 or modes.max() >= self.n_modes):
            raise InputError(f"modes must lie in [0, {self.n_modes - 1}], got {modes.tolist()}")
        if len(set(modes.tolist())) != modes.size:
            raise InputError(f"modes must not repeat, got {modes.tolist()}")
        return modes.astype(np.intp)

    def probability(self, pattern, *, modes=None, precision="auto", n_threads=None,
                    max_seconds=3600.0, return_info=False):
        """Exact probability of a detection pattern.

        Parameters
        ----------
        pattern : array_like of int of shape (n_modes,) or (len(modes),)
            Photon numbers (PNR), 0/1 (threshold) or clicks per mode
            (pseudo-PNR, 0..k).
        modes : sequence of int, optional
            Give the marginal probability of ``pattern`` on these output
            modes, the others unobserved.
        precision, n_threads, max_seconds
            Passed to the kernels; "auto" escalates precision when the
            cancellation indicator asks for it.
        return_info : bool
            Return a :class:`~jiuzhang_emu.probabilities.ProbabilityResult`
            (value, precision, absolute error estimate) instead of the value.

        Returns
        -------
        float

        Warns
        -----
        PrecisionWarning
            With ``precision="auto"``, when the estimated absolute error
            exceeds PROBABILITY_RTOL (1e-8) times the probability, however
            small the probability; with any precision, when it exceeds the
            probability itself (not one digit is known).

        Raises
        ------
        KernelError
            When the computed value lies below -error (error the estimate)
            or above 1 + PROBABILITY_RTOL: a precision failure, never
            returned.  A value above 1 by no more than PROBABILITY_RTOL is
            rounding and is returned as 1.
        """
        modes = self._modes(modes)
        pattern = self.detector.check_pattern(pattern, len(modes))
        state = self.marginal_state(modes)
        result = detection_probability(
            state, self.detector, pattern, self._dark_count[modes], self.internal_modes,
            precision=precision, n_threads=n_threads, max_seconds=max_seconds)
        result = check_probability(result, pattern, precision)
        return result if return_info else result.value

    def vacuum_form(self):
        """(G, v, block): G = (V + I) / 2 and v = mu / 2 of the output state
        (covariance V, means mu, hbar = 2) with the rows ordered detector by
        detector, each detector owning ``block`` = 2 x internal_modes rows (the
        x and p rows of its internal copies).  The light leaves every detector
        of a set A dark with probability exp(-v_A^T G_A^-1 v_A) / sqrt(det G_A);
        v is None for an undisplaced state."""
        if self._vacuum_form is None:
            state, M, internal_modes = self.output_state(), self.n_modes, self.internal_modes
            internal = np.arange(M)[:, None] + M * np.arange(internal_modes)[None, :]
            order = np.stack([internal, internal + internal_modes * M], axis=-1).ravel()
            G = np.ascontiguousarray((state.cov[np.ix_(order, order)] + np.eye(len(order))) / 2)
            v = np.ascontiguousarray(state.means[order] / 2) if state.is_displaced() else None
            for array in (G, v):
                if array is not None:
                    array.setflags(write=False)
            self._vacuum_form = (G, v, 2 * internal_modes)
        return self._vacuum_form

    def marginal_state(self, modes):
        """The output state of the output ``modes`` (ndarray of int), all
        their internal copies, copy b of ``modes[i]`` being mode
        i + b * len(modes)."""
        if len(modes) == self.n_modes and np.all(modes == np.arange(self.n_modes)):
            return self.output_state()
        return self.output_moments().state(self._copies(modes).T.ravel())

    def _copies(self, modes):
        """The internal copies of output ``modes``: shape (*modes.shape, internal_modes)."""
        return np.asarray(modes)[..., None] + self.n_modes * np.arange(self.internal_modes)

    def dark_probabilities(self, subsets):
        """P(every detector of each subset's modes registers nothing), dark
        counts included: prod_j g_j times the light's no-count probability.

        Parameters
        ----------
        subsets : array_like of int, shape (S, k)
            Distinct output modes per row.

        Returns
        -------
        ndarray of shape (S,)
        """
        subsets = np.asarray(subsets, dtype=np.intp)
        if subsets.ndim != 2:
            raise InputError(f"subsets must have shape (S, k), got shape {subsets.shape}")
        if subsets.shape[1] == 0:
            return np.ones(len(subsets))
        g = self.detector.dark_factors(self.n_modes)
        copies = self._copies(subsets).reshape(len(subsets), -1)
        light = self.output_moments().vacuum_probabilities(copies)
        return light * np.prod(g[subsets], axis=1)

    def pair_click_probabilities(self, rows=None, cols=None):
        """P(output modes i and j both click) for i in ``rows``, j in
        ``cols`` (default all modes), dark counts included; where i == j, the
        click probability of i.  One GEMM of the output moments per block:
        the 33 million pairs of Jiuzhang 4.0 in blocks of rows.

        Returns
        -------
        ndarray of shape (len(rows), len(cols))
        """
        rows, cols = (np.arange(self.n_modes) if x is None else self._modes(x)
                      for x in (rows, cols))
        if self.internal_modes > 1:
            pairs = np.stack(np.broadcast_arrays(rows[:, None], cols[None, :]), axis=-1)
            same = pairs[..., 0] == pairs[..., 1]
            pairs = np.where(same[..., None], pairs[..., :1], pairs).reshape(-1, 2)
            both_dark = np.where(same.ravel(), self.dark_probabilities(pairs[:, :1]),
                                 self.dark_probabilities(pairs)).reshape(same.shape)
        else:
            g = self.detector.dark_factors(self.n_modes)
            both_dark = self.output_moments().pair_vacuum_probabilities(rows, cols)
            both_dark *= np.where(rows[:, None] == cols[None, :], g[rows][:, None],
                                  g[rows][:, None] * g[cols][None, :])
        dark = 1 - self.click_probabilities()
        return 1 - dark[rows][:, None] - dark[cols][None, :] + both_dark

    def sample(self, shots, *, rng=None, method="auto", n_workers=1, client=None,
               max_seconds=3600.0, progress=None, mps=None):
        """Draw detection patterns: a facade over :func:`jiuzhang_emu.samplers.sample`,
        which documents the arguments.

        The samplers sit above the physics layer and import this module, so
        the import is made here, at the call (the one import upwards that the
        layer contract in pyproject.toml allows).
        """
        from jiuzhang_emu.samplers import sample

        return sample(self, shots, rng=rng, method=method, n_workers=n_workers, client=client,
                      max_seconds=max_seconds, progress=progress, mps=mps)

    # -- first moments ----------------------------------------------------
    def mean_photon_numbers(self):
        """Mean photon number arriving at each detector (after efficiency)."""
        per_copy = self.output_moments().mean_photon_numbers()
        return per_copy.reshape(self.internal_modes, self.n_modes).sum(axis=0)

    def mean_photon_number(self):
        return float(self.mean_photon_numbers().sum())

    def click_probabilities(self):
        """Per output mode, the probability that it registers at least one
        count (a click; for pseudo-PNR, at least one of its detectors)."""
        g = self.detector.dark_factors(self.n_modes)
        return 1 - g * self._empty_probabilities(1.0)

    def mean_clicks(self):
        """Expected number of clicks per shot.  Pseudo-PNR counts every
        clicking detector, so this is sum_j k (1 - g_j P(sub-mode empty))."""
        if isinstance(self.detector, PseudoPNR):
            k = self.detector.n_detectors
            p_dark = self._empty_probabilities(1.0 / k)
            return float(np.sum(k * (1 - (1 - self._dark_count) * p_dark)))
        return float(self.click_probabilities().sum())

    def _empty_probabilities(self, transmission):
        """P(no photon reaches detector j) after an extra loss, per mode."""
        copies = self._copies(np.arange(self.n_modes))
        return self.output_moments().vacuum_probabilities(copies, transmission)
