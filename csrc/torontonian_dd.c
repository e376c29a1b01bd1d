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
} tor_dd_ctx;

typedef struct {
    dd *L, *y;
    int *rows;
    dd sum;
    double abs_sum;
    int status;
} tor_dd_work;

static dd tor_dd_extend(const tor_dd_ctx *cx, tor_dd_work *w, int m, int i, dd *ysq)
{
    const int dim = cx->dim;
    dd *L = w->L;
    w->rows[m] = 2 * i;
    w->rows[m + 1] = 2 * i + 1;
    dd prod = dd_from(1.0);
    for (int r = m; r < m + 2; r++) {
        dd *Lr = L + (size_t)r * dim;
        const dd *Mr = cx->M + (size_t)w->rows[r] * dim;
        for (int c = 0; c < r; c++) {
            const dd *Lc = L + (size_t)c * dim;
            Lr[c] = dd_div(dd_sub(Mr[w->rows[c]], dd_dot(Lr, Lc, c)), Lc[c]);
        }
        dd d = dd_sub(Mr[w->rows[r]], dd_dot(Lr, Lr, r));
        if (!(d.hi > 0))
            return dd_from(0.0);
        d = dd_sqrt(d);
        Lr[r] = d;
        prod = dd_mul(prod, d);
        if (cx->v) {
            const dd z = dd_div(dd_sub(cx->v[w->rows[r]], dd_dot(Lr, w->y, r)), d);
            w->y[r] = z;
            *ysq = dd_add(*ysq, dd_mul(z, z));
        }
    }
    return prod;
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
    for (int i = first; i < cx->n && w->status == JZ_OK; i++) {
        dd ysq_i = ysq;
        const dd d = tor_dd_extend(cx, w, 2 * size, i, &ysq_i);
        if (d.hi == 0) {
            w->status = JZ_ERR_NOT_PD;
            return;
        }
        const dd sd = dd_mul(sqrt_det, d);
        tor_dd_term(w, cx->n, size + 1, sd, ysq_i);
        tor_dd_rec(cx, w, i + 1, size + 1, sd, ysq_i);
    }
}

/* O: 2n x 2n complex-basis O matrix with quadrature structure (only its
 * blocks O[:n,:n] and O[:n,n:] are read); gamma: 2n or NULL (only gamma[:n]
 * is read). */
int jz_torontonian_dd(const jz_z *O, const jz_z *gamma, int n, int n_threads,
                      double *out, double *out_abs)
{
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
    tor_dd_ctx cx = {M, v, n, dim};
    const int n_prefix = n < 8 ? n : 8;
    const long n_tasks = 1L << n_prefix;
    dd *sums = calloc(n_tasks, sizeof(dd));
    double *abss = calloc(n_tasks, sizeof(double));
    int status = (sums && abss) ? JZ_OK : JZ_ERR_MEMORY;
    if (n_threads < 1)
        n_threads = 1;

#pragma omp parallel num_threads(n_threads) if (status == JZ_OK)
    {
        tor_dd_work w = {0};
        w.L = calloc((size_t)dim * dim, sizeof(dd));
        w.y = calloc(dim, sizeof(dd));
        w.rows = calloc(dim, sizeof(int));
        if (!w.L || !w.y || !w.rows) {
#pragma omp atomic write
            status = JZ_ERR_MEMORY;
        }
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < n_tasks; task++) {
            if (status != JZ_OK)
                continue;
            w.sum = dd_from(0.0);
            w.abs_sum = 0;
            w.status = JZ_OK;
            int size = 0;
            dd sqrt_det = dd_from(1.0), ysq = dd_from(0.0);
            for (int i = 0; i < n_prefix && w.status == JZ_OK; i++) {
                if (!((task >> i) & 1))
                    continue;
                const dd d = tor_dd_extend(&cx, &w, 2 * size, i, &ysq);
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
        free(w.L); free(w.y); free(w.rows);
    }
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
