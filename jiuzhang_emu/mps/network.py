"""The lossy state as a matrix product state of its pure part, and its file.

Oh et al., Nat. Phys. 20, 1461 (2024), arXiv:2306.03709, Methods.  A lossy
Gaussian state is a pure state |psi> under a random displacement
(:mod:`jiuzhang_emu.pure_split`).  |psi> is written in right-canonical form

    <j_0 ... j_{M-1}|psi> = A^[0](j_0) A^[1](j_1) ... A^[M-1](j_{M-1}),
    A^[k]_{ab}(j) = <j|_k <R_{k+1,b}| R_{k,a}>,

with |R_{c,n}> = U(S_c)|n> the right Schmidt vectors of cut c
(:mod:`jiuzhang_emu.mps.schmidt`).  Since U(S_{k+1})^dag U(S_k) is, up to a
global phase, U(G_k) with G_k = (1 (+) S_{k+1})^-1 S_k on modes k..M-1,

    A^[k]_{ab}(j) = <j, n_b| U(G_k) |n_a>,

a table of Fock amplitudes of one Gaussian unitary (:mod:`jiuzhang_emu.fock`).
Every site needs only the cuts on its two sides, so sites are built
independently.  Kept: the top-chi Schmidt patterns per cut and j < cutoff;
the rows of A^[k] then have norm <= 1, and what they miss is the mass the
truncation left out.

File format ``jiuzhang_emu.mps``, version 1 (HDF5): root attributes
``format``, ``format_version``, ``fingerprint`` (the experiment's),
``parameters`` (JSON of :class:`MPSParameters`), ``split_method``; datasets
``split/pure_cov``, ``split/noise_cov``, ``split/means``;
``cuts/<c>/{symplectic, patterns, weights}`` for c = 0..M (what the sites
are built from, kept so that a resumed build continues the same network);
``sites/<k>`` (chi_k, cutoff, chi_{k+1}) complex64, written as each site is
built, so a build resumes where it stopped.  A file is complete when it has
all M sites.
"""
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from jiuzhang_emu import fock
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.mps.schmidt import Cut
from jiuzhang_emu.pure_split import SPLITS, PureSplit

FORMAT = "jiuzhang_emu.mps"
FORMAT_VERSION = 1
#: Site tensors are stored and contracted in single precision: a
#: probability's rounding error (~1e-6 relative) is far below the
#: truncation's.
SITE_DTYPE = np.complex64


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class MPSParameters:
    """What an MPS is built with.

    Attributes
    ----------
    chi : int
        Largest bond dimension (Schmidt patterns kept per cut).
    cutoff : int
        Fock states 0..cutoff-1 of the pure part per mode (the site
        tensors' physical leg).
    displaced_cutoff : int
        Photon numbers 0..displaced_cutoff-1 per mode after the random
        displacement (what is sampled); the mass above it is reported.
    split : str
        How the state is split into pure part and noise
        (:data:`jiuzhang_emu.pure_split.SPLITS`; "auto" is stored resolved).
    """

    chi: int
    cutoff: int
    displaced_cutoff: int
    split: str = "auto"

    def __post_init__(self):
        _positive_int(self.chi, "chi")
        _positive_int(self.cutoff, "cutoff")
        _positive_int(self.displaced_cutoff, "displaced_cutoff")
        if self.displaced_cutoff < self.cutoff:
            raise InputError(f"displaced_cutoff must be >= cutoff ({self.cutoff}), got "
                             f"{self.displaced_cutoff}")
        if self.split not in SPLITS:
            raise InputError(f"split must be one of {SPLITS}, got {self.split!r}")

    def text(self):
        return json.dumps(asdict(self), sort_keys=True)


def site_tensor(left, right, cutoff):
    """A^[k] between the cuts ``left`` (before mode k) and ``right`` (before
    mode k + 1): ndarray (chi_k, cutoff, chi_{k+1}), complex128."""
    m = left.symplectic.shape[0] // 2
    embedded = np.eye(2 * m)
    rest = np.r_[1:m, m + 1:2 * m]
    embedded[np.ix_(rest, rest)] = right.symplectic
    sigma, vacuum = fock.gaussian_unitary_kernel(np.linalg.solve(embedded, left.symplectic))
    return fock.unitary_amplitudes(sigma, vacuum, cutoff, right.patterns, left.patterns)


class LossyMPS:
    """A lossy experiment's state as random displacement + MPS.

    Built by :func:`jiuzhang_emu.samplers.mps.build_mps`; the site tensors
    are in memory, or in the file ``path`` (read when first needed).

    Attributes
    ----------
    fingerprint : str
        The experiment's fingerprint.
    parameters : MPSParameters
        ``split`` resolved.
    split : PureSplit
    bonds : ndarray of int, shape (M + 1,)
        Bond dimension of each cut (1 at both ends).
    discarded_weights : ndarray, shape (M + 1,)
        Schmidt weight left out at each cut.
    path : str or None
    """

    def __init__(self, fingerprint, parameters, split, bonds, discarded_weights, sites=None,
                 path=None):
        self.fingerprint, self.parameters, self.split = fingerprint, parameters, split
        self.bonds = np.asarray(bonds)
        self.discarded_weights = np.asarray(discarded_weights, dtype=np.float64)
        self.path = path
        self._sites = sites

    @property
    def n_modes(self):
        return len(self.bonds) - 1

    def sites(self):
        """The M site tensors, (chi_k, cutoff, chi_{k+1}) each, complex64."""
        if self._sites is None:
            self._sites = read_sites(self.path, self.n_modes)
        return self._sites

    def __getstate__(self):  # a file-backed network travels as its path
        state = dict(self.__dict__)
        if self.path is not None:
            state["_sites"] = None
        return state

    def summary(self):
        """A JSON-serialisable account of the network and its truncation."""
        return {"parameters": asdict(self.parameters), "fingerprint": self.fingerprint,
                "pure_photons": self.split.pure_photons,
                "noise_min_eigenvalue": self.split.noise_min_eigenvalue,
                "largest_bond": int(self.bonds.max()),
                "largest_discarded_weight": float(self.discarded_weights.max()),
                "total_discarded_weight": float(self.discarded_weights.sum()),
                "bonds": self.bonds.tolist(),
                "discarded_weights": self.discarded_weights.tolist()}

    def __repr__(self):
        p = self.parameters
        return (f"LossyMPS(modes={self.n_modes}, chi={p.chi}, cutoff={p.cutoff}, "
                f"displaced_cutoff={p.displaced_cutoff}, split={p.split!r}, "
                f"pure_photons={self.split.pure_photons:.3g}, largest discarded weight "
                f"{self.discarded_weights.max():.3g})")


# -- the file -------------------------------------------------------------
def _h5py():
    import h5py

    return h5py


def create_file(path, fingerprint, parameters, split, cuts):
    """Write a new MPS file with its split and cuts, no sites yet."""
    with _h5py().File(path, "x", locking=False) as handle:
        handle.attrs.update(format=FORMAT, format_version=FORMAT_VERSION,
                            fingerprint=fingerprint, parameters=parameters.text(),
                            split_method=split.method)
        handle["split/pure_cov"] = split.pure_cov
        handle["split/noise_cov"] = split.noise_cov
        handle["split/means"] = split.means
        for c in cuts:
            group = handle.create_group(f"cuts/{c.position}")
            group["symplectic"], group["patterns"] = c.symplectic, c.patterns
            group["weights"], group["occupations"] = c.weights, c.occupations
        handle.create_group("sites")


def _open(path):
    try:
        handle = _h5py().File(path, "r", locking=False)
    except OSError as exc:
        raise InputError(f"mps file {path!r} cannot be read as HDF5 ({exc}); it is left as "
                         f"it is: pass another path") from None
    if handle.attrs.get("format") != FORMAT:
        handle.close()
        raise InputError(f"mps file {path!r} is not an MPS file of jiuzhang_emu (format "
                         f"{handle.attrs.get('format')!r}); it is left as it is: pass another "
                         f"path")
    return handle


def read_parameters(path):
    """The :class:`MPSParameters` an MPS file was built with."""
    with _open(path) as handle:
        return MPSParameters(**json.loads(handle.attrs["parameters"]))


def open_file(path, fingerprint, parameters):
    """(split, cuts, done sites) of the MPS file ``path``; an
    :class:`InputError` when it is not an MPS file of this experiment built
    with these parameters (the file is left as it is)."""
    with _open(path) as handle:
        attrs = handle.attrs
        if attrs["fingerprint"] != fingerprint:
            raise InputError(f"mps file {path!r} was built for another experiment (fingerprint "
                             f"{attrs['fingerprint'][:12]}..., this one {fingerprint[:12]}...); "
                             f"it is left as it is: pass another path")
        stored = MPSParameters(**json.loads(attrs["parameters"]))
        wanted = parameters if parameters.split != "auto" else MPSParameters(
            parameters.chi, parameters.cutoff, parameters.displaced_cutoff, stored.split)
        if stored != wanted:
            differences = [f"{k} {v!r} in the file, {asdict(wanted)[k]!r} requested"
                           for k, v in asdict(stored).items() if asdict(wanted)[k] != v]
            raise InputError(f"mps file {path!r} was built with other parameters and is left "
                             f"as it is: " + "; ".join(differences))
        split = PureSplit(handle["split/pure_cov"][()], handle["split/noise_cov"][()],
                          handle["split/means"][()], attrs["split_method"])
        cuts = [Cut(int(c), handle[f"cuts/{c}/symplectic"][()], handle[f"cuts/{c}/occupations"][()],
                    handle[f"cuts/{c}/patterns"][()], handle[f"cuts/{c}/weights"][()])
                for c in sorted(handle["cuts"], key=int)]
        done = sorted(int(k) for k in handle["sites"])
    return stored, split, cuts, done


def write_site(path, index, tensor):
    """Add site ``index`` to the file (flushed when this returns)."""
    with _h5py().File(path, "r+", locking=False) as handle:
        handle.create_dataset(f"sites/{index}", data=tensor.astype(SITE_DTYPE))


def read_sites(path, n_modes):
    if not os.path.isfile(path):
        raise InputError(f"mps file {path!r} does not exist")
    with _open(path) as handle:
        missing = [k for k in range(n_modes) if str(k) not in handle["sites"]]
        if missing:
            raise InputError(f"mps file {path!r} is not complete: sites {missing[:5]}... of "
                             f"{n_modes} are missing; build it again to resume")
        return [handle[f"sites/{k}"][()] for k in range(n_modes)]
