"""Approximate sampling by a lossy MPS (Oh et al. 2024): method "mps".

Oh, Liu, Alexeev, Fefferman, Jiang, Nat. Phys. 20, 1461 (2024),
arXiv:2306.03709.  :func:`build_mps` splits the experiment's output state
into a pure part with few photons plus a classical random displacement
(:mod:`jiuzhang_emu.pure_split`), writes the pure part as a matrix product
state (:mod:`jiuzhang_emu.mps`), site by site in parallel, and streams it to
an HDF5 file from which a stopped build resumes and later runs sample.

:class:`MPSSampler` draws each shot as: a displacement alpha ~ N(means, W)
(per mode alpha = (mu_x + i mu_p) / 2), then photon numbers mode by mode by
the chain rule on the displaced network,

    p(n_k | n_<k) = ||L A~^[k](n_k)||^2 / ||L||^2,
    A~^[k](n) = sum_{m < cutoff} <n|D(alpha_k)|m> A^[k](m),

with the exact displacement elements (:func:`jiuzhang_emu.fock.
displacement_matrix`) for n < displaced_cutoff, L the left vector of the
photons drawn so far.  A batch of shots is one matrix product per mode,
(shots x chi_k) by (chi_k x cutoff chi_{k+1}): ~ M chi^2 cutoff
multiply-adds per shot.  The weights of all n come from the cutoff x cutoff
Gram matrix G = P P^dag of the undisplaced rows P_m = L A^[k](m),
||L A~(n)||^2 = D_n G D_n^dag, and only the drawn row is formed, so the
displaced cutoff adds no work of order chi.  Nothing is renormalised silently: each step keeps
the fraction ||L A~(.)||^2 / ||L||^2 of the mass (< 1 from the Schmidt
truncation, the cutoff and the displaced cutoff), and a shot's
``truncated_mass`` is 1 - the product of its steps' fractions; the
largest over the run is the samples' ``unresolved_mass``, and
:attr:`MPSSampler.mean_truncated_mass` is their mean.  The photon numbers
go through the detector model, so threshold, PNR and pseudo-PNR detection
all work.
"""
import os
import sys

import numpy as np

from jiuzhang_emu import fock
from jiuzhang_emu.errors import InputError, PrecisionLimitError
from jiuzhang_emu.mps import schmidt
from jiuzhang_emu.mps.network import (
    LossyMPS, MPSParameters, create_file, open_file, read_parameters, site_tensor, write_site,
)
from jiuzhang_emu.pure_split import split_pure
from jiuzhang_emu.samplers.workers import check_n_workers, map_batches

#: Defaults, from the measurements in the issue-16 note (Jiuzhang 1.0:
#: chi = 400 keeps >= 99 % of the Schmidt weight at every cut of the SDP
#: split's pure part).
DEFAULT_CHI = 400
DEFAULT_CUTOFF = 4
DEFAULT_DISPLACED_CUTOFF = 24


def check_experiment(experiment):
    """Refuse what the route cannot sample (clear errors before any work)."""
    if experiment.internal_modes > 1:
        raise InputError(f"method 'mps' samples indistinguishable light; {experiment.name!r} "
                         f"has partly distinguishable sources (use 'exact')")


class _SiteTask:
    """Builds site ``index`` from the cuts; picklable for workers."""

    def __init__(self, cuts, cutoff):
        self.cuts, self.cutoff = cuts, cutoff

    def __call__(self, index, size):
        return site_tensor(self.cuts[index], self.cuts[index + 1], self.cutoff)


def build_mps(experiment, *, chi=DEFAULT_CHI, cutoff=DEFAULT_CUTOFF,
              displaced_cutoff=DEFAULT_DISPLACED_CUTOFF, split="auto", path=None,
              n_workers=1, client=None, progress=None):
    """The lossy MPS of ``experiment``, built or resumed.

    Parameters
    ----------
    experiment : Experiment
    chi : int
        Largest bond dimension.
    cutoff : int
        Fock states of the pure part per mode (physical leg).
    displaced_cutoff : int
        Photon numbers per mode that the sampler draws from (after the
        displacement).
    split : {"auto", "sdp", "closed-form", "williamson"}
        :func:`jiuzhang_emu.pure_split.split_pure`.
    path : str or os.PathLike, optional
        The HDF5 file the network is written to as it is built.  An
        existing file of the same experiment and parameters is resumed (or,
        complete, just opened); any other file is refused and left as it is.
        None: built in memory.
    n_workers : int
        Local processes building sites; the network does not depend on it.
    client : dask.distributed.Client, optional
    progress : bool, optional
        A progress bar over sites; None: when stderr is a terminal.

    Returns
    -------
    LossyMPS
    """
    check_experiment(experiment)
    parameters = MPSParameters(chi, cutoff, displaced_cutoff, split)
    n_workers = check_n_workers(n_workers)
    fingerprint = experiment.fingerprint()
    path = None if path is None else os.fspath(path)
    if path is not None and os.path.exists(path):
        parameters, pure, cuts, done = open_file(path, fingerprint, parameters)
    else:
        pure = split_pure(experiment, parameters.split)
        parameters = MPSParameters(chi, cutoff, displaced_cutoff, pure.method)
        cuts = schmidt.cuts(pure.pure_cov, chi)
        done = []
        if path is not None:
            create_file(path, fingerprint, parameters, pure, cuts)
    M = experiment.n_modes
    todo = [(k, 1) for k in range(M) if k not in set(done)]
    sites = None if path is not None else [None] * M
    with _SiteBar(progress, M, len(done)) as bar:
        for index, tensor in map_batches(_SiteTask(cuts, cutoff), todo, n_workers, client):
            if path is None:
                sites[index] = tensor.astype(np.complex64)
            else:
                write_site(path, index, tensor)
            bar.update()
    return LossyMPS(fingerprint, parameters, pure, [c.bond for c in cuts],
                    [c.discarded_weight for c in cuts], sites, path)


class _SiteBar:
    """A tqdm bar over the sites (``enabled`` None: when stderr is a terminal)."""

    def __init__(self, enabled, total, initial):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="site", desc="building MPS",
                             file=sys.stderr, dynamic_ncols=True)

    def __enter__(self):
        return self

    def update(self):
        if self._bar is not None:
            self._bar.update()

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()


class MPSSampler:
    """Photon numbers at the detectors drawn from a :class:`LossyMPS`
    (module docstring); the run engine's route sampler for "mps"."""

    counts_are_clicks = False

    def __init__(self, experiment, network):
        check_experiment(experiment)
        if network.fingerprint != experiment.fingerprint():
            raise InputError(f"mps was built for another experiment (fingerprint "
                             f"{network.fingerprint[:12]}..., {experiment.name!r} has "
                             f"{experiment.fingerprint()[:12]}...)")
        self.network = network
        self.dark_counts = experiment.detector.dark_counts(experiment.n_modes)
        self.unresolved_mass = 0.0  # the largest truncated mass of a shot so far
        self._shots, self._truncated, self._network_truncated = 0, 0.0, 0.0

    @property
    def mean_truncated_mass(self):
        """The mean truncated mass of the shots drawn so far (nan before any)."""
        return self._truncated / self._shots if self._shots else float("nan")

    @property
    def mean_network_truncated_mass(self):
        """Its part left out by the network itself (the Schmidt truncation
        and the pure part's cutoff); the rest is the mass the displacement
        moved above ``displaced_cutoff``."""
        return self._network_truncated / self._shots if self._shots else float("nan")

    def counts(self, size, rng):
        network = self.network
        p = network.parameters
        alpha = network.split.displacements(rng, size)
        uniforms = rng.random((size, network.n_modes))
        left = np.ones((size, 1), dtype=np.complex64)
        kept, network_kept = np.ones(size), np.ones(size)
        photons = np.empty((size, network.n_modes), dtype=np.int64)
        shots = np.arange(size)
        for k, site in enumerate(network.sites()):
            chi_left, d, chi_right = site.shape
            pure = (left @ site.reshape(chi_left, d * chi_right)).reshape(size, d, chi_right)
            # ||sum_m D_nm pure_m||^2 = D_n gram D_n^dag: the displaced weights cost
            # O(d^2) per row, and only the drawn row is contracted with pure
            gram = (pure @ pure.conj().transpose(0, 2, 1)).astype(np.complex128)
            network_kept *= np.einsum("smm->s", gram).real  # D's block is a contraction
            displacement = fock.displacement_matrix(alpha[:, k], p.displaced_cutoff, d)
            weights = np.einsum("snm,smk,snk->sn", displacement, gram,
                                displacement.conj()).real.clip(0)
            cdf = np.cumsum(weights, axis=1)
            total = cdf[:, -1]  # u * total < cdf[-1]: the drawn row has weight > 0
            if not np.all(total > 0):
                raise PrecisionLimitError(
                    f"the network holds no probability for a shot's photons at mode {k} (all "
                    f"of it truncated): raise chi ({p.chi}) or the cutoffs ({p.cutoff}, "
                    f"{p.displaced_cutoff})")
            kept *= total  # ||left|| = 1
            n = np.minimum((uniforms[:, k, None] * total[:, None] > cdf).sum(axis=1),
                           p.displaced_cutoff - 1)
            photons[:, k] = n
            row = (displacement[shots, n] / np.sqrt(weights[shots, n])[:, None]).astype(np.complex64)
            left = (row[:, None, :] @ pure)[:, 0]
        truncated = np.clip(1 - kept, 0, 1)
        self.unresolved_mass = max(self.unresolved_mass, float(truncated.max(initial=0.0)))
        self._shots += size
        self._truncated += float(truncated.sum())
        self._network_truncated += float(np.clip(1 - network_kept, 0, 1).sum())
        return photons


def open_mps(experiment, path, *, n_workers=1, client=None, progress=None):
    """The network in the MPS file ``path``, with the parameters it was built
    with (an incomplete build is resumed)."""
    parameters = read_parameters(path)
    return build_mps(experiment, chi=parameters.chi, cutoff=parameters.cutoff,
                     displaced_cutoff=parameters.displaced_cutoff, split=parameters.split,
                     path=path, n_workers=n_workers, client=client, progress=progress)


def network_for(experiment, mps, n_workers=1, client=None, progress=None):
    """The network of a run's ``mps`` argument (see
    :func:`jiuzhang_emu.samplers.sample`)."""
    if isinstance(mps, LossyMPS):
        if mps.fingerprint != experiment.fingerprint():
            raise InputError(f"mps was built for another experiment (fingerprint "
                             f"{mps.fingerprint[:12]}..., {experiment.name!r} has "
                             f"{experiment.fingerprint()[:12]}...)")
        return mps
    if mps is None:
        return build_mps(experiment, n_workers=n_workers, client=client, progress=progress)
    if isinstance(mps, (str, os.PathLike)):
        if os.path.exists(mps):
            return open_mps(experiment, mps, n_workers=n_workers, client=client,
                            progress=progress)
        return build_mps(experiment, path=mps, n_workers=n_workers, client=client,
                         progress=progress)
    raise InputError(f"mps must be a LossyMPS, the path of an MPS file or None, got {mps!r}")
