"""Interferometers: Haar sampling, Clements decomposition, loss, file loading."""
import numpy as np
import pytest

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.interferometers import (
    Mesh,
    check_transfer_matrix,
    clements_decomposition,
    haar_unitary,
    is_unitary,
    load_transfer_matrix,
    lossy_transfer_matrix,
)


def _max_dev(A, B):
    return float(np.abs(np.asarray(A) - np.asarray(B)).max())


# --- Haar unitaries ---------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_haar_unitary_is_unitary(n):
    U = haar_unitary(n, rng=n)
    assert U.shape == (n, n) and U.dtype == np.complex128
    assert is_unitary(U, atol=1e-12)


def test_haar_unitary_reproducible():
    assert np.array_equal(haar_unitary(6, rng=42), haar_unitary(6, rng=42))
    assert np.array_equal(haar_unitary(6, rng=np.random.default_rng(7)),
                          haar_unitary(6, rng=np.random.SeedSequence(7)))
    assert not np.array_equal(haar_unitary(6, rng=42), haar_unitary(6, rng=43))


@pytest.mark.parametrize("bad", [0, -3, 2.0, True, "4"])
def test_haar_unitary_rejects_bad_size(bad):
    with pytest.raises(InputError, match="n_modes"):
        haar_unitary(bad)


def _haar_sample(n, draws, seed):
    rng = np.random.default_rng(seed)
    return np.stack([haar_unitary(n, rng=rng) for _ in range(draws)])


@pytest.mark.statistical
def test_haar_entry_moments(any_seed):
    """|U_ij|^2 ~ Beta(1, n - 1): mean 1/n, variance (n-1)/(n^2 (n+1)).
    Each of the n^2 sample means must lie within 6 standard errors
    (two-sided p = 2e-9 each, < 1e-7 for all 16 with a union bound)."""
    n, draws = 4, 3000
    P = np.abs(_haar_sample(n, draws, seed=any_seed(1))) ** 2
    stderr = np.sqrt((n - 1) / (n**2 * (n + 1)) / draws)
    assert np.all(np.abs(P.mean(axis=0) - 1 / n) < 6 * stderr)


@pytest.mark.statistical
def test_haar_eigenvalue_phases_uniform(any_seed):
    """Without Mezzadri's phase fix, QR gives a biased eigenvalue density.

    For Haar U in U(n): E[Tr U] = 0 and E|Tr U|^2 = 1, with Var(Re Tr U) =
    Var(Im Tr U) = 1/2 and Var|Tr U|^2 = 1 for n >= 2 (Diaconis-Shahshahani).
    Bounds are 5 standard errors (p < 1e-6 each).  The phase of one eigenvalue
    per draw, chosen at random, is uniform on [0, 2 pi): KS test at the 1e-4
    level.
    """
    stats = pytest.importorskip("scipy.stats")
    n, draws = 3, 4000
    U = _haar_sample(n, draws, seed=any_seed(2))
    tr = np.trace(U, axis1=1, axis2=2)
    se = 1 / np.sqrt(draws)
    assert abs(tr.real.mean()) < 5 * np.sqrt(0.5) * se
    assert abs(tr.imag.mean()) < 5 * np.sqrt(0.5) * se
    assert abs((np.abs(tr) ** 2).mean() - 1) < 5 * se
    eig = np.linalg.eigvals(U)
    pick = np.random.default_rng(any_seed(3)).integers(n, size=draws)
    phases = np.mod(np.angle(eig[np.arange(draws), pick]), 2 * np.pi) / (2 * np.pi)
    assert stats.kstest(phases, "uniform").pvalue > 1e-4


# --- Clements decomposition -------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 20])
def test_clements_round_trip(n):
    U = haar_unitary(n, rng=100 + n)
    mesh = clements_decomposition(U)
    assert mesh.n_modes == n
    assert len(mesh.beam_splitters) == n * (n - 1) // 2
    assert _max_dev(mesh.unitary(), U) < 1e-12
    assert _max_dev(mesh.transfer_matrix(), U.T) < 1e-12


@pytest.mark.parametrize("n", [2, 3, 6, 7])
def test_clements_layout_is_rectangular(n):
    """Column k holds pairs (m, m+1), m = k mod 2, k mod 2 + 2, ...; depth n."""
    mesh = clements_decomposition(haar_unitary(n, rng=n))
    expected = [m for k in range(n) for m in range(k % 2, n - 1, 2)]
    assert [bs[0] for bs in mesh.beam_splitters] == expected
    assert all(b == a + 1 for a, b, _, _ in mesh.beam_splitters)
    assert np.all((mesh.thetas >= 0) & (mesh.thetas <= np.pi / 2))
    assert np.all((mesh.phis >= 0) & (mesh.phis < 2 * np.pi))


def test_beam_splitter_convention():
    theta, phi = 0.3, 1.1
    U = Mesh.from_parameters(2, [theta], [phi], [0.0, 0.0]).unitary()
    c, s, e = np.cos(theta), np.sin(theta), np.exp(1j * phi)
    assert _max_dev(U, [[e * c, -s], [e * s, c]]) < 1e-15


@pytest.mark.parametrize("n", [3, 4, 5])
def test_from_parameters_matches_explicit_product(n):
    """Mesh.unitary() is D @ T_K @ ... @ T_1 with full n x n beam splitters."""
    rng = np.random.default_rng(n)
    k = n * (n - 1) // 2
    thetas, phis = rng.uniform(0, 2 * np.pi, (2, k))
    out = rng.uniform(-np.pi, np.pi, n)
    mesh = Mesh.from_parameters(n, thetas, phis, out)
    U = np.eye(n, dtype=complex)
    for a, b, t, p in mesh.beam_splitters:
        Tk = np.eye(n, dtype=complex)
        Tk[np.ix_([a, b], [a, b])] = [[np.exp(1j * p) * np.cos(t), -np.sin(t)],
                                      [np.exp(1j * p) * np.sin(t), np.cos(t)]]
        U = Tk @ U
    assert _max_dev(mesh.unitary(), np.diag(np.exp(1j * out)) @ U) < 1e-13


@pytest.mark.parametrize("n", [2, 5, 8])
def test_from_parameters_round_trip(n):
    rng = np.random.default_rng(n)
    k = n * (n - 1) // 2
    programmed = Mesh.from_parameters(n, rng.uniform(0, np.pi, k), rng.uniform(0, 2 * np.pi, k),
                                      rng.uniform(-np.pi, np.pi, n))
    U = programmed.unitary()
    assert is_unitary(U, atol=1e-13)
    mesh = clements_decomposition(U)
    assert _max_dev(mesh.unitary(), U) < 1e-12
    rebuilt = Mesh.from_parameters(n, mesh.thetas, mesh.phis, mesh.output_phases)
    assert rebuilt.beam_splitters == mesh.beam_splitters
    assert _max_dev(rebuilt.unitary(), U) < 1e-12


def test_from_parameters_checks_lengths():
    with pytest.raises(InputError, match=r"thetas must have shape \(6,\).*got \(5,\)"):
        Mesh.from_parameters(4, np.zeros(5), np.zeros(6), np.zeros(4))
    with pytest.raises(InputError, match=r"phis must have shape \(6,\)"):
        Mesh.from_parameters(4, np.zeros(6), np.zeros(7), np.zeros(4))
    with pytest.raises(InputError, match="output_phases"):
        Mesh.from_parameters(4, np.zeros(6), np.zeros(6), np.zeros(3))
    with pytest.raises(InputError, match="thetas must be finite"):
        Mesh.from_parameters(2, [np.nan], [0.0], [0.0, 0.0])


def test_mesh_is_frozen():
    mesh = clements_decomposition(haar_unitary(3, rng=0))
    with pytest.raises(AttributeError):
        mesh.n_modes = 4
    with pytest.raises(ValueError):
        mesh.output_phases[0] = 1.0


@pytest.mark.parametrize("perm", [[0], [1, 0], [2, 0, 1], [0, 1, 2, 3], [3, 1, 4, 0, 2], [5, 4, 3, 2, 1, 0]])
def test_permutations_and_identity_decompose(perm):
    n = len(perm)
    P = np.eye(n)[perm]
    P = P * np.exp(1j * np.arange(n))[:, None] if n % 2 else P  # some with phases
    mesh = clements_decomposition(P)
    assert len(mesh.beam_splitters) == n * (n - 1) // 2
    assert _max_dev(mesh.unitary(), P) < 1e-12


def test_clements_rejects_bad_input():
    with pytest.raises(InputError, match=r"U must be unitary.*\|U U\^H - I\| = 0\.21"):
        clements_decomposition(np.diag([1.0, 1.1]))
    with pytest.raises(InputError, match="U must be a non-empty square matrix"):
        clements_decomposition(np.ones((2, 3)) / 3)
    with pytest.raises(InputError, match="U must be finite"):
        clements_decomposition([[np.nan]])
    U = haar_unitary(4, rng=0)
    clements_decomposition(U + 1e-9, atol=1e-8)  # tolerance is honoured
    with pytest.raises(InputError, match="U must be unitary"):
        clements_decomposition(U + 1e-9)


def test_is_unitary():
    assert is_unitary(np.eye(3))
    assert is_unitary(haar_unitary(5, rng=1))
    assert not is_unitary(0.5 * np.eye(2))
    assert not is_unitary(np.ones((2, 3)))
    assert not is_unitary(np.eye(2) + 1e-6)
    assert is_unitary(np.eye(2) + 1e-6, atol=1e-5)


# --- loss -------------------------------------------------------------------

def test_lossy_transfer_matrix_scaling():
    T = haar_unitary(4, rng=5).T[:, :3] * 0.9  # 4 inputs, 3 outputs
    assert _max_dev(lossy_transfer_matrix(T, 0.49), 0.7 * T) < 1e-15
    eta = np.array([1.0, 0.25, 0.0])
    assert _max_dev(lossy_transfer_matrix(T, eta), T * [1.0, 0.5, 0.0]) < 1e-15
    eta_in = np.array([0.64, 1.0, 1.0, 0.09])
    got = lossy_transfer_matrix(T, eta, input_transmission=eta_in)
    assert _max_dev(got, np.diag([0.8, 1, 1, 0.3]) @ T @ np.diag([1.0, 0.5, 0.0])) < 1e-15
    assert _max_dev(lossy_transfer_matrix(T, 1.0), T) == 0.0


def test_lossy_unitary_singular_values():
    U = haar_unitary(5, rng=6)
    s = np.linalg.svd(lossy_transfer_matrix(U.T, 0.3), compute_uv=False)
    assert _max_dev(s, np.sqrt(0.3)) < 1e-13


@pytest.mark.parametrize("kwargs,match", [
    ({"transmission": -0.1}, r"transmission must lie in \[0, 1\], got -0\.1"),
    ({"transmission": 1.5}, r"transmission must lie in \[0, 1\], got 1\.5"),
    ({"transmission": np.nan}, r"transmission must lie in \[0, 1\], got nan"),
    ({"transmission": [1, 1, 1, -0.1]}, r"transmission must lie in \[0, 1\], got -0\.1 at mode 3"),
    ({"transmission": [1, 1, 1]}, r"transmission must be a scalar or have shape \(4,\), got shape \(3,\)"),
    ({"transmission": np.ones((4, 4))}, r"transmission must be a scalar or have shape \(4,\)"),
    ({"transmission": 1j}, "transmission must be real"),
    ({"transmission": 1, "input_transmission": [1, 2, 1, 1]},
     r"input_transmission must lie in \[0, 1\], got 2\.0 at mode 1"),
    ({"transmission": 1, "input_transmission": [1, 1]},
     r"input_transmission must be a scalar or have shape \(4,\), got shape \(2,\)"),
])
def test_lossy_transfer_matrix_validation(kwargs, match):
    with pytest.raises(InputError, match=match):
        lossy_transfer_matrix(np.eye(4), **kwargs)


# --- transfer-matrix checks and loading -------------------------------------

def test_check_transfer_matrix():
    T = check_transfer_matrix([[1, 0], [0, 1]])
    assert T.dtype == np.complex128 and T.shape == (2, 2)
    check_transfer_matrix(np.eye(2) * (1 + 1e-12))
    U = haar_unitary(3, rng=0)
    with pytest.raises(InputError, match=r"M must be contractive.*largest singular value 1\.1\b"):
        check_transfer_matrix(U @ np.diag([1.1, 0.5, 1.0]) @ U.conj().T, "M")
    with pytest.raises(InputError, match=r"T must be a non-empty 2-D array.*got shape \(3,\)"):
        check_transfer_matrix(np.ones(3) / 3)
    with pytest.raises(InputError, match=r"T must be finite, got .*inf.* at index \(0, 1\)"):
        check_transfer_matrix([[0, np.inf]])
    with pytest.raises(InputError, match="T must hold real or complex numbers"):
        check_transfer_matrix([["a"]])


@pytest.fixture
def lossy_T():
    """A rectangular lossy transfer matrix, 3 inputs x 5 outputs."""
    return lossy_transfer_matrix(haar_unitary(5, rng=9).T[:3], np.linspace(0.2, 1, 5))


def test_load_npy(tmp_path, lossy_T):
    np.save(tmp_path / "T.npy", lossy_T)
    assert np.array_equal(load_transfer_matrix(tmp_path / "T.npy"), lossy_T)
    np.save(tmp_path / "U.npy", lossy_T.T)
    assert np.array_equal(load_transfer_matrix(str(tmp_path / "U.npy"), transpose=True), lossy_T)


def test_load_mtx(tmp_path, lossy_T):
    sio = pytest.importorskip("scipy.io")
    sparse = pytest.importorskip("scipy.sparse")
    sio.mmwrite(tmp_path / "T.mtx", lossy_T)
    assert _max_dev(load_transfer_matrix(tmp_path / "T.mtx"), lossy_T) < 1e-15
    sio.mmwrite(tmp_path / "U.mtx", sparse.coo_matrix(lossy_T.T))
    assert _max_dev(load_transfer_matrix(tmp_path / "U.mtx", transpose=True), lossy_T) < 1e-15


@pytest.mark.parametrize("ext,delimiter", [(".txt", " "), (".dat", "\t"), (".csv", ",")])
def test_load_text(tmp_path, lossy_T, ext, delimiter):
    np.savetxt(tmp_path / f"T{ext}", lossy_T, delimiter=delimiter)
    assert _max_dev(load_transfer_matrix(tmp_path / f"T{ext}"), lossy_T) < 1e-15
    np.savetxt(tmp_path / f"U{ext}", lossy_T.T, delimiter=delimiter)
    assert _max_dev(load_transfer_matrix(tmp_path / f"U{ext}", transpose=True), lossy_T) < 1e-15


def test_load_text_literals_and_real(tmp_path):
    (tmp_path / "a.csv").write_text("0.5,0.5j\n-0.5j,0.5\n")
    assert _max_dev(load_transfer_matrix(tmp_path / "a.csv"), [[0.5, 0.5j], [-0.5j, 0.5]]) == 0
    (tmp_path / "b.txt").write_text("0.6 0\n0 1\n")
    assert _max_dev(load_transfer_matrix(tmp_path / "b.txt"), np.diag([0.6, 1])) == 0
    (tmp_path / "c.txt").write_text("0.6 zero\n")
    with pytest.raises(InputError, match="path .*c.txt"):
        load_transfer_matrix(tmp_path / "c.txt")


def test_load_errors(tmp_path):
    with pytest.raises(InputError, match=r"path must end in .*'\.json'"):
        load_transfer_matrix(tmp_path / "T.json")
    with pytest.raises(FileNotFoundError):
        load_transfer_matrix(tmp_path / "missing.npy")
    with pytest.raises(FileNotFoundError):
        load_transfer_matrix(tmp_path / "missing.txt")
    np.save(tmp_path / "big.npy", 2 * np.eye(2))
    with pytest.raises(InputError, match=r"big\.npy.* must be contractive.*got largest singular value 2"):
        load_transfer_matrix(tmp_path / "big.npy")
