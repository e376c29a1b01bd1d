/* Torontonian and loop torontonian, instantiated once per scalar type.
 *
 *   Tor(O)        = sum_{Z subset [n]} (-1)^(n-|Z|) / sqrt(det M_Z),
 *   ltor(O, gam)  = sum_{Z} (-1)^(n-|Z|) exp(v_Z^H M_Z^-1 v_Z / 2) / sqrt(det M_Z),
 *
 * with M = I - O Hermitian positive definite, given here with the two rows of
 * each mode adjacent (mode i owns rows 2i and 2i+1; the Python layer reorders
 * and, for physical O, rotates to the real quadrature basis, which leaves every
 * det M_Z unchanged), and v = conj(gamma) in the same basis.
 *
 * Algorithm: the recursive torontonian of Kaposi, Kolarovszki, Kozsik,
 * Zimboras, Rakyta, arXiv:2109.04528 (Sec. 3): subsets are visited depth first
 * with modes in increasing order, so the Cholesky factor of M_Z is that of the
 * parent with two rows appended; the forward substitutions of all later modes
 * are carried along the path, so appending a mode costs O(|Z|) per later mode.
 * The forward substitution y = L^-1 v_Z is extended the same way for the loop
 * term.
 *
 * Macros expected: T, R, SUF, CONJ(x), RE(x), SQRT(x), EXP(x).
 */

#define JZ_CAT2(a, b) a##_##b
#define JZ_CAT(a, b) JZ_CAT2(a, b)
#define FN(name) JZ_CAT(name, SUF)

typedef struct {
    const T *M;
    const T *v;
    int n, dim;
    jz_stop *st;
} FN(tor_ctx);

typedef struct {
    T *P;        /* dim x dim: row 2i+a holds the factor row that mode i's row a
                    would get on the current path (forward substitution so far) */
    T *y;        /* L^-1 v for the current path */
    R sum, comp, abs_sum;
    int status;
} FN(tor_work);

/* Knuth's branch-free TwoSum: *sum += x with the rounding error kept in *comp. */
static inline void FN(tor_two_sum)(R *sum, R *comp, R x)
{
    const R s = *sum + x, bb = s - *sum;
    *comp += (*sum - (s - bb)) + (x - bb);
    *sum = s;
}

/* sum_k x[k] conj(y[k]) (CONJ_Y) or x[k] y[k], k < len, with four partial sums
 * (a fixed order, so the result is reproducible; independent chains let the
 * compiler vectorize and pipeline what one running sum would serialize). */
#define JZ_TOR_DOT(NAME, OP)                                            \
    static inline T FN(NAME)(const T *x, const T *y, int len)           \
    {                                                                   \
        T s0 = 0, s1 = 0, s2 = 0, s3 = 0;                               \
        int k = 0;                                                      \
        for (; k + 4 <= len; k += 4) {                                  \
            s0 += x[k] * OP(y[k]);                                      \
            s1 += x[k + 1] * OP(y[k + 1]);                              \
            s2 += x[k + 2] * OP(y[k + 2]);                              \
            s3 += x[k + 3] * OP(y[k + 3]);                              \
        }                                                               \
        for (; k < len; k++)                                            \
            s0 += x[k] * OP(y[k]);                                      \
        return (s0 + s1) + (s2 + s3);                                   \
    }
#define JZ_TOR_ID(x) (x)
JZ_TOR_DOT(tor_dotc, CONJ)
JZ_TOR_DOT(tor_dotu, JZ_TOR_ID)

/* Append mode j to a path of t modes (factor rows 0..2t-1).  The new factor
 * rows are P rows 2j, 2j+1 closed by the Cholesky factor of the 2 x 2 Schur
 * complement; then every later mode i > j gets its two new P columns, so a
 * child costs O(t (n - j)) instead of the O(t^2) of a fresh forward
 * substitution (the reuse of Kaposi et al., Sec. 3).  Returns the product of
 * the two new diagonal entries (0 if M_Z is not positive definite) and adds
 * the new |y|^2 to *ysq. */
static R FN(tor_extend)(const FN(tor_ctx) *cx, FN(tor_work) *w, int t, int j, R *ysq)
{
    const int dim = cx->dim, m = 2 * t;
    const T *M = cx->M;
    T *P = w->P;
    const T *pj0 = P + (size_t)(2 * j) * dim, *pj1 = P + (size_t)(2 * j + 1) * dim;
    const T *Mj0 = M + (size_t)(2 * j) * dim, *Mj1 = M + (size_t)(2 * j + 1) * dim;

    const R s00 = RE(Mj0[2 * j]) - RE(FN(tor_dotc)(pj0, pj0, m));
    if (!(s00 > 0))
        return 0;
    const R l00 = SQRT(s00);
    const T l10 = (Mj1[2 * j] - FN(tor_dotc)(pj1, pj0, m)) / l00;
    const R s11 = RE(Mj1[2 * j + 1]) - RE(FN(tor_dotc)(pj1, pj1, m)) - RE(l10 * CONJ(l10));
    if (!(s11 > 0))
        return 0;
    const R l11 = SQRT(s11);

    if (cx->v) {
        const T y0 = (cx->v[2 * j] - FN(tor_dotu)(pj0, w->y, m)) / l00;
        const T y1 = (cx->v[2 * j + 1] - FN(tor_dotu)(pj1, w->y, m) - l10 * y0) / l11;
        w->y[m] = y0;
        w->y[m + 1] = y1;
        *ysq += RE(y0 * CONJ(y0)) + RE(y1 * CONJ(y1));
    }
    for (int row = 2 * (j + 1); row < dim; row++) {
        T *pi = P + (size_t)row * dim;
        const T *Mi = M + (size_t)row * dim;
        const T x0 = (Mi[2 * j] - FN(tor_dotc)(pi, pj0, m)) / l00;
        pi[m] = x0;
        pi[m + 1] = (Mi[2 * j + 1] - FN(tor_dotc)(pi, pj1, m) - x0 * CONJ(l10)) / l11;
    }
    return l00 * l11;
}

static inline void FN(tor_term)(FN(tor_work) *w, int n, int size, R sqrt_det, R ysq)
{
    R term = 1 / sqrt_det;
    if (ysq != 0)
        term *= EXP(ysq / 2);
    if ((n - size) % 2)
        term = -term;
    FN(tor_two_sum)(&w->sum, &w->comp, term);
    w->abs_sum += term >= 0 ? term : -term;
}

/* All subsets that extend the current path (size modes) with modes
 * first..n-1. */
static void FN(tor_rec)(const FN(tor_ctx) *cx, FN(tor_work) *w, int first, int size,
                        R sqrt_det, R ysq)
{
    if (cx->n - first >= JZ_POLL_LEVELS && jz_stopped(cx->st)) {
        w->status = JZ_INTERRUPTED;
        return;
    }
    for (int j = first; j < cx->n && w->status == JZ_OK; j++) {
        R ysq_j = ysq;
        const R d = FN(tor_extend)(cx, w, size, j, &ysq_j);
        if (d == 0) {
            w->status = JZ_ERR_NOT_PD;
            return;
        }
        FN(tor_term)(w, cx->n, size + 1, sqrt_det * d, ysq_j);
        FN(tor_rec)(cx, w, j + 1, size + 1, sqrt_det * d, ysq_j);
    }
}

/* M: dim x dim (dim = 2n), v: dim or NULL.  out: the (loop) torontonian,
 * out_abs: sum of |terms| (the cancellation indicator). */
int FN(jz_torontonian)(const void *M_, const void *v_, int n, int n_threads,
                       double *out, double *out_abs)
{
    const T *M = M_, *v = v_;
    *out = 0;
    *out_abs = 0;
    if (n < 0)
        return JZ_ERR_ARGUMENT;
    if (n == 0) {
        *out = 1;   /* the empty sum has the one term Z = {} */
        *out_abs = 1;
        return JZ_OK;
    }
    const int dim = 2 * n;
    FN(tor_ctx) cx = {M, v, n, dim, NULL};
    /* tasks: one per subset of the first n_prefix modes (a task replays its
     * prefix, so six modes at least stay below the split) */
    const int n_prefix = n - 6 < 8 ? (n - 6 > 0 ? n - 6 : 0) : 8;
    const long n_tasks = 1L << n_prefix;
    R *sums = calloc(n_tasks * 3, sizeof(R));
    if (!sums)
        return JZ_ERR_MEMORY;
    int status = JZ_OK, finished = 0;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop stop_local, *st = jz_stop_begin(&stop_local);
    cx.st = st;

#pragma omp parallel num_threads(n_threads)
    {
        FN(tor_work) w = {0};
        w.P = calloc((size_t)dim * dim, sizeof(T));
        w.y = calloc(dim, sizeof(T));
        if (!w.P || !w.y) {
#pragma omp atomic write
            status = JZ_ERR_MEMORY;
        }
#pragma omp for schedule(dynamic, 1) nowait
        for (long task = 0; task < n_tasks; task++) {
            if (status != JZ_OK || jz_stopped(st))
                continue;
            w.sum = w.comp = w.abs_sum = 0;
            w.status = JZ_OK;
            int size = 0;
            R sqrt_det = 1, ysq = 0;
            for (int i = 0; i < n_prefix && w.status == JZ_OK; i++) {
                if (!((task >> i) & 1))
                    continue;
                const R d = FN(tor_extend)(&cx, &w, size, i, &ysq);
                if (d == 0)
                    w.status = JZ_ERR_NOT_PD;
                sqrt_det *= d;
                size++;
            }
            if (w.status == JZ_OK) {
                FN(tor_term)(&w, n, size, sqrt_det, ysq);
                FN(tor_rec)(&cx, &w, n_prefix, size, sqrt_det, ysq);
            }
            if (w.status != JZ_OK) {
#pragma omp atomic write
                status = w.status;
            }
            sums[3 * task] = w.sum;
            sums[3 * task + 1] = w.comp;
            sums[3 * task + 2] = w.abs_sum;
        }
        jz_stop_drain(st, &finished);
        free(w.P); free(w.y);
    }
    status = jz_stop_end(st, &stop_local, status);
    if (status == JZ_OK) {
        R sum = 0, comp = 0, ab = 0;
        for (long t = 0; t < n_tasks; t++) {
            FN(tor_two_sum)(&sum, &comp, sums[3 * t] + sums[3 * t + 1]);
            ab += sums[3 * t + 2];
        }
        *out = (double)(sum + comp);
        *out_abs = (double)ab;
    }
    free(sums);
    return status;
}

#undef FN
#undef JZ_CAT
#undef JZ_CAT2
