/* Exact threshold (click) sampling by the chain rule, for any Gaussian state:
 * the native form of jiuzhang_emu/samplers/threshold_chain.py.
 *
 * Detector j owns a block of b rows of G = (V + I) / 2 (V the real covariance,
 * hbar = 2, rows ordered detector by detector; b = 2 x internal modes) and of
 * v = mu / 2.  The probability that the detectors of a set A all see vacuum is
 *     f(A) = exp(-v_A^T G_A^-1 v_A) / sqrt(det G_A)
 * and, by inclusion-exclusion over the clicked set C and the dark set Z,
 *     p(C clicked, Z dark) = sum_{S subset C} (-1)^|S| f(Z u S)
 * (Quesada, Arrazola, Killoran, PRA 98, 062322 (2018)).  Vacuum on Z factors
 * out exactly by a Schur complement: f(Z u S) = f(Z) f'(S) with f' computed
 * from G' = G / G_Z and v' = v - G_.Z G_Z^-1 v_Z.  So each shot keeps G', v'
 * conditioned on the dark detectors so far (one block eliminated per dark
 * detector, O(rows^2 b)), and at detector k evaluates
 *     A = sum_{S subset C} (-1)^|S| f'(S),   B = sum_{S subset C} (-1)^|S| f'(S u k),
 * so that p(k dark | history) = B / A.  The 2^|C| subsets are visited depth
 * first with the Cholesky factor of G'_S extended block by block and the
 * forward substitutions of the later blocks carried along the path (the
 * recursive torontonian of Kaposi et al., arXiv:2109.04528, Sec. 3); the k
 * term of each subset is one b x b Schur complement.  G >= I / 2 for every
 * physical state and so is each G'_S: the factorisations are well
 * conditioned; only the alternating sums can cancel, and the largest
 * (sum |terms|) / A over the shot's steps is returned for the caller to judge
 * (infinite when A itself was lost: the shot stops there, to be redrawn).
 *
 * Randomness comes from the caller: one uniform per detector, and detector k
 * clicks when u_k * A < A - B, i.e. u_k < p(click | history).
 *
 * Instantiated per real type by csrc/click_sampler.c; macros expected: T,
 * SUF and the arithmetic ADD, SUB, MUL, DIV, SQRT, EXP, FROM (a double), TOD
 * (to double), DOT (x, y, len).
 */

#define JZ_CAT2(a, b) a##_##b
#define JZ_CAT(a, b) JZ_CAT2(a, b)
#define FN(name) JZ_CAT(name, SUF)

typedef struct {
    int b, n;       /* block size; blocks in the compact system (|C| + 1) */
    const T *H, *h; /* compact G' and v' over (C..., k), dim n b */
    T *P;           /* dim x dim: forward-substitution rows along the path */
    T *y;           /* L^-1 v' along the path */
    const T *gw;    /* dark-count factors of the compact blocks, or NULL */
    T A, B;
    double abs_sum;
    jz_stop *st;
} FN(dfs_ctx);

/* Cholesky of the b x b Schur complement of block j given the path's m factor
 * columns: S = H_jj - P_j P_j^T, into L (row-major, lower).  Returns the product
 * of L's diagonal in *diag; 0 if S is not positive definite. */
static int FN(block_factor)(const FN(dfs_ctx) *c, int j, int m, T *L, T *diag)
{
    const int b = c->b, dim = c->n * b;
    *diag = FROM(1);
    for (int r = 0; r < b; r++) {
        const T *pr = c->P + (size_t)(j * b + r) * dim;
        for (int s = 0; s <= r; s++) {
            const T *ps = c->P + (size_t)(j * b + s) * dim;
            T x = SUB(c->H[(size_t)(j * b + r) * dim + j * b + s], DOT(pr, ps, m));
            for (int q = 0; q < s; q++)
                x = SUB(x, MUL(L[r * b + q], L[s * b + q]));
            if (r == s) {
                if (!(TOD(x) > 0))
                    return 0;
                L[r * b + r] = SQRT(x);
                *diag = MUL(*diag, L[r * b + r]);
            } else {
                L[r * b + s] = DIV(x, L[s * b + s]);
            }
        }
    }
    return 1;
}

/* |L^-1 (h_j - P_j y)|^2 for block j given the path's m columns; the solved
 * entries go to out (b values). */
static T FN(block_solve)(const FN(dfs_ctx) *c, int j, int m, const T *L, T *out)
{
    const int b = c->b, dim = c->n * b;
    T sq = FROM(0);
    for (int r = 0; r < b; r++) {
        T x = SUB(c->h[j * b + r], DOT(c->P + (size_t)(j * b + r) * dim, c->y, m));
        for (int q = 0; q < r; q++)
            x = SUB(x, MUL(L[r * b + q], out[q]));
        out[r] = DIV(x, L[r * b + r]);
        sq = ADD(sq, MUL(out[r], out[r]));
    }
    return sq;
}

/* Add f'(S) (sign (-1)^|S|) and f'(S u k) for the path S of t blocks;
 * weight: the product of the dark-count factors over S. */
static int FN(add_terms)(FN(dfs_ctx) *c, int t, T sqrt_det, T ysq, T weight, T *L, T *tmp)
{
    const int k = c->n - 1, m = t * c->b;
    T d;
    if (!FN(block_factor)(c, k, m, L, &d))
        return JZ_ERR_NOT_PD;
    const T f = DIV(MUL(weight, EXP(SUB(FROM(0), ysq))), sqrt_det);
    T fk = DIV(MUL(f, EXP(SUB(FROM(0), FN(block_solve)(c, k, m, L, tmp)))), d);
    if (c->gw)
        fk = MUL(fk, c->gw[k]);
    if (t % 2) {
        c->A = SUB(c->A, f);
        c->B = SUB(c->B, fk);
    } else {
        c->A = ADD(c->A, f);
        c->B = ADD(c->B, fk);
    }
    c->abs_sum += TOD(f) + TOD(fk);
    return JZ_OK;
}

/* Every subset extending the path (t blocks) with blocks first..n-2. */
static int FN(visit)(FN(dfs_ctx) *c, int first, int t, T sqrt_det, T ysq, T weight, T *work)
{
    const int b = c->b, dim = c->n * b, m = t * b;
    T *L = work, *next = work + b * b;
    for (int j = first; j < c->n - 1; j++) {
        T d;
        if (!FN(block_factor)(c, j, m, L, &d))
            return JZ_ERR_NOT_PD;
        const T ysq_j = ADD(ysq, FN(block_solve)(c, j, m, L, c->y + m));
        /* new columns m..m+b-1 of the later blocks' rows */
        for (int row = (j + 1) * b; row < dim; row++) {
            T *pi = c->P + (size_t)row * dim;
            for (int r = 0; r < b; r++) {
                T x = SUB(c->H[(size_t)row * dim + j * b + r],
                          DOT(pi, c->P + (size_t)(j * b + r) * dim, m));
                for (int q = 0; q < r; q++)
                    x = SUB(x, MUL(pi[m + q], L[r * b + q]));
                pi[m + r] = DIV(x, L[r * b + r]);
            }
        }
        const T sqrt_det_j = MUL(sqrt_det, d);
        const T weight_j = c->gw ? MUL(weight, c->gw[j]) : weight;
        int status = FN(add_terms)(c, t + 1, sqrt_det_j, ysq_j, weight_j, next, next + b * b);
        if (status == JZ_OK && c->n - 2 - j >= JZ_POLL_LEVELS && jz_stopped(c->st))
            status = JZ_INTERRUPTED;
        if (status == JZ_OK)
            status = FN(visit)(c, j + 1, t + 1, sqrt_det_j, ysq_j, weight_j, next);
        if (status != JZ_OK)
            return status;
    }
    return JZ_OK;
}

typedef struct {
    T *G, *v, *H, *h, *P, *y, *work, *W, *gw;
    int *live, *C, *rows;
} FN(shot_ws);

static void FN(free_ws)(FN(shot_ws) *w)
{
    free(w->G); free(w->v); free(w->H); free(w->h); free(w->P); free(w->y);
    free(w->work); free(w->W); free(w->gw); free(w->live); free(w->C); free(w->rows);
}

static int FN(alloc_ws)(FN(shot_ws) *w, int n_blocks, int b)
{
    const size_t dim = (size_t)n_blocks * b;
    memset(w, 0, sizeof *w);
    w->G = malloc(sizeof(T) * dim * dim);
    w->v = malloc(sizeof(T) * dim);
    w->H = malloc(sizeof(T) * dim * dim);
    w->h = malloc(sizeof(T) * dim);
    w->P = malloc(sizeof(T) * dim * dim);
    w->y = malloc(sizeof(T) * dim);
    /* per recursion level: L (b^2); add_terms' L and y_k at the next */
    w->work = malloc(sizeof(T) * ((size_t)n_blocks + 2) * (b * b + b));
    w->W = malloc(sizeof(T) * dim * b);
    w->live = malloc(sizeof(int) * n_blocks);
    w->C = malloc(sizeof(int) * n_blocks);
    w->rows = malloc(sizeof(int) * dim);
    w->gw = malloc(sizeof(T) * n_blocks);
    if (!w->G || !w->v || !w->H || !w->h || !w->P || !w->y || !w->work || !w->W || !w->live ||
        !w->C || !w->rows || !w->gw)
        return JZ_ERR_MEMORY;
    return JZ_OK;
}

/* Condition G', v' on vacuum at block k: Schur complement over the live
 * blocks.  W = G'_{.k} L_k^-T, G' -= W W^T, v' -= W L_k^-1 v'_k. */
static int FN(eliminate)(FN(shot_ws) *w, int n_blocks, int b, int k)
{
    const int dim = n_blocks * b;
    T *L = w->work, *vk = w->work + b * b;
    for (int r = 0; r < b; r++)
        for (int s = 0; s <= r; s++) {
            T x = w->G[(size_t)(k * b + r) * dim + k * b + s];
            for (int q = 0; q < s; q++)
                x = SUB(x, MUL(L[r * b + q], L[s * b + q]));
            if (r == s) {
                if (!(TOD(x) > 0))
                    return JZ_ERR_NOT_PD;
                L[r * b + r] = SQRT(x);
            } else {
                L[r * b + s] = DIV(x, L[s * b + s]);
            }
        }
    for (int r = 0; r < b; r++) {
        T x = w->v[k * b + r];
        for (int q = 0; q < r; q++)
            x = SUB(x, MUL(L[r * b + q], vk[q]));
        vk[r] = DIV(x, L[r * b + r]);
    }
    w->live[k] = 0;
    int n_rows = 0;
    for (int i = 0; i < n_blocks; i++)
        if (w->live[i])
            for (int a = 0; a < b; a++)
                w->rows[n_rows++] = i * b + a;
    for (int i = 0; i < n_rows; i++) {
        const int row = w->rows[i];
        T *Wr = w->W + (size_t)i * b;
        for (int r = 0; r < b; r++) {
            T x = w->G[(size_t)row * dim + k * b + r];
            for (int q = 0; q < r; q++)
                x = SUB(x, MUL(Wr[q], L[r * b + q]));
            Wr[r] = DIV(x, L[r * b + r]);
        }
        w->v[row] = SUB(w->v[row], DOT(Wr, vk, b));
    }
    /* G' -= W W^T on the live rows, symmetric: each pair computed once */
    for (int i = 0; i < n_rows; i++) {
        const T *Wi = w->W + (size_t)i * b;
        T *Gi = w->G + (size_t)w->rows[i] * dim;
        for (int j = i; j < n_rows; j++) {
            const T x = DOT(Wi, w->W + (size_t)j * b, b);
            Gi[w->rows[j]] = SUB(Gi[w->rows[j]], x);
            if (j != i)
                w->G[(size_t)w->rows[j] * dim + w->rows[i]] = Gi[w->rows[j]];
        }
    }
    return JZ_OK;
}

/* The chain rule along one shot.  Sampling (given == NULL): detector k clicks
 * when u_k A < A - B.  Probability (given != NULL): the clicks are given and
 * *log_prob collects the log of each chosen factor, (A - B) / A or B / A.
 * g: per-detector dark-count factors (1 - dark count), or NULL.  *condition:
 * the largest sum(|terms|) over A (sampling) or over the chosen numerator
 * (probability); infinite when a sum lost its value, and the shot stops. */
static int FN(chain_one)(FN(shot_ws) *w, const double *G, const double *v, const double *g,
                         int n_blocks, int b, const double *u, const int64_t *given,
                         int64_t *clicks, double *log_prob, double *condition, jz_stop *st)
{
    const int dim = n_blocks * b;
    for (size_t i = 0; i < (size_t)dim * dim; i++)
        w->G[i] = FROM(G[i]);
    for (int i = 0; i < dim; i++)
        w->v[i] = FROM(v ? v[i] : 0);
    for (int i = 0; i < n_blocks; i++)
        w->live[i] = 1;
    int nC = 0;
    *condition = 1;
    if (log_prob)
        *log_prob = 0;
    for (int k = 0; k < n_blocks; k++) {
        if (jz_stopped(st))
            return JZ_INTERRUPTED;
        /* compact system over (C..., k) */
        const int n = nC + 1, cdim = n * b;
        w->C[nC] = k;
        for (int bi = 0; bi < n; bi++) {
            if (g)
                w->gw[bi] = FROM(g[w->C[bi]]);
            for (int a = 0; a < b; a++) {
                const int src = w->C[bi] * b + a, dst = bi * b + a;
                w->h[dst] = w->v[src];
                for (int bj = 0; bj < n; bj++)
                    memcpy(w->H + (size_t)dst * cdim + bj * b,
                           w->G + (size_t)src * dim + w->C[bj] * b, sizeof(T) * b);
            }
        }
        FN(dfs_ctx) c = {b, n, w->H, w->h, w->P, w->y, g ? w->gw : NULL, FROM(0), FROM(0), 0, st};
        /* the root (S empty), then every nonempty subset */
        int status = FN(add_terms)(&c, 0, FROM(1), FROM(0), FROM(1), w->work, w->work + b * b);
        if (status == JZ_OK)
            status = FN(visit)(&c, 0, 0, FROM(1), FROM(0), FROM(1), w->work);
        if (status != JZ_OK)
            return status;
        const double A = TOD(c.A);
        if (!(A > 0) || !isfinite(A) || !isfinite(TOD(c.B))) {
            *condition = INFINITY;  /* lost to cancellation: the caller redoes the shot */
            return JZ_OK;
        }
        const T click_part = SUB(c.A, c.B);
        int click;
        if (given) {
            click = given[k] != 0;
            const double chosen = TOD(click ? click_part : c.B);
            if (!(chosen > 0)) {
                *condition = INFINITY;
                *log_prob = -INFINITY;
                return JZ_OK;
            }
            *log_prob += log(TOD(DIV(click ? click_part : c.B, c.A)));
            if (c.abs_sum / chosen > *condition)
                *condition = c.abs_sum / chosen;
        } else {
            click = TOD(MUL(FROM(u[k]), c.A)) < TOD(click_part);
            if (c.abs_sum / A > *condition)
                *condition = c.abs_sum / A;
        }
        if (clicks)
            clicks[k] = click;
        if (click) {
            w->C[nC++] = k;
        } else if ((status = FN(eliminate)(w, n_blocks, b, k)) != JZ_OK) {
            return status;
        }
    }
    return JZ_OK;
}

/* The chain rule for n shots in parallel (see chain_one; per-shot rows of u,
 * given, clicks and single entries of log_prob, condition, status; NULL
 * arrays stay NULL).  Each shot uses only its own inputs, so the results do
 * not depend on the threads. */
static int FN(chain_many)(const double *G, const double *v, const double *g, int n_blocks,
                          int block, int n, const double *u, const int64_t *given,
                          int64_t *clicks, double *log_prob, double *condition, int *status,
                          int n_threads)
{
    if (n_blocks < 1 || block < 1 || n < 0)
        return JZ_ERR_ARGUMENT;
    int failed = JZ_OK, finished = 0;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop local, *st = jz_stop_begin(&local);
#ifdef _OPENMP
#pragma omp parallel num_threads(n_threads)
#endif
    {
        FN(shot_ws) w;
        const int ok = FN(alloc_ws)(&w, n_blocks, block);
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
        for (int s = 0; s < n; s++) {
            const size_t row = (size_t)s * n_blocks;
            status[s] = ok != JZ_OK ? ok
                                    : FN(chain_one)(&w, G, v, g, n_blocks, block,
                                                    u ? u + row : NULL,
                                                    given ? given + row : NULL,
                                                    clicks ? clicks + row : NULL,
                                                    log_prob ? log_prob + s : NULL,
                                                    condition + s, st);
        }
        jz_stop_drain(st, &finished);
        FN(free_ws)(&w);
    }
    for (int s = 0; s < n && failed == JZ_OK; s++)
        failed = status[s];
    return jz_stop_end(st, &local, failed);
}

/* Clicks for `shots` shots.  G: dim x dim (dim = n_blocks * block), v: dim or
 * NULL (undisplaced), u: shots x n_blocks.  clicks: shots x n_blocks output;
 * condition, status: per shot. */
int FN(jz_sample_clicks)(const double *G, const double *v, int n_blocks, int block,
                         int shots, const double *u, int64_t *clicks, double *condition,
                         int *status, int n_threads)
{
    return FN(chain_many)(G, v, NULL, n_blocks, block, shots, u, NULL, clicks, NULL,
                          condition, status, n_threads);
}

/* Log-probabilities of `n` click patterns (n x n_blocks, 0/1), dark-count
 * factors g (n_blocks, or NULL for none); condition, status per pattern. */
int FN(jz_click_probabilities)(const double *G, const double *v, const double *g,
                               int n_blocks, int block, int n, const int64_t *patterns,
                               double *log_prob, double *condition, int *status,
                               int n_threads)
{
    return FN(chain_many)(G, v, g, n_blocks, block, n, NULL, patterns, NULL, log_prob,
                          condition, status, n_threads);
}

#undef FN
#undef JZ_CAT
#undef JZ_CAT2
