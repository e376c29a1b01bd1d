# cython: language_level=3
"""Thin typed layer over the C kernels.

Every array argument is a typed memoryview with an explicit dtype and C order
(``double[:, ::1]``, ``const int64_t[:, ::1]``, ...): an array of another
dtype or layout is refused here (ValueError), never reinterpreted.  The
conversion to that dtype and order happens once, in the checked Python front
ends (``jiuzhang_emu.kernels``); this layer takes the data pointers, releases
the GIL, and turns a nonzero status into an exception.
Batched entry points loop over a stack of matrices in parallel, one matrix per
thread (jz_run_batch).

Interruption: the kernels call ``_interrupt_hook`` from the calling thread
about every 50 ms of work; in the main thread it runs Python's signal handlers
(PyErr_CheckSignals), and when one raises (KeyboardInterrupt for Ctrl-C, or
whatever a SIGTERM handler raises) the kernel stops and ``_check`` re-raises
that exception.
"""
import os
import threading

import numpy as np

cimport cython
from cpython.exc cimport PyErr_Occurred

from jiuzhang_emu.errors import InputError, KernelError


cdef extern from "Python.h":
    # declared without `except`: the exception a signal handler raised stays
    # pending until _check re-raises it
    int PyErr_CheckSignals() noexcept
    unsigned long PyThread_get_thread_ident() noexcept nogil


cdef unsigned long _main_thread = threading.main_thread().ident


def _note_main_thread():
    global _main_thread
    _main_thread = threading.main_thread().ident


if hasattr(os, "register_at_fork"):  # a fork's main thread is the thread that forked
    os.register_at_fork(after_in_child=_note_main_thread)


cdef int _interrupt_hook() noexcept nogil:
    # Python runs signal handlers in the main thread only: elsewhere no GIL is taken
    if PyThread_get_thread_ident() != _main_thread:
        return 0
    with gil:
        return PyErr_CheckSignals() != 0


jz_set_interrupt_hook(_interrupt_hook)


def openmp_enabled():
    """True when the kernels were built with OpenMP."""
    return bool(jz_openmp_enabled())


def openmp_max_threads():
    """The number of threads OpenMP would use by default."""
    return jz_max_threads()


cdef int _check(int status, str kernel) except -1:
    if status == JZ_OK:
        return 0
    if status == JZ_INTERRUPTED:
        if PyErr_Occurred() != NULL:
            return -1  # what the signal handler raised
        raise KeyboardInterrupt
    if status == JZ_ERR_MEMORY:
        raise MemoryError(f"{kernel}: the kernel could not allocate its workspace")
    if status == JZ_ERR_NOT_PD:
        raise InputError(f"{kernel}: I - O is not positive definite (O is not the O matrix "
                         "of a physical state)")
    raise KernelError(f"{kernel}: the kernel rejected its arguments (status {status})")


cdef int _check_items(int[::1] item_status, str kernel) except -1:
    cdef Py_ssize_t i
    for i in range(item_status.shape[0]):
        _check(item_status[i], kernel)
    return 0


ctypedef fused real_or_complex:
    double
    double complex

#: torontonian inputs: float64 / complex128 ("double", "double-double"),
#: long double / complex long double ("extended")
ctypedef fused tor_scalar:
    double
    long double
    double complex
    long double complex


# the address of an empty array's (absent) first element: the kernels read
# nothing there, but take no NULL for a matrix
cdef double _EMPTY[2]


ctypedef int (*haf_fn)(const void *, int, const void *, const int *, int, const int *,
                       int, int, double *, double *) noexcept nogil
ctypedef int (*tor_fn)(const void *, const void *, int, int, double *, double *) noexcept nogil
ctypedef int (*zpoly_fn)(const void *, int, const void *, const void *, int, const int *, int,
                         const int *, int, int, double *, double *) noexcept nogil
ctypedef int (*perm_fn)(const void *, int, int, double *, double *) noexcept nogil


cdef haf_fn _haf_fn(bint is_complex, bint extended):
    if is_complex:
        return jz_loop_hafnian_lz if extended else jz_loop_hafnian_z
    return jz_loop_hafnian_ld if extended else jz_loop_hafnian_d


cdef tor_fn _tor_fn(bint is_complex, bint is_long, str tier) except NULL:
    # the tier fixes the element type the kernel reads
    if tier == "double-double" and is_complex and not is_long:
        return jz_torontonian_dd  # takes the complex-basis O and gamma
    if tier == "extended" and is_long:
        return jz_torontonian_lz if is_complex else jz_torontonian_ld
    if tier == "double" and not is_long:
        return jz_torontonian_z if is_complex else jz_torontonian_d
    raise ValueError(f"torontonian: tier {tier!r} does not take "
                     f"{'long double' if is_long else 'double'} "
                     f"{'complex' if is_complex else 'real'} input")


cdef perm_fn _perm_fn(bint is_complex, bint extended):
    if is_complex:
        return jz_permanent_lz if extended else jz_permanent_z
    return jz_permanent_ld if extended else jz_permanent_d


def loop_hafnian(const real_or_complex[:, ::1] A, const real_or_complex[::1] loops,
                 const int[::1] V not None, const int[::1] group_k not None, int n_threads,
                 bint extended):
    """Loop hafnian of the vertex list V (pairs grouped by group_k) of A.

    Returns (complex value, sum of |leaf values|).  loops None: hafnian.
    """
    cdef double out[2]
    cdef double out_abs = 0
    cdef haf_fn fn = _haf_fn(real_or_complex is cython.doublecomplex, extended)
    cdef const void *a = &A[0, 0] if A.shape[0] else <const void *>_EMPTY
    cdef const void *l = NULL
    if loops is not None:
        l = &loops[0] if loops.shape[0] else <const void *>_EMPTY
    cdef const int *v = &V[0] if V.shape[0] else NULL
    cdef const int *g = &group_k[0] if group_k.shape[0] else NULL
    cdef int dim = A.shape[0], nv = V.shape[0], ng = group_k.shape[0], status
    with nogil:
        status = fn(a, dim, l, v, nv, g, ng, n_threads, out, &out_abs)
    _check(status, "loop_hafnian")
    return complex(out[0], out[1]), out_abs


#: Whether the quad-precision (113-bit) tier of the exact sampler and
#: loop_hafnian_zpoly(tier="qz") are compiled (JZ_HAS_QUAD, csrc/jz_kernels.h).
HAS_QUAD = bool(JZ_HAS_QUAD)


def loop_hafnian_zpoly(const double complex[:, ::1] A not None,
                       const double complex[::1] loops not None,
                       const double complex[::1] loops1 not None, int n_z,
                       const int[::1] V not None, const int[::1] group_k not None,
                       int n_threads, str tier="z"):
    """Coefficients of z^0..z^(n_z-1) of the loop hafnian of the vertex list V
    of A with loop weights loops + z loops1, computed in ``tier``: "z"
    complex128, "lz" complex long double, "qz" complex quad (where HAS_QUAD).
    Returns (complex coefficients (n_z,), sums of |leaf values| (n_z,)),
    rounded to float64."""
    tiers = ("z", "lz", "qz") if HAS_QUAD else ("z", "lz")
    if tier not in tiers:
        raise ValueError(f"tier must be one of {tiers}, got {tier!r}")
    if n_z < 1:
        raise ValueError(f"n_z must be at least 1, got {n_z}")
    cdef zpoly_fn fn = (jz_loop_hafnian_zpoly_z if tier == "z" else
                        jz_loop_hafnian_zpoly_lz if tier == "lz" else jz_loop_hafnian_zpoly_qz)
    cdef double[::1] out = np.zeros(2 * n_z)
    cdef double[::1] out_abs = np.zeros(n_z)
    cdef const void *a = &A[0, 0] if A.shape[0] else <const void *>_EMPTY
    cdef const void *l = &loops[0] if loops.shape[0] else <const void *>_EMPTY
    cdef const void *l1 = &loops1[0] if loops1.shape[0] else <const void *>_EMPTY
    cdef const int *v = &V[0] if V.shape[0] else NULL
    cdef const int *g = &group_k[0] if group_k.shape[0] else NULL
    cdef int dim = A.shape[0], nv = V.shape[0], ng = group_k.shape[0], status
    with nogil:
        status = fn(a, dim, l, l1, n_z, v, nv, g, ng, n_threads, &out[0], &out_abs[0])
    _check(status, "loop_hafnian_zpoly")
    values = np.asarray(out)
    return values[0::2] + 1j * values[1::2], np.asarray(out_abs)


ctypedef int (*zeval_fn)(const void *, int, const void *, const void *, const void *, int,
                         const int *, int, const int *, int, int, double *,
                         double *) noexcept nogil


def loop_hafnian_zeval(const double complex[:, ::1] A not None,
                       const double complex[::1] loops not None,
                       const double complex[::1] loops1 not None,
                       const double complex[::1] points not None,
                       const int[::1] V not None, const int[::1] group_k not None,
                       int n_threads, str tier="z"):
    """Values at z = points of the loop hafnian of the vertex list V of A
    with loop weights loops + z loops1, in one pass, computed in ``tier``: "z"
    complex128 or "lz" complex long double.  Returns (complex values
    (n_points,), sums of |leaf values| (n_points,)), rounded to float64."""
    if tier not in ("z", "lz"):
        raise ValueError(f"tier must be 'z' or 'lz', got {tier!r}")
    cdef int n_points = points.shape[0]
    if n_points < 1:
        raise ValueError("points must hold at least one point")
    cdef zeval_fn fn = jz_loop_hafnian_zeval_z if tier == "z" else jz_loop_hafnian_zeval_lz
    cdef double[::1] out = np.zeros(2 * n_points)
    cdef double[::1] out_abs = np.zeros(n_points)
    cdef const void *a = &A[0, 0] if A.shape[0] else <const void *>_EMPTY
    cdef const void *l = &loops[0] if loops.shape[0] else <const void *>_EMPTY
    cdef const void *l1 = &loops1[0] if loops1.shape[0] else <const void *>_EMPTY
    cdef const int *v = &V[0] if V.shape[0] else NULL
    cdef const int *g = &group_k[0] if group_k.shape[0] else NULL
    cdef int dim = A.shape[0], nv = V.shape[0], ng = group_k.shape[0], status
    with nogil:
        status = fn(a, dim, l, l1, &points[0], n_points, v, nv, g, ng, n_threads, &out[0],
                    &out_abs[0])
    _check(status, "loop_hafnian_zeval")
    values = np.asarray(out)
    return values[0::2] + 1j * values[1::2], np.asarray(out_abs)


ctypedef struct haf_batch:
    haf_fn fn
    const char *a
    const char *l
    Py_ssize_t astride, lstride
    int dim, nv, ng
    const int *v
    const int *g
    double *vals
    double *abss


cdef int _haf_item(void *ctx, long i) noexcept nogil:
    cdef haf_batch *b = <haf_batch *>ctx
    return b.fn(b.a + i * b.astride, b.dim, (b.l + i * b.lstride) if b.l != NULL else NULL,
                b.v, b.nv, b.g, b.ng, 1, &b.vals[2 * i], &b.abss[i])


def loop_hafnian_batch(const real_or_complex[:, :, ::1] As, const real_or_complex[:, ::1] loops,
                       const int[::1] V not None, const int[::1] group_k not None,
                       int n_threads, bint extended):
    """Loop hafnians of a stack As of shape (B, dim, dim); loops (B, dim) or None."""
    cdef long B = As.shape[0]
    cdef int status
    cdef haf_batch ctx
    ctx.fn = _haf_fn(real_or_complex is cython.doublecomplex, extended)
    ctx.a = <const char *>_EMPTY
    if As.shape[0] and As.shape[1]:
        ctx.a = <const char *>&As[0, 0, 0]
    ctx.astride = As.strides[0]
    ctx.l = NULL
    ctx.lstride = 0
    if loops is not None:
        if loops.shape[0] != B or loops.shape[1] != As.shape[1]:
            raise ValueError(f"loops must have shape ({B}, {As.shape[1]}), "
                             f"got ({loops.shape[0]}, {loops.shape[1]})")
        ctx.l = <const char *>_EMPTY
        if loops.shape[0] and loops.shape[1]:
            ctx.l = <const char *>&loops[0, 0]
        ctx.lstride = loops.strides[0]
    ctx.dim, ctx.nv, ctx.ng = As.shape[1], V.shape[0], group_k.shape[0]
    ctx.v = &V[0] if V.shape[0] else NULL
    ctx.g = &group_k[0] if group_k.shape[0] else NULL
    cdef double[:, ::1] values = np.empty((B, 2))
    cdef double[::1] abs_sums = np.empty(B)
    cdef int[::1] statuses = np.zeros(B, dtype=np.intc)
    if B == 0:
        return np.empty(0, dtype=complex), np.empty(0)
    ctx.vals = &values[0, 0]
    ctx.abss = &abs_sums[0]
    with nogil:
        status = jz_run_batch(_haf_item, &ctx, B, n_threads, &statuses[0])
    _check(status, "loop_hafnian")  # interrupted: what the signal handler raised
    _check_items(statuses, "loop_hafnian")
    v = np.asarray(values)
    return v[:, 0] + 1j * v[:, 1], np.asarray(abs_sums)


def torontonian(const tor_scalar[:, ::1] M not None, const tor_scalar[::1] v, int n_threads,
                str tier):
    """(Loop) torontonian.  M = I - O in mode-adjacent order ("double":
    float64/complex128, "extended": long double), or O itself
    ("double-double": complex128).  Returns (value, sum |terms|)."""
    cdef double out = 0, out_abs = 0
    cdef tor_fn fn = _tor_fn(tor_scalar is cython.doublecomplex
                             or tor_scalar is cython.longdoublecomplex,
                             tor_scalar is cython.longdouble
                             or tor_scalar is cython.longdoublecomplex, tier)
    if M.shape[0] != M.shape[1] or M.shape[0] % 2:
        raise ValueError(f"M must be square of even size, got ({M.shape[0]}, {M.shape[1]})")
    if v is not None and v.shape[0] != M.shape[0]:
        raise ValueError(f"v must have length {M.shape[0]}, got {v.shape[0]}")
    cdef const void *m = &M[0, 0] if M.shape[0] else <const void *>_EMPTY
    cdef const void *vv = NULL
    if v is not None:
        vv = &v[0] if v.shape[0] else <const void *>_EMPTY
    cdef int n = M.shape[0] // 2, status
    with nogil:
        status = fn(m, vv, n, n_threads, &out, &out_abs)
    _check(status, "torontonian")
    return out, out_abs


ctypedef struct tor_batch:
    tor_fn fn
    const char *m
    const char *v
    Py_ssize_t mstride, vstride
    int n
    double *vals
    double *abss


cdef int _tor_item(void *ctx, long i) noexcept nogil:
    cdef tor_batch *b = <tor_batch *>ctx
    return b.fn(b.m + i * b.mstride, (b.v + i * b.vstride) if b.v != NULL else NULL,
                b.n, 1, &b.vals[i], &b.abss[i])


def torontonian_batch(const tor_scalar[:, :, ::1] Ms not None, const tor_scalar[:, ::1] vs,
                      int n_threads, str tier):
    """(Loop) torontonians of a stack of matrices of shape (B, 2n, 2n), as
    :func:`torontonian`."""
    cdef long B = Ms.shape[0]
    cdef int status
    cdef tor_batch ctx
    ctx.fn = _tor_fn(tor_scalar is cython.doublecomplex
                     or tor_scalar is cython.longdoublecomplex,
                     tor_scalar is cython.longdouble
                     or tor_scalar is cython.longdoublecomplex, tier)
    if Ms.shape[1] != Ms.shape[2] or Ms.shape[1] % 2:
        raise ValueError(f"Ms must be a stack of square matrices of even size, got "
                         f"({Ms.shape[0]}, {Ms.shape[1]}, {Ms.shape[2]})")
    ctx.m = <const char *>_EMPTY
    if Ms.shape[0] and Ms.shape[1]:
        ctx.m = <const char *>&Ms[0, 0, 0]
    ctx.mstride = Ms.strides[0]
    ctx.v = NULL
    ctx.vstride = 0
    if vs is not None:
        if vs.shape[0] != B or vs.shape[1] != Ms.shape[1]:
            raise ValueError(f"vs must have shape ({B}, {Ms.shape[1]}), "
                             f"got ({vs.shape[0]}, {vs.shape[1]})")
        ctx.v = <const char *>_EMPTY
        if vs.shape[0] and vs.shape[1]:
            ctx.v = <const char *>&vs[0, 0]
        ctx.vstride = vs.strides[0]
    ctx.n = Ms.shape[1] // 2
    cdef double[::1] values = np.empty(B)
    cdef double[::1] abs_sums = np.empty(B)
    cdef int[::1] statuses = np.zeros(B, dtype=np.intc)
    if B == 0:
        return np.empty(0), np.empty(0)
    ctx.vals = &values[0]
    ctx.abss = &abs_sums[0]
    with nogil:
        status = jz_run_batch(_tor_item, &ctx, B, n_threads, &statuses[0])
    _check(status, "torontonian")  # interrupted: what the signal handler raised
    _check_items(statuses, "torontonian")
    return np.asarray(values), np.asarray(abs_sums)


def permanent(const real_or_complex[:, ::1] A not None, int n_threads, bint extended):
    """Permanent of a square matrix.  Returns (complex value, sum |terms|)."""
    cdef double out[2]
    cdef double out_abs = 0
    cdef perm_fn fn = _perm_fn(real_or_complex is cython.doublecomplex, extended)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square, got ({A.shape[0]}, {A.shape[1]})")
    cdef const void *a = &A[0, 0] if A.shape[0] else <const void *>_EMPTY
    cdef int n = A.shape[0], status
    with nogil:
        status = fn(a, n, n_threads, out, &out_abs)
    _check(status, "permanent")
    return complex(out[0], out[1]), out_abs


ctypedef struct perm_batch:
    perm_fn fn
    const char *a
    Py_ssize_t astride
    int n
    double *vals
    double *abss


cdef int _perm_item(void *ctx, long i) noexcept nogil:
    cdef perm_batch *b = <perm_batch *>ctx
    return b.fn(b.a + i * b.astride, b.n, 1, &b.vals[2 * i], &b.abss[i])


def permanent_batch(const real_or_complex[:, :, ::1] As not None, int n_threads,
                    bint extended):
    """Permanents of a stack of square matrices of shape (B, n, n)."""
    cdef long B = As.shape[0]
    cdef int status
    cdef perm_batch ctx
    ctx.fn = _perm_fn(real_or_complex is cython.doublecomplex, extended)
    if As.shape[1] != As.shape[2]:
        raise ValueError(f"As must be a stack of square matrices, got "
                         f"({As.shape[0]}, {As.shape[1]}, {As.shape[2]})")
    ctx.a = <const char *>_EMPTY
    if As.shape[0] and As.shape[1]:
        ctx.a = <const char *>&As[0, 0, 0]
    ctx.astride = As.strides[0]
    ctx.n = As.shape[1]
    cdef double[:, ::1] values = np.empty((B, 2))
    cdef double[::1] abs_sums = np.empty(B)
    cdef int[::1] statuses = np.zeros(B, dtype=np.intc)
    if B == 0:
        return np.empty(0, dtype=complex), np.empty(0)
    ctx.vals = &values[0, 0]
    ctx.abss = &abs_sums[0]
    with nogil:
        status = jz_run_batch(_perm_item, &ctx, B, n_threads, &statuses[0])
    _check(status, "permanent")  # interrupted: what the signal handler raised
    _check_items(statuses, "permanent")
    v = np.asarray(values)
    return v[:, 0] + 1j * v[:, 1], np.asarray(abs_sums)


def sample_photons(const double complex[:, ::1] B not None,
                   const double complex[:, ::1] loops not None,
                   const double complex[:, ::1] beta not None,
                   const double[:, ::1] u not None, int n_threads):
    """Exact photon numbers of a pure state (csrc/sampler.c).  B (M, M);
    loops, beta and u (shots, M).  Returns (patterns int64 (shots, M),
    unresolved float64 (shots,), refused bool (shots,)): a refused shot's
    draw at the mode marked -1 could not be resolved to the budget in any
    tier (unresolved: its estimated error)."""
    cdef int M = B.shape[0], shots = loops.shape[0], status
    for name, view in (("loops", loops), ("beta", beta)):
        if view.shape[0] != shots or view.shape[1] != M:
            raise ValueError(f"{name} must have shape ({shots}, {M}), "
                             f"got ({view.shape[0]}, {view.shape[1]})")
    if B.shape[1] != M or u.shape[0] != shots or u.shape[1] != M:
        raise ValueError(f"B must be ({M}, {M}) and u ({shots}, {M}), got "
                         f"({B.shape[0]}, {B.shape[1]}) and ({u.shape[0]}, {u.shape[1]})")
    patterns = np.zeros((shots, M), dtype=np.int64)
    unresolved = np.zeros(shots)
    statuses = np.zeros(shots, dtype=np.intc)
    if shots == 0 or M == 0:
        return patterns, unresolved, np.zeros(shots, dtype=bool)
    cdef int64_t[:, ::1] pat = patterns
    cdef double[::1] unr = unresolved
    cdef int[::1] st = statuses
    with nogil:
        status = jz_sample_photons(&B[0, 0], M, shots, &loops[0, 0], &beta[0, 0], &u[0, 0],
                                   &pat[0, 0], &unr[0], &st[0], n_threads)
    if status != JZ_ERR_PRECISION:
        _check(status, "sample_photons")
    return patterns, unresolved, statuses == JZ_ERR_PRECISION


def sample_fanout(const double complex[:, ::1] B not None,
                  const double complex[:, ::1] loops not None,
                  const double complex[:, ::1] beta not None,
                  const double complex[:, :, ::1] sub_beta not None,
                  const double[:, :, ::1] u not None, const int64_t[:, ::1] order not None,
                  int n_detectors, int sub_detectors, int shot_threads, int inner_threads):
    """Exact clicks by fan-out (csrc/sampler.c).  B (M, M); loops, beta and
    order (shots, M); sub_beta and u (shots, M, K), K = n_detectors *
    sub_detectors.  Returns (fired int64 (shots, M), unresolved float64
    (shots,), refused bool (shots,)): a refused shot's draw at the mode marked
    -1 could not be resolved to the budget in any tier."""
    cdef int M = B.shape[0], shots = loops.shape[0], status
    cdef int K = n_detectors * sub_detectors
    for name, view in (("loops", loops), ("beta", beta)):
        if view.shape[0] != shots or view.shape[1] != M:
            raise ValueError(f"{name} must have shape ({shots}, {M}), "
                             f"got ({view.shape[0]}, {view.shape[1]})")
    for name, shape in (("sub_beta", (sub_beta.shape[0], sub_beta.shape[1], sub_beta.shape[2])),
                        ("u", (u.shape[0], u.shape[1], u.shape[2]))):
        if shape != (shots, M, K):
            raise ValueError(f"{name} must have shape ({shots}, {M}, {K}), got {shape}")
    if B.shape[1] != M or order.shape[0] != shots or order.shape[1] != M:
        raise ValueError(f"B must be ({M}, {M}) and order ({shots}, {M}), got "
                         f"({B.shape[0]}, {B.shape[1]}) and ({order.shape[0]}, {order.shape[1]})")
    fired = np.zeros((shots, M), dtype=np.int64)
    unresolved = np.zeros(shots)
    statuses = np.zeros(shots, dtype=np.intc)
    if shots == 0 or M == 0:
        return fired, unresolved, np.zeros(shots, dtype=bool)
    cdef int64_t[:, ::1] fi = fired
    cdef double[::1] unr = unresolved
    cdef int[::1] st = statuses
    with nogil:
        status = jz_sample_fanout(&B[0, 0], M, shots, &loops[0, 0], &beta[0, 0],
                                  &sub_beta[0, 0, 0], &u[0, 0, 0], &order[0, 0], n_detectors,
                                  sub_detectors, &fi[0, 0], &unr[0], &st[0], shot_threads,
                                  inner_threads)
    if status != JZ_ERR_PRECISION:
        _check(status, "sample_fanout")
    return fired, unresolved, statuses == JZ_ERR_PRECISION


ctypedef int (*clicks_fn)(const double *, const double *, int, int, int, const double *,
                         int64_t *, double *, int *, int) noexcept nogil


def sample_clicks(const double[:, ::1] G not None, const double[::1] v, int block,
                  const double[:, ::1] u not None, str tier, int n_threads):
    """Exact threshold clicks (csrc/click_sampler.c) computed in ``tier``
    ("double", "extended" or "double-double").  G (dim, dim) with dim =
    block * detectors, rows detector by detector; v (dim,) or None; u (shots,
    detectors).  Returns (clicks int64 (shots, detectors), condition float64
    (shots,))."""
    cdef clicks_fn fn = _clicks_fn(tier)
    cdef int n_blocks = u.shape[1], shots = u.shape[0], status
    _check_vacuum_form(G, v, block, n_blocks)
    clicks = np.zeros((shots, n_blocks), dtype=np.int64)
    condition = np.zeros(shots)
    statuses = np.zeros(shots, dtype=np.intc)
    if shots == 0:
        return clicks, condition
    cdef int64_t[:, ::1] cl = clicks
    cdef double[::1] cond = condition
    cdef int[::1] st = statuses
    cdef const double *vv = NULL
    if v is not None:
        vv = &v[0]
    with nogil:
        status = fn(&G[0, 0], vv, n_blocks, block, shots, &u[0, 0], &cl[0, 0], &cond[0],
                    &st[0], n_threads)
    _check(status, "sample_clicks")
    return clicks, condition


cdef clicks_fn _clicks_fn(str tier) except NULL:
    if tier == "double":
        return jz_sample_clicks_d
    if tier == "extended":
        return jz_sample_clicks_ld
    if tier == "double-double":
        return jz_sample_clicks_dd
    raise ValueError(f"tier must be 'double', 'extended' or 'double-double', got {tier!r}")


cdef int _check_vacuum_form(const double[:, ::1] G, const double[::1] v, int block,
                            int n_blocks) except -1:
    cdef Py_ssize_t dim = <Py_ssize_t>block * n_blocks
    if n_blocks < 1:
        raise ValueError("the click kernels need at least one detector, got 0")
    if block < 1 or G.shape[0] != dim or G.shape[1] != dim:
        raise ValueError(f"G must have shape ({dim}, {dim}) (block {block} x {n_blocks} "
                         f"detectors), got ({G.shape[0]}, {G.shape[1]})")
    if v is not None and v.shape[0] != dim:
        raise ValueError(f"v must have length {dim}, got {v.shape[0]}")
    return 0


ctypedef int (*click_prob_fn)(const double *, const double *, const double *, int, int, int,
                              const int64_t *, double *, double *, int *, int) noexcept nogil


def click_probabilities(const double[:, ::1] G not None, const double[::1] v,
                        const double[::1] g, int block, const int64_t[:, ::1] patterns not None,
                        str tier, int n_threads):
    """Log-probabilities of click patterns by the chain rule
    (csrc/click_sampler.c) in ``tier``.  G, v as for sample_clicks; g
    (detectors,) dark-count factors 1 - d, or None; patterns (n, detectors)
    0/1.  Returns (log_prob (n,), condition (n,))."""
    cdef click_prob_fn fn = jz_click_probabilities_d
    if tier == "extended":
        fn = jz_click_probabilities_ld
    elif tier == "double-double":
        fn = jz_click_probabilities_dd
    elif tier != "double":
        raise ValueError(f"tier must be 'double', 'extended' or 'double-double', "
                         f"got {tier!r}")
    cdef int n_blocks = patterns.shape[1], n = patterns.shape[0], status
    _check_vacuum_form(G, v, block, n_blocks)
    if g is not None and g.shape[0] != n_blocks:
        raise ValueError(f"g must have length {n_blocks}, got {g.shape[0]}")
    log_prob = np.zeros(n)
    condition = np.zeros(n)
    statuses = np.zeros(n, dtype=np.intc)
    if n == 0:
        return log_prob, condition
    cdef double[::1] lp = log_prob
    cdef double[::1] cond = condition
    cdef int[::1] st = statuses
    cdef const double *vv = NULL
    cdef const double *dark = NULL
    if v is not None:
        vv = &v[0]
    if g is not None:
        dark = &g[0]
    with nogil:
        status = fn(&G[0, 0], vv, dark, n_blocks, block, n, &patterns[0, 0], &lp[0],
                    &cond[0], &st[0], n_threads)
    _check(status, "click_probabilities")
    return log_prob, condition


def greedy_columns(uint8_t[:, ::1] X not None, int j0, int j1, const double[::1] p not None,
                   const double[:, ::1] pair not None, const int32_t[:, ::1] order not None,
                   int n_threads):
    """Set columns j0..j1-1 of the 0/1 matrix X (L, M) in place by the
    whole-set greedy rule (csrc/greedy.c); p (M,), pair (j1 - j0, j1), order
    (j1 - j0, L) permutations of the rows."""
    cdef int64_t L = X.shape[0]
    cdef int M = X.shape[1], status
    if not (0 <= j0 < j1 <= M) or p.shape[0] != M or pair.shape[0] != j1 - j0 \
            or pair.shape[1] != j1 or order.shape[0] != j1 - j0 or order.shape[1] != L:
        raise ValueError("greedy_columns: inconsistent shapes")
    with nogil:
        status = jz_greedy_columns(&X[0, 0], L, M, j0, j1, &p[0], &pair[0, 0], &order[0, 0],
                                   n_threads)
    _check(status, "greedy_columns")


def greedy_refine(uint8_t[:, ::1] X not None, int j0, int j1, const double[:, ::1] pair not None,
                  const int32_t[:, ::1] order not None, double click_weight, int n_threads):
    """One refinement sweep over columns j0..j1-1 of the finished 0/1 matrix
    X (L, M) in place (csrc/greedy.c); pair (j1 - j0, M), order (j1 - j0, L).
    Returns the number of bits flipped."""
    cdef int64_t L = X.shape[0], flips = 0
    cdef int M = X.shape[1], status
    if not (0 <= j0 < j1 <= M) or pair.shape[0] != j1 - j0 or pair.shape[1] != M \
            or order.shape[0] != j1 - j0 or order.shape[1] != L:
        raise ValueError("greedy_refine: inconsistent shapes")
    with nogil:
        status = jz_greedy_refine(&X[0, 0], L, M, j0, j1, &pair[0, 0], &order[0, 0],
                                  click_weight, n_threads, &flips)
    _check(status, "greedy_refine")
    return flips


def gibbs_sweeps(const float[:, ::1] J not None, const double[::1] h not None,
                 const double[:, :, ::1] u not None, uint8_t[:, ::1] x not None,
                 int record_from, int record_every, int n_records, int n_threads):
    """Gibbs sweeps of a 0/1 Boltzmann machine (csrc/gibbs.c).  J (M, M)
    float32, h (M,), u (chains, sweeps, M), x (chains, M) uint8, updated in
    place.  Returns the recorded states, uint8 (chains, n_records, M)."""
    cdef int M = J.shape[0], chains = u.shape[0], sweeps = u.shape[1], status
    if J.shape[1] != M or h.shape[0] != M or u.shape[2] != M or x.shape[1] != M \
            or x.shape[0] != chains:
        raise ValueError(f"gibbs_sweeps: inconsistent shapes J ({J.shape[0]}, {J.shape[1]}), "
                         f"h ({h.shape[0]},), u ({u.shape[0]}, {u.shape[1]}, {u.shape[2]}), "
                         f"x ({x.shape[0]}, {x.shape[1]})")
    records = np.zeros((chains, n_records, M), dtype=np.uint8)
    if chains == 0 or M == 0:
        return records
    cdef uint8_t[:, :, ::1] rec = records
    cdef uint8_t *rp = &rec[0, 0, 0] if n_records > 0 else NULL
    cdef const double *up = &u[0, 0, 0] if sweeps > 0 else NULL
    with nogil:
        status = jz_gibbs_sweeps(&J[0, 0], &h[0], M, chains, sweeps, up, &x[0, 0],
                                 record_from, record_every, n_records, rp, n_threads)
    _check(status, "gibbs_sweeps")
    return records
