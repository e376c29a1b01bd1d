"""Hafnian and loop hafnian, with repeated rows, single and batched.

The hafnian of a symmetric 2n x 2n matrix A sums, over the perfect matchings
of its rows, the product of the matched entries; the loop hafnian also admits
self-loops, weighted by ``diag`` (default: the diagonal of A).  With ``reps``,
row/column i stands ``reps[i]`` times (a photon pattern with collisions), and
the entry between two copies of i is A[i, i].

Algorithm (csrc/hafnian_impl.h): the polynomial recursion of Bjorklund,
SODA 2012, extended with loops and with the repeated-row sieve of Bulmer et
al., Sci. Adv. 8, eabl9236 (2022): k identical pairs cost k + 1 branches, not
2^k.  Work: prod_i (floor(reps_i / 2) + 1) * 2^(odd reps / 2) leaves, each
O(n^2) for N = 2n photons.

A few rows repeated many times cancel catastrophically in the sieve (reps
[36, 36] of ``np.full((2, 2), .5)``: -2.70e40 in float64, true +3.49e40):
there the generating-function expansion of :mod:`jiuzhang_emu.kernels._expansion`
is used instead, chosen up front where it is cheaper and as the fallback
where the kernel's own estimate is short; its results report precision
"mpmath".  Every kernel call is priced, time and memory, before the vertex
list or any workspace is allocated (:mod:`jiuzhang_emu.kernels.work`).
"""
from typing import NamedTuple

import numpy as np

from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.kernels import _kernels, work
from jiuzhang_emu.kernels.checks import (
    as_array,
    as_matrix,
    as_reps,
    as_vector,
    check_finite_result,
    check_integer,
    check_max_seconds,
    check_symmetric,
)
from jiuzhang_emu.kernels._expansion import (
    MAX_EXPANSION_GRID,
    expansion_grid,
    expansion_work,
    loop_hafnian_expansion,
)
from jiuzhang_emu.kernels.precision import AUTO_RTOL, check_precision, evaluate, evaluate_batch


class BatchResult(NamedTuple):
    """Values of a batched kernel call with the tier that produced each."""

    values: np.ndarray
    precision: np.ndarray
    condition: np.ndarray
    error_estimate: np.ndarray


def _pairing(reps, loops, shuffle=False, shape=None):
    """Vertex list and pair groups (those of ``shape``, :func:`_shape`'s
    result, computed here unless the caller has it) for the kernel, or None
    for an odd number of vertices without loops (hafnian 0).  ``shuffle``
    pairs the single rows differently and reverses the group order: the same
    hafnian, rounded differently (precision="auto" compares the two)."""
    shape = _shape(reps, loops) if shape is None else shape
    if shape is None:
        return None
    reps = np.asarray(reps, dtype=np.int64)
    singles = np.flatnonzero(reps % 2)
    if shuffle:
        singles = np.random.default_rng(2012).permutation(singles)
    if len(singles) % 2:
        singles = np.append(singles, -1)  # a padding vertex with loop weight 1 and no edges
    V = np.concatenate([np.repeat(np.arange(len(reps)), 2 * (reps // 2)), singles])
    V, group_k = V.astype(np.intc), shape[0].astype(np.intc)
    if shuffle:
        V, group_k = V.reshape(-1, 2)[::-1].ravel().copy(), group_k[::-1].copy()
    return V, group_k


def _as_output(value, is_complex):
    return complex(value) if is_complex else float(value.real)


def _prepare(A, diag, reps, loops, batch):
    names = ("As", "diags") if batch else ("A", "diag")
    A = as_matrix(A, names[0], batch=batch)
    check_symmetric(A, names[0])
    dim = A.shape[-1]
    batch_shape = A.shape[:1] if batch else ()
    if loops:
        if diag is None:
            diag = np.diagonal(A, axis1=-2, axis2=-1)
        diag = as_vector(diag, names[1], dim, batch_shape=batch_shape)
        if diag.dtype.kind == "c" and A.dtype.kind != "c":
            A = A.astype(np.complex128)
        elif A.dtype.kind == "c":
            diag = diag.astype(np.complex128)
        diag = np.ascontiguousarray(diag)
    else:
        diag = None
    reps = as_reps(reps, dim)
    return A, diag, reps


def _entry_scale(A, diag):
    scale = f"largest |entry| {np.abs(A).max(initial=0):.3g}"
    if diag is not None:
        scale += f" and largest |diagonal (loop) entry| {np.abs(diag).max(initial=0):.3g}"
    return scale


def _shape(reps, loops):
    """(group_k, number of vertices) of :func:`_pairing` from the counts
    alone, without building the vertex list (reps of 10**8 made a 1.6 GB
    list before the runtime guard saw them); None for an odd size without
    loops."""
    reps = np.asarray(reps, dtype=np.int64)
    pairs = reps // 2
    n_singles = int(np.sum(reps % 2))
    if n_singles % 2:
        if not loops:
            return None
        n_singles += 1
    group_k = np.concatenate([pairs[reps >= 2], np.ones(n_singles // 2, dtype=np.int64)])
    return group_k, 2 * int(pairs.sum()) + n_singles


def _kernel_threads(group_k, n_vertices, tier, *, max_seconds, what, is_complex, n_threads,
                    batch=1):
    """Price the kernel call in this tier, time and memory, before anything is
    allocated: raise RuntimeLimitError, or return the threads to use."""
    n_pairs = n_vertices // 2
    threads = work.check_call_seconds(
        "hafnian", batch * work.hafnian_work(group_k, n_pairs), max_seconds, what=what,
        is_complex=is_complex, precision=tier, n_threads=n_threads,
    )
    return work.check_memory(work.hafnian_bytes(n_pairs, is_complex=is_complex, precision=tier),
                             threads, what=what)


def _expansion_route(A, diag, reps, group_k, max_seconds, what):
    """A callable giving the generating-function value (see
    :mod:`jiuzhang_emu.kernels._expansion`), or None where it does not apply
    (no repeated row) or costs too much; and its predicted seconds."""
    if not np.any(group_k > 1):
        return None, np.inf
    operations = expansion_work(reps)
    seconds = work.expansion_seconds(operations, is_complex=A.dtype.kind == "c")
    if expansion_grid(reps) > MAX_EXPANSION_GRID or (max_seconds is not None
                                                     and seconds > max_seconds):
        return None, seconds
    return (lambda: loop_hafnian_expansion(A, diag, reps, AUTO_RTOL)), seconds


def _single(A, diag, reps, loops, n_threads, precision, return_info, max_seconds, what):
    check_precision(precision)
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    A, diag, reps = _prepare(A, diag, reps, loops, batch=False)
    is_complex = A.dtype.kind == "c"
    shape = _shape(reps, loops)
    if shape is None:
        result = evaluate(lambda tier: (0.0, 0.0), precision)  # odd size: exactly 0
    else:
        group_k, n_vertices = shape
        first = "double" if precision == "auto" else precision
        expansion, expansion_seconds = _expansion_route(A, diag, reps, group_k, max_seconds, what)
        kernel_seconds = work.call_seconds(
            "hafnian", work.hafnian_work(group_k, n_vertices // 2), is_complex=is_complex,
            precision=first)
        if expansion is not None and expansion_seconds < kernel_seconds:
            # few distinct rows, many repetitions: the expansion is cheaper, and exact
            result = expansion()
        else:
            def run(tier, shuffle=False):
                use = _kernel_threads(group_k, n_vertices, tier, max_seconds=max_seconds,
                                      what=what, is_complex=is_complex, n_threads=threads)
                V, gk = _pairing(reps, loops, shuffle, shape)
                return _kernels.loop_hafnian(A, diag, V, gk, use, tier == "extended")

            result = evaluate(run, precision, rerun=lambda tier: run(tier, shuffle=True),
                              fallback=expansion)
    check_finite_result(result.value, what, "A", _entry_scale(A, diag))
    result = result._replace(value=_as_output(result.value, is_complex))
    return result if return_info else result.value


def hafnian(A, reps=None, *, n_threads=None, precision="double", return_info=False,
            max_seconds=3600.0):
    """Hafnian of a symmetric matrix.

    Parameters
    ----------
    A : array_like of shape (N, N)
        Symmetric, real or complex.  Its diagonal is ignored unless a row is
        repeated (then A[i, i] joins two copies of row i).
    reps : array_like of int of shape (N,), optional
        How many times each row/column is repeated; default once each.
    n_threads : int, optional
        None for all usable cores; see :func:`jiuzhang_emu.effective_n_threads`.
    precision : {"double", "extended", "auto"}
        "extended" computes in 80-bit long double; "auto" escalates when the
        cancellation indicator says float64 cannot be trusted (see
        :mod:`jiuzhang_emu.kernels.precision`).
    return_info : bool
        Return a :class:`~jiuzhang_emu.kernels.KernelResult` (value, tier,
        condition, error estimate) instead of the bare value.
    max_seconds : float or None
        Refuse (``RuntimeLimitError``) a call predicted to run longer; None
        lifts the limit.

    Returns
    -------
    float or complex
        1 for an empty matrix, 0 for an odd number of rows.
    """
    return _single(A, None, reps, False, n_threads, precision, return_info, max_seconds,
                   "hafnian")


def loop_hafnian(A, diag=None, *, reps=None, n_threads=None, precision="double",
                 return_info=False, max_seconds=3600.0):
    """Loop hafnian of a symmetric matrix.

    Parameters
    ----------
    A : array_like of shape (N, N)
        Symmetric, real or complex; off-diagonal entries weight the edges.
    diag : array_like of shape (N,), optional
        Loop weights; default the diagonal of A.
    reps : array_like of int of shape (N,), optional
        How many times each row/column (and its loop) is repeated.
    n_threads, precision, return_info, max_seconds
        As for :func:`hafnian`.

    Returns
    -------
    float or complex
        1 for an empty matrix.  An odd number of rows is allowed.
    """
    return _single(A, diag, reps, True, n_threads, precision, return_info, max_seconds,
                   "loop_hafnian")


def _batch(As, diags, reps, loops, n_threads, precision, return_info, max_seconds, what):
    check_precision(precision)
    max_seconds = check_max_seconds(max_seconds)
    threads = effective_n_threads(n_threads)
    As, diags, reps = _prepare(As, diags, reps, loops, batch=True)
    is_complex = As.dtype.kind == "c"
    B = As.shape[0]
    shape = _shape(reps, loops)
    if shape is None:
        values = np.zeros(B, dtype=As.dtype)
        zeros = np.zeros(B)
        result = BatchResult(values, np.full(B, "double"), zeros, zeros)
        return result if return_info else values
    group_k, n_vertices = shape
    # priced (time and memory) before the vertex list or any workspace exists
    threads = _kernel_threads(group_k, n_vertices, "double" if precision == "auto" else precision,
                              max_seconds=max_seconds, what=what, is_complex=is_complex,
                              n_threads=threads, batch=B)
    V, group_k = _pairing(reps, loops, shape=shape)

    def run(tier, index, V=V, group_k=group_k):
        sub = As if index is None else np.ascontiguousarray(As[index])
        sub_d = None if diags is None else (diags if index is None else
                                            np.ascontiguousarray(diags[index]))
        return _kernels.loop_hafnian_batch(sub, sub_d, V, group_k, threads, tier == "extended")

    def rerun(tier, index):
        return run(tier, index, *_pairing(reps, loops, True, shape))

    values, tiers, conds, errors = evaluate_batch(run, precision, B, rerun=rerun)
    check_finite_result(values, what, "As", _entry_scale(As, diags))
    values = values if is_complex else values.real.copy()
    result = BatchResult(values, tiers, conds, errors)
    return result if return_info else values


def hafnian_batch(As, reps=None, *, n_threads=None, precision="double", return_info=False,
                  max_seconds=3600.0):
    """Hafnians of a stack of symmetric matrices, one thread per matrix.

    Parameters
    ----------
    As : array_like of shape (batch, N, N)
    reps : array_like of int of shape (N,), optional
        Repetitions shared by all matrices.
    n_threads, precision, max_seconds
        As for :func:`hafnian`.
    return_info : bool
        Return a :class:`BatchResult` instead of the bare values.

    Returns
    -------
    ndarray of shape (batch,)
    """
    return _batch(As, None, reps, False, n_threads, precision, return_info, max_seconds,
                  "hafnian_batch")


def loop_hafnian_batch(As, diags=None, *, reps=None, n_threads=None, precision="double",
                       return_info=False, max_seconds=3600.0):
    """Loop hafnians of a stack of symmetric matrices, one thread per matrix.

    Parameters
    ----------
    As : array_like of shape (batch, N, N)
    diags : array_like of shape (batch, N), optional
        Loop weights; default the diagonals of the matrices.
    reps, n_threads, precision, return_info, max_seconds
        As for :func:`hafnian_batch`.

    Returns
    -------
    ndarray of shape (batch,)
    """
    return _batch(As, diags, reps, True, n_threads, precision, return_info, max_seconds,
                  "loop_hafnian_batch")


#: The tiers of :func:`loop_hafnian_polynomial`: complex128, complex long
#: double and, where compiled (:data:`jiuzhang_emu.kernels.HAS_QUAD`), complex quad.
POLYNOMIAL_TIERS = ("z", "lz", "qz") if _kernels.HAS_QUAD else ("z", "lz")


def loop_hafnian_polynomial(A, loops, loops1, n_z, *, reps=None, tier="z", n_threads=None):
    """Coefficients of z^0 .. z^(n_z - 1) of the loop hafnian of A with loop
    weights ``loops + z loops1``, all in one pass of the repeated-row sieve
    (the exact photon sampler's L(z), csrc/sampler.c).

    Parameters
    ----------
    A : array_like of shape (N, N)
        Symmetric, real or complex.
    loops, loops1 : array_like of shape (N,)
        Loop weights at z = 0 and their slope in z.
    n_z : int
        Number of coefficients, >= 1.
    reps : array_like of int of shape (N,), optional
        How many times each row/column (and its loop) is repeated.
    tier : {"z", "lz", "qz"}
        Complex128, complex long double, or complex quad (see
        :data:`POLYNOMIAL_TIERS`).
    n_threads : int, optional
        None for all usable cores.

    Returns
    -------
    coefficients : ndarray of complex of shape (n_z,)
    abs_sums : ndarray of shape (n_z,)
        Sum of the moduli of each coefficient's terms: times the tier's unit
        roundoff, its absolute error.
    """
    threads = effective_n_threads(n_threads)
    if tier not in POLYNOMIAL_TIERS:
        raise InputError(f"tier must be one of {POLYNOMIAL_TIERS}, got {tier!r}")
    n_z = check_integer(n_z, "n_z", low=1)
    A, loops, loops1, V, group_k = _linear_loops(A, loops, loops1, reps)
    return _kernels.loop_hafnian_zpoly(A, loops, loops1, n_z, V, group_k, threads, tier)


def _linear_loops(A, loops, loops1, reps):
    """The checked complex inputs of a loop hafnian with loops linear in z,
    and its pairing."""
    A = as_matrix(A, "A")
    check_symmetric(A, "A")
    dim = A.shape[0]
    loops = as_vector(loops, "loops", dim).astype(np.complex128)
    loops1 = as_vector(loops1, "loops1", dim).astype(np.complex128)
    V, group_k = _pairing(as_reps(reps, dim), True)
    return A.astype(np.complex128), loops, loops1, V, group_k


def loop_hafnian_values(A, loops, loops1, points, *, reps=None, tier="z", n_threads=None):
    """Values of the loop hafnian of A with loop weights ``loops + z loops1``
    at each z of ``points``, all in one pass: the edge polynomials are shared
    and only the leaf polynomial is carried per point (the fan-out sampler's
    L(z) on a circle, csrc/sampler.c).

    Parameters
    ----------
    A, loops, loops1, reps, n_threads
        As for :func:`loop_hafnian_polynomial`.
    points : array_like of shape (n,)
        The values of z, n >= 1.
    tier : {"z", "lz"}
        Complex128 or complex long double.

    Returns
    -------
    values : ndarray of complex of shape (n,)
    abs_sums : ndarray of shape (n,)
        Sum of the moduli of each value's terms: times the tier's unit
        roundoff, its absolute error.
    """
    threads = effective_n_threads(n_threads)
    if tier not in ("z", "lz"):
        raise InputError(f"tier must be 'z' or 'lz', got {tier!r}")
    A, loops, loops1, V, group_k = _linear_loops(A, loops, loops1, reps)
    points = as_array(points, "points", (None,), "complex")
    if not len(points):
        raise InputError("points must hold at least one value of z, got none")
    return _kernels.loop_hafnian_zeval(A, loops, loops1, points, V, group_k, threads, tier)
