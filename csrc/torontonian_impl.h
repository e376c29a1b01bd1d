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
 * parent with two rows appended, O(|Z|^2) per subset.  The forward substitution
 * y = L^-1 v_Z is extended the same way for the loop term.
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
} FN(tor_ctx);

typedef struct {
    T *L;        /* dim x dim, rows of the current path's Cholesky factor */
    T *y;        /* L^-1 v for the current path */
    int *rows;   /* matrix row of each factor row */
    R sum, comp, abs_sum;
    int status;
} FN(tor_work);

static inline void FN(tor_neumaier)(R *sum, R *comp, R x)
{
    const R t = *sum + x;
    if ((*sum >= 0 ? *sum : -*sum) >= (x >= 0 ? x : -x))
        *comp += (*sum - t) + x;
    else
        *comp += (x - t) + *sum;
    *sum = t;
}

/* sum_k x[k] conj(y[k]) for k < len, with four partial sums (a fixed order,
 * so the result is reproducible; the independent chains let the compiler
 * vectorize and pipeline what a single running sum would serialize). */
static inline T FN(tor_dot)(const T *x, const T *y, int len)
{
    T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int k = 0;
    for (; k + 4 <= len; k += 4) {
        s0 += x[k] * CONJ(y[k]);
        s1 += x[k + 1] * CONJ(y[k + 1]);
        s2 += x[k + 2] * CONJ(y[k + 2]);
        s3 += x[k + 3] * CONJ(y[k + 3]);
    }
    for (; k < len; k++)
        s0 += x[k] * CONJ(y[k]);
    return (s0 + s1) + (s2 + s3);
}

/* Append mode i as factor rows m, m+1.  Returns the product of the two new
 * diagonal entries and adds their |y|^2 to *ysq; 0 if M_Z is not PD. */
static R FN(tor_extend)(const FN(tor_ctx) *cx, FN(tor_work) *w, int m, int i, R *ysq)
{
    const int dim = cx->dim;
    T *L = w->L;
    w->rows[m] = 2 * i;
    w->rows[m + 1] = 2 * i + 1;
    R diag_prod = 1;
    for (int r = m; r < m + 2; r++) {
        T *Lr = L + (size_t)r * dim;
        const T *Mr = cx->M + (size_t)w->rows[r] * dim;
        for (int c = 0; c < r; c++) {
            const T *Lc = L + (size_t)c * dim;
            Lr[c] = (Mr[w->rows[c]] - FN(tor_dot)(Lr, Lc, c)) / RE(Lc[c]);
        }
        R d = RE(Mr[w->rows[r]]) - RE(FN(tor_dot)(Lr, Lr, r));
        if (!(d > 0))
            return 0;
        d = SQRT(d);
        Lr[r] = d;
        diag_prod *= d;
        if (cx->v) {
            T z = cx->v[w->rows[r]];
            for (int k = 0; k < r; k++)
                z -= Lr[k] * w->y[k];
            z /= d;
            w->y[r] = z;
            *ysq += RE(z * CONJ(z));
        }
    }
    return diag_prod;
}

static inline void FN(tor_term)(FN(tor_work) *w, int n, int size, R sqrt_det, R ysq)
{
    R term = 1 / sqrt_det;
    if (ysq != 0)
        term *= EXP(ysq / 2);
    if ((n - size) % 2)
        term = -term;
    FN(tor_neumaier)(&w->sum, &w->comp, term);
    w->abs_sum += term >= 0 ? term : -term;
}

/* All subsets that extend the current path (size modes, factor rows 2*size)
 * with modes first..n-1. */
static void FN(tor_rec)(const FN(tor_ctx) *cx, FN(tor_work) *w, int first, int size,
                        R sqrt_det, R ysq)
{
    for (int i = first; i < cx->n && w->status == JZ_OK; i++) {
        R ysq_i = ysq;
        const R d = FN(tor_extend)(cx, w, 2 * size, i, &ysq_i);
        if (d == 0) {
            w->status = JZ_ERR_NOT_PD;
            return;
        }
        FN(tor_term)(w, cx->n, size + 1, sqrt_det * d, ysq_i);
        FN(tor_rec)(cx, w, i + 1, size + 1, sqrt_det * d, ysq_i);
    }
}

/* M: dim x dim (dim = 2n), v: dim or NULL.  out: the (loop) torontonian,
 * out_abs: sum of |terms| (the cancellation indicator). */
int FN(jz_torontonian)(const T *M, const T *v, int n, int n_threads,
                       double *out, double *out_abs)
{
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
    FN(tor_ctx) cx = {M, v, n, dim};
    /* tasks: one per subset of the first n_prefix modes */
    const int n_prefix = n < 8 ? n : 8;
    const long n_tasks = 1L << n_prefix;
    R *sums = calloc(n_tasks * 3, sizeof(R));
    if (!sums)
        return JZ_ERR_MEMORY;
    int status = JZ_OK;
    if (n_threads < 1)
        n_threads = 1;

#pragma omp parallel num_threads(n_threads)
    {
        FN(tor_work) w = {0};
        w.L = calloc((size_t)dim * dim, sizeof(T));
        w.y = calloc(dim, sizeof(T));
        w.rows = calloc(dim, sizeof(int));
        if (!w.L || !w.y || !w.rows) {
#pragma omp atomic write
            status = JZ_ERR_MEMORY;
        }
#pragma omp for schedule(dynamic, 1)
        for (long task = 0; task < n_tasks; task++) {
            if (status != JZ_OK)
                continue;
            w.sum = w.comp = w.abs_sum = 0;
            w.status = JZ_OK;
            int size = 0;
            R sqrt_det = 1, ysq = 0;
            for (int i = 0; i < n_prefix && w.status == JZ_OK; i++) {
                if (!((task >> i) & 1))
                    continue;
                const R d = FN(tor_extend)(&cx, &w, 2 * size, i, &ysq);
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
        free(w.L); free(w.y); free(w.rows);
    }
    if (status == JZ_OK) {
        R sum = 0, comp = 0, ab = 0;
        for (long t = 0; t < n_tasks; t++) {
            FN(tor_neumaier)(&sum, &comp, sums[3 * t] + sums[3 * t + 1]);
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
