# cython: language_level=3
"""Thin typed layer over the C kernels.

Inputs arrive validated, C-contiguous and of the right dtype from the Python
front end (``jiuzhang_emu.kernels``); this layer only takes their data
pointers, releases the GIL, and turns a nonzero status into an exception.
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

cimport numpy as cnp
from cpython.exc cimport PyErr_Occurred

cnp.import_array()

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


def max_threads():
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


cdef void *_ptr(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


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


cdef tor_fn _tor_fn(bint is_complex, str tier):
    if tier == "double-double":
        return jz_torontonian_dd  # takes the complex-basis O and gamma
    if is_complex:
        return jz_torontonian_lz if tier == "extended" else jz_torontonian_z
    return jz_torontonian_ld if tier == "extended" else jz_torontonian_d


cdef perm_fn _perm_fn(bint is_complex, bint extended):
    if is_complex:
        return jz_permanent_lz if extended else jz_permanent_z
    return jz_permanent_ld if extended else jz_permanent_d


def loop_hafnian(A, loops, V, group_k, int n_threads, bint extended):
    """Loop hafnian of the vertex list V (pairs grouped by group_k) of A.

    Returns (complex value, sum of |leaf values|).  loops None: hafnian.
    """
    cdef double out[2]
    cdef double out_abs = 0
    cdef haf_fn fn = _haf_fn(A.dtype.kind == "c", extended)
    cdef void *a = _ptr(A)
    cdef void *l = _ptr(loops)
    cdef int *v = <int *>_ptr(V)
    cdef int *g = <int *>_ptr(group_k)
    cdef int dim = A.shape[0], nv = V.shape[0], ng = group_k.shape[0], status
    with nogil:
        status = fn(a, dim, l, v, nv, g, ng, n_threads, out, &out_abs)
    _check(status, "loop_hafnian")
    return complex(out[0], out[1]), out_abs


#: Whether the quad-precision (113-bit) tier of the exact sampler and
#: loop_hafnian_zpoly(tier="qz") are compiled (JZ_HAS_QUAD, csrc/jz_kernels.h).
HAS_QUAD = bool(JZ_HAS_QUAD)


def loop_hafnian_zpoly(A, loops, loops1, int n_z, V, group_k, int n_threads, str tier="z"):
    """Coefficients of z^0..z^(n_z-1) of the loop hafnian of the vertex list V
    of A (complex128) with loop weights loops + z loops1 (complex128),
    computed in ``tier``: "z" complex128, "lz" complex long double, "qz"
    complex quad (where HAS_QUAD).  Returns (complex coefficients (n_z,),
    sums of |leaf values| (n_z,)), rounded to float64."""
    tiers = ("z", "lz", "qz") if HAS_QUAD else ("z", "lz")
    if tier not in tiers:
        raise ValueError(f"tier must be one of {tiers}, got {tier!r}")
    cdef zpoly_fn fn = (jz_loop_hafnian_zpoly_z if tier == "z" else
                        jz_loop_hafnian_zpoly_lz if tier == "lz" else jz_loop_hafnian_zpoly_qz)
    out = np.zeros(2 * n_z)
    out_abs = np.zeros(n_z)
    cdef double *o = <double *>_ptr(out)
    cdef double *oa = <double *>_ptr(out_abs)
    cdef void *a = _ptr(A)
    cdef void *l = _ptr(loops)
    cdef void *l1 = _ptr(loops1)
    cdef int *v = <int *>_ptr(V)
    cdef int *g = <int *>_ptr(group_k)
    cdef int dim = A.shape[0], nv = V.shape[0], ng = group_k.shape[0], status
    with nogil:
        status = fn(a, dim, l, l1, n_z, v, nv, g, ng, n_threads, o, oa)
    _check(status, "loop_hafnian_zpoly")
    return out[0::2] + 1j * out[1::2], out_abs


ctypedef struct haf_batch:
    haf_fn fn
    char *a
    char *l
    Py_ssize_t astride, lstride
    int dim, nv, ng
    int *v
    int *g
    double *vals
    double *abss


cdef int _haf_item(void *ctx, long i) noexcept nogil:
    cdef haf_batch *b = <haf_batch *>ctx
    return b.fn(b.a + i * b.astride, b.dim, (b.l + i * b.lstride) if b.l != NULL else NULL,
                b.v, b.nv, b.g, b.ng, 1, &b.vals[2 * i], &b.abss[i])


def loop_hafnian_batch(As, loops, V, group_k, int n_threads, bint extended):
    """Loop hafnians of a stack As of shape (B, dim, dim); loops (B, dim) or None."""
    cdef long B = As.shape[0]
    cdef int status
    cdef haf_batch ctx
    ctx.fn = _haf_fn(As.dtype.kind == "c", extended)
    ctx.a = <char *>_ptr(As)
    ctx.l = <char *>_ptr(loops)
    ctx.astride = As.strides[0]
    ctx.lstride = loops.strides[0] if loops is not None else 0
    ctx.dim, ctx.nv, ctx.ng = As.shape[1], V.shape[0], group_k.shape[0]
    ctx.v = <int *>_ptr(V)
    ctx.g = <int *>_ptr(group_k)
    values = np.empty((B, 2))
    abs_sums = np.empty(B)
    statuses = np.zeros(B, dtype=np.intc)
    ctx.vals = <double *>_ptr(values)
    ctx.abss = <double *>_ptr(abs_sums)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = jz_run_batch(_haf_item, &ctx, B, n_threads, st)
    _check(status, "loop_hafnian")  # interrupted: what the signal handler raised
    _check_items(statuses, "loop_hafnian")
    return values[:, 0] + 1j * values[:, 1], abs_sums


def torontonian(M, v, int n_threads, str tier):
    """(Loop) torontonian.  M = I - O in mode-adjacent order ("double",
    "extended"), or O itself ("double-double").  Returns (value, sum |terms|)."""
    cdef double out = 0, out_abs = 0
    cdef tor_fn fn = _tor_fn(M.dtype.kind == "c", tier)
    cdef void *m = _ptr(M)
    cdef void *vv = _ptr(v)
    cdef int n = M.shape[0] // 2, status
    with nogil:
        status = fn(m, vv, n, n_threads, &out, &out_abs)
    _check(status, "torontonian")
    return out, out_abs


ctypedef struct tor_batch:
    tor_fn fn
    char *m
    char *v
    Py_ssize_t mstride, vstride
    int n
    double *vals
    double *abss


cdef int _tor_item(void *ctx, long i) noexcept nogil:
    cdef tor_batch *b = <tor_batch *>ctx
    return b.fn(b.m + i * b.mstride, (b.v + i * b.vstride) if b.v != NULL else NULL,
                b.n, 1, &b.vals[i], &b.abss[i])


def torontonian_batch(Ms, vs, int n_threads, str tier):
    """(Loop) torontonians of a stack of matrices of shape (B, 2n, 2n), as
    :func:`torontonian`."""
    cdef long B = Ms.shape[0]
    cdef int status
    cdef tor_batch ctx
    ctx.fn = _tor_fn(Ms.dtype.kind == "c", tier)
    ctx.m = <char *>_ptr(Ms)
    ctx.v = <char *>_ptr(vs)
    ctx.mstride = Ms.strides[0]
    ctx.vstride = vs.strides[0] if vs is not None else 0
    ctx.n = Ms.shape[1] // 2
    values = np.empty(B)
    abs_sums = np.empty(B)
    statuses = np.zeros(B, dtype=np.intc)
    ctx.vals = <double *>_ptr(values)
    ctx.abss = <double *>_ptr(abs_sums)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = jz_run_batch(_tor_item, &ctx, B, n_threads, st)
    _check(status, "torontonian")  # interrupted: what the signal handler raised
    _check_items(statuses, "torontonian")
    return values, abs_sums


def permanent(A, int n_threads, bint extended):
    """Permanent of a square matrix.  Returns (complex value, sum |terms|)."""
    cdef double out[2]
    cdef double out_abs = 0
    cdef perm_fn fn = _perm_fn(A.dtype.kind == "c", extended)
    cdef void *a = _ptr(A)
    cdef int n = A.shape[0], status
    with nogil:
        status = fn(a, n, n_threads, out, &out_abs)
    _check(status, "permanent")
    return complex(out[0], out[1]), out_abs


ctypedef struct perm_batch:
    perm_fn fn
    char *a
    Py_ssize_t astride
    int n
    double *vals
    double *abss


cdef int _perm_item(void *ctx, long i) noexcept nogil:
    cdef perm_batch *b = <perm_batch *>ctx
    return b.fn(b.a + i * b.astride, b.n, 1, &b.vals[2 * i], &b.abss[i])


def permanent_batch(As, int n_threads, bint extended):
    """Permanents of a stack of square matrices of shape (B, n, n)."""
    cdef long B = As.shape[0]
    cdef int status
    cdef perm_batch ctx
    ctx.fn = _perm_fn(As.dtype.kind == "c", extended)
    ctx.a = <char *>_ptr(As)
    ctx.astride = As.strides[0]
    ctx.n = As.shape[1]
    values = np.empty((B, 2))
    abs_sums = np.empty(B)
    statuses = np.zeros(B, dtype=np.intc)
    ctx.vals = <double *>_ptr(values)
    ctx.abss = <double *>_ptr(abs_sums)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = jz_run_batch(_perm_item, &ctx, B, n_threads, st)
    _check(status, "permanent")  # interrupted: what the signal handler raised
    _check_items(statuses, "permanent")
    return values[:, 0] + 1j * values[:, 1], abs_sums



def sample_photons(B, loops, beta, u, int n_threads):
    """Exact photon numbers of a pure state (csrc/sampler.c).  B (M, M)
    complex128; loops, beta (shots, M) complex128; u (shots, M) float64.
    Returns (patterns int64 (shots, M), unresolved float64 (shots,), refused
    bool (shots,)): a refused shot's draw at the mode marked -1 could not be
    resolved to the budget in any tier (unresolved: its estimated error)."""
    cdef int M = B.shape[0], shots = loops.shape[0], status
    patterns = np.zeros((shots, M), dtype=np.int64)
    unresolved = np.zeros(shots)
    statuses = np.zeros(shots, dtype=np.intc)
    cdef void *b = _ptr(B)
    cdef void *l = _ptr(loops)
    cdef void *be = _ptr(beta)
    cdef double *uu = <double *>_ptr(u)
    cdef int64_t *pat = <int64_t *>_ptr(patterns)
    cdef double *unr = <double *>_ptr(unresolved)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = jz_sample_photons(b, M, shots, l, be, uu, pat, unr, st, n_threads)
    if status != JZ_ERR_PRECISION:
        _check(status, "sample_photons")
    return patterns, unresolved, statuses == JZ_ERR_PRECISION


ctypedef int (*clicks_fn)(const double *, const double *, int, int, int, const double *,
                         int64_t *, double *, int *, int) noexcept nogil


def sample_clicks(G, v, int block, u, str tier, int n_threads):
    """Exact threshold clicks (csrc/click_sampler.c) computed in ``tier``
    ("double", "extended" or "double-double").  G (dim, dim) float64 with dim
    = block * detectors, rows detector by detector; v (dim,) float64 or None;
    u (shots, detectors) float64.  Returns (clicks int64 (shots, detectors),
    condition float64 (shots,))."""
    cdef clicks_fn fn = jz_sample_clicks_d
    if tier == "extended":
        fn = jz_sample_clicks_ld
    elif tier == "double-double":
        fn = jz_sample_clicks_dd
    cdef int n_blocks = u.shape[1], shots = u.shape[0], status
    clicks = np.zeros((shots, n_blocks), dtype=np.int64)
    condition = np.zeros(shots)
    statuses = np.zeros(shots, dtype=np.intc)
    cdef double *g = <double *>_ptr(G)
    cdef double *vv = <double *>_ptr(v)
    cdef double *uu = <double *>_ptr(u)
    cdef int64_t *cl = <int64_t *>_ptr(clicks)
    cdef double *cond = <double *>_ptr(condition)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = fn(g, vv, n_blocks, block, shots, uu, cl, cond, st, n_threads)
    _check(status, "sample_clicks")
    return clicks, condition


ctypedef int (*click_prob_fn)(const double *, const double *, const double *, int, int, int,
                              const int64_t *, double *, double *, int *, int) noexcept nogil


def click_probabilities(G, v, g, int block, patterns, str tier, int n_threads):
    """Log-probabilities of click patterns by the chain rule
    (csrc/click_sampler.c) in ``tier``.  G, v as for sample_clicks; g
    (detectors,) float64 dark-count factors 1 - d, or None; patterns (n,
    detectors) int64 0/1.  Returns (log_prob (n,), condition (n,))."""
    cdef click_prob_fn fn = jz_click_probabilities_d
    if tier == "extended":
        fn = jz_click_probabilities_ld
    elif tier == "double-double":
        fn = jz_click_probabilities_dd
    cdef int n_blocks = patterns.shape[1], n = patterns.shape[0], status
    log_prob = np.zeros(n)
    condition = np.zeros(n)
    statuses = np.zeros(n, dtype=np.intc)
    cdef double *gg = <double *>_ptr(G)
    cdef double *vv = <double *>_ptr(v)
    cdef double *dark = <double *>_ptr(g)
    cdef int64_t *pat = <int64_t *>_ptr(patterns)
    cdef double *lp = <double *>_ptr(log_prob)
    cdef double *cond = <double *>_ptr(condition)
    cdef int *st = <int *>_ptr(statuses)
    with nogil:
        status = fn(gg, vv, dark, n_blocks, block, n, pat, lp, cond, st, n_threads)
    _check(status, "click_probabilities")
    return log_prob, condition
