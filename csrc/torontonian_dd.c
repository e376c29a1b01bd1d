/* Torontonian and loop torontonian in double-double arithmetic (~106 bits),
 * for O matrices with quadrature structure (every physical O).
 *
 * The torontonian cancels massively: for Jiuzhang-like click patterns the sum
 * of |terms| exceeds the result by 10^12 at 12 clicks and grows with the
 * click number, beyond what long double's 64 bits can absorb.  Same algorithm
 * as torontonian_impl.h (Kaposi et al., arXiv:2109.04528); here the real xpxp
 * matrix is formed from O inside the kernel, in double-double, so that no
 * input rounding precedes the sum.
 */
#include <stdlib.h>
#include "double_double.h"
#include "jz_common.h"
#include "jz_kernels.h"

typedef struct {
    const dd *M;
    const dd *v;
    int n, dim;
    jz_stop *st;
} tor_dd_ctx;

typedef struct {
    dd *P, *y;   /* as in torontonian_impl.h */
    dd sum;
    double abs_sum;
    int status;
} tor_dd_work;

/* tor_extend of torontonian_impl.h in double-double (real matrices). */
static dd tor_dd_extend(const tor_dd_ctx *cx, tor_dd_work *w, int t, int j, dd *ysq)
{
    const int dim = cx->dim, m = 2 * t;
    const dd *M = cx->M;
    dd *P = w->P;
    const dd *pj0 = P + (size_t)(2 * j) * dim, *pj1 = P + (size_t)(2 * j + 1) * dim;
    const dd *Mj0 = M + (size_t)(2 * j) * dim, *Mj1 = M + (size_t)(2 * j + 1) * dim;
    const dd zero = dd_from(0.0);

    const dd s00 = dd_sub(Mj0[2 * j], dd_dot(pj0, pj0, m));
    if (!(s00.hi > 0))
        return zero;
    const dd l00 = dd_sqrt(s00);
    const dd l10 = dd_div(dd_sub(Mj1[2 * j], dd_dot(pj1, pj0, m)), l00);
    const dd s11 = dd_sub(dd_sub(Mj1[2 * j + 1], dd_dot(pj1, pj1, m)), dd_mul(l10, l10));
    if (!(s11.hi > 0))
        return zero;
    const dd l11 = dd_sqrt(s11);

    if (cx->v) {
        const dd y0 = dd_div(dd_sub(cx->v[2 * j], dd_dot(pj0, w->y, m)), l00);
        const dd y1 = dd_div(dd_sub(dd_sub(cx->v[2 * j + 1], dd_dot(pj1, w->y, m)),
                                    dd_mul(l10, y0)), l11);
        w->y[m] = y0;
        w->y[m + 1] = y1;
        *ysq = dd_add(*ysq, dd_add(dd_mul(y0, y0), dd_mul(y1, y1)));
    }
    /* one division each, then products: a double-double division costs
     * several multiplications */
    const dd inv00 = dd_div(dd_from(1.0), l00), inv11 = dd_div(dd_from(1.0), l11);
    for (int row = 2 * (j + 1); row < dim; row++) {
        dd *pi = P + (size_t)row * dim;
        const dd *Mi = M + (size_t)row * dim;
        const dd x0 = dd_mul(dd_sub(Mi[2 * j], dd_dot(pi, pj0, m)), inv00);
        pi[m] = x0;
        pi[m + 1] = dd_mul(dd_sub(dd_sub(Mi[2 * j + 1], dd_dot(pi, pj1, m)), dd_mul(x0, l10)),
                           inv11);
    }
    return dd_mul(l00, l11);
}

static void tor_dd_term(tor_dd_work *w, int n, int size, dd sqrt_det, dd ysq)
{
    dd term = dd_div(dd_from(1.0), sqrt_det);
    if (ysq.hi != 0)
        term = dd_mul(term, dd_exp(dd_mul_d(ysq, 0.5)));
    if ((n - size) % 2)
        term = dd_neg(term);
    w->sum = dd_add(w->sum, term);
    w->abs_sum += fabs(term.hi);
}

static void tor_dd_rec(const tor_dd_ctx *cx, tor_dd_work *w, int first, int size,
                       dd sqrt_det, dd ysq)
{
    if (cx->n - first >= JZ_POLL_LEVELS && jz_stopped(cx->st)) {
        w->status = JZ_INTERRUPTED;
        return;
    }
    for (int j = first; j < cx->n && w->status == JZ_OK; j++) {
        dd ysq_j = ysq;
        const dd d = tor_dd_extend(cx, w, size, j, &ysq_j);
        if (d.hi == 0) {
            w->status = JZ_ERR_NOT_PD;
            return;
        }
        const dd sd = dd_mul(sqrt_det, d);
        tor_dd_term(w, cx->n, size + 1, sd, ysq_j);
        tor_dd_rec(cx, w, j + 1, size + 1, sd, ysq_j);
    }
}

/* O: 2n x 2n complex-basis O matrix with quadrature structure (only its
 * blocks O[:n,:n] and O[:n,n:] are read); gamma: 2n or NULL (only gamma[:n]
 * is read). */
int jz_torontonian_dd(const void *O_, const void *gamma_, int n, int n_threads,
                      double *out, double *out_abs)
{
    const jz_z *O = O_, *gamma = gamma_;
    *out = 0;
    *out_abs = 0;
    if (n < 0)
        return JZ_ERR_ARGUMENT;
    if (n == 0) {
        *out = 1;
        *out_abs = 1;
        return JZ_OK;
    }
    const int dim = 2 * n;
    dd *M = malloc(sizeof(dd) * (size_t)dim * dim);
    dd *v = gamma ? malloc(sizeof(dd) * dim) : NULL;
    if (!M || (gamma && !v)) {
        free(M); free(v);
        return JZ_ERR_MEMORY;
    }
    /* M = I - O; with A = M[:n,:n], B = M[:n,n:] the xpxp matrix has blocks
     * xx = Re(A + B), xp = Im(B - A), px = Im(A + B), pp = Re(A - B). */
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const jz_z o11 = O[(size_t)i * dim + j], o12 = O[(size_t)i * dim + n + j];
            const double a_re = -creal(o11), a_im = -cimag(o11);
            const double b_re = -creal(o12), b_im = -cimag(o12);
            const dd one = dd_from(i == j ? 1.0 : 0.0);
            M[(size_t)(2 * i) * dim + 2 * j] = dd_add(one, dd_two_sum(a_re, b_re));
            M[(size_t)(2 * i) * dim + 2 * j + 1] = dd_two_sum(b_im, -a_im);
            M[(size_t)(2 * i + 1) * dim + 2 * j] = dd_two_sum(a_im, b_im);
            M[(size_t)(2 * i + 1) * dim + 2 * j + 1] = dd_add(one, dd_two_sum(a_re, -b_re));
        }
    if (gamma) {
        /* v = conj(gamma) = (c, conj c) becomes sqrt2 (Re c, Im c) */
        static const dd sqrt2 = {1.4142135623730951455e+00, -9.6672933134529134511e-17};
        for (int i = 0; i < n; i++) {
            v[2 * i] = dd_mul_d(sqrt2, creal(gamma[i]));
            v[2 * i + 1] = dd_mul_d(sqrt2, -cimag(gamma[i]));
        }
    }
    tor_dd_ctx cx = {M, v, n, dim, NULL};
    /* tasks: one per subset of the first n_prefix modes (a task replays its
     * prefix, so six modes at least stay below the split) */
    const int n_prefix = n - 6 < 8 ? (n - 6 > 0 ? n - 6 : 0) : 8;
    const long n_tasks = 1L << n_prefix;
    dd *sums = calloc(n_tasks, sizeof(dd));
    double *abss = calloc(n_tasks, sizeof(double));
    int status = (sums && abss) ? JZ_OK : JZ_ERR_MEMORY, finished = 0;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop stop_local, *st = jz_stop_begin(&stop_local);
    cx.st = st;

#pragma omp parallel num_threads(n_threads) if (status == JZ_OK)
    {
        tor_dd_work w = {0};
        w.P = calloc((size_t)dim * dim, sizeof(dd));
        w.y = calloc(dim, sizeof(dd));
        if (!w.P || !w.y) {
#pragma omp atomic write
            status = JZ_ERR_MEMORY;
        }
#pragma omp for schedule(dynamic, 1) nowait
        for (long task = 0; task < n_tasks; task++) {
            if (status != JZ_OK || jz_stopped(st))
                continue;
            w.sum = dd_from(0.0);
            w.abs_sum = 0;
            w.status = JZ_OK;
            int size = 0;
            dd sqrt_det = dd_from(1.0), ysq = dd_from(0.0);
            for (int i = 0; i < n_prefix && w.status == JZ_OK; i++) {
                if (!((task >> i) & 1))
                    continue;
                const dd d = tor_dd_extend(&cx, &w, size, i, &ysq);
                if (d.hi == 0)
                    w.status = JZ_ERR_NOT_PD;
                sqrt_det = dd_mul(sqrt_det, d);
                size++;
            }
            if (w.status == JZ_OK) {
                tor_dd_term(&w, n, size, sqrt_det, ysq);
                tor_dd_rec(&cx, &w, n_prefix, size, sqrt_det, ysq);
            }
            if (w.status != JZ_OK) {
#pragma omp atomic write
                status = w.status;
            }
            sums[task] = w.sum;
            abss[task] = w.abs_sum;
        }
        jz_stop_drain(st, &finished);
        free(w.P); free(w.y);
    }
    status = jz_stop_end(st, &stop_local, status);
    if (status == JZ_OK) {
        dd sum = dd_from(0.0);
        double ab = 0;
        for (long t = 0; t < n_tasks; t++) {
            sum = dd_add(sum, sums[t]);
            ab += abss[t];
        }
        *out = sum.hi + sum.lo;
        *out_abs = ab;
    }
    free(sums); free(abss); free(M); free(v);
    return status;
}
