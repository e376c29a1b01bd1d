"""Experiment: the pipeline against thewalrus, efficiency as loss, marginals,
first moments, and bad input."""
import itertools

import numpy as np
import pytest
from thewalrus.symplectic import loss as tw_loss
from thewalrus.symplectic import passive_transformation

import jiuzhang_emu as jz
from jiuzhang_emu.errors import InputError

TOL = 1e-12
ONE = {"n_threads": 1}  # many small kernels: see test_detectors.py

DETECTORS = {
    "pnr": lambda **kw: jz.PhotonNumberResolving(**kw),
    "threshold": lambda **kw: jz.Threshold(**kw),
    "pseudo-pnr": lambda **kw: jz.PseudoPNR(n_detectors=3, **kw),
}


def _max_dev(A, B):
    return float(np.abs(np.asarray(A) - np.asarray(B)).max())


def _some_patterns(kind, n_modes):
    top = {"pnr": 2, "threshold": 1, "pseudo-pnr": 3}[kind]
    return [p for p in itertools.product(range(top + 1), repeat=n_modes) if sum(p) <= 4]


# --- pipeline -------------------------------------------------------------------------

@pytest.mark.parametrize("displaced", [False, True])
def test_output_state_matches_thewalrus(displaced, random_experiment):
    eta = np.array([0.9, 0.6, 1.0, 0.75])
    exp = random_experiment(4, 41, jz.Threshold(efficiency=eta), displaced=displaced)
    s = exp.input_state()
    assert s.n_modes == 4
    assert exp.n_inputs == 4 and exp.n_modes == 4
    mu, cov = passive_transformation(s.means, s.cov, exp.transfer_matrix.T)
    for j, t in enumerate(eta):
        mu, cov = tw_loss(mu, cov, t, j)
    out = exp.output_state()
    assert _max_dev(out.cov, cov) < TOL
    assert _max_dev(out.means, mu) < TOL
    assert _max_dev(exp.mean_photon_numbers(), out.mean_photon_numbers()) < TOL
    assert exp.mean_photon_number() == pytest.approx(out.mean_photon_number(), rel=1e-14)


def test_rectangular_transfer_matrix():
    """Jiuzhang 1.0-like: fewer inputs than outputs."""
    U = jz.haar_unitary(5, rng=3)
    T = U[:2, :]  # 2 inputs, 5 outputs, isometric
    exp = jz.Experiment([jz.TwoModeSqueezer(0.5)], T)
    assert exp.n_inputs == 2 and exp.n_modes == 5
    n = np.sinh(0.5) ** 2
    assert exp.mean_photon_number() == pytest.approx(2 * n, rel=1e-12)
    probs = [exp.probability(p, **ONE) for p in itertools.product((0, 1), repeat=5)]
    assert abs(sum(probs) - 1) < TOL


@pytest.mark.parametrize("kind", list(DETECTORS))
def test_gaussian_state_as_sources(kind, random_experiment):
    exp = random_experiment(3, 42, DETECTORS[kind](dark_count=0.05), displaced=True)
    direct = jz.Experiment(exp.input_state(), exp.transfer_matrix, exp.detector)
    assert direct.sources is None
    for p in _some_patterns(kind, 3):
        assert abs(direct.probability(p, **ONE) - exp.probability(p, **ONE)) < TOL


def test_single_source_and_default_detector():
    exp = jz.Experiment(jz.SingleModeSqueezer(0.6), [[1.0]])
    assert isinstance(exp.detector, jz.Threshold)
    assert exp.probability([0]) == pytest.approx(1 / np.cosh(0.6), rel=1e-12)


# --- detector efficiency is loss -------------------------------------------------------

@pytest.mark.parametrize("kind", list(DETECTORS))
@pytest.mark.parametrize("eta", [0.7, [0.9, 0.45, 1.0, 0.6]])
def test_efficiency_equals_extra_loss(kind, eta, random_experiment):
    base = random_experiment(4, 43, DETECTORS[kind](), displaced=True)
    with_eff = jz.Experiment(base.sources, base.transfer_matrix,
                             DETECTORS[kind](efficiency=eta, dark_count=0.02))
    scale = np.sqrt(np.broadcast_to(eta, (4,)))
    scaled = jz.Experiment(base.sources, base.transfer_matrix * scale[None, :],
                           DETECTORS[kind](dark_count=0.02))
    assert _max_dev(with_eff.output_state().cov, scaled.output_state().cov) < TOL
    for p in _some_patterns(kind, 4):
        assert abs(with_eff.probability(p, **ONE) - scaled.probability(p, **ONE)) < TOL
    assert with_eff.mean_clicks() == pytest.approx(scaled.mean_clicks(), abs=TOL)


# --- marginals ------------------------------------------------------------------------

@pytest.mark.parametrize("modes", [[1], [3, 0], [0, 2, 3]])
@pytest.mark.parametrize("dark_count", [0.0, [0.1, 0.0, 0.3, 0.05]])
def test_threshold_marginals(modes, dark_count, random_experiment):
    exp = random_experiment(4, 44, jz.Threshold(dark_count=dark_count), displaced=True)
    full = {p: exp.probability(p, **ONE) for p in itertools.product((0, 1), repeat=4)}
    for sub in itertools.product((0, 1), repeat=len(modes)):
        want = sum(prob for p, prob in full.items()
                   if all(p[m] == s for m, s in zip(modes, sub)))
        assert abs(exp.probability(sub, modes=modes, **ONE) - want) < TOL


@pytest.mark.parametrize("modes", [[2], [2, 0]])
def test_pseudo_pnr_marginals(modes, random_experiment):
    k = 2
    exp = random_experiment(3, 45, jz.PseudoPNR(n_detectors=k, dark_count=[0.0, 0.1, 0.2]),
                            displaced=True)
    full = {c: exp.probability(c, **ONE) for c in itertools.product(range(k + 1), repeat=3)}
    for sub in itertools.product(range(k + 1), repeat=len(modes)):
        want = sum(prob for c, prob in full.items()
                   if all(c[m] == s for m, s in zip(modes, sub)))
        assert abs(exp.probability(sub, modes=modes, **ONE) - want) < TOL


def test_pnr_marginal_is_reduced_state(random_experiment):
    exp = random_experiment(4, 46, jz.PhotonNumberResolving(), displaced=True)
    single = jz.Experiment(exp.output_state().reduced([2, 1]), np.eye(2),
                           jz.PhotonNumberResolving())
    for p in [(0, 0), (1, 0), (2, 1), (0, 3)]:
        assert abs(exp.probability(p, modes=[2, 1]) - single.probability(p)) < TOL


# --- first moments ---------------------------------------------------------------------

@pytest.mark.parametrize("displaced", [False, True])
@pytest.mark.parametrize("dark_count", [0.0, [0.1, 0.0, 0.3, 0.05]])
def test_threshold_mean_clicks(displaced, dark_count, random_experiment):
    exp = random_experiment(4, 47, jz.Threshold(dark_count=dark_count), displaced=displaced)
    clicks = exp.click_probabilities()
    assert exp.mean_clicks() == pytest.approx(clicks.sum(), abs=TOL)
    probs = {p: exp.probability(p, **ONE) for p in itertools.product((0, 1), repeat=4)}
    assert abs(exp.mean_clicks() - sum(sum(p) * q for p, q in probs.items())) < TOL
    for j in range(4):
        want = sum(q for p, q in probs.items() if p[j])
        assert abs(clicks[j] - want) < TOL


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("dark_count", [0.0, [0.1, 0.0, 0.3]])
def test_pseudo_pnr_mean_clicks(k, dark_count, random_experiment):
    exp = random_experiment(3, 48, jz.PseudoPNR(n_detectors=k, dark_count=dark_count),
                            displaced=True)
    probs = {c: exp.probability(c, **ONE) for c in itertools.product(range(k + 1), repeat=3)}
    assert abs(exp.mean_clicks() - sum(sum(c) * q for c, q in probs.items())) < TOL
    clicks = exp.click_probabilities()
    for j in range(3):
        want = sum(q for c, q in probs.items() if c[j] > 0)
        assert abs(clicks[j] - want) < TOL


# --- bad input -------------------------------------------------------------------------

@pytest.fixture
def small():
    """Three-mode experiments, one per detector model."""
    sources = [jz.TwoModeSqueezer(0.5), jz.SingleModeSqueezer(0.3)]
    U = jz.haar_unitary(3, rng=5)
    return {kind: jz.Experiment(sources, U, make()) for kind, make in DETECTORS.items()}


def test_input_error_is_value_error():
    assert issubclass(InputError, ValueError)


@pytest.mark.parametrize("kind, pattern, message", [
    ("threshold", [1, 0], "pattern"),
    ("threshold", [1, 0, 0, 0], "pattern"),
    ("pnr", [[1, 0, 0]], "pattern"),
    ("pnr", [1, -1, 0], "pattern"),
    ("pnr", [0.5, 0, 0], "pattern"),
    ("threshold", [0, -1, 0], "pattern"),
    ("threshold", [0, 2, 0], "pattern"),
    ("pseudo-pnr", [0, 4, 0], "pattern"),
    ("pseudo-pnr", [-1, 0, 0], "pattern"),
])
def test_bad_pattern(small, kind, pattern, message):
    with pytest.raises(InputError, match=message):
        small[kind].probability(pattern)


@pytest.mark.parametrize("modes", [[3], [-1], [0, 0]])
def test_bad_modes(small, modes):
    with pytest.raises(InputError, match="modes"):
        small["threshold"].probability([0] * len(modes), modes=modes)


def test_marginal_pattern_must_match_modes(small):
    with pytest.raises(InputError, match="pattern"):
        small["threshold"].probability([0, 1, 0], modes=[0, 1])


def test_bad_detector_parameters():
    with pytest.raises(InputError, match="efficiency"):
        jz.Threshold(efficiency=1.5)
    with pytest.raises(InputError, match="dark_count"):
        jz.PhotonNumberResolving(dark_count=-0.1)
    with pytest.raises(InputError, match="n_detectors"):
        jz.PseudoPNR(n_detectors=0)


def test_bad_per_mode_detector_arrays():
    U = jz.haar_unitary(3, rng=5)
    sources = [jz.TwoModeSqueezer(0.5), jz.SingleModeSqueezer(0.3)]
    with pytest.raises(InputError, match="efficiency"):
        jz.Experiment(sources, U, jz.Threshold(efficiency=[0.5, 0.5]))
    with pytest.raises(InputError, match="dark_count"):
        jz.Experiment(sources, U, jz.Threshold(dark_count=[0.1] * 4))


def test_bad_transfer_matrix():
    sources = [jz.TwoModeSqueezer(0.5), jz.SingleModeSqueezer(0.3)]
    with pytest.raises(InputError, match="transfer_matrix"):
        jz.Experiment(sources, jz.haar_unitary(4, rng=1))  # 4 rows for 3 inputs
    with pytest.raises(InputError, match="transfer_matrix"):
        jz.Experiment(sources, 1.01 * jz.haar_unitary(3, rng=1))  # not contractive
    with pytest.raises(InputError, match="transfer_matrix"):
        jz.Experiment(sources, np.full((3, 3), np.nan))


def test_bad_sources():
    U = jz.haar_unitary(2, rng=1)
    with pytest.raises(InputError, match="sources"):
        jz.Experiment([jz.SingleModeSqueezer(0.3), "vacuum"], U)
    with pytest.raises(InputError, match="sources"):
        jz.Experiment([jz.SingleModeSqueezer(0.3), jz.GaussianState.vacuum(1)], U)
    with pytest.raises(InputError, match="sources"):
        jz.Experiment([], U)


def test_bad_detector_type():
    with pytest.raises(InputError, match="detector"):
        jz.Experiment([jz.SingleModeSqueezer(0.3)], [[1.0]], detector="threshold")
