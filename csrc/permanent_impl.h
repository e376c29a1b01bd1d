/* Permanent by Glynn's formula in Gray-code order, instantiated once per
 * scalar type.
 *
 *   perm(M) = 2^-(n-1) sum_{delta in {+-1}^n, delta_0 = 1}
 *             (prod_k delta_k) prod_j sum_i delta_i M_ij
 *
 * D. G. Glynn, "The permanent of a square matrix", Eur. J. Comb. 31, 1887
 * (2010), Eq. (1); visiting the deltas in Gray-code order makes each term an
 * O(n) update of the column sums.  The 2^(n-1) terms are cut into a fixed
 * number of contiguous chunks; each chunk starts from column sums computed
 * directly.
 *
 * Macros expected: T, TIN, R, SUF, RE(x), IM(x), TABS(x).
 */

#define JZ_CAT2(a, b) a##_##b
#define JZ_CAT(a, b) JZ_CAT2(a, b)
#define FN(name) JZ_CAT(name, SUF)

/* Knuth's branch-free TwoSum: *sum += x with the rounding error kept in *comp. */
static inline void FN(perm_two_sum)(R *sum, R *comp, R x)
{
    const R s = *sum + x, bb = s - *sum;
    *comp += (*sum - (s - bb)) + (x - bb);
    *sum = s;
}

/* prod_j colsum[j] in four interleaved chains (latency, not throughput, bounds
 * a single chain of complex products). */
static inline T FN(perm_product)(const T *colsum, int n)
{
    T p0 = 1, p1 = 1, p2 = 1, p3 = 1;
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        p0 *= colsum[j];
        p1 *= colsum[j + 1];
        p2 *= colsum[j + 2];
        p3 *= colsum[j + 3];
    }
    for (; j < n; j++)
        p0 *= colsum[j];
    return (p0 * p1) * (p2 * p3);
}

int FN(jz_permanent)(const void *A_, int n, int n_threads, double *out, double *out_abs)
{
    const TIN *A = A_;
    out[0] = out[1] = 0;
    *out_abs = 0;
    if (n < 0 || n > 62)
        return JZ_ERR_ARGUMENT;
    if (n == 0) {
        out[0] = 1;
        *out_abs = 1;
        return JZ_OK;
    }
    const uint64_t n_terms = (uint64_t)1 << (n - 1);
    /* chunks of at least 64 terms: each starts with an O(n^2) set-up */
    const uint64_t n_tasks = n_terms / 64 < 1 ? 1 : (n_terms / 64 < JZ_TASKS ? n_terms / 64 : JZ_TASKS);
    const uint64_t chunk = n_terms / n_tasks;
    R *sums = calloc(n_tasks * 5, sizeof(R));
    T *M = malloc(sizeof(T) * (size_t)n * n);
    if (!sums || !M) {
        free(sums); free(M);
        return JZ_ERR_MEMORY;
    }
    for (size_t e = 0; e < (size_t)n * n; e++)
        M[e] = (T)A[e];
    int status = JZ_OK, finished = 0;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop stop_local, *st = jz_stop_begin(&stop_local);

#pragma omp parallel num_threads(n_threads)
    {
        T *colsum = malloc(sizeof(T) * n);
        if (!colsum) {
#pragma omp atomic write
            status = JZ_ERR_MEMORY;
        }
#pragma omp for schedule(dynamic, 1) nowait
        for (long task = 0; task < (long)n_tasks; task++) {
            if (status != JZ_OK || jz_stopped(st))
                continue;
            const uint64_t t0 = (uint64_t)task * chunk;
            uint64_t gray = t0 ^ (t0 >> 1);
            /* bit b of gray set: delta_{b+1} = -1 */
            for (int j = 0; j < n; j++) {
                T z = M[j];
                for (int i = 1; i < n; i++)
                    z += ((gray >> (i - 1)) & 1) ? -M[(size_t)i * n + j] : M[(size_t)i * n + j];
                colsum[j] = z;
            }
            int negative = __builtin_popcountll(gray) & 1;
            R re = 0, re_c = 0, im = 0, im_c = 0, ab = 0;
            for (uint64_t t = t0; t < t0 + chunk; t++) {
                if (!(t & 1023) && jz_stopped(st))
                    break;
                if (t > t0) {
                    const int b = __builtin_ctzll(t);
                    const T *row = M + (size_t)(b + 1) * n;
                    gray ^= (uint64_t)1 << b;
                    negative ^= 1;
                    if ((gray >> b) & 1)
                        for (int j = 0; j < n; j++)
                            colsum[j] -= 2 * row[j];
                    else
                        for (int j = 0; j < n; j++)
                            colsum[j] += 2 * row[j];
                }
                T prod = FN(perm_product)(colsum, n);
                if (negative)
                    prod = -prod;
                FN(perm_two_sum)(&re, &re_c, RE(prod));
                FN(perm_two_sum)(&im, &im_c, IM(prod));
                ab += TABS(prod);
            }
            sums[5 * task] = re;
            sums[5 * task + 1] = re_c;
            sums[5 * task + 2] = im;
            sums[5 * task + 3] = im_c;
            sums[5 * task + 4] = ab;
        }
        jz_stop_drain(st, &finished);
        free(colsum);
    }
    status = jz_stop_end(st, &stop_local, status);
    if (status == JZ_OK) {
        R re = 0, re_c = 0, im = 0, im_c = 0, ab = 0;
        for (uint64_t t = 0; t < n_tasks; t++) {
            FN(perm_two_sum)(&re, &re_c, sums[5 * t] + sums[5 * t + 1]);
            FN(perm_two_sum)(&im, &im_c, sums[5 * t + 2] + sums[5 * t + 3]);
            ab += sums[5 * t + 4];
        }
        const R scale = (R)1 / (R)n_terms;
        out[0] = (double)((re + re_c) * scale);
        out[1] = (double)((im + im_c) * scale);
        *out_abs = (double)(ab * scale);
    }
    free(sums); free(M);
    return status;
}

#undef FN
#undef JZ_CAT
#undef JZ_CAT2
