"""GaussianState against thewalrus (xxpp, hbar = 2, vacuum = identity).

thewalrus's transfer matrices are (outputs, inputs); ours are
(inputs, outputs), so ``passive_transformation`` gets T.T.
"""
import numpy as np
import pytest
from thewalrus.quantum import (
    Amat,
    Beta,
    Qmat,
    density_matrix_element,
    photon_number_covmat,
    photon_number_mean_vector,
    reduced_gaussian,
)
from thewalrus.symplectic import loss as tw_loss
from thewalrus.symplectic import passive_transformation

import jiuzhang_emu as jz
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.states import GaussianState, check_covariance

TOL = 1e-12


def _max_dev(A, B):
    return float(np.abs(np.asarray(A) - np.asarray(B)).max())


def _random_state(n_modes, seed, thewalrus_covariance, displaced=True):
    """A random mixed (thewalrus.random.random_covariance) state with random means."""
    cov = thewalrus_covariance(n_modes, seed)
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=0.7, size=2 * n_modes) if displaced else None
    return GaussianState(cov, means)


# --- construction and checks -------------------------------------------------

@pytest.mark.parametrize("m", [1, 3])
def test_vacuum(m):
    s = GaussianState.vacuum(m)
    assert s.n_modes == m
    assert np.array_equal(s.cov, np.eye(2 * m))
    assert np.array_equal(s.means, np.zeros(2 * m))
    assert s.purity() == pytest.approx(1, abs=TOL)
    assert s.is_pure()
    assert not s.is_displaced()
    assert s.vacuum_probability() == pytest.approx(1, abs=TOL)
    assert _max_dev(s.mean_photon_numbers(), 0) < TOL
    assert _max_dev(s.q_matrix(), np.eye(2 * m)) < TOL
    assert _max_dev(s.o_matrix(), 0) < TOL


@pytest.mark.parametrize(
    "cov",
    [
        np.diag([0.5, 0.5]),  # x and p both below vacuum: Var x Var p < 1
        np.diag([0.5, 1.9]),  # product still < 1
        np.array([[2.0, 0.5], [0.0, 2.0]]),  # asymmetric
        np.eye(3),  # odd size
        np.eye(4)[:, :3],  # not square
        np.array([[1.0, np.nan], [np.nan, 1.0]]),
        np.array([[np.inf, 0.0], [0.0, 1.0]]),
        np.array([[1.0, 0.0], [0.0, 1.0]]) * 1j,  # genuinely complex
        -np.eye(2),
    ],
)
def test_unphysical_covariance_rejected(cov):
    with pytest.raises(InputError, match="cov"):
        check_covariance(cov)
    with pytest.raises(InputError, match="cov"):
        GaussianState(cov)


def test_input_error_is_value_error():
    assert issubclass(InputError, ValueError)


def test_check_covariance_accepts_physical(thewalrus_covariance):
    cov = thewalrus_covariance(3, seed=5)
    out = check_covariance(cov.astype(complex))  # zero imaginary part is fine
    assert out.dtype == np.float64
    assert _max_dev(out, cov) <= 1e-15 * np.abs(cov).max()  # only symmetrised
    # minimum-uncertainty squeezed state sits exactly on the boundary
    check_covariance(np.diag([np.exp(-2.0), np.exp(2.0)]))


def test_bad_means_rejected():
    with pytest.raises(InputError, match="means"):
        GaussianState(np.eye(2), np.zeros(3))
    with pytest.raises(InputError, match="means"):
        GaussianState(np.eye(2), [np.nan, 0.0])


def test_state_is_immutable():
    s = GaussianState(np.eye(2), [0.5, 0.1])
    with pytest.raises(ValueError):
        s.cov[0, 0] = 3.0
    with pytest.raises(ValueError):
        s.means[0] = 3.0


# --- tensor products and marginals ------------------------------------------

def test_tensor_block_structure_and_mode_order(thewalrus_covariance):
    a = _random_state(1, seed=1, thewalrus_covariance=thewalrus_covariance)
    b = _random_state(2, seed=2, thewalrus_covariance=thewalrus_covariance)
    c = _random_state(1, seed=3, thewalrus_covariance=thewalrus_covariance)
    s = a.tensor(b, c)
    assert s.n_modes == 4
    # xxpp: x_0 x_1 x_2 x_3 p_0 p_1 p_2 p_3; a on mode 0, b on 1-2, c on 3
    blocks = {0: (a, [0]), 1: (b, [1, 2]), 2: (c, [3])}
    for state, modes in blocks.values():
        idx = np.r_[modes, np.array(modes) + 4]
        assert np.array_equal(s.cov[np.ix_(idx, idx)], state.cov)
        assert np.array_equal(s.means[idx], state.means)
    # no correlations between different factors
    for i, (_, mi) in blocks.items():
        for j, (_, mj) in blocks.items():
            if i != j:
                ii = np.r_[mi, np.array(mi) + 4]
                jj = np.r_[mj, np.array(mj) + 4]
                assert np.all(s.cov[np.ix_(ii, jj)] == 0)
    # the marginals give the factors back
    assert np.array_equal(s.reduced([1, 2]).cov, b.cov)
    assert np.array_equal(s.reduced([3]).means, c.means)


@pytest.mark.parametrize("modes", [[0], [2, 0], [1, 3], [3, 1, 2]])
def test_reduced_matches_thewalrus(modes, thewalrus_covariance):
    s = _random_state(4, seed=11, thewalrus_covariance=thewalrus_covariance)
    mu, cov = reduced_gaussian(s.means, s.cov, modes)
    r = s.reduced(modes)
    assert _max_dev(r.cov, cov) == 0
    assert _max_dev(r.means, mu) == 0


@pytest.mark.parametrize("modes", [[4], [-1], [0, 0], [0.5]])
def test_reduced_rejects_bad_modes(modes):
    with pytest.raises(InputError, match="modes"):
        GaussianState.vacuum(3).reduced(modes)


# --- channels ---------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_passive_unitary_matches_thewalrus(seed, thewalrus_covariance):
    s = _random_state(4, seed, thewalrus_covariance)
    U = jz.haar_unitary(4, rng=seed)
    out = s.passive(U)
    mu, cov = passive_transformation(s.means, s.cov, U.T)
    assert _max_dev(out.cov, cov) < TOL
    assert _max_dev(out.means, mu) < TOL
    # a unitary keeps purity and total photon number
    assert out.purity() == pytest.approx(s.purity(), rel=1e-12)
    assert out.mean_photon_number() == pytest.approx(s.mean_photon_number(), rel=1e-12)


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_passive_rectangular_contractive_matches_thewalrus(shape, thewalrus_covariance):
    n_in, n_out = shape
    s = _random_state(n_in, seed=7, thewalrus_covariance=thewalrus_covariance)
    U = jz.haar_unitary(max(shape), rng=3)
    eta = np.linspace(0.3, 1.0, n_out)
    T = U[:n_in, :n_out] * np.sqrt(eta)[None, :]
    # In exact arithmetic the largest singular value is at most 1 (for the
    # (5, 3) block of a unitary with eta = 1 on a column, exactly 1).  U is
    # unitary to a few ulps per entry and LAPACK's singular values carry a
    # backward error of a few ulps times the matrix size, so allow
    # 4 * max(shape) ulps (4e-15 here; the library's check allows 1e-10).
    assert np.linalg.norm(T, 2) <= 1 + 4 * max(shape) * np.finfo(float).eps
    out = s.passive(T)
    assert out.n_modes == n_out
    mu, cov = passive_transformation(s.means, s.cov, T.T)
    assert _max_dev(out.cov, cov) < TOL
    assert _max_dev(out.means, mu) < TOL


def test_passive_rejects_non_contractive():
    s = GaussianState.vacuum(2)
    with pytest.raises(InputError, match="T"):
        s.passive(1.1 * np.eye(2))
    with pytest.raises(InputError, match="T"):
        s.passive(np.ones((2, 2)))  # largest singular value 2
    with pytest.raises(InputError, match="T"):
        s.passive(np.eye(3))  # wrong number of rows


@pytest.mark.parametrize("seed", [1, 2])
def test_loss_matches_thewalrus(seed, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance)
    eta = np.array([0.3, 1.0, 0.0]) if seed == 1 else np.array([0.9, 0.55, 0.72])
    mu, cov = s.means.copy(), s.cov.copy()
    for mode, t in enumerate(eta):
        mu, cov = tw_loss(mu, cov, t, mode)
    out = s.loss(eta)
    assert _max_dev(out.cov, cov) < TOL
    assert _max_dev(out.means, mu) < TOL
    # only some modes
    mu, cov = tw_loss(s.means, s.cov, 0.4, 2)
    out = s.loss([0.4], modes=[2])
    assert _max_dev(out.cov, cov) < TOL
    assert _max_dev(out.means, mu) < TOL
    # scalar transmission on every mode
    mu, cov = s.means, s.cov
    for mode in range(3):
        mu, cov = tw_loss(mu, cov, 0.6, mode)
    assert _max_dev(s.loss(0.6).cov, cov) < TOL


def test_total_loss_gives_vacuum(thewalrus_covariance):
    s = _random_state(2, 3, thewalrus_covariance)
    out = s.loss(0.0)
    assert _max_dev(out.cov, np.eye(4)) < TOL
    assert _max_dev(out.means, 0) < TOL


@pytest.mark.parametrize("eta", [1.2, -0.1, np.nan, [0.5, 1.5]])
def test_loss_rejects_bad_transmission(eta):
    with pytest.raises(InputError, match="transmission"):
        GaussianState.vacuum(2).loss(eta)


def test_loss_rejects_wrong_length():
    with pytest.raises(InputError, match="transmission"):
        GaussianState.vacuum(2).loss([0.5, 0.5, 0.5])


# --- complex basis ----------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 4])
def test_q_a_o_matrices_and_means_match_thewalrus(seed, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance)
    Q = Qmat(s.cov)
    assert _max_dev(s.q_matrix(), Q) < TOL
    assert _max_dev(s.a_matrix(), Amat(s.cov)) < TOL
    assert _max_dev(s.o_matrix(), np.eye(6) - np.linalg.inv(Q)) < TOL
    assert _max_dev(s.complex_means(), Beta(s.means)) < TOL
    assert _max_dev(s.complex_covariance(), Q - np.eye(6) / 2) < TOL


def test_displace():
    s = GaussianState.vacuum(2).displace([0.3 - 0.2j, 1j])
    assert _max_dev(s.means, [0.6, 0.0, -0.4, 2.0]) < TOL
    assert _max_dev(s.complex_means(), [0.3 - 0.2j, 1j, 0.3 + 0.2j, -1j]) < TOL
    assert s.is_displaced()


@pytest.mark.parametrize("seed", [2, 3])
def test_from_complex_round_trip(seed, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance)
    back = GaussianState.from_complex(s.complex_covariance(), s.complex_means()[:3])
    assert _max_dev(back.cov, s.cov) < TOL
    assert _max_dev(back.means, s.means) < TOL


@pytest.mark.parametrize("seed", [2, 3])
def test_from_moments_round_trip(seed, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance)
    sigma = s.complex_covariance()
    N = sigma[:3, :3] - np.eye(3) / 2  # <a_i^dag a_j>, centred
    M = sigma[3:, :3]  # <a_i a_j>, centred
    assert _max_dev(N, N.conj().T) < TOL
    assert _max_dev(M, M.T) < TOL
    back = GaussianState.from_moments(N, M, s.complex_means()[:3])
    assert _max_dev(back.cov, s.cov) < TOL
    assert _max_dev(back.means, s.means) < TOL


def test_from_moments_known_states():
    # thermal: cov = (2n + 1) I
    assert _max_dev(GaussianState.from_moments([[0.7]], [[0]]).cov, 2.4 * np.eye(2)) < TOL
    # coherent: cov = I, means = 2 (Re, Im) alpha
    s = GaussianState.from_moments([[0]], [[0]], [0.5 + 0.25j])
    assert _max_dev(s.cov, np.eye(2)) < TOL
    assert _max_dev(s.means, [1.0, 0.5]) < TOL


# --- photon-number moments, purity, vacuum probabilities --------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_photon_number_moments_match_thewalrus(seed, thewalrus_covariance):
    s = _random_state(4, seed, thewalrus_covariance)
    assert s.is_displaced() and not s.is_pure()
    assert _max_dev(s.mean_photon_numbers(), photon_number_mean_vector(s.means, s.cov)) < 1e-11
    assert _max_dev(s.photon_number_covariance(), photon_number_covmat(s.means, s.cov)) < 1e-10
    assert s.mean_photon_number() == pytest.approx(s.mean_photon_numbers().sum(), rel=1e-14)


@pytest.mark.parametrize("seed", [1, 2])
def test_purity(seed, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance)
    assert s.purity() == pytest.approx(1 / np.sqrt(np.linalg.det(s.cov)), rel=1e-12)
    assert s.purity() < 1 and not s.is_pure()
    pure = GaussianState(thewalrus_covariance(3, seed, pure=True))
    assert pure.purity() == pytest.approx(1, abs=1e-10)
    assert pure.is_pure()


@pytest.mark.parametrize("n", [0.0, 0.3, 2.5])
def test_thermal_purity(n):
    s = GaussianState.from_moments([[n]], [[0]])
    assert s.purity() == pytest.approx(1 / (2 * n + 1), rel=1e-13)
    assert s.mean_photon_numbers()[0] == pytest.approx(n, abs=TOL)
    # Bose-Einstein: Var n = n (n + 1)
    assert s.photon_number_covariance()[0, 0] == pytest.approx(n * (n + 1), abs=TOL)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("displaced", [False, True])
def test_vacuum_probability_matches_thewalrus(seed, displaced, thewalrus_covariance):
    s = _random_state(3, seed, thewalrus_covariance, displaced=displaced)
    want = density_matrix_element(s.means, s.cov, [0, 0, 0], [0, 0, 0])
    assert abs(s.vacuum_probability() - want) < TOL
    assert abs(np.imag(want)) < TOL


@pytest.mark.parametrize("transmission", [1.0, 0.3])
@pytest.mark.parametrize("seed", [1, 2])
def test_mode_vacuum_probabilities(transmission, seed, thewalrus_covariance):
    s = _random_state(4, seed, thewalrus_covariance)
    got = s.mode_vacuum_probabilities(transmission)
    assert got.shape == (4,)
    for j in range(4):
        want = s.reduced([j]).loss(transmission).vacuum_probability()
        assert abs(got[j] - want) < TOL
        mu, cov = reduced_gaussian(s.means, s.cov, [j])
        mu, cov = tw_loss(mu, cov, transmission, 0)
        assert abs(got[j] - density_matrix_element(mu, cov, [0], [0])) < TOL


def test_pure_decomposition_splits_a_lossy_state():
    """cov = T + noise noise^T with T pure (det T = 1, its symplectic
    eigenvalues 1) and the noise positive semi-definite; a pure state has no
    noise."""
    experiment = jz.presets.jiuzhang_like(6, r=1.2, transmission=0.3, rng=2)
    state = experiment.output_state()
    pure_cov, noise = state.pure_decomposition()
    np.testing.assert_allclose(pure_cov + noise @ noise.T, state.cov, atol=1e-10)
    _, d = GaussianState(pure_cov).williamson()
    np.testing.assert_allclose(d, 1, atol=1e-8)
    pure = GaussianState(pure_cov)
    np.testing.assert_allclose(pure.pure_decomposition()[1], 0, atol=1e-6)
