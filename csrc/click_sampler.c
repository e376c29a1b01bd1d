/* Exact threshold (click) sampling: csrc/click_sampler_impl.h in float64
 * (d), 80-bit extended precision (ld) and double-double (dd, ~106 bits). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "double_double.h"
#include "jz_kernels.h"

/* float64 and long double: infix arithmetic */
#define ADD(x, y) ((x) + (y))
#define SUB(x, y) ((x) - (y))
#define MUL(x, y) ((x) * (y))
#define DIV(x, y) ((x) / (y))
#define FROM(x) (x)
#define TOD(x) ((double)(x))

/* sum_i x[i] y[i] in the element type */
#define JZ_PLAIN_DOT(NAME, TYPE)                                    \
    static inline TYPE NAME(const TYPE *x, const TYPE *y, int len)  \
    {                                                               \
        TYPE s = 0;                                                 \
        for (int i = 0; i < len; i++)                               \
            s += x[i] * y[i];                                       \
        return s;                                                   \
    }
JZ_PLAIN_DOT(dot_d, double)
JZ_PLAIN_DOT(dot_ld, long double)

#define T double
#define SUF d
#define SQRT(x) sqrt(x)
#define EXP(x) exp(x)
#define DOT(x, y, len) dot_d(x, y, len)
#include "click_sampler_impl.h"
#undef T
#undef SUF
#undef SQRT
#undef EXP
#undef DOT

#define T long double
#define SUF ld
#define SQRT(x) sqrtl(x)
#define EXP(x) expl(x)
#define DOT(x, y, len) dot_ld(x, y, len)
#include "click_sampler_impl.h"
#undef T
#undef SUF
#undef SQRT
#undef EXP
#undef DOT

#undef ADD
#undef SUB
#undef MUL
#undef DIV
#undef FROM
#undef TOD

/* double-double */
#define T dd
#define SUF dd
#define ADD(x, y) dd_add(x, y)
#define SUB(x, y) dd_sub(x, y)
#define MUL(x, y) dd_mul(x, y)
#define DIV(x, y) dd_div(x, y)
#define FROM(x) dd_from(x)
#define TOD(x) ((x).hi)
#define SQRT(x) dd_sqrt(x)
#define EXP(x) dd_exp(x)
#define DOT(x, y, len) dd_dot(x, y, len)
#include "click_sampler_impl.h"
