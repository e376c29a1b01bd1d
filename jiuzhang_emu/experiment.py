"""A Gaussian boson sampling experiment: sources -> interferometer -> detectors.

``Experiment(sources, transfer_matrix, detector)`` puts the sources' modes in
order on the interferometer's inputs; the transfer matrix T of shape
(inputs, outputs) maps b_j = sum_i T[i, j] a_i (plus vacuum noise when T is
lossy), and one detector of the given model watches each output mode.
Detector efficiency acts as loss in front of the detectors, so
:meth:`Experiment.output_state` is the state the (then ideal) detectors see.
Formulas and conventions: :mod:`jiuzhang_emu.detectors`,
:mod:`jiuzhang_emu.states`.
"""
import numpy as np

from jiuzhang_emu.detectors import Detector, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.sources import Source, sources_state
from jiuzhang_emu.interferometers import check_transfer_matrix
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
            self.sources = tuple(sources)
            self._input_state = sources_state(self.sources)
        self.transfer_matrix = check_transfer_matrix(
            transfer_matrix, "transfer_matrix", n_inputs=self._input_state.n_modes)
        self.transfer_matrix.setflags(write=False)
        detector = Threshold() if detector is None else detector
        if not isinstance(detector, Detector):
            raise InputError(f"detector must be a Detector (PhotonNumberResolving, Threshold, "
                             f"PseudoPNR), got {type(detector).__name__}")
        self.detector = detector
        self._efficiency = detector.efficiencies(self.n_modes)
        self._dark_count = detector.dark_counts(self.n_modes)
        self.name = name
        self.provenance = dict(provenance or {})
        self._output_state = None

    def __repr__(self):
        return (f"Experiment(name={self.name!r}, inputs={self.n_inputs}, modes={self.n_modes}, "
                f"detector={type(self.detector).__name__})")

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
        """The Gaussian state at the detectors, detector efficiency included."""
        if self._output_state is None:
            state = self._input_state.passive(self.transfer_matrix)
            if np.any(self._efficiency < 1):
                state = state.loss(self._efficiency)
            self._output_state = state
        return self._output_state

    # -- probabilities ----------------------------------------------------
    def _modes(self, modes):
        if modes is None:
            return np.arange(self.n_modes)
        modes = np.asarray(modes)
        self.output_state()._mode_index(modes)  # validates range and repeats
        return modes.astype(np.intp)

    def probability(self, pattern, *, modes=None, precision="auto", n_threads=None,
                    max_seconds=3600.0):
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

        Returns
        -------
        float
        """
        modes = self._modes(modes)
        pattern = self.detector.check_pattern(pattern, len(modes))
        state = self.output_state()
        if len(modes) != self.n_modes or np.any(modes != np.arange(self.n_modes)):
            state = state.reduced(modes)
        return self.detector.probability(
            state, pattern, self._dark_count[modes],
            precision=precision, n_threads=n_threads, max_seconds=max_seconds)

    # -- first moments ----------------------------------------------------
    def mean_photon_numbers(self):
        """Mean photon number arriving at each detector (after efficiency)."""
        return self.output_state().mean_photon_numbers()

    def mean_photon_number(self):
        return float(self.mean_photon_numbers().sum())

    def click_probabilities(self):
        """Per output mode, the probability that it registers at least one
        count (a click; for pseudo-PNR, at least one of its detectors)."""
        g = 1 - self._dark_count
        p_dark = self.output_state().mode_vacuum_probabilities()
        if isinstance(self.detector, PseudoPNR):
            g = g ** self.detector.n_detectors
        return 1 - g * p_dark

    def mean_clicks(self):
        """Expected number of clicks per shot.  Pseudo-PNR counts every
        clicking detector, so this is sum_j k (1 - g_j P(sub-mode empty))."""
        if isinstance(self.detector, PseudoPNR):
            k = self.detector.n_detectors
            p_dark = self.output_state().mode_vacuum_probabilities(1.0 / k)
            return float(np.sum(k * (1 - (1 - self._dark_count) * p_dark)))
        return float(self.click_probabilities().sum())
