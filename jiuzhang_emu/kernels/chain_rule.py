"""Checked front ends of the chain-rule kernels: exact photon-number sampling
of a pure state (csrc/sampler.c), exact threshold (click) sampling and
click-pattern probabilities (csrc/click_sampler.c).

Chain rule: mode by mode, p(x_k | x_<k) = p(x_<=k) / p(x_<k), one uniform
number per mode selecting x_k by inversion.  Photons: loop hafnians with
repeated rows of the pure part after the random displacement of the lossy
state (Quesada et al., PRX Quantum 3, 010306 (2022); Bulmer et al., Sci. Adv.
8, eabl9236 (2022)).  Clicks: torontonians, conditioned on vacuum at every
dark detector by Schur complements (Quesada & Arrazola, PRR 2, 023005 (2020)).

The state enters the click kernels in its *vacuum form* ``(G, v, block)``
(:meth:`jiuzhang_emu.Experiment.vacuum_form`): G real of shape (dim, dim) with
dim = block * detectors, rows detector by detector, and v of shape (dim,)
(None without displacement).  Every array is checked here and converted once
to the dtype and C order the typed native layer takes; what the kernels
return does not depend on ``n_threads``.
"""
import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels
from jiuzhang_emu.kernels.checks import as_array, check_integer
from jiuzhang_emu.kernels.precision import TIERS


def _uniforms(u, shape):
    u = as_array(u, "u", shape, "real")
    if u.size and not (u.min() >= 0 and u.max() <= 1):
        bad = u.min() if u.min() < 0 else u.max()
        raise InputError(f"u must hold uniform numbers in [0, 1], got {bad}")
    return u


def _tier(tier):
    if tier not in TIERS:
        raise InputError(f"tier must be one of {TIERS}, got {tier!r}")
    return tier


def _vacuum_form(G, v, block, n_detectors, name):
    if n_detectors < 1:
        raise InputError(f"{name} must have one column per detector (at least one), got 0")
    block = check_integer(block, "block", low=1)
    dim = block * n_detectors
    G = as_array(G, "G", (dim, dim), "real")
    v = None if v is None else as_array(v, "v", (dim,), "real")
    return G, v, block


def sample_photons(B, loops, beta, u, n_threads=None):
    """Exact photon-number patterns of a pure state, one shot per row.

    Parameters
    ----------
    B : array_like of shape (M, M)
        Symmetric, complex: the pure state's A = B (+) B^*.
    loops : array_like of shape (shots, M)
        Loop weights gamma + B beta^* per shot (complex).
    beta : array_like of shape (shots, M)
        Heterodyne outcomes per shot (complex).
    u : array_like of shape (shots, M)
        One uniform number in [0, 1] per mode and shot: the draw.
    n_threads : int, optional
        None for all usable cores; shots run in parallel.

    Returns
    -------
    patterns : ndarray of int64 of shape (shots, M)
    unresolved : ndarray of shape (shots,)
        Estimated probability mass rounding may have misplaced per shot.
    refused : ndarray of bool of shape (shots,)
        Shots whose draw at the mode marked -1 could not be resolved to the
        budget in any tier (``unresolved`` then holds its estimated error).
    """
    threads = effective_n_threads(n_threads)
    B = as_array(B, "B", (None, None), "complex")
    M = B.shape[0]
    if B.shape != (M, M):
        raise InputError(f"B must be a square matrix, got shape {B.shape}")
    loops = as_array(loops, "loops", (None, M), "complex")
    shape = (loops.shape[0], M)
    beta = as_array(beta, "beta", shape, "complex")
    return _kernels.sample_photons(B, loops, beta, _uniforms(u, shape), threads)


def sample_fanout(B, loops, beta, sub_beta, u, order, n_detectors, sub_detectors,
                  n_threads=None, shot_threads=1):
    """Exact threshold / pseudo-PNR clicks of a pure state by fan-out, one shot
    per row (:mod:`jiuzhang_emu.samplers.fanout` derives the route).

    Parameters
    ----------
    B, loops, beta
        As for :func:`sample_photons`.
    sub_beta : array_like of shape (shots, M, K)
        The heterodyne outcomes of each mode's K = n_detectors * sub_detectors
        sub-detectors (complex).
    u : array_like of shape (shots, M, K)
        One uniform number in [0, 1] per sub-detector.
    order : array_like of int of shape (M,) or (shots, M)
        The modes in the order they are measured (a permutation).
    n_detectors, sub_detectors : int
        Threshold detectors per mode (1, or k for pseudo-PNR) and virtual
        sub-detectors per detector (F), both >= 1.
    n_threads : int, optional
        Threads inside each shot (its loop hafnians); None for all usable cores.
    shot_threads : int
        Shots run in parallel; the clicks depend on neither.

    Returns
    -------
    fired : ndarray of int64 of shape (shots, M)
        Detectors fired per mode (0/1 for threshold).
    unresolved, refused
        As for :func:`sample_photons`.
    """
    threads = effective_n_threads(n_threads)
    shot_threads = check_integer(shot_threads, "shot_threads", low=1)
    n_detectors = check_integer(n_detectors, "n_detectors", low=1)
    sub_detectors = check_integer(sub_detectors, "sub_detectors", low=1)
    B = as_array(B, "B", (None, None), "complex")
    M = B.shape[0]
    if B.shape != (M, M):
        raise InputError(f"B must be a square matrix, got shape {B.shape}")
    loops = as_array(loops, "loops", (None, M), "complex")
    shots, K = loops.shape[0], n_detectors * sub_detectors
    beta = as_array(beta, "beta", (shots, M), "complex")
    sub_beta = as_array(sub_beta, "sub_beta", (shots, M, K), "complex")
    order = as_array(order, "order", (None,) * np.ndim(order), "integer")
    order = np.ascontiguousarray(np.broadcast_to(order, (shots, M)), dtype=np.int64)
    if shots and np.any(np.sort(order, axis=1) != np.arange(M)):
        raise InputError(f"order must be a permutation of the {M} modes, got {order[0].tolist()}")
    u = as_array(u, "u", (shots, M, K), "real")
    if u.size and not (u.min() >= 0 and u.max() <= 1):
        raise InputError(f"u must hold uniform numbers in [0, 1], got {u.min()} .. {u.max()}")
    return _kernels.sample_fanout(B, loops, beta, sub_beta, u, order, n_detectors,
                                  sub_detectors, shot_threads, threads)


def sample_clicks(G, v, block, u, tier="double", n_threads=None):
    """Exact threshold clicks (before dark counts), one shot per row.

    Parameters
    ----------
    G, v, block
        The state's vacuum form (see the module docstring); v may be None.
    u : array_like of shape (shots, detectors)
        One uniform number in [0, 1] per detector and shot: the draw.
    tier : {"double", "extended", "double-double"}
    n_threads : int, optional
        None for all usable cores; shots run in parallel.

    Returns
    -------
    clicks : ndarray of int64 of shape (shots, detectors)
    condition : ndarray of shape (shots,)
        Largest sum |terms| / value of the shot's conditional click
        probabilities: times the tier's unit roundoff, their absolute error.
    """
    threads = effective_n_threads(n_threads)
    u = _uniforms(u, (None, None))
    G, v, block = _vacuum_form(G, v, block, u.shape[1], "u")
    return _kernels.sample_clicks(G, v, block, u, _tier(tier), threads)


def click_probabilities(G, v, g, block, patterns, tier="double", n_threads=None):
    """Log-probabilities of click patterns by the chain rule.

    Parameters
    ----------
    G, v, block
        The state's vacuum form (see the module docstring); v may be None.
    g : array_like of shape (detectors,) or None
        Dark-count factors 1 - d, in [0, 1]; None for no dark counts.
    patterns : array_like of int of shape (n, detectors)
        0/1 per detector (bool, any integer dtype, or whole floats).
    tier : {"double", "extended", "double-double"}
    n_threads : int, optional
        None for all usable cores; patterns run in parallel.

    Returns
    -------
    log_prob : ndarray of shape (n,)
    condition : ndarray of shape (n,)
        Sum |terms| / value of the chain's factors, as for :func:`sample_clicks`.
    """
    threads = effective_n_threads(n_threads)
    patterns = as_array(patterns, "patterns", (None, None), "integer")
    if np.any((patterns != 0) & (patterns != 1)):
        raise InputError(f"patterns must hold 0 or 1 (dark or click), got "
                         f"{patterns[(patterns != 0) & (patterns != 1)][0]}")
    G, v, block = _vacuum_form(G, v, block, patterns.shape[1], "patterns")
    if g is not None:
        g = as_array(g, "g", (patterns.shape[1],), "real")
        if np.any((g < 0) | (g > 1)):
            raise InputError(f"g must hold dark-count factors 1 - d in [0, 1], got {g}")
    return _kernels.click_probabilities(G, v, g, block, patterns, _tier(tier), threads)
