/* Torontonian and loop torontonian kernels: see torontonian_impl.h. */
#include <math.h>
#include <stdlib.h>
#include "jz_common.h"
#include "jz_kernels.h"

#define T double
#define R double
#define SUF d
#define CONJ(x) (x)
#define RE(x) (x)
#define SQRT(x) sqrt(x)
#define EXP(x) exp(x)
#include "torontonian_impl.h"
#undef T
#undef R
#undef SUF
#undef CONJ
#undef RE
#undef SQRT
#undef EXP

#define T long double
#define R long double
#define SUF ld
#define CONJ(x) (x)
#define RE(x) (x)
#define SQRT(x) sqrtl(x)
#define EXP(x) expl(x)
#include "torontonian_impl.h"
#undef T
#undef R
#undef SUF
#undef CONJ
#undef RE
#undef SQRT
#undef EXP

#define T jz_z
#define R double
#define SUF z
#define CONJ(x) conj(x)
#define RE(x) creal(x)
#define SQRT(x) sqrt(x)
#define EXP(x) exp(x)
#include "torontonian_impl.h"
#undef T
#undef R
#undef SUF
#undef CONJ
#undef RE
#undef SQRT
#undef EXP

#define T jz_lz
#define R long double
#define SUF lz
#define CONJ(x) conjl(x)
#define RE(x) creall(x)
#define SQRT(x) sqrtl(x)
#define EXP(x) expl(x)
#include "torontonian_impl.h"
