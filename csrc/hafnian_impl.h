/* Loop hafnian with repeated rows, instantiated once per scalar type.
 *
 * Algorithm: the polynomial recursion of A. Bjorklund, "Counting perfect
 * matchings as fast as Ryser", SODA 2012 (Algorithm "haf" and its Theorem 1),
 * which removes the vertices two at a time; a removed pair is either deleted
 * (inclusion-exclusion sign -1) or contracted, joining the two edges that end
 * in it into one polynomial-weighted edge, and x counts contracted pairs.
 * The hafnian is [x^n] of the signed sum over the 2^n leaves.
 *
 * Our extensions:
 *  - loops: each vertex carries a polynomial l_j, the weight of an open path
 *    from j that ends in a loop; contracting (p, q) adds x (b_pj l_q + b_qj l_p)
 *    to l_j and closes the path l_p l_q into the leaf polynomial g.
 *  - repeated rows (Bulmer et al., Sci. Adv. 8, eabl9236 (2022), finite-
 *    difference sieve): k identical pairs (i, i) form one group; the branches
 *    in which j of them are contracted are all equal, so the group costs k + 1
 *    branches weighted (-1)^(k-j) C(k, j) instead of 2^k.
 *  - coefficients of degree above the number of pairs processed can only
 *    belong to terms that cancel, and are truncated.
 *  - loops linear in a second variable z, l_j = l0_j + z l1_j: every
 *    coefficient of the loop hafnian as a polynomial in z in one pass.  An
 *    open path ends in one loop, so each l_j stays linear in z; a closed pair
 *    t = b_pq + l_p l_q is quadratic; the leaf polynomial g carries z-degrees
 *    up to the requested n_z - 1.  (The exact sampler needs all coefficients
 *    of L(z) = lhaf(B; n; loops + z c) at each mode: this costs a few loop
 *    hafnians of the occupied rows instead of one hafnian per coefficient with
 *    up to twice as many rows.)
 *  - or, the same loops, the values at n_z given points z_p in one pass
 *    (jz_loop_hafnian_zeval): b and l are shared by every point and g holds
 *    one x-polynomial per point, so a node costs n_z pointwise products
 *    instead of the z-polynomial's ~3 n_z convolved ones (the fan-out sampler
 *    interpolates L from its values on a circle, csrc/sampler.c).
 *
 * Macros expected: T (compute scalar), TIN (input scalar), R (real of T),
 * SUF (name suffix), RE(x), IM(x), TABS(x); with JZ_HAF_ZPOLY_ONLY defined
 * only the z-polynomial entry point is emitted.  Arithmetic only: no libm
 * call on T or R (TABS excepted), so a software type such as __float128
 * needs no math library.
 */

#define JZ_CAT2(a, b) a##_##b
#define JZ_CAT(a, b) JZ_CAT2(a, b)
#define FN(name) JZ_CAT(name, SUF)

#define IND(j, k) ((size_t)(j) * ((size_t)(j) - 1) / 2 + (size_t)(k))
#define JZ_TASK_DEPTH 6

typedef struct {
    int nv, n, P, n_groups, has_loops;
    int NL, NG;              /* z-coefficients of each loop (1 or 2) and of g */
    const T *zp;             /* NG evaluation points (NULL: z-coefficients) */
    const int *group_k;      /* pairs in each group, groups in vertex order */
    const int *group_start;  /* pair index (from the end) where a group starts */
    jz_stop *st;
} FN(haf_ctx);

typedef struct {
    T **b, **l, **g;   /* one buffer per processed-pair index */
} FN(haf_work);

static void FN(haf_contract)(const FN(haf_ctx) *cx, const T *b, const T *l, const T *g,
                             int s, int D, T *cb, T *cl, T *cg)
{
    const int P = cx->P, NL = cx->NL, NG = cx->NG, NT = 2 * NL - 1;
    const int p = s - 1, q = s - 2, r = s - 2;
    const size_t ne = (size_t)r * (r - 1) / 2;
    const T *bp = b + IND(p, 0) * P;
    const T *bq = b + IND(q, 0) * P;

    for (size_t e = 0; e < ne; e++)
        for (int u = 0; u <= D; u++)
            cb[e * P + u] = b[e * P + u];
    for (int j = 1; j < r; j++) {
        const T *pj = bp + (size_t)j * P, *qj = bq + (size_t)j * P;
        for (int k = 0; k < j; k++) {
            const T *pk = bp + (size_t)k * P, *qk = bq + (size_t)k * P;
            T *c = cb + IND(j, k) * P + 1;
            for (int u = 0; u < D; u++) {
                const T a1 = pj[u], a2 = pk[u];
                T *cc = c + u;
                const int len = D - u;
                for (int v = 0; v < len; v++)
                    cc[v] += a1 * qk[v] + a2 * qj[v];
            }
        }
    }

    /* t = b_pq + l_p l_q: everything that closes at this pair (z-degree < NT) */
    T t[3 * P];
    const T *bpq = bp + (size_t)q * P;
    for (int w = 0; w < NT; w++)
        for (int u = 0; u < D; u++)
            t[w * P + u] = w ? 0 : bpq[u];
    if (cx->has_loops) {
        for (int a = 0; a < NL; a++)
            for (int c = 0; c < NL; c++) {
                const T *lp = l + (size_t)(p * NL + a) * P, *lq = l + (size_t)(q * NL + c) * P;
                T *tt = t + (a + c) * P;
                for (int u = 0; u < D; u++) {
                    const T x = lp[u];
                    for (int v = 0; v < D - u; v++)
                        tt[u + v] += x * lq[v];
                }
            }
        for (int j = 0; j < r; j++) {
            const T *pj = bp + (size_t)j * P, *qj = bq + (size_t)j * P;
            for (int a = 0; a < NL; a++) {
                const T *lj = l + (size_t)(j * NL + a) * P;
                const T *lp = l + (size_t)(p * NL + a) * P, *lq = l + (size_t)(q * NL + a) * P;
                T *c = cl + (size_t)(j * NL + a) * P;
                for (int u = 0; u <= D; u++)
                    c[u] = lj[u];
                for (int u = 0; u < D; u++) {
                    const T a1 = pj[u], a2 = qj[u];
                    for (int v = 0; v < D - u; v++)
                        c[u + v + 1] += a1 * lq[v] + a2 * lp[v];
                }
            }
        }
    }
    if (cx->zp) {  /* g'_p = g_p (1 + x t(z_p)); g point-minor: [x^u] at point p is g[u NG + p] */
        T tp[(size_t)(D > 0 ? D : 1) * NG];
        for (int u = 0; u < D; u++)
            for (int pt = 0; pt < NG; pt++) {
                const T z = cx->zp[pt];
                tp[(size_t)u * NG + pt] = t[u] + z * (t[P + u] + z * t[2 * P + u]);
            }
        for (size_t e = 0; e < (size_t)(D + 1) * NG; e++)
            cg[e] = g[e];
        for (int u = 0; u < D; u++) {
            const T *gu = g + (size_t)u * NG;
            for (int v = 0; v < D - u; v++) {
                const T *tv = tp + (size_t)v * NG;
                T *c = cg + (size_t)(u + v + 1) * NG;
                for (int pt = 0; pt < NG; pt++)
                    c[pt] += gu[pt] * tv[pt];
            }
        }
        return;
    }
    /* g' = g (1 + x t), z-degrees above NG - 1 dropped */
    for (int zi = 0; zi < NG; zi++) {
        T *c = cg + (size_t)zi * P;
        for (int u = 0; u <= D; u++)
            c[u] = g[(size_t)zi * P + u];
        for (int w = 0; w < NT && w <= zi; w++) {
            const T *gz = g + (size_t)(zi - w) * P, *tw = t + w * P;
            for (int u = 0; u < D; u++) {
                const T a = gz[u];
                for (int v = 0; v < D - u; v++)
                    c[u + v + 1] += a * tw[v];
            }
        }
    }
}

/* Compensated accumulation of one signed leaf value. */
typedef struct { R re, re_c, im, im_c, abs_sum; } FN(haf_acc);

static inline void FN(two_sum)(R *sum, R *comp, R x)
{
    /* Knuth's branch-free TwoSum: *sum += x, the rounding error into *comp */
    const R s = *sum + x, bb = s - *sum;
    *comp += (*sum - (s - bb)) + (x - bb);
    *sum = s;
}

static inline void FN(haf_add)(FN(haf_acc) *acc, T v)
{
    FN(two_sum)(&acc->re, &acc->re_c, RE(v));
    FN(two_sum)(&acc->im, &acc->im_c, IM(v));
    acc->abs_sum += TABS(v);
}

static R FN(binomial)(int k, int j)
{
    R c = 1;
    for (int i = 1; i <= j; i++)
        c = c * (k - j + i) / i;
    return c;
}

static void FN(haf_node)(const FN(haf_ctx) *cx, FN(haf_work) *w, int gidx,
                         const T *b, const T *l, const T *g, int s, R weight,
                         FN(haf_acc) *acc);

/* Process groups gidx, gidx-1, ..., 0 (groups are removed from the end);
 * acc holds one accumulator per z-coefficient. */
static void FN(haf_rec)(const FN(haf_ctx) *cx, FN(haf_work) *w, int gidx,
                        const T *b, const T *l, const T *g, int s, R weight,
                        FN(haf_acc) *acc)
{
    const int n = cx->n, NG = cx->NG, P = cx->P;
    if (gidx < 0) {
        for (int zi = 0; zi < NG; zi++)
            FN(haf_add)(&acc[zi], weight * g[cx->zp ? (size_t)n * NG + zi : (size_t)zi * P + n]);
        return;
    }
    const int k = cx->group_k[gidx];
    const int t0 = cx->group_start[gidx];
    const int D = (t0 + k < n) ? t0 + k : n;
    const int s_after = s - 2 * k;
    R sign = (k % 2) ? -1 : 1;

    if (gidx == 0 && k == 1) {
        /* last pair: [x^n] of g (x t) directly, t = b_10 + l_1 l_0 */
        const int NL = cx->NL;
        T tn[3 * P];  /* [x^(n-1-u)] of t, per z-degree */
        for (int u = 0; u < n; u++) {
            tn[u] = b[n - 1 - u];
            tn[P + u] = tn[2 * P + u] = 0;
        }
        if (cx->has_loops)
            for (int a = 0; a < NL; a++)
                for (int c = 0; c < NL; c++) {
                    const T *l1 = l + (size_t)(NL + a) * P, *l0 = l + (size_t)c * P;
                    for (int u = 0; u < n; u++) {
                        T inner = 0;
                        for (int x = 0; x < n - u; x++)
                            inner += l1[x] * l0[n - 1 - u - x];
                        tn[(a + c) * P + u] += inner;
                    }
                }
        if (cx->zp) {
            T val[NG];
            for (int pt = 0; pt < NG; pt++)
                val[pt] = 0;
            for (int u = 0; u < n; u++) {
                const T *gu = g + (size_t)u * NG;
                for (int pt = 0; pt < NG; pt++) {
                    const T z = cx->zp[pt];
                    val[pt] += gu[pt] * (tn[u] + z * (tn[P + u] + z * tn[2 * P + u]));
                }
            }
            for (int pt = 0; pt < NG; pt++)
                FN(haf_add)(&acc[pt], weight * val[pt]);
            return;
        }
        for (int zi = 0; zi < NG; zi++) {
            T val = 0;
            for (int wz = 0; wz < 2 * NL - 1 && wz <= zi; wz++)
                for (int u = 0; u < n; u++)
                    val += g[(size_t)(zi - wz) * P + u] * tn[wz * P + u];
            FN(haf_add)(&acc[zi], weight * val);
        }
        return;
    }

    FN(haf_node)(cx, w, gidx - 1, b, l, g, s_after, weight * sign, acc);
    for (int j = 1; j <= k; j++) {
        const int t = t0 + j - 1;
        FN(haf_contract)(cx, b, l, g, s - 2 * (j - 1), D, w->b[t], w->l[t], w->g[t]);
        b = w->b[t]; l = w->l[t]; g = w->g[t];
        sign = -sign;
        FN(haf_node)(cx, w, gidx - 1, b, l, g, s_after, weight * sign * FN(binomial)(k, j), acc);
    }
}

/* haf_rec behind a poll, where at least JZ_POLL_LEVELS groups lie below, and
 * in the top three levels, leaves included: a few modes repeated many times
 * make few groups, each of many contractions (a quad z-polynomial of one
 * bright mode ran 40 s without a poll); and at every node where arithmetic
 * is so slow that a contraction outweighs a poll many times over
 * (JZ_POLL_EVERY_NODE: quad, where a subtree of five groups took minutes).
 * Out of line: code added to haf_rec changes how the compiler vectorizes its
 * loops, and with that the rounding of complex loop hafnians. */
__attribute__((noinline)) static void FN(haf_node)(const FN(haf_ctx) *cx, FN(haf_work) *w,
                                                   int gidx, const T *b, const T *l,
                                                   const T *g, int s, R weight,
                                                   FN(haf_acc) *acc)
{
#ifdef JZ_POLL_EVERY_NODE
    if (jz_stopped(cx->st))
#else
    if ((gidx + 1 >= JZ_POLL_LEVELS || gidx >= cx->n_groups - 3) && jz_stopped(cx->st))
#endif
        return;
    FN(haf_rec)(cx, w, gidx, b, l, g, s, weight, acc);
}

static void FN(haf_free)(FN(haf_work) *w, int n_pairs)
{
    if (w->b) for (int t = 0; t < n_pairs; t++) free(w->b[t]);
    if (w->l) for (int t = 0; t < n_pairs; t++) free(w->l[t]);
    if (w->g) for (int t = 0; t < n_pairs; t++) free(w->g[t]);
    free(w->b); free(w->l); free(w->g);
}

static int FN(haf_alloc)(FN(haf_work) *w, int nv, int P, int NL, int NG)
{
    const int n_pairs = nv / 2;
    w->b = calloc(n_pairs, sizeof(T *));
    w->l = calloc(n_pairs, sizeof(T *));
    w->g = calloc(n_pairs, sizeof(T *));
    if (!w->b || !w->l || !w->g)
        return JZ_ERR_MEMORY;
    for (int t = 0; t < n_pairs; t++) {
        const int r = nv - 2 * t - 2;
        w->b[t] = calloc((IND(r, 0) + 1) * P, sizeof(T));
        w->l[t] = calloc((size_t)(r + 1) * NL * P, sizeof(T));
        w->g[t] = calloc((size_t)NG * P, sizeof(T));
        if (!w->b[t] || !w->l[t] || !w->g[t])
            return JZ_ERR_MEMORY;
    }
    return JZ_OK;
}

/* Loop hafnian of the graph on vertices V[0..nv) (indices into the dim x dim
 * matrix A; -1 is a padding vertex with loop weight 1 and no edges).  The
 * vertices form consecutive pairs; group_k[g] consecutive identical pairs make
 * group g.  loops == NULL gives the hafnian.  With loops1 != NULL the loop
 * weights are loops + z loops1 and the n_z coefficients of z^0..z^(n_z-1) are
 * computed.  out[2i], out[2i+1]: real and imaginary part of coefficient i;
 * out_abs[i]: its sum of |leaf values| (the cancellation indicator).
 */
static int FN(haf_generic)(const TIN *A, int dim, const TIN *loops, const TIN *loops1,
                           const TIN *points, int n_z, const int *V, int nv,
                           const int *group_k, int n_groups, int n_threads, double *out,
                           double *out_abs)
{
    if (nv % 2 || nv < 0 || n_z < 1 || (!loops1 && n_z != 1) || (loops1 && !loops) ||
        (points && !loops1))
        return JZ_ERR_ARGUMENT;
    for (int zi = 0; zi < n_z; zi++)
        out[2 * zi] = out[2 * zi + 1] = out_abs[zi] = 0;
    if (nv == 0) {
        for (int zi = 0; zi < (points ? n_z : 1); zi++)
            out[2 * zi] = out_abs[zi] = 1;
        return JZ_OK;
    }
    const int n = nv / 2, P = n + 1;
    int *group_start = malloc(sizeof(int) * n_groups);
    if (!group_start)
        return JZ_ERR_MEMORY;
    /* pairs are processed from the end of V: group n_groups-1 first */
    for (int g = n_groups - 1, t = 0; g >= 0; g--) {
        group_start[g] = t;
        t += group_k[g];
    }
    const int NL = loops1 ? 2 : 1, NG = n_z;
    T *zp = NULL;
    if (points) {
        zp = malloc(sizeof(T) * NG);
        if (!zp) {
            free(group_start);
            return JZ_ERR_MEMORY;
        }
        for (int pt = 0; pt < NG; pt++)
            zp[pt] = (T)points[pt];
    }
    FN(haf_ctx) cx = {nv, n, P, n_groups, loops != NULL, NL, NG, zp, group_k, group_start, NULL};

    /* root state, shared read-only by all tasks */
    T *b0 = calloc((IND(nv, 0) + 1) * P, sizeof(T));
    T *l0 = calloc((size_t)(nv + 1) * NL * P, sizeof(T));
    T *g0 = calloc((size_t)NG * P, sizeof(T));
    if (!b0 || !l0 || !g0) {
        free(b0); free(l0); free(g0); free(group_start); free(zp);
        return JZ_ERR_MEMORY;
    }
    for (int j = 0; j < nv; j++) {
        for (int k = 0; k < j; k++)
            b0[IND(j, k) * P] = (V[j] < 0 || V[k] < 0) ? 0 : (T)A[(size_t)V[j] * dim + V[k]];
        if (loops)
            l0[(size_t)j * NL * P] = V[j] < 0 ? 1 : (T)loops[V[j]];
        if (loops1)
            l0[(size_t)(j * NL + 1) * P] = V[j] < 0 ? 0 : (T)loops1[V[j]];
    }
    for (int pt = 0; pt < (zp ? NG : 1); pt++)
        g0[pt] = 1;  /* [x^0] at every point (point-minor) or of z^0 */

    /* tasks: all branch choices of the first G groups processed.  A task
     * replays its branch choices from the root, so at least JZ_TASK_DEPTH
     * groups stay below the split, to keep that replay a small part of it. */
    int G = 0;
    long n_tasks = 1;
    while (G < n_groups - JZ_TASK_DEPTH && n_tasks < JZ_TASKS) {
        n_tasks *= group_k[n_groups - 1 - G] + 1;
        G++;
    }
    FN(haf_acc) *accs = calloc((size_t)n_tasks * NG, sizeof(FN(haf_acc)));
    if (!accs) {
        free(b0); free(l0); free(g0); free(group_start); free(zp);
        return JZ_ERR_MEMORY;
    }
    int status = JZ_OK, finished = 0;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop stop_local, *st = jz_stop_begin(&stop_local);
    cx.st = st;

#pragma omp parallel num_threads(n_threads)
    {
        FN(haf_work) w = {0};
        int alloc = FN(haf_alloc)(&w, nv, P, NL, NG);
        if (alloc != JZ_OK) {
#pragma omp atomic write
            status = alloc;
        }
#pragma omp for schedule(dynamic, 1) nowait
        for (long task = 0; task < n_tasks; task++) {
            if (status != JZ_OK || jz_stopped(st))
                continue;
            const T *b = b0, *l = l0, *g = g0;
            int s = nv;
            R weight = 1;
            long rest = task;
            for (int gi = n_groups - 1; gi >= n_groups - G; gi--) {
                const int k = group_k[gi], t0 = group_start[gi];
                const int j = (int)(rest % (k + 1));
                rest /= k + 1;
                const int D = (t0 + k < n) ? t0 + k : n;
                for (int c = 0; c < j; c++) {
                    const int t = t0 + c;
                    FN(haf_contract)(&cx, b, l, g, s - 2 * c, D, w.b[t], w.l[t], w.g[t]);
                    b = w.b[t]; l = w.l[t]; g = w.g[t];
                }
                weight *= FN(binomial)(k, j) * (((k - j) % 2) ? -1 : 1);
                s -= 2 * k;
            }
            FN(haf_rec)(&cx, &w, n_groups - 1 - G, b, l, g, s, weight, &accs[task * NG]);
        }
        jz_stop_drain(st, &finished);
        FN(haf_free)(&w, n);
    }
    status = jz_stop_end(st, &stop_local, status);

    if (status == JZ_OK)
        for (int zi = 0; zi < NG; zi++) {
            R re = 0, re_c = 0, im = 0, im_c = 0, ab = 0;
            for (long t = 0; t < n_tasks; t++) {
                const FN(haf_acc) *a = &accs[t * NG + zi];
                FN(two_sum)(&re, &re_c, a->re + a->re_c);
                FN(two_sum)(&im, &im_c, a->im + a->im_c);
                ab += a->abs_sum;
            }
            out[2 * zi] = (double)(re + re_c);
            out[2 * zi + 1] = (double)(im + im_c);
            out_abs[zi] = (double)ab;
        }
    free(accs); free(b0); free(l0); free(g0); free(group_start); free(zp);
    return status;
}

#ifndef JZ_HAF_ZPOLY_ONLY
int FN(jz_loop_hafnian)(const void *A, int dim, const void *loops, const int *V, int nv,
                        const int *group_k, int n_groups, int n_threads,
                        double *out, double *out_abs)
{
    return FN(haf_generic)(A, dim, loops, NULL, NULL, 1, V, nv, group_k, n_groups, n_threads,
                           out, out_abs);
}

int FN(jz_loop_hafnian_zeval)(const void *A, int dim, const void *loops, const void *loops1,
                              const void *points, int n_points, const int *V, int nv,
                              const int *group_k, int n_groups, int n_threads, double *out,
                              double *out_abs)
{
    return FN(haf_generic)(A, dim, loops, loops1, points, n_points, V, nv, group_k, n_groups,
                           n_threads, out, out_abs);
}
#endif

int FN(jz_loop_hafnian_zpoly)(const void *A, int dim, const void *loops, const void *loops1,
                              int n_z, const int *V, int nv, const int *group_k, int n_groups,
                              int n_threads, double *out, double *out_abs)
{
    return FN(haf_generic)(A, dim, loops, loops1, NULL, n_z, V, nv, group_k, n_groups,
                           n_threads, out, out_abs);
}

#undef FN
#undef JZ_CAT
#undef JZ_CAT2
#undef IND
#undef JZ_TASK_DEPTH
