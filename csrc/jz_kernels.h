/* Public prototypes of the jiuzhang_emu kernels.
 *
 * Suffixes: d = float64 real, ld = long double real, z = complex128,
 * lz = long double complex, dd = double-double.  The ld/lz variants take float64 inputs (and, for
 * the torontonian, long double inputs) and compute in 80-bit extended
 * precision.  Outputs: out[0] real part, out[1] imaginary part (hafnian,
 * permanent) or the real value (torontonian); out_abs the sum of the moduli of
 * the terms (|re| + |im| for complex terms, within sqrt 2 of the modulus and
 * cheaper), so out_abs / |value| measures cancellation.
 */
#ifndef JZ_KERNELS_H
#define JZ_KERNELS_H

#include "jz_common.h"

/* Array arguments are void pointers so that one function-pointer type serves
 * the four variants of a kernel.  jz_loop_hafnian_zpoly: the loop hafnian
 * with loop weights loops + z loops1 as a polynomial in z, its n_z lowest
 * coefficients in out[2i], out[2i+1] (out_abs[i] each); jz_loop_hafnian_zeval:
 * the same loop hafnian at the n_points values z = points[i].  Element types:
 *   hafnian, permanent: A (and loops) double for d/ld, jz_z for z/lz;
 *   torontonian: M, v double / long double / jz_z / jz_lz for d / ld / z / lz;
 *   torontonian_dd: O, gamma jz_z. */
#define JZ_DECLARE_HAF(SUF)                                                                 \
    int jz_loop_hafnian_##SUF(const void *A, int dim, const void *loops, const int *V,      \
                              int nv, const int *group_k, int n_groups,                     \
                              int n_threads, double *out, double *out_abs);                 \
    int jz_loop_hafnian_zpoly_##SUF(const void *A, int dim, const void *loops,              \
                                    const void *loops1, int n_z, const int *V, int nv,      \
                                    const int *group_k, int n_groups, int n_threads,        \
                                    double *out, double *out_abs);                          \
    int jz_loop_hafnian_zeval_##SUF(const void *A, int dim, const void *loops,              \
                                    const void *loops1, const void *points, int n_points,   \
                                    const int *V, int nv, const int *group_k, int n_groups, \
                                    int n_threads, double *out, double *out_abs);
JZ_DECLARE_HAF(d)
JZ_DECLARE_HAF(ld)
JZ_DECLARE_HAF(z)
JZ_DECLARE_HAF(lz)

/* Quad precision (113-bit mantissa), for the exact sampler's last tier: the
 * loop hafnian z-polynomial in _Complex __float128 (suffix qz; inputs jz_z,
 * converted exactly), a GCC extension with +, -, *, / in libgcc, so no
 * libquadmath.  JZ_HAS_QUAD is 1 where __float128 exists and long double is
 * narrower (GCC on x86_64); 0 where long double already has 113 bits
 * (aarch64 Linux: the long double tier is quad) or no quad type exists (clang
 * on macOS arm64, MSVC).  Build with -DJZ_HAS_QUAD=0 to leave it out. */
#include <float.h>
#ifndef JZ_HAS_QUAD
#if defined(__SIZEOF_FLOAT128__) && defined(__GNUC__) && !defined(__clang__) && \
    LDBL_MANT_DIG < 113
#define JZ_HAS_QUAD 1
#else
#define JZ_HAS_QUAD 0
#endif
#endif
/* Where JZ_HAS_QUAD is 0 it returns JZ_ERR_ARGUMENT. */
int jz_loop_hafnian_zpoly_qz(const void *A, int dim, const void *loops, const void *loops1,
                             int n_z, const int *V, int nv, const int *group_k, int n_groups,
                             int n_threads, double *out, double *out_abs);

#define JZ_DECLARE_TOR(SUF)                                                       \
    int jz_torontonian_##SUF(const void *M, const void *v, int n, int n_threads, \
                             double *out, double *out_abs);
JZ_DECLARE_TOR(d)
JZ_DECLARE_TOR(ld)
JZ_DECLARE_TOR(z)
JZ_DECLARE_TOR(lz)

/* Double-double (~106-bit) torontonian of a complex-basis O with quadrature
 * structure; only O[:n, :n], O[:n, n:] and gamma[:n] are read. */
int jz_torontonian_dd(const void *O, const void *gamma, int n, int n_threads,
                      double *out, double *out_abs);

/* Exact photon-number samples of a pure Gaussian state (csrc/sampler.c):
 * B jz_z M x M; loops, beta jz_z shots x M; u shots x M. */
int jz_sample_photons(const void *B, int M, int shots, const void *loops, const void *beta,
                      const double *u, int64_t *pattern, double *unresolved, int *status,
                      int n_threads);

/* Exact threshold / pseudo-PNR clicks of a pure Gaussian state by fan-out
 * (csrc/sampler.c): sub_beta, u shots x M x (n_det F); order shots x M. */
int jz_sample_fanout(const void *B, int M, int shots, const void *loops, const void *beta,
                     const void *sub_beta, const double *u, const int64_t *order, int n_det,
                     int F, int64_t *fired, double *unresolved, int *status, int shot_threads,
                     int inner_threads);

/* Exact threshold clicks of a Gaussian state (csrc/click_sampler.c), computed
 * in float64 (d), long double (ld) or double-double (dd): G (n_blocks block)^2, v n_blocks block
 * (NULL: undisplaced), u shots x n_blocks. */
#define JZ_DECLARE_CLICKS(SUF)                                                          \
    int jz_sample_clicks_##SUF(const double *G, const double *v, int n_blocks, int block, \
                               int shots, const double *u, int64_t *clicks,               \
                               double *condition, int *status, int n_threads);        \
    int jz_click_probabilities_##SUF(const double *G, const double *v, const double *g,   \
                                     int n_blocks, int block, int n,                       \
                                     const int64_t *patterns, double *log_prob,            \
                                     double *condition, int *status, int n_threads);
JZ_DECLARE_CLICKS(d)
JZ_DECLARE_CLICKS(ld)
JZ_DECLARE_CLICKS(dd)

#define JZ_DECLARE_PERM(SUF)                                                \
    int jz_permanent_##SUF(const void *A, int n, int n_threads, double *out, \
                           double *out_abs);
JZ_DECLARE_PERM(d)
JZ_DECLARE_PERM(ld)
JZ_DECLARE_PERM(z)
JZ_DECLARE_PERM(lz)

/* Whole-set greedy click matrix (csrc/greedy.c): sets columns j0..j1-1 of the
 * L x M row-major 0/1 matrix X (columns < j0 set), p (M,), pair (j1 - j0) x j1
 * with pair[c j1 + l] = P(l and j0 + c click) for l < j0 + c, order
 * (j1 - j0) x L permutations of the rows (the visiting order per column). */
int jz_greedy_columns(uint8_t *X, int64_t L, int M, int j0, int j1, const double *p,
                      const double *pair, const int32_t *order, int n_threads);
/* One refinement sweep over columns j0..j1-1 of a finished X (csrc/greedy.c):
 * pair (j1 - j0) x M, pair[c M + l] = P(l and j0 + c click) (c M + j0 + c: the
 * click probability), order (j1 - j0) x L; flips[0] += the bits flipped. */
int jz_greedy_refine(uint8_t *X, int64_t L, int M, int j0, int j1, const double *pair,
                     const int32_t *order, double click_weight, int n_threads,
                     int64_t *flips);
/* Gibbs sweeps of a 0/1 Boltzmann machine (csrc/gibbs.c): J float32 M x M,
 * h M, u chains x sweeps x M, x chains x M (in/out), records chains x
 * n_records x M. */
int jz_gibbs_sweeps(const float *J, const double *h, int M, int chains, int sweeps,
                    const double *u, uint8_t *x, int record_from, int record_every,
                    int n_records, uint8_t *records, int n_threads);

#endif
