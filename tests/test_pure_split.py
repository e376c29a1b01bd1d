"""Tests of jiuzhang_emu.pure_split: the pure + classical split of a lossy state.

Every split is checked for V_p pure (det 1 to 1e-8 relative, symplectic
eigenvalues 1), W >= -tol ||V|| and V_p + W = V, on random lossy experiments
for every method that applies; the photon numbers are ordered
sdp <= closed-form <= williamson, and the closed form reaches the SDP
optimum on uniform loss (to SCS's tolerance).
"""
import sys

import numpy as np
import pytest

from jiuzhang_emu import presets
from jiuzhang_emu import pure_split as ps
from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import haar_unitary
from jiuzhang_emu.pure_split import (PureSplit, check_split, split_pure,
                                     symplectic_eigenvalues)
from jiuzhang_emu.sources import (Coherent, SingleModeSqueezer, Thermal, TwoModeSqueezer,
                                  Vacuum)

TOL = 1e-7
#: SCS (eps 1e-7) plus the margin delta M/2 photons: the SDP's photon error.
SDP_ATOL = 2e-5


def _sources(rng, n, *, two_mode=True):
    """A mixed list of sources on n input modes: squeezers (some thermalised,
    some rotated), two-mode squeezers, thermal, coherent and vacuum."""
    sources, k = [], 0
    while k < n:
        kind = rng.integers(5) if two_mode and k + 1 < n else rng.integers(4)
        if kind == 0:
            sources.append(SingleModeSqueezer(rng.uniform(0.3, 1.2), rng.uniform(0, 2 * np.pi),
                                              thermal_fraction=rng.uniform(0, 0.5)))
        elif kind == 1:
            sources.append(Thermal(rng.uniform(0, 0.5)))
        elif kind == 2:
            sources.append(Coherent(complex(*rng.normal(size=2))))
        elif kind == 3:
            sources.append(Vacuum() if rng.random() < 0.3 else SingleModeSqueezer(1.0))
        else:
            sources.append(TwoModeSqueezer(rng.uniform(0.3, 1.2),
                                           thermal_fraction=rng.choice([0.0, 0.3])))
        k += sources[-1].n_modes
    return sources


def _experiment(seed, n, where):
    """Random unitary x random losses: on the outputs ("output", no closed
    form) or on the inputs, equal on each two-mode squeezer ("input")."""
    rng = np.random.default_rng(seed)
    sources = _sources(rng, n)
    U = haar_unitary(n, rng=rng)
    if where == "output":
        T = U.T * np.sqrt(rng.uniform(0.2, 0.9, n))[None, :]
        return Experiment(sources, T, Threshold(efficiency=0.9))
    eta, k = np.empty(n), 0
    for source in sources:
        eta[k:k + source.n_modes] = rng.uniform(0.2, 0.9)
        k += source.n_modes
    return Experiment(sources, np.sqrt(eta)[:, None] * U.T, Threshold(efficiency=0.8))


def _assert_valid(split, state, tol=TOL):
    V = state.cov
    scale = max(1.0, np.linalg.norm(V, 2))
    sign, logdet = np.linalg.slogdet(split.pure_cov)
    assert sign == 1 and abs(logdet) < 1e-8
    np.testing.assert_allclose(symplectic_eigenvalues(split.pure_cov), 1, atol=1e-8)
    assert np.linalg.eigvalsh(split.noise_cov).min() >= -tol * scale
    np.testing.assert_allclose(split.pure_cov + split.noise_cov, V, rtol=0, atol=tol * scale)
    np.testing.assert_array_equal(split.means, state.means)
    check_split(split, state, tol)


CASES = [(seed, n, where) for seed, n in ((1, 2), (2, 3), (3, 5), (4, 8))
         for where in ("output", "input")]


@pytest.mark.parametrize("seed,n,where", CASES)
def test_every_method_gives_a_valid_split(seed, n, where):
    experiment = _experiment(seed, n, where)
    state = experiment.output_state()
    methods = ["williamson", "sdp", "auto"]
    assert ps.closed_form_applies(experiment) == (where == "input")
    if where == "input":
        methods.append("closed-form")
    photons = {}
    for method in methods:
        split = split_pure(experiment, method)
        _assert_valid(split, state)
        photons[method] = split.pure_photons
        assert split.method == (method if method != "auto" else
                                "closed-form" if where == "input" else "sdp")
    assert photons["sdp"] <= photons.get("closed-form", np.inf) + SDP_ATOL
    assert photons.get("closed-form", photons["sdp"]) <= photons["williamson"] + TOL
    assert photons["sdp"] <= photons["williamson"] + TOL


@pytest.mark.parametrize("make", [
    lambda: presets.random_experiment(6, r=0.9, transmission=0.4, rng=3),
    lambda: presets.jiuzhang_like(6, r=1.1, transmission=0.3, rng=4),
    lambda: Experiment([SingleModeSqueezer(0.8, 0.4, thermal_fraction=0.2),
                        TwoModeSqueezer(1.0), Thermal(0.3)],
                       haar_unitary(4, rng=5).T * np.sqrt(0.5), Threshold(efficiency=0.7)),
])
def test_closed_form_reaches_the_sdp_optimum_on_uniform_loss(make):
    experiment = make()
    closed, sdp = split_pure(experiment, "closed-form"), split_pure(experiment, "sdp")
    assert closed.pure_photons == pytest.approx(sdp.pure_photons, abs=SDP_ATOL)
    assert closed.pure_photons < split_pure(experiment, "williamson").pure_photons
    np.testing.assert_allclose(closed.pure_cov, sdp.pure_cov, atol=1e-2)


def test_single_mode_closed_form():
    """A squeezed vacuum (variances e^-2r, e^2r) after loss eta: V_p has
    variances (b, 1/b), b = eta e^-2r + 1 - eta; W the rest of the
    anti-squeezed quadrature."""
    r, eta = 0.7, 0.4
    experiment = Experiment([SingleModeSqueezer(r)], [[np.sqrt(eta)]])
    split = split_pure(experiment, "closed-form")
    b, a = eta * np.exp(-2 * r) + 1 - eta, eta * np.exp(2 * r) + 1 - eta
    np.testing.assert_allclose(split.pure_cov, np.diag([b, 1 / b]), atol=1e-14)
    np.testing.assert_allclose(split.noise_cov, np.diag([0, a - 1 / b]), atol=1e-14)
    assert split.pure_photons == pytest.approx((b + 1 / b) / 4 - 0.5)


@pytest.mark.parametrize("method", ["auto", "sdp", "closed-form", "williamson"])
def test_pure_state_has_no_noise(method):
    rng = np.random.default_rng(11)
    sources = [SingleModeSqueezer(0.8, 0.3), TwoModeSqueezer(0.6), Coherent(0.5 - 0.2j)]
    experiment = Experiment(sources, haar_unitary(4, rng=rng).T)
    state = experiment.output_state()
    split = split_pure(experiment, method)
    _assert_valid(split, state)
    np.testing.assert_allclose(split.noise_cov, 0, atol=2e-6)
    np.testing.assert_allclose(split.pure_cov, state.cov, atol=2e-6)
    if method in ("williamson", "closed-form", "auto"):
        np.testing.assert_allclose(split.noise_cov, 0, atol=1e-12)


@pytest.mark.parametrize("method", ["auto", "sdp", "williamson"])
def test_gaussian_state_input(method):
    state = _experiment(7, 4, "output").output_state()
    split = split_pure(state, method)
    _assert_valid(split, state)
    assert split.method == ("sdp" if method == "auto" else method)
    with pytest.raises(InputError, match="closed form needs an Experiment"):
        split_pure(state, "closed-form")


def test_partly_distinguishable_light_is_split_as_a_state():
    sources = [TwoModeSqueezer(0.8, indistinguishability=0.7), SingleModeSqueezer(0.5)]
    experiment = Experiment(sources, haar_unitary(3, rng=2).T * np.sqrt(0.5))
    assert experiment.internal_modes == 2
    with pytest.raises(InputError, match="internal_modes = 2"):
        split_pure(experiment, "closed-form")
    split = split_pure(experiment)
    assert split.method == "sdp" and split.n_modes == 6
    _assert_valid(split, experiment.output_state())


@pytest.mark.statistical
def test_displacements_match_means_and_noise():
    """Sample mean and covariance of mu = 2 (Re alpha, Im alpha) against
    (means, W): per entry |z| < 4.5 (two-sided 7e-6 each, ~50 entries)."""
    experiment = _experiment(5, 3, "input")
    split = split_pure(experiment, "closed-form")
    shots = 20_000
    alpha = split.displacements(np.random.default_rng(21), size=shots)
    assert alpha.shape == (shots, 3) and alpha.dtype == np.complex128
    mu = 2 * np.concatenate([alpha.real, alpha.imag], axis=1)
    W, m = split.noise_cov, split.means
    d = np.sqrt(np.clip(np.diag(W), 0, None))
    mean_error = mu.mean(axis=0) - m
    live = d > 1e-9
    assert np.all(np.abs(mean_error[live] / (d[live] / np.sqrt(shots))) < 4.5)
    assert np.all(np.abs(mean_error[~live]) < 1e-9)
    centred = mu - m
    cov_hat = centred.T @ centred / shots
    sd = np.sqrt((np.outer(d, d) ** 2 + W ** 2) / shots)
    ok = sd > 1e-12
    assert np.all(np.abs((cov_hat - W)[ok] / sd[ok]) < 4.5)
    # a wrong model is caught: W scaled by 1.1 gives |z| ~ 14 on the diagonal
    i = int(np.argmax(np.diag(W)))
    assert abs(cov_hat[i, i] - 1.1 * W[i, i]) / sd[i, i] > 4.5


def test_displacements_are_reproducible_and_follow_the_convention():
    split = split_pure(Experiment([Coherent(0.3 + 0.4j), Thermal(0.2)], np.eye(2) * 0.5))
    a = split.displacements(np.random.default_rng(3), size=5)
    b = split.displacements(np.random.default_rng(3), size=5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, split.displacements(3, size=5))
    assert split.displacements(1, size=0).shape == (0, 2)
    # alpha = (mu_x + i mu_p) / 2: the first mode is a coherent state, so its
    # alpha is fixed at the (lossy) amplitude
    np.testing.assert_allclose(a[:, 0], np.sqrt(0.25) * (0.3 + 0.4j), atol=1e-12)
    with pytest.raises(InputError, match="size"):
        split.displacements(1, size=-1)


def test_bad_input():
    experiment = _experiment(1, 4, "output")
    with pytest.raises(InputError, match="method must be one of"):
        split_pure(experiment, "svd")
    with pytest.raises(InputError, match="Experiment or a GaussianState"):
        split_pure(np.eye(4))
    with pytest.raises(InputError, match="tol"):
        split_pure(experiment, tol=0)
    with pytest.raises(InputError, match="does not commute to the inputs"):
        split_pure(experiment, "closed-form")
    unequal = Experiment([TwoModeSqueezer(0.5)], np.diag(np.sqrt([0.5, 0.6])))
    with pytest.raises(InputError, match="unequal transmissions"):
        split_pure(unequal, "closed-form")
    assert split_pure(unequal).method == "sdp"
    with pytest.raises(InputError, match="PureSplit"):
        check_split("split", experiment)


def test_check_split_says_what_is_wrong():
    experiment = _experiment(2, 3, "output")
    state = experiment.output_state()
    good = split_pure(experiment, "williamson")
    n = good.pure_cov.shape[0]
    shift = np.zeros((n, n))
    shift[0, 0] = 1e-3
    lam, U = np.linalg.eigh(good.noise_cov)
    dent = (lam[0] + 1e-3) * np.outer(U[:, 0], U[:, 0])
    with pytest.raises(InputError, match="W is not positive semidefinite"):
        check_split(PureSplit(good.pure_cov, good.noise_cov - dent,
                              good.means, "test"), state)
    with pytest.raises(InputError, match="V_p is not pure"):
        check_split(PureSplit(1.01 * good.pure_cov, good.noise_cov, good.means, "test"), state)
    with pytest.raises(InputError, match=r"V_p \+ W != V"):
        check_split(PureSplit(good.pure_cov, good.noise_cov + shift, good.means, "test"), state)
    with pytest.raises(InputError, match="means"):
        check_split(PureSplit(good.pure_cov, good.noise_cov, good.means + 1, "test"), state)


def test_without_cvxpy(monkeypatch):
    experiment = _experiment(3, 3, "output")
    monkeypatch.setitem(sys.modules, "cvxpy", None)
    with pytest.raises(ImportError, match=r'pip install "jiuzhang-emu\[sdp\]"'):
        split_pure(experiment, "sdp")
    with pytest.raises(InputError, match=r"jiuzhang-emu\[sdp\]"):
        split_pure(experiment, "sdp")
    monkeypatch.setattr(ps, "sdp_available", lambda: False)
    assert split_pure(experiment).method == "williamson"


def test_auto_uses_williamson_above_the_sdp_limit(monkeypatch):
    experiment = _experiment(3, 3, "output")
    monkeypatch.setattr(ps, "SDP_MAX_MODES", 2)
    assert split_pure(experiment).method == "williamson"


@pytest.mark.slow
def test_jiuzhang1_sdp():
    experiment = presets.jiuzhang1()
    split = split_pure(experiment, "sdp")
    _assert_valid(split, experiment.output_state())
    assert split.pure_photons < 3
    assert split_pure(experiment, "williamson").pure_photons > 18


def test_auto_falls_back_to_williamson_when_the_sdp_fails(monkeypatch):
    experiment = _experiment(3, 3, "output")

    def fail(state, tol):
        raise InputError("no valid split")

    monkeypatch.setattr(ps, "_sdp", fail)
    split = split_pure(experiment)
    assert split.method == "williamson" and split.info["sdp_failed"] == "no valid split"
    with pytest.raises(InputError, match="no valid split"):
        split_pure(experiment, "sdp")


def test_mixed_modes_bound_the_sdp():
    """Squeezed light through a lossy interferometer: V - I has rank <= 2
    inputs, so at most `inputs` modes are mixed."""
    experiment = Experiment([TwoModeSqueezer(0.9)], haar_unitary(6, rng=1).T[:2] * 0.6)
    assert ps.mixed_modes(experiment.output_state()) == 2
    assert split_pure(experiment, "sdp").info["mixed_modes"] == 2
