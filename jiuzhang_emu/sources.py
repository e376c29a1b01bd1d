"""Light sources: squeezers, thermal, coherent and squashed states.

Each source is a small immutable description with ``n_modes`` (how many input
modes it feeds) and ``state()`` (its :class:`~jiuzhang_emu.states.GaussianState`).
An experiment concatenates its sources' modes in order.

Conventions (hbar = 2, xxpp; the Strawberry Fields gates):

* ``SingleModeSqueezer(r, phase)`` is ``Sgate(r, phase)`` on vacuum:
  <a^dag a> = sinh^2 r, <a a> = -e^{i phase} sinh r cosh r, so phase 0
  squeezes x (variance e^{-2r}).
* ``TwoModeSqueezer(r, phase)`` is ``S2gate(r, phase)`` on vacuum, the
  Jiuzhang source: <a^dag a> = <b^dag b> = sinh^2 r,
  <a b> = e^{i phase} sinh r cosh r.

Every single-mode Gaussian state without displacement is fixed by
n = <a^dag a> and m = <a a> (|m|^2 <= n (n + 1)); the classical models used
against GBS experiments keep n and shrink m:

* thermalised fraction eps (``thermal_fraction``): m -> (1 - eps) m.  This is
  the decoherence model fitted to Jiuzhang data by Dellios, Drummond, Reid et
  al. (arXiv:2211.03480, the "epsilon" of their Eq. for n_j, m_j); eps = 1 is
  a thermal state.
* squashed state (Martinez-Cifuentes, Fonseca-Romero, Quesada, Quantum 7,
  1076 (2023)): |m| = n, the least-noisy classical state (one quadrature at
  vacuum noise) with the same mean photon number.
* thermal state: m = 0.

Partial distinguishability (the squeezers' spectral-temporal modes overlap
imperfectly; Shi & Byrnes, npj Quantum Inf. 8, 54 (2022) model GBS this
way): a squeezer with ``indistinguishability`` v emits into the internal mode
sqrt(v) e_0 + sqrt(1 - v) e_s, e_0 shared by all sources and e_s its own, so
two sources' modes overlap by sqrt(v_s v_t); v = 1 is the ideal source and
v = 0 a fully distinguishable one.  :class:`~jiuzhang_emu.experiment.Experiment`
carries the internal modes through the interferometer.
"""
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels.checks import check_real
from jiuzhang_emu.states import MAX_SQUEEZING, MAX_VARIANCE, GaussianState


def _non_negative(value, name, high=None):
    what = None if high is None else (f"a finite number in [0, {high:.6g}] (the supported "
                                      f"range, see states.MAX_VARIANCE)")
    return check_real(value, name, low=0, high=high, what=what)


def _finite(value, name):
    return check_real(value, name)


def _check_squeezer(source):
    object.__setattr__(source, "r", check_real(
        source.r, "r", low=0, high=MAX_SQUEEZING,
        what=f"a number in [0, {MAX_SQUEEZING:g}] (the supported squeezing range, "
             f"{10 * MAX_SQUEEZING / np.log(10) * 2:.1f} dB)"))
    object.__setattr__(source, "phase", _finite(source.phase, "phase"))
    for name in ("thermal_fraction", "indistinguishability"):
        object.__setattr__(source, name, check_real(getattr(source, name), name, low=0, high=1))


#: Largest supported mean photon number of a thermal source, and of a squashed
#: one: quadrature variances 2n + 1 and 4n + 1 up to MAX_VARIANCE.
MAX_THERMAL_PHOTONS = (MAX_VARIANCE - 1) / 2
MAX_SQUASHED_PHOTONS = (MAX_VARIANCE - 1) / 4


class Source:
    """Base class: a Gaussian light source feeding ``n_modes`` input modes."""

    n_modes = 1
    #: Overlap weight v of the source's internal mode with the shared one.
    indistinguishability = 1.0

    def state(self):
        """The source's output as a GaussianState on its ``n_modes`` modes."""
        raise NotImplementedError

    def mean_photon_number(self):
        """Total mean photon number emitted."""
        return self.state().mean_photon_number()


@dataclass(frozen=True)
class SingleModeSqueezer(Source):
    """Squeezed vacuum ``Sgate(r, phase)``, optionally partly thermalised.

    Parameters
    ----------
    r : float
        Squeezing parameter in [0, 4] (``states.MAX_SQUEEZING``, 34.7 dB; the
        supported range, see :mod:`jiuzhang_emu.states`).
    phase : float
        Squeezing angle; 0 squeezes x.
    thermal_fraction : float
        eps in [0, 1]: <a a> scaled by (1 - eps) at fixed photon number.
    indistinguishability : float
        v in [0, 1]; see the module docstring.
    """

    r: float
    phase: float = 0.0
    thermal_fraction: float = 0.0
    indistinguishability: float = 1.0

    def __post_init__(self):
        _check_squeezer(self)

    def state(self):
        n = np.sinh(self.r) ** 2
        m = -(1 - self.thermal_fraction) * np.exp(1j * self.phase) * np.sinh(self.r) * np.cosh(self.r)
        return GaussianState.from_moments([[n]], [[m]])

    def squashed(self):
        """The squashed state with the same photon number and phase."""
        return Squashed(np.sinh(self.r) ** 2, self.phase)

    def thermal(self):
        """The thermal state with the same photon number."""
        return Thermal(np.sinh(self.r) ** 2)


@dataclass(frozen=True)
class TwoModeSqueezer(Source):
    """Two-mode squeezed vacuum ``S2gate(r, phase)`` (Jiuzhang's sources),
    optionally partly thermalised.

    Parameters
    ----------
    r : float
        Squeezing parameter in [0, 4] (as for :class:`SingleModeSqueezer`);
        each mode carries sinh^2 r photons.
    phase : float
        Phase of <a b>.
    thermal_fraction : float
        eps in [0, 1]: <a b> scaled by (1 - eps) at fixed photon numbers.
    indistinguishability : float
        v in [0, 1]; see the module docstring.  Both modes share the
        source's internal mode.
    """

    r: float
    phase: float = 0.0
    thermal_fraction: float = 0.0
    indistinguishability: float = 1.0
    n_modes = 2

    def __post_init__(self):
        _check_squeezer(self)

    def state(self):
        n = np.sinh(self.r) ** 2
        m = (1 - self.thermal_fraction) * np.exp(1j * self.phase) * np.sinh(self.r) * np.cosh(self.r)
        return GaussianState.from_moments(np.diag([n, n]), [[0, m], [m, 0]])

    def squashed(self):
        """The two-mode squashed state: the same photon numbers and |<a b>| = n."""
        return TwoModeSquashed(np.sinh(self.r) ** 2, self.phase)

    def thermal(self):
        """Two thermal modes with the same photon numbers."""
        return TwoModeSquashed(np.sinh(self.r) ** 2, self.phase, correlation=0.0)


@dataclass(frozen=True)
class Thermal(Source):
    """Thermal state with ``mean_photons`` = <a^dag a> in [0, 1490]
    (``MAX_THERMAL_PHOTONS``, the supported range)."""

    mean_photons: float

    def __post_init__(self):
        object.__setattr__(self, "mean_photons", _non_negative(self.mean_photons, "mean_photons",
                                                               MAX_THERMAL_PHOTONS))

    def state(self):
        return GaussianState.from_moments([[self.mean_photons]], [[0]])


@dataclass(frozen=True)
class Coherent(Source):
    """Coherent state |alpha>, <a> = alpha (complex)."""

    alpha: complex

    def __post_init__(self):
        alpha = self.alpha
        if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Number):
            raise InputError(f"alpha must be a finite complex amplitude, got {alpha!r}")
        alpha = complex(alpha)
        if not np.isfinite(alpha):
            raise InputError(f"alpha must be a finite complex amplitude, got {alpha!r}")
        object.__setattr__(self, "alpha", alpha)

    def state(self):
        return GaussianState.vacuum(1).displace([self.alpha])


@dataclass(frozen=True)
class Squashed(Source):
    """Squashed state: <a^dag a> = mean_photons, <a a> = -e^{i phase} mean_photons.

    A classical state (a mixture of coherent states) with vacuum noise in the
    quadrature a squeezer of the same phase would squeeze.  ``mean_photons``
    at most 745 (``MAX_SQUASHED_PHOTONS``, the supported range).
    """

    mean_photons: float
    phase: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "mean_photons", _non_negative(self.mean_photons, "mean_photons",
                                                               MAX_SQUASHED_PHOTONS))
        object.__setattr__(self, "phase", _finite(self.phase, "phase"))

    def state(self):
        n = self.mean_photons
        return GaussianState.from_moments([[n]], [[-np.exp(1j * self.phase) * n]])


@dataclass(frozen=True)
class TwoModeSquashed(Source):
    """Classical two-mode analogue of a two-mode squeezer:
    <a^dag a> = <b^dag b> = mean_photons, <a b> = correlation e^{i phase} mean_photons.

    ``correlation`` = 1 is the squashed model of a two-mode squeezer (two
    single-mode squashed states of opposite phase on a 50:50 beam splitter);
    0 gives two independent thermal modes.  ``mean_photons`` at most 745
    (``MAX_SQUASHED_PHOTONS``, the supported range).
    """

    mean_photons: float
    phase: float = 0.0
    correlation: float = 1.0
    n_modes = 2

    def __post_init__(self):
        object.__setattr__(self, "mean_photons", _non_negative(self.mean_photons, "mean_photons",
                                                               MAX_SQUASHED_PHOTONS))
        object.__setattr__(self, "phase", _finite(self.phase, "phase"))
        object.__setattr__(self, "correlation", check_real(self.correlation, "correlation",
                                                           low=0, high=1))

    def state(self):
        n = self.mean_photons
        m = self.correlation * np.exp(1j * self.phase) * n
        return GaussianState.from_moments(np.diag([n, n]), [[0, m], [m, 0]])


@dataclass(frozen=True)
class Vacuum(Source):
    """An empty input mode."""

    def state(self):
        return GaussianState.vacuum(1)


def sources_state(sources):
    """The product state of a sequence of sources, modes in order."""
    if isinstance(sources, (str, bytes)) or not isinstance(sources, Iterable):
        raise InputError(f"sources must be a sequence of Source objects, got {sources!r}")
    sources = list(sources)
    if not sources:
        raise InputError("sources must hold at least one source, got none")
    for i, source in enumerate(sources):
        if not isinstance(source, Source):
            raise InputError(f"sources[{i}] must be a Source, got {type(source).__name__}")
    first, *rest = [s.state() for s in sources]
    return first.tensor(*rest)
