/* Whole-set greedy construction of an L x M click matrix matching given
 * first- and second-order click probabilities (the second-order marginal
 * spoofer of Villalonga et al., arXiv:2109.11525, built over the whole sample
 * set; the deficit rule of jiuzhang_emu/samplers/greedy.py's docstring).
 *
 * Column j is set row by row in the order order[j - j0][0..L-1].  With t rows
 * already set in column j (s of them ones), row i gets the bit b maximising
 * the deficit
 *     D(b) = sum_{l<j} [(t+1) P_lj(x_il, b) - c_lj(x_il, b)] + (t+1) P_j(b) - c_j(b),
 * P_lj(a, b) the target probability of (x_l, x_j) = (a, b), c the counts over
 * the t rows set before it.  Delta = D(1) - D(0) is, with r_l the ones of
 * column l among those t rows, c11_l the ones of both, w_i the ones of row i
 * in columns < j, R = sum of w over those t rows, C = the same over the s
 * ones, q_l = 4 p_lj - 2 p_l - 2 p_j + 1, e_l = 2 r_l - 4 c11_l:
 *     Delta = (t+1) [Q_i + sum_l (2 p_j + p_l - 2 p_lj - 1) + 2 p_j - 1]
 *             + E_i + (2s - t) w_i + j (t - 2s) - R + 2C + t - 2s,
 * Q_i = sum_{l<j} x_il q_l (the same for every t: computed for all rows in
 * parallel), E_i = sum_{l<j} x_il e_l (integers, exact).  b = 1 iff Delta > 0.
 * Cost per column O(L j); the rows of a column are set one after another
 * (each depends on the previous ones), so only the Q_i pass is parallel, and
 * the result does not depend on the number of threads. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jz_kernels.h"

/* sum_{l<n} x_l e_l for 0/1 bytes x (masked adds: vectorised) */
static int64_t masked_sum32(const uint8_t *x, const int32_t *e, int n)
{
    int32_t s = 0;
    for (int l = 0; l < n; l++)
        s += (-(int32_t)x[l]) & e[l];
    return s;
}

static int64_t masked_sum64(const uint8_t *x, const int32_t *e, int n)
{
    int64_t s = 0;
    for (int l = 0; l < n; l++)
        s += (-(int64_t)x[l]) & (int64_t)e[l];
    return s;
}

/* sum_{l<n} x_l q_l in 8 interleaved partial sums (a fixed order, vectorised) */
static double masked_dot(const uint8_t *x, const double *q, int n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int l = 0;
    for (; l + 8 <= n; l += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += (double)x[l + k] * q[l + k];
    double s = 0;
    for (; l < n; l++)
        s += (double)x[l] * q[l];
    for (int k = 0; k < 8; k++)
        s += acc[k];
    return s;
}

/* w[i] = the clicks of row i of X (L x M) in its first n columns */
static void row_clicks(const uint8_t *X, int64_t L, int M, int n, int64_t *w, int n_threads)
{
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (int64_t i = 0; i < L; i++) {
        const uint8_t *x = X + i * M;
        int64_t k = 0;
        for (int l = 0; l < n; l++)
            k += x[l];
        w[i] = k;
    }
}

int jz_greedy_columns(uint8_t *X, int64_t L, int M, int j0, int j1, const double *p,
                      const double *pair, const int32_t *order, int n_threads)
{
    if (L < 1 || M < 1 || j0 < 0 || j1 <= j0 || j1 > M || n_threads < 1)
        return JZ_ERR_ARGUMENT;
    double *q = malloc(sizeof(double) * (size_t)(j1 > 0 ? j1 : 1));
    int32_t *e = malloc(sizeof(int32_t) * (size_t)(j1 > 0 ? j1 : 1));
    double *Q = malloc(sizeof(double) * (size_t)L);
    int64_t *w = malloc(sizeof(int64_t) * (size_t)L);
    if (!q || !e || !Q || !w) {
        free(q), free(e), free(Q), free(w);
        return JZ_ERR_MEMORY;
    }
    /* |E_i| <= 2 t j: int32 sums while 2 L M fits */
    int wide = 2.0 * (double)L * (double)M >= 2147483647.0;
    row_clicks(X, L, M, j0, w, n_threads);
    for (int j = j0; j < j1; j++) {
        const double *pj = pair + (size_t)(j - j0) * j1;
        const int32_t *perm = order + (size_t)(j - j0) * L;
        double base = 2.0 * p[j] - 1.0;
        for (int l = 0; l < j; l++) {
            q[l] = 4.0 * pj[l] - 2.0 * p[l] - 2.0 * p[j] + 1.0;
            base += 2.0 * p[j] + p[l] - 2.0 * pj[l] - 1.0;
        }
#pragma omp parallel for schedule(static) num_threads(n_threads)
        for (int64_t i = 0; i < L; i++)
            Q[i] = masked_dot(X + i * M, q, j);
        memset(e, 0, sizeof(int32_t) * (size_t)(j > 0 ? j : 1));
        int64_t s = 0, R = 0, C = 0;
        for (int64_t t = 0; t < L; t++) {
            int64_t i = perm[t];
            uint8_t *x = X + i * M;
            int64_t E = wide ? masked_sum64(x, e, j) : masked_sum32(x, e, j);
            double delta = (double)(t + 1) * (Q[i] + base)
                           + (double)(E + (2 * s - t) * w[i] + (int64_t)j * (t - 2 * s) - R
                                      + 2 * C + t - 2 * s);
            int b = delta > 0.0;
            x[j] = (uint8_t)b;
            int32_t d = b ? -2 : 2;
            for (int l = 0; l < j; l++)
                e[l] += (-(int32_t)x[l]) & d;
            s += b;
            R += w[i];
            C += b ? w[i] : 0;
        }
        for (int64_t i = 0; i < L; i++)
            w[i] += X[i * M + j];
    }
    free(q), free(e), free(Q), free(w);
    return JZ_OK;
}

/* One refinement sweep over columns j0..j1-1 of a finished X (all M columns
 * set): for column j, with d_l = L p_lj - c_lj the deficits of its pair counts
 * against every other column l and d_j = L p_j - c_j that of its click count
 * (pair[c M + l] = p_lj, pair[c M + j] = p_j), the rows are visited in the
 * order order[j - j0] and x_ij is flipped when that lowers
 * sum_{l != j} (c_lj - L p_lj)^2 + lambda (c_j - L p_j)^2, lambda = click_weight:
 * with w_i the ones of row i and g_i = sum_{l != j} x_il d_l, 0 -> 1 when
 * w_i - 2 g_i + lambda (1 - 2 d_j) < 0, 1 -> 0 when
 * w_i - 1 + 2 g_i + lambda (1 + 2 d_j) < 0; the deficits then follow.  Every
 * flip lowers that sum over all columns (each pair counted twice);
 * flips[0] counts them. */
int jz_greedy_refine(uint8_t *X, int64_t L, int M, int j0, int j1, const double *pair,
                     const int32_t *order, double click_weight, int n_threads, int64_t *flips)
{
    if (L < 1 || M < 1 || j0 < 0 || j1 <= j0 || j1 > M || n_threads < 1)
        return JZ_ERR_ARGUMENT;
    /* g_i = sum_{l != j} x_il (L p_lj - c_lj) = T_i - E_i: T_i (fixed while column
     * j is swept: only x_ij changes) for all rows in parallel, E_i = sum x_il c_l
     * in exact integers as rows are visited */
    double *q = malloc(sizeof(double) * (size_t)M);
    double *T = malloc(sizeof(double) * (size_t)L);
    int32_t *cnt = malloc(sizeof(int32_t) * (size_t)M);
    int64_t *w = malloc(sizeof(int64_t) * (size_t)L);
    int64_t *c = calloc((size_t)M * (size_t)n_threads, sizeof(int64_t));
    if (!q || !T || !cnt || !w || !c) {
        free(q), free(T), free(cnt), free(w), free(c);
        return JZ_ERR_MEMORY;
    }
    int wide = (double)L * (double)M >= 2147483647.0; /* |E_i| <= L M */
    row_clicks(X, L, M, M, w, n_threads);
    int64_t n_flips = 0;
    for (int j = j0; j < j1; j++) {
        const double *pj = pair + (size_t)(j - j0) * M;
        const int32_t *perm = order + (size_t)(j - j0) * L;
        memset(c, 0, sizeof(int64_t) * (size_t)M * (size_t)n_threads);
        /* c_l = sum_i x_il x_ij: per-thread integer partial sums (exact) */
#pragma omp parallel num_threads(n_threads)
        {
#ifdef _OPENMP
            int64_t *mine = c + (size_t)M * (size_t)omp_get_thread_num();
#else
            int64_t *mine = c;
#endif
#pragma omp for schedule(static)
            for (int64_t i = 0; i < L; i++) {
                const uint8_t *x = X + i * M;
                if (x[j])
                    for (int l = 0; l < M; l++)
                        mine[l] += x[l];
            }
        }
        for (int l = 0; l < M; l++) {
            int64_t total = 0;
            for (int k = 0; k < n_threads; k++)
                total += c[(size_t)k * M + l];
            cnt[l] = (int32_t)total;
            q[l] = (double)L * pj[l];
        }
        double dj = q[j] - (double)cnt[j];
        cnt[j] = 0, q[j] = 0.0; /* the click count is kept apart, in dj */
#pragma omp parallel for schedule(static) num_threads(n_threads)
        for (int64_t i = 0; i < L; i++)
            T[i] = masked_dot(X + i * M, q, M);
        for (int64_t t = 0; t < L; t++) {
            int64_t i = perm[t];
            uint8_t *x = X + i * M;
            int64_t E = wide ? masked_sum64(x, cnt, M) : masked_sum32(x, cnt, M);
            double g = T[i] - (double)E;
            double change = x[j] ? (double)(w[i] - 1) + 2.0 * g + click_weight * (1.0 + 2.0 * dj)
                                 : (double)w[i] - 2.0 * g + click_weight * (1.0 - 2.0 * dj);
            if (change < 0.0) {
                int32_t step = x[j] ? 1 : -1; /* the deficits' change: c_l -= step */
                w[i] -= step;
                x[j] ^= 1;
                for (int l = 0; l < M; l++)
                    cnt[l] -= (-(int32_t)x[l]) & step;
                cnt[j] = 0;
                dj += step;
                n_flips++;
            }
        }
    }
    flips[0] += n_flips;
    free(q), free(T), free(cnt), free(w), free(c);
    return JZ_OK;
}
