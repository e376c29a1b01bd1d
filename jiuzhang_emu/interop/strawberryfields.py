"""Strawberry Fields interop: :class:`~jiuzhang_emu.Experiment` <-> ``sf.Program``.

Needs Strawberry Fields 0.23: ``pip install "jiuzhang-emu[sf]"``, which also
pins scipy < 1.14 (Strawberry Fields 0.23 imports ``scipy.integrate.simps``,
removed in scipy 1.14).

Conventions matched (tests/interop checks each against SF's "gaussian"
backend):

* Both use xxpp quadratures.  This package has hbar = 2; SF has the global
  ``sf.hbar`` (default 2), and its covariances scale by hbar / 2 and its means
  by sqrt(hbar / 2).  Both functions convert.
* SF's passive operations act on the column of annihilation operators,
  ``a -> U a``: ``Interferometer(U)``, ``PassiveChannel(T)`` (any contractive
  T, the vacuum noise implied), ``Rgate(theta)`` = e^{i theta} and
  ``BSgate(theta, phi)`` = [[cos theta, -e^{-i phi} sin theta],
  [e^{i phi} sin theta, cos theta]].  A transfer matrix here has shape
  (inputs, outputs) and maps b = T^T a, so SF's matrix is ``T.T``.
* ``Sgate(r, phi)``, ``S2gate(r, phi)``, ``Coherent(|alpha|, arg alpha)`` and
  ``Thermal(n)`` are :class:`~jiuzhang_emu.SingleModeSqueezer`,
  :class:`~jiuzhang_emu.TwoModeSqueezer`, :class:`~jiuzhang_emu.Coherent` and
  :class:`~jiuzhang_emu.Thermal` with the same parameters.
* ``LossChannel(eta)`` on an output mode is detector efficiency eta.

What has no SF counterpart raises :class:`~jiuzhang_emu.InputError`: dark
counts (SF's ``MeasureFock(dark_counts=...)`` adds Poisson-distributed counts,
another model), pseudo-PNR detection, partly distinguishable sources.
"""
import copy

import numpy as np

try:
    import strawberryfields as sf
    from strawberryfields import ops
    from strawberryfields.parameters import (
        MeasuredParameter,
        ParameterError,
        is_object_array,
        par_evaluate,
        par_is_symbolic,
    )
except ImportError as exc:
    raise ImportError(
        'jiuzhang_emu.interop.strawberryfields needs Strawberry Fields 0.23: pip install '
        '"jiuzhang-emu[sf]" (Strawberry Fields 0.23 needs scipy < 1.14, which the extra pins). '
        f"Importing strawberryfields failed with: {exc}"
    ) from exc

from jiuzhang_emu.detectors import Detector, PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import is_unitary
from jiuzhang_emu.sources import (
    Coherent,
    SingleModeSqueezer,
    Thermal,
    TwoModeSqueezer,
    Vacuum,
)
from jiuzhang_emu.states import GaussianState

__all__ = ["from_program", "to_program"]

#: Linear-optical operations from_program folds into the transfer matrix.
_PASSIVE = (ops.Rgate, ops.BSgate, ops.Interferometer, ops.PassiveChannel)
#: Passive gates SF defines by a decomposition into the above.
_PASSIVE_COMPOUND = (ops.MZgate, ops.sMZgate, ops.Fouriergate)
_LOSS = (ops.LossChannel, ops.ThermalLossChannel)
_MEASUREMENTS = (ops.MeasureFock, ops.MeasureThreshold)
#: Other Gaussian operations: they and what precedes them make the input state.
_GAUSSIAN = (
    ops.Vacuum, ops.Coherent, ops.Squeezed, ops.DisplacedSqueezed, ops.Thermal, ops.Gaussian,
    ops.Sgate, ops.S2gate, ops.Dgate, ops.Xgate, ops.Zgate, ops.Pgate, ops.CXgate, ops.CZgate,
    ops.GaussianTransform,
)


# -- Experiment -> Program ----------------------------------------------------

def _hbar_scale():
    """SF covariance = (hbar / 2) * ours; SF means = sqrt(hbar / 2) * ours."""
    return sf.hbar / 2


def _gaussian_op(state):
    """``Gaussian(V, r, decomp=False)`` preparing ``state`` exactly."""
    s = _hbar_scale()
    return ops.Gaussian(np.array(state.cov) * s, np.array(state.means) * np.sqrt(s), decomp=False)


def _prepare_source(source, modes):
    kind = type(source)
    if kind is SingleModeSqueezer and source.thermal_fraction == 0:
        ops.Sgate(source.r, source.phase) | modes[0]
    elif kind is TwoModeSqueezer and source.thermal_fraction == 0:
        ops.S2gate(source.r, source.phase) | modes
    elif kind is Coherent:
        ops.Coherent(abs(source.alpha), float(np.angle(source.alpha))) | modes[0]
    elif kind is Thermal:
        ops.Thermal(source.mean_photons) | modes[0]
    elif kind is Vacuum:
        pass
    else:
        _gaussian_op(source.state()) | modes


def to_program(experiment, *, measure=True):
    """The Strawberry Fields program of an experiment.

    Program mode j is input mode j and, after the interferometer, output mode
    j.  With more outputs than inputs the extra input modes are vacuum; with
    more inputs than outputs the extra output modes are not measured.

    * Sources: SingleModeSqueezer -> ``Sgate``, TwoModeSqueezer -> ``S2gate``,
      Coherent -> ``Coherent``, Thermal -> ``Thermal``, Vacuum -> nothing.
      Every other source (squashed states, ``thermal_fraction`` > 0, custom
      sources) and an input given as a GaussianState become
      ``Gaussian(cov, means, decomp=False)``, which prepares the state exactly
      but runs on SF's Gaussian backends only.
    * Interferometer: ``Interferometer(T.T)`` for a square unitary T (to
      1e-10), else ``PassiveChannel`` of T.T padded with zeros to the
      program's size (loss and rectangular shapes are exact).
    * Detector efficiency eta_j < 1: ``LossChannel(eta_j)`` on output j.
    * Detection (``measure=True``): ``MeasureFock`` for photon-number-resolving
      detectors, ``MeasureThreshold`` for threshold detectors, on the output
      modes.

    Parameters
    ----------
    experiment : Experiment
    measure : bool
        False leaves out the measurement: the program then prepares
        ``experiment.output_state()`` on its first ``n_modes`` modes, and the
        detector's kind and dark counts, which only the measurement would
        need, may be anything.

    Returns
    -------
    strawberryfields.Program

    Raises
    ------
    InputError
        With ``measure=True``: pseudo-PNR detectors or a non-zero
        ``dark_count``, neither of which SF has.  Always: partly
        distinguishable sources (``indistinguishability`` < 1).
    """
    if not isinstance(experiment, Experiment):
        raise InputError(f"experiment must be a jiuzhang_emu.Experiment, got "
                         f"{type(experiment).__name__}")
    if getattr(experiment, "internal_modes", 1) > 1:
        raise InputError("experiment has partly distinguishable sources (indistinguishability "
                         "< 1), which have no Strawberry Fields counterpart")
    detector = experiment.detector
    T = np.array(experiment.transfer_matrix)
    n_in, n_out = T.shape
    if measure:
        if isinstance(detector, PseudoPNR):
            raise InputError(
                "pseudo-PNR detection (PseudoPNR) has no Strawberry Fields measurement; pass "
                "measure=False for the program of the state at the detectors")
        dark = detector.dark_counts(n_out)
        if np.any(dark > 0):
            raise InputError(
                f"detector dark_count must be 0 for a Strawberry Fields program, got "
                f"{detector.dark_count!r}: SF's MeasureFock(dark_counts=...) adds Poisson-"
                f"distributed counts, a different model; pass measure=False for the program "
                f"of the state at the detectors")
    n = max(n_in, n_out)
    prog = sf.Program(n, name=experiment.name)
    with prog.context as q:
        if experiment.sources is None:
            _gaussian_op(experiment.input_state()) | q[:n_in]
        else:
            start = 0
            for source in experiment.sources:
                _prepare_source(source, q[start:start + source.n_modes])
                start += source.n_modes
        if n_in == n_out and is_unitary(T):
            ops.Interferometer(T.T.copy()) | q
        else:
            U = np.zeros((n, n), dtype=complex)
            U[:n_out, :n_in] = T.T
            ops.PassiveChannel(U) | q
        for j, eta in enumerate(detector.efficiencies(n_out)):
            if eta < 1:
                ops.LossChannel(float(eta)) | q[j]
        if measure:
            measurement = (ops.MeasureFock() if isinstance(detector, PhotonNumberResolving)
                           else ops.MeasureThreshold())
            measurement | q[:n_out]
    return prog


# -- Program -> Experiment ----------------------------------------------------

def _name(op):
    return type(op).__name__ + (".H" if getattr(op, "dagger", False) else "")


def _symbolic(p):
    if is_object_array(p):
        return any(_symbolic(k) for k in p.ravel())
    return par_is_symbolic(p) and bool(p.atoms(MeasuredParameter))


def _params(op):
    """The numeric parameters of an operation, p[0] negated for a daggered
    gate (as SF's ``Gate.apply`` does)."""
    if any(_symbolic(p) for p in op.p):
        raise InputError(f"operation {_name(op)} has a parameter that depends on a "
                         f"measurement result, which an Experiment cannot express")
    try:
        values = list(par_evaluate(op.p))
    except ParameterError as exc:
        raise InputError(f"operation {_name(op)} has an unbound free parameter: {exc}") from exc
    if getattr(op, "dagger", False) and values:
        values[0] = -values[0]
    return values


def _real(value, op):
    value = complex(value)
    if value.imag != 0 or not np.isfinite(value.real):
        raise InputError(f"operation {_name(op)} needs real finite parameters, got {value!r}")
    return value.real


def _passive_matrix(op, n_modes):
    """The matrix G of a passive operation on its modes, a -> G a."""
    p = _params(op)
    if isinstance(op, ops.Rgate):
        return np.array([[np.exp(1j * _real(p[0], op))]])
    if isinstance(op, ops.BSgate):
        theta, phi = _real(p[0], op), _real(p[1], op)
        c, s = np.cos(theta), np.sin(theta)
        return np.array([[c, -np.exp(-1j * phi) * s], [np.exp(1j * phi) * s, c]])
    G = np.atleast_2d(np.asarray(p[0], dtype=complex))
    if G.shape != (n_modes, n_modes):
        raise InputError(f"operation {_name(op)} acts on {n_modes} modes but its matrix has "
                         f"shape {G.shape}")
    return G


def _commands(circuit):
    """The program's commands, compound passive gates decomposed."""
    for cmd in circuit:
        if isinstance(cmd.op, _PASSIVE_COMPOUND):
            yield from _commands(cmd.op.decompose(cmd.reg))
        else:
            yield cmd


def _as_source(op):
    """The Source a lone preparation op on vacuum makes, or None."""
    if isinstance(op, (ops.Sgate, ops.Squeezed, ops.S2gate)):
        r, phi = (_real(x, op) for x in _params(op))
        if r < 0:  # S(-r, phi) = S(r, phi + pi), also for S2gate
            r, phi = -r, phi + np.pi
        return (TwoModeSqueezer if isinstance(op, ops.S2gate) else SingleModeSqueezer)(r, phi)
    if isinstance(op, (ops.Coherent, ops.Dgate)):
        r, phi = (_real(x, op) for x in _params(op))
        return Coherent(r * np.exp(1j * phi))
    if isinstance(op, ops.Thermal):
        return Thermal(_real(_params(op)[0], op))
    if isinstance(op, ops.Vacuum):
        return Vacuum()
    return None


def _sources(source_cmds, kept):
    """The inputs as a list of Sources, or None when the preparation is not
    one lone Source-like operation per mode (then SF computes the state)."""
    owner = {}
    for i, (op, modes) in enumerate(source_cmds):
        for m in modes:
            if m in owner:
                return None  # several operations on one mode
            owner[m] = i
    sources = []
    pos = 0
    while pos < len(kept):
        m = kept[pos]
        if m not in owner:
            sources.append(Vacuum())
            pos += 1
            continue
        op, modes = source_cmds[owner[m]]
        source = _as_source(op)
        if source is None or sorted(modes) != list(kept[pos:pos + source.n_modes]):
            return None
        sources.append(source)
        pos += source.n_modes
    return sources


def _source_state(source_cmds, n_modes):
    """The state the preparation commands make, run on SF's gaussian backend."""
    prog = sf.Program(n_modes)
    with prog.context as q:
        for op, modes in source_cmds:
            if isinstance(op, ops.Gaussian) and op.decomp:
                op = copy.copy(op)  # exact preparation, not Williamson + gates
                op.decomp = False
            op | tuple(q[m] for m in modes)
    # Sources on separate modes are disconnected components: no warning.
    state = sf.Engine("gaussian").run(prog, compile_options={"warn_connected": False}).state
    s = state.hbar / 2
    return GaussianState(state.cov() / s, state.means() / np.sqrt(s))


def _classify(op, modes, n):
    """"measure", "loss", "passive" or "gaussian"; InputError for the rest."""
    if isinstance(op, ops.MetaOperation) or any(not 0 <= m < n for m in modes):
        raise InputError(f"operation {_name(op)} (creating or deleting modes) has no "
                         f"counterpart in an Experiment")
    if isinstance(op, _MEASUREMENTS):
        if op.select is not None:
            raise InputError(f"operation {_name(op)} post-selects (select={op.select}), "
                             f"which an Experiment cannot express")
        dark = getattr(op, "dark_counts", None)
        if dark is not None and np.any(np.asarray(dark) != 0):
            raise InputError(
                f"operation {_name(op)} has dark_counts={dark}: SF adds Poisson-distributed "
                f"counts, unlike the detectors' dark_count probability; remove them")
        return "measure"
    if isinstance(op, _LOSS):
        p = _params(op)
        eta = _real(p[0], op)
        if not 0 <= eta <= 1:
            raise InputError(f"operation {_name(op)} must have transmission in [0, 1], got {eta}")
        if isinstance(op, ops.ThermalLossChannel) and _real(p[1], op) != 0:
            return "gaussian"
        return "loss"
    if isinstance(op, _PASSIVE):
        return "passive"
    if isinstance(op, _GAUSSIAN):
        _params(op)
        return "gaussian"
    raise InputError(
        f"operation {_name(op)} has no counterpart in an Experiment (Gaussian operations, "
        f"then photon counting or threshold detection)")


def from_program(program, *, detector=None):
    """The Experiment of a Strawberry Fields program.

    The program may hold Gaussian operations, then photon counting or
    threshold detection; it splits into three parts:

    * Preparation: every operation that is neither passive nor a measurement
      (squeezers, displacements, state preparations, ``CXgate``,
      ``ThermalLossChannel`` with nbar > 0, ...) and every operation it
      depends on (earlier ones on its modes, recursively).  If that is one
      lone ``Sgate``/``Squeezed``, ``S2gate`` (on neighbouring modes),
      ``Coherent``/``Dgate``, ``Thermal`` or ``Vacuum`` per mode, these become
      the matching Sources, untouched modes :class:`~jiuzhang_emu.Vacuum`.
      Otherwise (``Gaussian`` preparations, squashed or displaced squeezed
      states, squeezers after beam splitters as in programs SF compiled,
      ...) the input is the GaussianState that SF's gaussian backend
      prepares from it (``Gaussian`` preparations run exactly, without
      decomposition).
    * Linear optics, the rest: ``Interferometer``, ``PassiveChannel``,
      ``BSgate``, ``Rgate``, ``MZgate``, ``sMZgate``, ``Fouriergate`` and
      ``LossChannel`` multiply into the transfer matrix; loss after a mode's
      last other linear-optical operation becomes that mode's detector
      efficiency.
    * Detection: ``MeasureFock`` gives photon-number-resolving detectors,
      ``MeasureThreshold`` threshold detectors; the measured modes, in the
      order measured, are the outputs.  Without measurement every mode is an
      output and the detector is :class:`~jiuzhang_emu.Threshold`, the
      Experiment default.

    Input modes that nothing prepares and from which no light reaches an
    output are dropped.  ``from_program(to_program(e))`` has the sources,
    transfer matrix, detector and so the output state of ``e``.

    Parameters
    ----------
    program : strawberryfields.Program
    detector : Detector, optional
        Use this detector model instead of the one the measurement implies;
        the program's loss in front of the detectors then stays in the
        transfer matrix.

    Returns
    -------
    Experiment

    Raises
    ------
    InputError
        Naming the operation: non-Gaussian operations, homodyne or
        heterodyne detection, post-selection, ``MeasureFock(dark_counts=...)``,
        both measurement kinds in one program, operations on a measured mode,
        parameters that depend on measurement results, creating or deleting
        modes.
    """
    if not isinstance(program, sf.Program):
        raise InputError(f"program must be a strawberryfields.Program, got "
                         f"{type(program).__name__}")
    if detector is not None and not isinstance(detector, Detector):
        raise InputError(f"detector must be a Detector (PhotonNumberResolving, Threshold, "
                         f"PseudoPNR), got {type(detector).__name__}")
    n = program.init_num_subsystems
    cmds = []  # (op, modes, kind)
    measured = []
    kind = None
    for cmd in _commands(program.circuit):
        op = cmd.op
        modes = [r.ind for r in cmd.reg]
        category = _classify(op, modes, n)
        after = [m for m in modes if m in measured]
        if after:
            raise InputError(f"operation {_name(op)} acts on mode {after[0]} after it was "
                             f"measured")
        if category == "measure":
            this = "fock" if isinstance(op, ops.MeasureFock) else "threshold"
            if kind not in (None, this):
                raise InputError("the program mixes MeasureFock and MeasureThreshold; an "
                                 "Experiment has one detector kind")
            kind = this
            measured.extend(modes)
        else:
            cmds.append((op, modes, category))

    # The preparation: the Gaussian operations and everything before them on
    # their modes, recursively; the rest is passive and commutes past it.
    preparation = np.zeros(len(cmds), dtype=bool)
    needed = set()
    for i in range(len(cmds) - 1, -1, -1):
        op, modes, category = cmds[i]
        if category == "gaussian" or needed.intersection(modes):
            preparation[i] = True
            needed.update(modes)
    source_cmds = [(op, modes) for (op, modes, _), prep in zip(cmds, preparation) if prep]

    U = np.eye(n, dtype=complex)  # a -> U a
    pending = np.ones(n)  # loss after each mode's last passive operation
    for (op, modes, category), prep in zip(cmds, preparation):
        if prep:
            continue
        idx = np.array(modes)
        if category == "loss":
            pending[idx] *= _real(_params(op)[0], op)
        else:
            G = _passive_matrix(op, len(modes))
            U[idx] = G @ (np.sqrt(pending[idx])[:, None] * U[idx])
            pending[idx] = 1.0

    out = np.array(measured if measured else range(n), dtype=np.intp)
    if detector is None:
        eta = pending[out]
        eta = float(eta[0]) if np.all(eta == eta[0]) else eta
        cls = PhotonNumberResolving if kind == "fock" else Threshold
        detector = cls(efficiency=eta)
        W = U[out]
    else:
        W = np.sqrt(pending[out])[:, None] * U[out]
    prepared = np.zeros(n, dtype=bool)
    for _, modes in source_cmds:
        prepared[modes] = True
    keep = prepared | np.any(W != 0, axis=0)
    if not keep.any():
        keep[0] = True
    kept = np.flatnonzero(keep)
    inputs = None
    if all(category == "gaussian" for (_, _, category), prep in zip(cmds, preparation) if prep):
        inputs = _sources(source_cmds, kept)
    if inputs is None:
        inputs = _source_state(source_cmds, n).reduced(kept)
    name = program.name if program.name else "strawberryfields_program"
    return Experiment(inputs, W[:, kept].T, detector, name=name,
                      provenance={"from": "Strawberry Fields program"})
