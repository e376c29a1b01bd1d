"""Strawberry Fields as an oracle, and Experiment <-> sf.Program.

Skipped where Strawberry Fields is not installed (the main test
environment); .ci/run runs it in a second environment with the ``sf`` extra
and sets JIUZHANG_EMU_EXPECT_SF=1, which turns the skip into a failure.
"""
import itertools
import os

import numpy as np
import pytest

if os.environ.get("JIUZHANG_EMU_EXPECT_SF"):
    import strawberryfields as sf  # must import: this environment has the extra
else:
    sf = pytest.importorskip("strawberryfields")

from strawberryfields import ops  # noqa: E402
from thewalrus import threshold_detection_prob  # noqa: E402

import jiuzhang_emu as jz  # noqa: E402
from jiuzhang_emu.errors import InputError  # noqa: E402
from jiuzhang_emu.interop.strawberryfields import from_program, to_program  # noqa: E402

pytestmark = pytest.mark.interop

#: Agreement required between our states and SF's (entries are O(1)-O(10)).
STATE_ATOL = 1e-10
#: Relative agreement required between probabilities.
PROB_RTOL = 1e-9


# -- helpers -------------------------------------------------------------------

def _without_measurements(program):
    n = program.init_num_subsystems
    bare = sf.Program(n)
    with bare.context as q:
        for cmd in program.circuit:
            if not isinstance(cmd.op, ops.Measurement):
                cmd.op | tuple(q[r.ind] for r in cmd.reg)
    return bare


def _sf_state(program):
    """SF's gaussian-backend state of a program's unmeasured circuit."""
    bare = _without_measurements(program)
    return sf.Engine("gaussian").run(bare, compile_options={"warn_connected": False}).state


def _sf_moments(program, modes=None):
    """(cov, means) of SF's state, hbar = 2 units, reduced to ``modes``."""
    state = _sf_state(program)
    n = state.num_modes
    modes = np.arange(n) if modes is None else np.asarray(modes)
    idx = np.concatenate([modes, modes + n])  # in the given order, unlike reduced_gaussian
    s = state.hbar / 2
    return state.cov()[np.ix_(idx, idx)] / s, state.means()[idx] / np.sqrt(s)


def _max_dev(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max())


def _assert_same_state(state, cov, means, atol=STATE_ATOL):
    assert _max_dev(state.cov, cov) <= atol
    assert _max_dev(state.means, means) <= atol


def _random_sources(n_in, rng, displaced):
    """A random mix of every source type filling ``n_in`` modes; a coherent
    state first when ``displaced``."""
    single = ["sms", "sms_eps", "squashed", "thermal", "vacuum"]
    double = ["tms", "tms_eps", "tm_squashed"]
    sources = [jz.Coherent(complex(*rng.normal(scale=0.6, size=2)))] if displaced else []
    left = n_in - len(sources)
    while left:
        kind = rng.choice(single + double if left >= 2 else single)
        r, phase = rng.uniform(0.1, 0.8), rng.uniform(-np.pi, np.pi)
        source = {
            "tms": lambda: jz.TwoModeSqueezer(r, phase),
            "tms_eps": lambda: jz.TwoModeSqueezer(r, phase, thermal_fraction=rng.uniform()),
            "sms": lambda: jz.SingleModeSqueezer(r, phase),
            "sms_eps": lambda: jz.SingleModeSqueezer(r, phase, thermal_fraction=rng.uniform()),
            "squashed": lambda: jz.Squashed(r, phase),
            "tm_squashed": lambda: jz.TwoModeSquashed(r, phase, correlation=rng.uniform()),
            "thermal": lambda: jz.Thermal(r),
            "vacuum": lambda: jz.Vacuum(),
        }[kind]()
        sources.append(source)
        left -= source.n_modes
    return sources


def _random_experiment(seed, n_in, n_out, *, displaced=False, detector="pnr", unitary=False,
                       gaussian_input=False):
    rng = np.random.default_rng(seed)
    size = max(n_in, n_out)
    U = jz.haar_unitary(size, rng=rng)
    T = U.T[:n_in, :n_out]
    if not unitary:
        T = jz.lossy_transfer_matrix(T, rng.uniform(0.4, 1.0, n_out),
                                     input_transmission=rng.uniform(0.6, 1.0, n_in))
    efficiency = 1.0 if unitary else rng.uniform(0.5, 1.0, n_out)
    det = {"pnr": jz.PhotonNumberResolving, "threshold": jz.Threshold}[detector]
    if gaussian_input:
        sources = jz.GaussianState(
            _random_covariance(n_in, rng),
            rng.normal(size=2 * n_in) if displaced else None)
    else:
        sources = _random_sources(n_in, rng, displaced)
    return jz.Experiment(sources, T, det(efficiency=efficiency), name=f"random{seed}")


def _random_covariance(n, rng):
    """A random mixed covariance (hbar = 2): S (nu-diagonal) S^T, S symplectic."""
    X = rng.normal(size=(2 * n, 2 * n)) * 0.3
    H = X + X.T
    Omega = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    w, V = np.linalg.eig(Omega @ H)
    S = (V @ np.diag(np.exp(w)) @ np.linalg.inv(V)).real  # exp(Omega H) is symplectic
    nu = np.concatenate([1 + rng.uniform(0, 1, n)] * 2)
    return S @ np.diag(nu) @ S.T


#: (seed, inputs, outputs, displaced, detector, unitary, gaussian_input)
CASES = [
    (1, 4, 4, False, "pnr", False, False),
    (2, 4, 4, True, "pnr", False, False),
    (3, 3, 5, False, "threshold", False, False),
    (4, 5, 3, True, "threshold", False, False),
    (5, 4, 4, False, "threshold", True, False),
    (6, 4, 4, True, "pnr", True, False),
    (7, 3, 3, False, "pnr", False, True),
    (8, 3, 4, True, "threshold", False, True),
    (9, 1, 1, True, "pnr", False, False),
    (10, 2, 2, False, "pnr", True, False),
]
CASE_IDS = [f"seed{c[0]}-{c[1]}to{c[2]}{'-disp' if c[3] else ''}-{c[4]}"
            f"{'-unitary' if c[5] else ''}{'-gaussian' if c[6] else ''}" for c in CASES]


@pytest.fixture(params=CASES, ids=CASE_IDS)
def experiment(request):
    seed, n_in, n_out, displaced, detector, unitary, gaussian_input = request.param
    return _random_experiment(seed, n_in, n_out, displaced=displaced, detector=detector,
                              unitary=unitary, gaussian_input=gaussian_input)


# -- Experiment -> Program: SF's state is ours ----------------------------------

def test_output_state_matches_sf(experiment):
    program = to_program(experiment)
    cov, means = _sf_moments(program, range(experiment.n_modes))
    _assert_same_state(experiment.output_state(), cov, means)


def test_input_state_matches_sf(experiment):
    """The sources alone (identity interferometer, no loss)."""
    bare = jz.Experiment(experiment.sources if experiment.sources is not None
                         else experiment.input_state(), np.eye(experiment.n_inputs))
    cov, means = _sf_moments(to_program(bare))
    _assert_same_state(experiment.input_state(), cov, means)


def test_program_structure():
    e = jz.Experiment([jz.TwoModeSqueezer(0.5, 0.1), jz.SingleModeSqueezer(0.3),
                       jz.Coherent(1j), jz.Thermal(0.2), jz.Vacuum()],
                      jz.haar_unitary(6, rng=3).T, jz.PhotonNumberResolving(efficiency=0.8))
    names = [type(cmd.op).__name__ for cmd in to_program(e).circuit]
    assert names == ["S2gate", "Sgate", "Coherent", "Thermal", "Interferometer"] + \
        ["LossChannel"] * 6 + ["MeasureFock"]
    lossy = jz.Experiment([jz.SingleModeSqueezer(0.3, thermal_fraction=0.1)], [[0.5, 0.5j]],
                          jz.Threshold())
    names = [type(cmd.op).__name__ for cmd in to_program(lossy).circuit]
    assert names == ["Gaussian", "PassiveChannel", "MeasureThreshold"]
    measured = [r.ind for r in to_program(lossy).circuit[-1].reg]
    assert measured == [0, 1]


def test_interferometer_is_transfer_matrix_transposed():
    U = jz.haar_unitary(3, rng=5)
    e = jz.Experiment([jz.Coherent(1), jz.Vacuum(), jz.Vacuum()], U.T, jz.PhotonNumberResolving())
    cmd = [c for c in to_program(e).circuit if isinstance(c.op, ops.Interferometer)][0]
    assert np.array_equal(cmd.op.p[0], U)
    # light in input 0 comes out as column 0 of U
    cov, means = _sf_moments(to_program(e))
    assert _max_dev((means[:3] + 1j * means[3:]) / 2, U[:, 0]) < 1e-14


def test_hbar_other_than_two(monkeypatch):
    e = _random_experiment(11, 3, 3, displaced=True, gaussian_input=False)
    g = _random_experiment(12, 2, 3, displaced=True, gaussian_input=True)
    monkeypatch.setattr(sf, "hbar", 1.0)
    for experiment in (e, g):
        program = to_program(experiment)
        state = _sf_state(program)
        assert state.hbar == 1.0
        cov, means = _sf_moments(program, range(experiment.n_modes))
        _assert_same_state(experiment.output_state(), cov, means)
        back = from_program(program)
        _assert_same_state(back.output_state(), experiment.output_state().cov,
                           experiment.output_state().means)


# -- probabilities against SF ----------------------------------------------------

def _patterns(n_modes, max_photons):
    for total in range(max_photons + 1):
        for pattern in itertools.product(range(total + 1), repeat=n_modes):
            if sum(pattern) == total:
                yield pattern


@pytest.mark.parametrize("seed, n_in, n_out, displaced", [
    (21, 3, 3, False), (22, 3, 3, True), (23, 2, 4, False), (24, 2, 4, True), (25, 4, 4, True),
])
def test_pnr_probabilities_match_sf_fock_prob(seed, n_in, n_out, displaced):
    e = _random_experiment(seed, n_in, n_out, displaced=displaced, detector="pnr")
    state = _sf_state(to_program(e))
    assert state.num_modes == n_out
    worst = 0.0
    for pattern in _patterns(n_out, 4):
        want = state.fock_prob(list(pattern), cutoff=sum(pattern) + 1)
        got = e.probability(pattern)
        assert abs(got - want) <= PROB_RTOL * max(want, 1e-12), (pattern, got, want)
        worst = max(worst, abs(got - want) / max(want, 1e-300))
    assert worst < PROB_RTOL


@pytest.mark.parametrize("seed, n_in, n_out, displaced, gaussian_input", [
    (31, 3, 3, False, False), (32, 3, 3, True, False), (33, 2, 5, False, False),
    (34, 4, 4, True, False), (35, 3, 3, True, True),
])
def test_threshold_probabilities_match_sf_state(seed, n_in, n_out, displaced, gaussian_input):
    """SF has no threshold probabilities; thewalrus (SF's own engine for them)
    evaluates them on SF's state."""
    e = _random_experiment(seed, n_in, n_out, displaced=displaced, detector="threshold",
                           gaussian_input=gaussian_input)
    cov, means = _sf_moments(to_program(e))
    total = 0.0
    for pattern in itertools.product((0, 1), repeat=n_out):
        want = float(np.real(threshold_detection_prob(means, cov, np.array(pattern), hbar=2)))
        got = e.probability(pattern)
        assert abs(got - want) <= PROB_RTOL * max(want, 1e-12), (pattern, got, want)
        total += got
    assert abs(total - 1) < 1e-10


@pytest.mark.parametrize("detector", ["pnr", "threshold"])
def test_program_compiles_for_gaussian_backend(detector):
    """Every operation, measurement included, is one SF's gaussian backend
    runs.  (Running it would sample, which costs half a minute of numba
    compilation in thewalrus; the unmeasured part runs in every other test.)"""
    e = _random_experiment(41, 3, 4, displaced=True, detector=detector)
    compiled = to_program(e).compile(compiler="gaussian")
    names = {type(cmd.op).__name__ for cmd in compiled.circuit}
    assert {"MeasureFock" if detector == "pnr" else "MeasureThreshold"} <= names


# -- round trips ------------------------------------------------------------------

def test_round_trip_output_state(experiment):
    back = from_program(to_program(experiment))
    _assert_same_state(back.output_state(), experiment.output_state().cov,
                       experiment.output_state().means)
    assert type(back.detector) is type(experiment.detector)
    assert back.n_modes == experiment.n_modes
    assert np.allclose(back.detector.efficiencies(back.n_modes),
                       experiment.detector.efficiencies(experiment.n_modes), rtol=0, atol=1e-15)


def _assert_same_sources(got, want):
    """Same types; parameters equal up to the rounding of SF's polar Coherent(|a|, arg a)."""
    assert [type(s) for s in got] == [type(s) for s in want]
    for g, w in zip(got, want):
        if isinstance(w, jz.Coherent):
            assert abs(g.alpha - w.alpha) < 1e-15
        else:
            assert g == w


def test_round_trip_keeps_sources_and_matrix():
    sources = [jz.TwoModeSqueezer(0.5, 0.3), jz.SingleModeSqueezer(0.2, -1.0),
               jz.Coherent(0.5 - 0.1j), jz.Thermal(0.3), jz.Vacuum()]
    T = jz.lossy_transfer_matrix(jz.haar_unitary(6, rng=9).T, 0.8)[:, :4]
    e = jz.Experiment(sources, T, jz.PhotonNumberResolving(efficiency=[0.9, 0.8, 0.7, 0.6]))
    back = from_program(to_program(e))
    _assert_same_sources(back.sources, sources)
    assert back.n_inputs == 6 and back.n_modes == 4
    assert _max_dev(back.transfer_matrix, T) == 0
    assert np.array_equal(back.detector.efficiency, [0.9, 0.8, 0.7, 0.6])
    assert back.name == e.name


def test_round_trip_drops_padding_vacuum():
    """More outputs than inputs: the program pads with vacuum inputs, which
    from_program drops again."""
    e = _random_experiment(51, 2, 5, displaced=True)
    back = from_program(to_program(e))
    assert back.n_inputs == e.n_inputs
    _assert_same_sources(back.sources, e.sources)
    assert _max_dev(back.transfer_matrix, e.transfer_matrix) == 0


def test_round_trip_gaussian_input():
    e = _random_experiment(52, 3, 3, displaced=True, gaussian_input=True)
    back = from_program(to_program(e))
    assert back.sources is None
    _assert_same_state(back.input_state(), e.input_state().cov, e.input_state().means, 1e-13)


# -- Program -> Experiment: SF's state is ours ------------------------------------

def _check_from_program(program, atol=STATE_ATOL):
    e = from_program(program)
    measured = [r.ind for cmd in program.circuit if isinstance(cmd.op, ops.Measurement)
                for r in cmd.reg]
    cov, means = _sf_moments(program, measured or None)
    _assert_same_state(e.output_state(), cov, means, atol)
    return e


def test_from_program_gates():
    U = jz.haar_unitary(3, rng=61)
    prog = sf.Program(4)
    with prog.context as q:
        ops.Sgate(0.4, 0.3) | q[0]
        ops.S2gate(-0.3, 0.2) | (q[1], q[2])
        ops.Dgate(0.5, 1.0) | q[3]
        ops.BSgate(0.3, 0.7) | (q[0], q[1])
        ops.BSgate(0.4, -0.2).H | (q[2], q[3])
        ops.Rgate(0.9) | q[1]
        ops.MZgate(0.3, 1.1) | (q[1], q[2])
        ops.sMZgate(0.5, 0.2) | (q[2], q[3])
        ops.MZgate(0.2, 0.6).H | (q[0], q[3])
        ops.Fouriergate() | q[0]
        ops.LossChannel(0.6) | q[2]
        ops.Interferometer(U) | (q[0], q[2], q[3])
        ops.PassiveChannel(0.9 * jz.haar_unitary(2, rng=62)) | (q[3], q[1])
        ops.ThermalLossChannel(0.8, 0.0) | q[1]
        ops.LossChannel(0.7) | q[0]
        ops.LossChannel(0.9) | q[0]
        ops.MeasureFock() | (q[2], q[0])
        ops.MeasureFock() | q[3]
    e = _check_from_program(prog)
    assert isinstance(e.detector, jz.PhotonNumberResolving)
    assert e.n_modes == 3 and e.n_inputs == 4
    assert np.allclose(e.detector.efficiency, [1.0, 0.63, 1.0], rtol=0, atol=1e-15)
    assert e.sources == (jz.SingleModeSqueezer(0.4, 0.3), jz.TwoModeSqueezer(0.3, 0.2 + np.pi),
                         jz.Coherent(0.5 * np.exp(1j)))


def test_from_program_general_gaussian_sources():
    """Preparations with no Source counterpart: the input becomes the state
    SF prepares."""
    prog = sf.Program(4)
    with prog.context as q:
        ops.DisplacedSqueezed(0.4, 0.3, 0.5, 0.1) | q[0]
        ops.Sgate(0.3) | q[1]
        ops.Dgate(0.2, 0.4) | q[1]
        ops.S2gate(0.5, 0.2) | (q[2], q[0])  # after another op on q[0], not neighbours
        ops.CXgate(0.3) | (q[3], q[1])
        ops.Xgate(0.4) | q[3]
        ops.Interferometer(jz.haar_unitary(4, rng=63)) | q
        ops.MeasureThreshold() | q
    e = _check_from_program(prog)
    assert e.sources is None and isinstance(e.detector, jz.Threshold)


@pytest.mark.parametrize("prepare", [
    lambda q: ops.Squeezed(0.5, 0.4) | q[0],
    lambda q: ops.Thermal(0.4) | q[0],
    lambda q: ops.Coherent(0.3, -0.4) | q[0],
    lambda q: ops.Vac | q[0],
    lambda q: ops.Gaussian(np.diag([2.0, 0.7]), np.array([0.1, -0.3])) | q[0],
    lambda q: ops.Sgate(0.4, 0.1).H | q[0],
])
def test_from_program_single_preparations(prepare):
    prog = sf.Program(2)
    with prog.context as q:
        prepare(q)
        ops.Sgate(0.2) | q[1]
        ops.BSgate() | (q[0], q[1])
    _check_from_program(prog)


def test_from_program_gaussian_operations_after_linear_optics():
    """A squeezer after a beam splitter: what it depends on joins the input
    state; the passive rest stays the transfer matrix."""
    prog = sf.Program(4)
    with prog.context as q:
        ops.Sgate(0.4) | q[0]
        ops.Sgate(0.3, 1.0) | q[3]
        ops.BSgate(0.5, 0.2) | (q[0], q[1])
        ops.LossChannel(0.5) | q[1]
        ops.Sgate(0.3) | q[1]
        ops.ThermalLossChannel(0.8, 0.3) | q[0]
        ops.BSgate(0.7, -0.4) | (q[1], q[2])
        ops.BSgate(0.2, 0.1) | (q[2], q[3])
        ops.LossChannel(0.9) | q[3]
        ops.MeasureThreshold() | q
    e = _check_from_program(prog)
    assert e.sources is None
    assert e.detector.efficiency.tolist() == [1.0, 1.0, 1.0, 0.9]


@pytest.mark.parametrize("eta", [1.0, 0.8])
def test_from_program_of_compiled_program(eta):
    """SF's gaussian compiler turns S2gates into beam splitters around Sgates
    and interferometers into BSgates and Rgates."""
    T = jz.lossy_transfer_matrix(jz.haar_unitary(5, rng=64).T, eta)
    e = jz.Experiment([jz.TwoModeSqueezer(0.5, 0.3), jz.SingleModeSqueezer(0.4, 1.0),
                       jz.Coherent(0.3 + 0.2j), jz.Squashed(0.3)], T,
                      jz.PhotonNumberResolving(efficiency=0.9))
    compiled = to_program(e).compile(compiler="gaussian")
    names = {type(cmd.op).__name__ for cmd in compiled.circuit}
    assert "S2gate" not in names and {"BSgate", "Sgate", "Gaussian"} <= names
    back = _check_from_program(compiled)
    _assert_same_state(back.output_state(), e.output_state().cov, e.output_state().means)


def test_from_program_without_measurement():
    prog = sf.Program(2)
    with prog.context as q:
        ops.S2gate(0.5) | q
        ops.LossChannel(0.5) | q[1]
    e = _check_from_program(prog)
    assert isinstance(e.detector, jz.Threshold)
    assert np.array_equal(e.detector.efficiency, [1.0, 0.5])
    pnr = from_program(prog, detector=jz.PhotonNumberResolving(efficiency=0.9))
    assert np.allclose(pnr.transfer_matrix, np.diag([1.0, np.sqrt(0.5)]), rtol=0, atol=1e-15)
    assert pnr.detector.efficiency == 0.9


# -- errors ----------------------------------------------------------------------

def test_pseudo_pnr_needs_measure_false():
    e = jz.Experiment([jz.TwoModeSqueezer(0.5)], np.eye(2), jz.PseudoPNR(n_detectors=4))
    with pytest.raises(InputError, match="pseudo-PNR.*measure=False"):
        to_program(e)
    cov, means = _sf_moments(to_program(e, measure=False))
    _assert_same_state(e.output_state(), cov, means)


@pytest.mark.parametrize("detector", [jz.PhotonNumberResolving, jz.Threshold])
def test_dark_counts_rejected(detector):
    e = jz.Experiment([jz.TwoModeSqueezer(0.5)], np.eye(2), detector(dark_count=[0.0, 1e-3]))
    with pytest.raises(InputError, match="dark_count"):
        to_program(e)
    to_program(e, measure=False)


def test_partly_distinguishable_sources_rejected():
    source = jz.TwoModeSqueezer(0.5, indistinguishability=0.9)
    with pytest.raises(InputError, match="indistinguishability"):
        to_program(jz.Experiment([source], np.eye(2)))


def test_to_program_rejects_non_experiment():
    with pytest.raises(InputError, match="experiment"):
        to_program("not an experiment")


def _program(body, n=2):
    prog = sf.Program(n)
    with prog.context as q:
        body(q)
    return prog


@pytest.mark.parametrize("body, message", [
    (lambda q: ops.MeasureHomodyne(0.0) | q[0], "MeasureHomodyne"),
    (lambda q: ops.Kgate(0.1) | q[0], "Kgate"),
    (lambda q: ops.Fock(1) | q[0], "Fock"),
    (lambda q: (ops.MeasureFock() | q[0], ops.MeasureThreshold() | q[1]), "mixes"),
    (lambda q: ops.MeasureFock(dark_counts=[0.1]) | q[0], "dark_counts"),
    (lambda q: ops.MeasureFock(select=[1]) | q[0], "select"),
    (lambda q: (ops.MeasureFock() | q[0], ops.Rgate(0.1) | q[0]), "Rgate acts on mode 0 after"),
    (lambda q: (ops.MeasureX | q[0], ops.Dgate(q[0].par) | q[1]), "MeasureHomodyne"),
])
def test_from_program_errors(body, message):
    with pytest.raises(InputError, match=message):
        from_program(_program(body))


def test_from_program_measurement_dependent_parameter():
    prog = sf.Program(2)
    with prog.context as q:
        ops.Sgate(0.3) | q[1]
        ops.Dgate(q[0].par) | q[1]
    with pytest.raises(InputError, match="measurement result"):
        from_program(prog)


def test_from_program_rejects_bad_arguments():
    with pytest.raises(InputError, match="strawberryfields.Program"):
        from_program("prog")
    with pytest.raises(InputError, match="detector"):
        from_program(sf.Program(1), detector="pnr")
