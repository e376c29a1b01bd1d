/* Hafnian and loop hafnian kernels: see hafnian_impl.h for the algorithm. */
#include <stdlib.h>
#include <string.h>
#include "jz_common.h"
#include "jz_kernels.h"

#define T double
#define TIN double
#define R double
#define SUF d
#define RE(x) (x)
#define IM(x) ((void)(x), 0.0)
#define TABS(x) fabs(x)
#include <math.h>
#include "hafnian_impl.h"
#undef T
#undef TIN
#undef R
#undef SUF
#undef RE
#undef IM
#undef TABS

#define T long double
#define TIN double
#define R long double
#define SUF ld
#define RE(x) (x)
#define IM(x) ((void)(x), 0.0L)
#define TABS(x) fabsl(x)
#include "hafnian_impl.h"
#undef T
#undef TIN
#undef R
#undef SUF
#undef RE
#undef IM
#undef TABS

#define T jz_z
#define TIN jz_z
#define R double
#define SUF z
#define RE(x) creal(x)
#define IM(x) cimag(x)
#define TABS(x) (fabs(creal(x)) + fabs(cimag(x)))
#include "hafnian_impl.h"
#undef T
#undef TIN
#undef R
#undef SUF
#undef RE
#undef IM
#undef TABS

#define T jz_lz
#define TIN jz_z
#define R long double
#define SUF lz
#define RE(x) creall(x)
#define IM(x) cimagl(x)
#define TABS(x) (fabsl(creall(x)) + fabsl(cimagl(x)))
#include "hafnian_impl.h"
#undef T
#undef TIN
#undef R
#undef SUF
#undef RE
#undef IM
#undef TABS

#if JZ_HAS_QUAD
/* Quad precision, complex only and only the z-polynomial (the exact
 * sampler's last tier, jz_kernels.h).  No libm or libquadmath call: the
 * modulus is written out, the arithmetic is GCC's (libgcc soft float). */
typedef _Complex float __attribute__((mode(TC))) jz_qz;  /* _Complex __float128 */
static inline __float128 jz_qabs(__float128 x) { return x < 0 ? -x : x; }
#define T jz_qz
#define TIN jz_z
#define R __float128
#define SUF qz
#define RE(x) (__real__(x))
#define IM(x) (__imag__(x))
#define TABS(x) (jz_qabs(__real__(x)) + jz_qabs(__imag__(x)))
#define JZ_HAF_ZPOLY_ONLY
#define JZ_POLL_EVERY_NODE
#include "hafnian_impl.h"
#undef JZ_POLL_EVERY_NODE
#undef JZ_HAF_ZPOLY_ONLY
#undef T
#undef TIN
#undef R
#undef SUF
#undef RE
#undef IM
#undef TABS
#else
int jz_loop_hafnian_zpoly_qz(const void *A, int dim, const void *loops, const void *loops1,
                             int n_z, const int *V, int nv, const int *group_k, int n_groups,
                             int n_threads, double *out, double *out_abs)
{
    (void)A; (void)dim; (void)loops; (void)loops1; (void)n_z; (void)V; (void)nv;
    (void)group_k; (void)n_groups; (void)n_threads; (void)out; (void)out_abs;
    return JZ_ERR_ARGUMENT;
}
#endif
