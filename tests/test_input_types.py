"""Public constructors refuse bad types with InputError naming the parameter,
the expected and the actual value; booleans are not numbers; detectors with
dark-count probability 1 click whatever the light (issue 13, item 12)."""
import itertools

import numpy as np
import pytest

import jiuzhang_emu as jz
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.kernels.checks import check_integer, check_real
from jiuzhang_emu.states import GaussianState

T2 = np.eye(2)

# (constructor of one argument, the parameter name its message must carry)
NUMBER_PARAMETERS = [
    (lambda v: jz.SingleModeSqueezer(v), "r"),
    (lambda v: jz.SingleModeSqueezer(0.5, v), "phase"),
    (lambda v: jz.SingleModeSqueezer(0.5, thermal_fraction=v), "thermal_fraction"),
    (lambda v: jz.SingleModeSqueezer(0.5, indistinguishability=v), "indistinguishability"),
    (lambda v: jz.TwoModeSqueezer(v), "r"),
    (lambda v: jz.TwoModeSqueezer(0.5, v), "phase"),
    (lambda v: jz.Thermal(v), "mean_photons"),
    (lambda v: jz.Squashed(v), "mean_photons"),
    (lambda v: jz.Squashed(0.5, v), "phase"),
    (lambda v: jz.TwoModeSquashed(v), "mean_photons"),
    (lambda v: jz.TwoModeSquashed(0.5, correlation=v), "correlation"),
    (lambda v: jz.Coherent(v), "alpha"),
    (lambda v: jz.Threshold(efficiency=v), "efficiency"),
    (lambda v: jz.Threshold(dark_count=v), "dark_count"),
    (lambda v: jz.PhotonNumberResolving(dark_count=v), "dark_count"),
    (lambda v: jz.PseudoPNR(efficiency=v), "efficiency"),
    (lambda v: jz.Mesh(2, ((0, 1, v, 0.0),), np.zeros(2)), "theta"),
    (lambda v: jz.lossy_transfer_matrix(T2, v), "transmission"),
    (lambda v: GaussianState.vacuum(1).loss(v), "transmission"),
    (lambda v: GaussianState.vacuum(1).displace(v), "alpha"),
]

NOT_NUMBERS = [None, True, False, np.True_, "x", "0.5", [0.5, "x"], object()]


@pytest.mark.parametrize("build, name", NUMBER_PARAMETERS)
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=repr)
def test_number_parameters_refuse_non_numbers(build, name, value):
    with pytest.raises(InputError, match=rf"{name}.* must .*got "):
        build(value)


@pytest.mark.parametrize("build, name", NUMBER_PARAMETERS[:11])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_real_parameters_refuse_non_finite(build, name, value):
    with pytest.raises(InputError, match=rf"{name} must .*got "):
        build(value)


@pytest.mark.parametrize("build, name", [
    (lambda v: jz.SingleModeSqueezer(v), "r"),
    (lambda v: jz.TwoModeSqueezer(v), "r"),
    (lambda v: jz.Thermal(v), "mean_photons"),
    (lambda v: jz.Squashed(v), "mean_photons"),
    (lambda v: jz.SingleModeSqueezer(0.5, thermal_fraction=v), "thermal_fraction"),
    (lambda v: jz.Threshold(dark_count=v), "dark_count"),
])
def test_negative_values_are_refused(build, name):
    with pytest.raises(InputError, match=rf"{name} must .*got -0\.5"):
        build(-0.5)


def test_reproducers():
    """Was: TypeError for None and 2.5, r = True accepted as r = 1."""
    with pytest.raises(InputError, match=r"r must be a number in \[0, 4\].*got None"):
        jz.SingleModeSqueezer(None)
    with pytest.raises(InputError, match=r"r must be .*got True"):
        jz.SingleModeSqueezer(True)
    with pytest.raises(InputError, match=r"n_modes must be an integer >= 0, got 2\.5"):
        GaussianState.vacuum(2.5)
    with pytest.raises(InputError, match=r"sources must be a Source, a sequence of Sources or "
                                         r"a GaussianState, got None"):
        jz.Experiment(None, T2)


@pytest.mark.parametrize("value", [None, True, 2.5, 2.0, "2", -1, np.nan])
def test_integer_parameters(value):
    with pytest.raises(InputError, match=r"n_modes must be an integer >= 0, got "):
        GaussianState.vacuum(value)
    with pytest.raises(InputError, match=r"n_detectors must be an integer >= 1, got "):
        jz.PseudoPNR(n_detectors=value)
    with pytest.raises(InputError, match=r"n_modes must be a positive integer, got "):
        jz.haar_unitary(value)
    with pytest.raises(InputError, match=r"beam_splitters\[0\] (mode_a must be an integer|must "
                                         r"act on two distinct modes)"):
        jz.Mesh(2, ((value, 1, 0.1, 0.0),), np.zeros(2))


def test_numpy_scalars_are_numbers():
    assert jz.SingleModeSqueezer(np.float32(0.5)).r == 0.5
    assert jz.SingleModeSqueezer(np.int64(1)).r == 1.0
    assert jz.PseudoPNR(n_detectors=np.int32(3)).n_detectors == 3
    assert GaussianState.vacuum(np.int64(2)).n_modes == 2
    assert jz.Coherent(np.complex128(1j)).alpha == 1j


@pytest.mark.parametrize("build, match", [
    (lambda: jz.Experiment([jz.TwoModeSqueezer(0.5)], T2, name=3), "name must be a str, got 3"),
    (lambda: jz.Experiment([jz.TwoModeSqueezer(0.5)], T2, provenance="x"),
     "provenance must be a dict or None, got 'x'"),
    (lambda: jz.Experiment("ab", T2), "sources must be .*got 'ab'"),
    (lambda: jz.Experiment([jz.TwoModeSqueezer(0.5)], None), "transfer_matrix must"),
    (lambda: jz.Experiment([jz.TwoModeSqueezer(0.5)], T2, "threshold"),
     "detector must be a Detector"),
    (lambda: GaussianState(None), "cov must"),
    (lambda: GaussianState(np.eye(2), [True, False]), "means must be finite real numbers"),
    (lambda: GaussianState.from_complex(None), "sigma must hold real or complex numbers"),
    (lambda: GaussianState.from_complex(np.eye(3) / 2), "sigma must be a square matrix of even"),
    (lambda: GaussianState.from_complex(np.eye(2) / 2, [1, 2]), r"alpha must have shape \(1,\)"),
    (lambda: GaussianState.from_moments("x", [[0]]), "N must hold real or complex numbers"),
    (lambda: GaussianState.from_moments([[0]], [[0, 0]]), "N and M must be square matrices"),
    (lambda: GaussianState.vacuum(2).displace([1, 2, 3]), r"alpha must be a scalar or have"),
    (lambda: jz.Mesh(2, None, np.zeros(2)), "beam_splitters must be a sequence"),
    (lambda: jz.Mesh(2, ((0, 1, 0.1),), np.zeros(2)), "beam_splitters must be a sequence"),
    (lambda: jz.Mesh(2, (), ["a", "b"]), "output_phases must be 2 finite real numbers"),
    (lambda: jz.Mesh.from_parameters(2, ["x"], [0.1], [0, 0]), "thetas must hold real angles"),
    (lambda: jz.clements_decomposition("x"), "U must hold real or complex numbers"),
    (lambda: jz.load_transfer_matrix(None), "path must be a str or os.PathLike, got None"),
])
def test_structured_parameters(build, match):
    with pytest.raises(InputError, match=match):
        build()


def test_check_real_and_check_integer_messages():
    with pytest.raises(InputError, match=r"^x must be a finite real number >= 0 and <= 1, "
                                         r"got True$"):
        check_real(True, "x", low=0, high=1)
    with pytest.raises(InputError, match=r"^x must be a finite real number > 0, got 0\.0$"):
        check_real(0.0, "x", low=0, low_open=True)
    with pytest.raises(InputError, match=r"^k must be an integer >= 1 and <= 3, got 4$"):
        check_integer(4, "k", low=1, high=3)
    assert check_real(np.float64(2.5), "x") == 2.5 and type(check_real(2, "x")) is float
    assert check_integer(np.int8(3), "k") == 3


# --- dark-count probability 1 ------------------------------------------------------

def _click_oracle(experiment, pattern):
    """Inclusion-exclusion over vacuum probabilities of the output state, each
    dark detector also needing no dark count (probability 1 - d)."""
    state, d = experiment.output_state(), experiment._dark_count
    clicks = [j for j in range(len(pattern)) if pattern[j]]
    dark = [j for j in range(len(pattern)) if not pattern[j]]
    total = 0.0
    for size in range(len(clicks) + 1):
        for Z in itertools.combinations(clicks, size):
            empty = dark + list(Z)
            vacuum = state.reduced(empty).vacuum_probability() if empty else 1.0
            total += (-1) ** size * np.prod(1 - d[empty]) * vacuum
    return total


def test_threshold_dark_count_one_reproducer():
    """Was: 'I - O must be positive definite' although the answer is 1."""
    e = jz.Experiment([jz.SingleModeSqueezer(1.0)] * 4, np.eye(4), jz.Threshold(dark_count=1))
    assert e.probability([1] * 4) == 1.0
    assert e.probability([0, 1, 1, 1]) == 0.0
    assert np.all(e.sample(20, rng=1).patterns == 1)


def test_pseudo_pnr_dark_count_one():
    e = jz.Experiment([jz.SingleModeSqueezer(1.0)] * 2, haar_unitary(2, rng=1),
                      jz.PseudoPNR(n_detectors=3, dark_count=1))
    assert e.probability([3, 3]) == 1.0
    assert e.probability([2, 3]) == 0.0
    assert np.all(e.sample(20, rng=1).patterns == 3)


@pytest.mark.parametrize("dark_count", [1.0, [1.0, 0.3, 0.0, 1.0], [0.5, 1.0, 1 - 1e-6, 0.2],
                                        1 - 1e-9, 0.999, 1e-12])
def test_threshold_dark_counts_up_to_one_against_oracle(dark_count):
    e = jz.Experiment([jz.SingleModeSqueezer(1.0, 0.3)] * 2 + [jz.Coherent(0.5)] * 2,
                      haar_unitary(4, rng=5), jz.Threshold(dark_count=dark_count))
    for pattern in ([1, 1, 1, 1], [0, 1, 1, 1], [1, 0, 1, 0], [1, 1, 1, 0]):
        exact = _click_oracle(e, pattern)
        assert e.probability(pattern) == pytest.approx(exact, rel=1e-9, abs=1e-15), pattern


def test_pseudo_pnr_dark_count_one_on_some_modes():
    """A dark-count-1 pseudo-PNR mode reports k clicks and drops out."""
    T = haar_unitary(3, rng=2)
    sources = [jz.SingleModeSqueezer(0.8), jz.SingleModeSqueezer(0.5, 1.0), jz.Coherent(0.4)]
    e = jz.Experiment(sources, T, jz.PseudoPNR(n_detectors=2, dark_count=[0.1, 1.0, 0.0]))
    marginal = jz.Experiment(sources, T, jz.PseudoPNR(n_detectors=2, dark_count=[0.1, 0.0, 0.0]))
    for c0, c2 in itertools.product(range(3), range(3)):
        expected = marginal.probability([c0, c2], modes=[0, 2])
        assert e.probability([c0, 2, c2]) == pytest.approx(expected, rel=1e-12, abs=1e-16)
        assert e.probability([c0, 1, c2]) == 0.0


def test_dark_count_one_with_partly_distinguishable_sources():
    sources = [jz.SingleModeSqueezer(1.0, indistinguishability=0.5), jz.SingleModeSqueezer(0.6)]
    T = haar_unitary(2, rng=3) * 0.9
    e = jz.Experiment(sources, T, jz.Threshold(dark_count=[1.0, 0.2]))
    marginal = jz.Experiment(sources, T, jz.Threshold(dark_count=[0.0, 0.2]))
    for c in (0, 1):
        assert e.probability([1, c]) == pytest.approx(
            marginal.probability([c], modes=[1]), rel=1e-10)
        assert e.probability([0, c]) == 0.0


def test_photon_number_resolving_dark_count_one():
    """Every detector adds one count: p(n + 1) is the light's p(n)."""
    e = jz.Experiment([jz.SingleModeSqueezer(1.0)] * 4, np.eye(4),
                      jz.PhotonNumberResolving(dark_count=1))
    assert e.probability([1] * 4) == pytest.approx(np.cosh(1.0) ** -4, rel=1e-12)
    assert e.probability([0, 1, 1, 1]) == 0.0
    assert np.all(e.sample(20, rng=1).patterns >= 1)
