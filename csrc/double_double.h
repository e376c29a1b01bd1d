/* Double-double arithmetic: a value is hi + lo with |lo| <= ulp(hi)/2, about
 * 106 significant bits.  Error-free transformations of Dekker (1971) and
 * Knuth; the algorithms follow Hida, Li, Bailey, "Library for double-double
 * and quad-double arithmetic" (2000), "sloppy" variants not used.
 * Requires FP_CONTRACT off (the build uses -std=c11, which gives that on GCC).
 */
#ifndef JZ_DOUBLE_DOUBLE_H
#define JZ_DOUBLE_DOUBLE_H

#include <math.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF   /* GCC ignores the pragma; -std=c11 gives the same */
#endif

typedef struct { double hi, lo; } dd;

static inline dd dd_quick_two_sum(double a, double b)
{
    const double s = a + b;
    return (dd){s, b - (s - a)};
}

static inline dd dd_two_sum(double a, double b)
{
    const double s = a + b, bb = s - a;
    return (dd){s, (a - (s - bb)) + (b - bb)};
}

static inline dd dd_two_prod(double a, double b)
{
    const double p = a * b;
    return (dd){p, fma(a, b, -p)};
}

static inline dd dd_from(double a) { return (dd){a, 0.0}; }

static inline dd dd_add(dd x, dd y)
{
    dd s = dd_two_sum(x.hi, y.hi), t = dd_two_sum(x.lo, y.lo);
    s.lo += t.hi;
    s = dd_quick_two_sum(s.hi, s.lo);
    s.lo += t.lo;
    return dd_quick_two_sum(s.hi, s.lo);
}

static inline dd dd_neg(dd x) { return (dd){-x.hi, -x.lo}; }
static inline dd dd_sub(dd x, dd y) { return dd_add(x, dd_neg(y)); }

static inline dd dd_mul(dd x, dd y)
{
    dd p = dd_two_prod(x.hi, y.hi);
    p.lo += x.hi * y.lo + x.lo * y.hi;
    return dd_quick_two_sum(p.hi, p.lo);
}

static inline dd dd_mul_d(dd x, double b)
{
    dd p = dd_two_prod(x.hi, b);
    p.lo += x.lo * b;
    return dd_quick_two_sum(p.hi, p.lo);
}

static inline dd dd_div(dd x, dd y)
{
    const double q1 = x.hi / y.hi;
    dd r = dd_sub(x, dd_mul_d(y, q1));
    const double q2 = r.hi / y.hi;
    r = dd_sub(r, dd_mul_d(y, q2));
    const double q3 = r.hi / y.hi;
    return dd_add(dd_quick_two_sum(q1, q2), dd_from(q3));
}

static inline dd dd_sqrt(dd x)
{
    if (x.hi <= 0)
        return dd_from(0.0);
    const double s = sqrt(x.hi);
    const dd r = dd_sub(x, dd_two_prod(s, s));
    return dd_quick_two_sum(s, r.hi / (2.0 * s));
}

/* sum_k x[k] y[k] for k < len: products split exactly (two_prod), their
 * double-double tails and the rounding errors of the running sums gathered in
 * a compensation term (the Dot2 scheme of Ogita, Rump, Oishi, SIAM J. Sci.
 * Comput. 26, 1955 (2005), carried over to double-double operands), in two
 * independent chains.  Error about 2^-104 sum |x_k y_k|, like double-double
 * arithmetic, at half its cost. */
static inline dd dd_dot(const dd *x, const dd *y, int len)
{
    double s0 = 0, c0 = 0, s1 = 0, c1 = 0;
    int k = 0;
    for (; k + 2 <= len; k += 2) {
        const dd p0 = dd_two_prod(x[k].hi, y[k].hi);
        const dd p1 = dd_two_prod(x[k + 1].hi, y[k + 1].hi);
        const dd t0 = dd_two_sum(s0, p0.hi), t1 = dd_two_sum(s1, p1.hi);
        s0 = t0.hi;
        s1 = t1.hi;
        c0 += t0.lo + (p0.lo + (x[k].hi * y[k].lo + x[k].lo * y[k].hi));
        c1 += t1.lo + (p1.lo + (x[k + 1].hi * y[k + 1].lo + x[k + 1].lo * y[k + 1].hi));
    }
    for (; k < len; k++) {
        const dd p0 = dd_two_prod(x[k].hi, y[k].hi);
        const dd t0 = dd_two_sum(s0, p0.hi);
        s0 = t0.hi;
        c0 += t0.lo + (p0.lo + (x[k].hi * y[k].lo + x[k].lo * y[k].hi));
    }
    return dd_add(dd_quick_two_sum(s0, c0), dd_quick_two_sum(s1, c1));
}

/* exp by argument reduction x = k ln2 + r, |r| <= ln2/2, then r/2^10 and a
 * Taylor series squared back ten times. */
static inline dd dd_exp(dd x)
{
    static const dd ln2 = {6.931471805599452862e-01, 2.319046813846299558e-17};
    const double k = floor(x.hi / ln2.hi + 0.5);
    dd r = dd_sub(x, dd_mul_d(ln2, k));
    r = dd_mul_d(r, 1.0 / 1024.0);
    dd term = r, sum = dd_add(dd_from(1.0), r);
    for (int i = 2; i < 14; i++) {
        term = dd_mul(term, dd_mul_d(r, 1.0 / i));
        sum = dd_add(sum, term);
    }
    for (int i = 0; i < 10; i++)
        sum = dd_mul(sum, sum);
    return (dd){ldexp(sum.hi, (int)k), ldexp(sum.lo, (int)k)};
}

#endif
