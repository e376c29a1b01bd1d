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

#define JZ_DECLARE_HAF(SUF, TIN)                                                     \
    int jz_loop_hafnian_##SUF(const TIN *A, int dim, const TIN *loops, const int *V, \
                              int nv, const int *group_k, int n_groups,              \
                              int n_threads, double *out, double *out_abs);
JZ_DECLARE_HAF(d, double)
JZ_DECLARE_HAF(ld, double)
JZ_DECLARE_HAF(z, jz_z)
JZ_DECLARE_HAF(lz, jz_z)

#define JZ_DECLARE_TOR(SUF, T)                                              \
    int jz_torontonian_##SUF(const T *M, const T *v, int n, int n_threads, \
                             double *out, double *out_abs);
JZ_DECLARE_TOR(d, double)
JZ_DECLARE_TOR(ld, long double)
JZ_DECLARE_TOR(z, jz_z)
JZ_DECLARE_TOR(lz, jz_lz)

/* Double-double (~106-bit) torontonian of a complex-basis O with quadrature
 * structure; only O[:n, :n], O[:n, n:] and gamma[:n] are read. */
int jz_torontonian_dd(const jz_z *O, const jz_z *gamma, int n, int n_threads,
                      double *out, double *out_abs);

#define JZ_DECLARE_PERM(SUF, TIN)                                          \
    int jz_permanent_##SUF(const TIN *A, int n, int n_threads, double *out, \
                           double *out_abs);
JZ_DECLARE_PERM(d, double)
JZ_DECLARE_PERM(ld, double)
JZ_DECLARE_PERM(z, jz_z)
JZ_DECLARE_PERM(lz, jz_z)

#endif
