"""Linear-optical interferometers: Haar-random unitaries, the Clements
decomposition into beam splitters, loss, and loading of measured transfer
matrices.

Conventions
-----------
A *unitary* ``U`` of shape (n, n) acts on the column vector of input
annihilation operators, ``b = U a``, i.e. ``b_j = sum_i U[j, i] a_i``.

A *transfer matrix* ``T`` has shape (inputs, outputs) and acts as
``b_j = sum_i T[i, j] a_i``; for a lossless interferometer ``T = U.T``.
Transfer matrices are contractive (largest singular value <= 1); loss makes
them non-unitary, and they need not be square (e.g. 50 squeezed inputs
spread over 100 outputs).

Beam splitters (Mach-Zehnder interferometers) follow Clements et al.: the
element ``T_m(theta, phi)`` acts on modes (m, m + 1) of ``a`` as the 2 x 2
block ::

    [[exp(i phi) cos(theta), -sin(theta)],
     [exp(i phi) sin(theta),  cos(theta)]]

and as the identity on the other modes (Clements et al.'s T_{m,m+1}): phi is
the phase shift on the upper input mode, theta the mixing angle.  Phases
programmed in other conventions (e.g. Strawberry Fields' BSgate or MZgate)
must be converted first.

References
----------
W. R. Clements, P. C. Humphreys, B. J. Metcalf, W. S. Kolthammer and
I. A. Walmsley, "Optimal design for universal multiport interferometers",
Optica 3, 1460 (2016).

F. Mezzadri, "How to generate random matrices from the classical compact
groups", Notices of the AMS 54, 592 (2007).
"""
import numbers
import os
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels.checks import check_integer, check_real

__all__ = [
    "Mesh",
    "check_transfer_matrix",
    "clements_decomposition",
    "haar_unitary",
    "is_unitary",
    "load_transfer_matrix",
    "lossy_transfer_matrix",
]


def _check_n_modes(n_modes):
    if isinstance(n_modes, bool) or not isinstance(n_modes, numbers.Integral) or n_modes < 1:
        raise InputError(f"n_modes must be a positive integer, got {n_modes!r}")
    return int(n_modes)


def _mzi(theta, phi):
    """The 2 x 2 beam-splitter block T(theta, phi) of the module docstring."""
    c, s, e = np.cos(theta), np.sin(theta), np.exp(1j * phi)
    return np.array([[e * c, -s], [e * s, c]])


def _rectangular_modes(n_modes):
    """Upper modes m of the beam splitters (m, m + 1) of the rectangular mesh,
    column by column (column k holds m = k mod 2, k mod 2 + 2, ...)."""
    return [m for k in range(n_modes) for m in range(k % 2, n_modes - 1, 2)]


def _unitarity_error(U):
    """max |U U^H - I| for a square matrix U."""
    if U.size == 0:
        return 0.0
    return float(np.abs(U @ U.conj().T - np.eye(len(U))).max())


def haar_unitary(n_modes, *, rng=None):
    """Draw a unitary from the Haar measure on U(n).

    QR-decomposes a complex Ginibre matrix and multiplies each column of Q by
    the phase of the matching diagonal entry of R (Mezzadri 2007), which makes
    the decomposition unique and the result Haar-distributed.

    Parameters
    ----------
    n_modes : int
        Matrix size n >= 1.
    rng : None, int, array_like, SeedSequence, BitGenerator or Generator
        Anything :func:`numpy.random.default_rng` accepts.

    Returns
    -------
    ndarray of shape (n, n), complex128
    """
    n = _check_n_modes(n_modes)
    rng = np.random.default_rng(rng)
    Z = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
    Q, R = np.linalg.qr(Z)
    d = np.diag(R)
    return Q * (d / np.abs(d))


def is_unitary(U, atol=1e-10):
    """True if ``U`` is a square matrix with max |U U^H - I| <= atol.

    Parameters
    ----------
    U : array_like of shape (n, n)
    atol : float

    Returns
    -------
    bool
    """
    U = np.asarray(U)
    if U.ndim != 2 or U.shape[0] != U.shape[1] or U.dtype.kind not in "biufc":
        return False
    return bool(np.all(np.isfinite(U))) and _unitarity_error(U) <= atol


@dataclass(frozen=True, eq=False)
class Mesh:
    """A mesh of beam splitters followed by output phases.

    The unitary is ``D @ T_K @ ... @ T_1`` (``b = U a``), where ``T_k`` is
    ``beam_splitters[k - 1]`` (see the module docstring for the 2 x 2 block)
    and ``D = diag(exp(1j * output_phases))``.

    Attributes
    ----------
    n_modes : int
    beam_splitters : tuple of (int, int, float, float)
        ``(mode_a, mode_b, theta, phi)`` in the order they act on light; the
        2 x 2 block acts on modes (mode_a, mode_b) in this order.
    output_phases : ndarray of shape (n_modes,)
        Read-only.
    """

    n_modes: int
    beam_splitters: tuple
    output_phases: np.ndarray

    def __post_init__(self):
        n = _check_n_modes(self.n_modes)
        try:
            items = [tuple(bs) for bs in self.beam_splitters]
        except TypeError:
            items = None
        if items is None or any(len(bs) != 4 for bs in items):
            raise InputError(f"beam_splitters must be a sequence of (mode_a, mode_b, theta, phi), "
                             f"got {self.beam_splitters!r}")
        bss = tuple((check_integer(a, f"beam_splitters[{k}] mode_a"),
                     check_integer(b, f"beam_splitters[{k}] mode_b"),
                     check_real(t, f"beam_splitters[{k}] theta"),
                     check_real(p, f"beam_splitters[{k}] phi"))
                    for k, (a, b, t, p) in enumerate(items))
        for k, (a, b, t, p) in enumerate(bss):
            if not (0 <= a < n and 0 <= b < n and a != b):
                raise InputError(
                    f"beam_splitters[{k}] must act on two distinct modes in [0, {n - 1}], "
                    f"got modes ({a}, {b})"
                )
            if not np.isfinite([t, p]).all():
                raise InputError(f"beam_splitters[{k}] must have finite angles, got ({t}, {p})")
        phases = np.asarray(self.output_phases)
        if phases.dtype.kind not in "iuf":
            raise InputError(f"output_phases must be {n} finite real numbers, "
                             f"got {self.output_phases!r}")
        phases = np.array(phases, dtype=float)
        if phases.shape != (n,) or not np.all(np.isfinite(phases)):
            raise InputError(
                f"output_phases must be {n} finite numbers, got shape {phases.shape}: {phases}"
            )
        phases.setflags(write=False)
        object.__setattr__(self, "n_modes", n)
        object.__setattr__(self, "beam_splitters", bss)
        object.__setattr__(self, "output_phases", phases)

    @classmethod
    def from_parameters(cls, n_modes, thetas, phis, output_phases):
        """Program a rectangular Clements mesh.

        The n(n-1)/2 beam splitters fill the n columns of the rectangular
        layout; column k holds the pairs (m, m + 1) with m = k mod 2,
        k mod 2 + 2, ..., column by column and top to bottom, the order of
        :func:`clements_decomposition` (so ``Mesh.from_parameters(n, m.thetas,
        m.phis, m.output_phases)`` rebuilds a mesh ``m`` it returned).

        Parameters
        ----------
        n_modes : int
        thetas, phis : array_like of shape (n(n-1)/2,)
            Real angles, any range.
        output_phases : array_like of shape (n_modes,)

        Returns
        -------
        Mesh
        """
        n = _check_n_modes(n_modes)
        modes = _rectangular_modes(n)
        angles = []
        for name, values in (("thetas", thetas), ("phis", phis)):
            arr = np.asarray(values)
            if arr.dtype.kind not in "iuf":
                raise InputError(f"{name} must hold real angles, got {values!r}")
            arr = arr.astype(float)
            if arr.shape != (len(modes),):
                raise InputError(
                    f"{name} must have shape ({len(modes)},), n(n-1)/2 for n_modes = {n}, "
                    f"got {arr.shape}"
                )
            if not np.all(np.isfinite(arr)):
                raise InputError(f"{name} must be finite, got {arr[~np.isfinite(arr)][0]}")
            angles.append(arr)
        bss = tuple((m, m + 1, t, p) for m, t, p in zip(modes, *angles))
        return cls(n, bss, output_phases)

    @property
    def thetas(self):
        """ndarray of shape (len(beam_splitters),): the theta of each beam splitter."""
        return np.array([bs[2] for bs in self.beam_splitters], dtype=float)

    @property
    def phis(self):
        """ndarray of shape (len(beam_splitters),): the phi of each beam splitter."""
        return np.array([bs[3] for bs in self.beam_splitters], dtype=float)

    def unitary(self):
        """The unitary U of the mesh, ``b = U a``.

        Returns
        -------
        ndarray of shape (n_modes, n_modes), complex128
        """
        U = np.eye(self.n_modes, dtype=complex)
        for a, b, theta, phi in self.beam_splitters:
            U[[a, b]] = _mzi(theta, phi) @ U[[a, b]]
        return np.exp(1j * self.output_phases)[:, None] * U

    def transfer_matrix(self):
        """The transfer matrix ``unitary().T``, of shape (inputs, outputs).

        Returns
        -------
        ndarray of shape (n_modes, n_modes), complex128
        """
        return self.unitary().T


def clements_decomposition(U, *, atol=1e-10):
    """Decompose a unitary into a rectangular Clements mesh.

    Nulls the lower-left triangle of U alternately from the right (columns)
    and the left (rows), then moves the left beam splitters through the
    remaining diagonal (Clements et al. 2016).  The result has n(n-1)/2 beam
    splitters on n columns, in the layout of :meth:`Mesh.from_parameters`,
    with theta in [0, pi/2], phi in [0, 2 pi) and output phases in (-pi, pi].

    Parameters
    ----------
    U : array_like of shape (n, n)
        Unitary acting on the input annihilation operators, ``b = U a``
        (a transfer matrix T is ``U.T``).
    atol : float
        Tolerance on max |U U^H - I|.

    Returns
    -------
    Mesh
        ``mesh.unitary()`` reproduces U.

    Raises
    ------
    InputError
        If U is not a finite square unitary matrix.
    """
    V = np.asarray(U)
    if V.dtype.kind not in "iufc":
        raise InputError(f"U must hold real or complex numbers, got {U!r}")
    V = np.array(V, dtype=complex)
    if V.ndim != 2 or V.shape[0] != V.shape[1] or V.size == 0:
        raise InputError(f"U must be a non-empty square matrix, got shape {V.shape}")
    if not np.all(np.isfinite(V)):
        raise InputError("U must be finite, got non-finite entries")
    err = _unitarity_error(V)
    if err > atol:
        raise InputError(f"U must be unitary to atol={atol:g}, got max |U U^H - I| = {err:.3g}")
    n = len(V)
    first, last = [], []  # (m, theta, phi): from the right, then from the left
    for i in range(n - 1):
        for j in range(i + 1):
            if i % 2 == 0:  # null V[n-1-j, m] with T_m^-1 on columns (m, m+1)
                r, m = n - 1 - j, i - j
                theta = np.arctan2(abs(V[r, m]), abs(V[r, m + 1]))
                phi = np.angle(V[r, m]) - np.angle(V[r, m + 1])
                V[:, m:m + 2] = V[:, m:m + 2] @ _mzi(theta, phi).conj().T
                first.append((m, theta, phi))
            else:  # null V[m+1, j] with T_m on rows (m, m+1)
                m = n - i - 2 + j
                theta = np.arctan2(abs(V[m + 1, j]), abs(V[m, j]))
                phi = np.pi + np.angle(V[m + 1, j]) - np.angle(V[m, j])
                V[m:m + 2] = _mzi(theta, phi) @ V[m:m + 2]
                last.append((m, theta, phi))
    # Now U = last[0]^-1 ... last[-1]^-1 D first[-1] ... first[0].  Move D to
    # the output: T_m(theta, phi)^-1 D = D' T_m(theta, phi') with
    # phi' = arg(-d_m / d_m+1), d'_m = -exp(-i phi) d_m+1.
    d = np.diag(V).copy()
    ops = list(first)
    for m, theta, phi in reversed(last):
        ops.append((m, theta, np.angle(-d[m] / d[m + 1])))
        d[m] = -np.exp(-1j * phi) * d[m + 1]
    # Place each beam splitter in the earliest free column of its parity; beam
    # splitters sharing a mode keep their order, so sorting by column is exact.
    free = [0] * n
    placed = []
    for m, theta, phi in ops:
        col = max(free[m], free[m + 1])
        col += (col - m) % 2
        free[m] = free[m + 1] = col + 1
        placed.append((col, m, theta, np.mod(phi, 2 * np.pi)))
    placed.sort(key=lambda p: p[:2])
    return Mesh(n, tuple((m, m + 1, t, p) for _, m, t, p in placed), np.angle(d))


def check_transfer_matrix(T, name="T", *, n_inputs=None, atol=1e-10):
    """Return a complex 2-D copy of ``T`` after checking it is a transfer matrix.

    Parameters
    ----------
    T : array_like of shape (inputs, outputs)
    name : str
        Parameter name used in error messages.
    n_inputs : int, optional
        Required number of rows (input modes).
    atol : float
        Tolerance on the largest singular value, which must be <= 1 + atol.

    Returns
    -------
    ndarray of shape (inputs, outputs), complex128

    Raises
    ------
    InputError
        If T is not a finite, non-empty, numeric 2-D contractive matrix.
    """
    try:
        arr = np.asarray(T)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be array-like, got {type(T).__name__}") from exc
    if arr.dtype.kind not in "biufc":
        raise InputError(f"{name} must hold real or complex numbers, got dtype {arr.dtype}")
    arr = arr.astype(complex)  # always a copy: callers may freeze or modify it
    if arr.ndim != 2 or arr.size == 0:
        raise InputError(
            f"{name} must be a non-empty 2-D array of shape (inputs, outputs), got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InputError(f"{name} must be finite, got {arr[bad]} at index {bad}")
    if n_inputs is not None and arr.shape[0] != n_inputs:
        raise InputError(f"{name} must have one row per input mode: expected {n_inputs} rows, "
                         f"got shape {arr.shape}")
    sigma = np.linalg.norm(arr, 2)
    if sigma > 1 + atol:
        raise InputError(
            f"{name} must be contractive (largest singular value <= 1 + {atol:g}), "
            f"got largest singular value {sigma:.12g}"
        )
    return arr


def _transmission(values, name, length):
    """sqrt of a scalar or per-mode transmission, checked to lie in [0, 1]."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} must be real numbers in [0, 1] (a scalar or one per mode), "
                         f"got {values!r}")
    arr = arr.astype(float)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != (length,)):
        raise InputError(f"{name} must be a scalar or have shape ({length},), got shape {arr.shape}")
    bad = ~((arr >= 0) & (arr <= 1))  # also catches nan
    if np.any(bad):
        where = f" at mode {int(np.argmax(bad))}" if arr.ndim else ""
        raise InputError(f"{name} must lie in [0, 1], got {arr[bad].flat[0]}{where}")
    return np.sqrt(arr)


def lossy_transfer_matrix(T, transmission, *, input_transmission=None):
    """Apply loss to a transfer matrix.

    ``T_lossy[i, j] = sqrt(input_transmission[i]) * T[i, j] * sqrt(transmission[j])``.

    Parameters
    ----------
    T : array_like of shape (inputs, outputs)
        Transfer matrix (for a unitary U with ``b = U a``, pass ``U.T``).
    transmission : float or array_like of shape (outputs,)
        Intensity transmission in [0, 1] after the interferometer (uniform, or
        per output mode, e.g. detector efficiencies).
    input_transmission : None, float or array_like of shape (inputs,)
        Intensity transmission in [0, 1] before the interferometer (per input
        mode, e.g. source coupling).  None means lossless inputs.

    Returns
    -------
    ndarray of shape (inputs, outputs), complex128
    """
    T = check_transfer_matrix(T, "T")
    out = T * _transmission(transmission, "transmission", T.shape[1])
    if input_transmission is not None:
        out = _transmission(input_transmission, "input_transmission", T.shape[0])[..., None] * out
    return out


def load_transfer_matrix(path, *, transpose=False):
    """Load a transfer matrix of shape (inputs, outputs) from a file.

    Formats, by extension: ``.npy`` (NumPy), ``.mtx`` (Matrix Market, dense or
    sparse; needs SciPy), ``.txt``/``.dat`` (whitespace-separated) and
    ``.csv`` (comma-separated) text, one row per line, entries either real or
    complex literals such as ``1-2j`` or ``(1-2j)`` as written by
    :func:`numpy.savetxt`.

    Parameters
    ----------
    path : str or os.PathLike
    transpose : bool
        True for files that store the matrix as (outputs, inputs), e.g. a
        unitary U with ``b = U a``.

    Returns
    -------
    ndarray of shape (inputs, outputs), complex128
        Checked by :func:`check_transfer_matrix`.

    Raises
    ------
    InputError
        Unknown extension, unparsable content or not a transfer matrix.
    FileNotFoundError
        If the file does not exist.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a str or os.PathLike, got {path!r}")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        T = np.load(path, allow_pickle=False)
    elif ext == ".mtx":
        try:
            import scipy.io
        except ImportError as exc:
            raise ImportError(
                f"reading Matrix Market file path={path!r} needs SciPy (pip install scipy)"
            ) from exc
        T = scipy.io.mmread(path)
        T = T.toarray() if hasattr(T, "toarray") else T
    elif ext in (".txt", ".dat", ".csv"):
        try:
            T = np.loadtxt(path, dtype=complex, delimiter="," if ext == ".csv" else None, ndmin=2)
        except ValueError as exc:
            raise InputError(f"path {path!r} must hold a numeric text matrix: {exc}") from exc
    else:
        raise InputError(
            f"path must end in .npy, .mtx, .txt, .dat or .csv, got {path!r} (extension {ext!r})"
        )
    T = np.asarray(T)
    return check_transfer_matrix(T.T if transpose else T, f"matrix loaded from path {path!r}")
