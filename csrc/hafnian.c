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
