/* Exact photon-number sampling of pure Gaussian states: the chain rule of
 * jiuzhang_emu/samplers/exact.py, whose docstring derives it (Quesada et al.,
 * PRX Quantum 3, 010306 (2022); Bulmer et al., Sci. Adv. 8, eabl9236 (2022)).
 *
 * Per shot the caller supplies the heterodyne outcomes beta, the loop vector
 * loops = gamma + B beta^* with every mode still heterodyned, and one uniform
 * number per mode; no randomness is drawn here.  For mode k:
 *   loops -= B[:, k] beta_k^*                        (mode k leaves the heterodyned set)
 *   L(z) = lhaf(B; n_<k; loops + z B[:, k]) = sum_m ell_m z^m   (degree D = sum n_<k)
 *   ell_m: all D + 1 coefficients in one pass of the loop hafnian of the
 *          occupied rows with loop weights linear in z (jz_loop_hafnian_zpoly)
 *   amplitude_j = sum_m ell_m sqrt(j! / (j - m)!) q_{j - m},  q_i = sqrt(i!) [z^i] e^{b z^2 / 2 + g z}
 *   normaliser  = int |L E|^2 e^{-|z|^2} d^2z / pi    (Gaussian moments)
 * and n_k is the first j whose cumulative |amplitude|^2 exceeds u_k times the
 * normaliser.  Nothing is truncated: the walk stops when the distribution is
 * exhausted to rounding (left < 1e-12) or at the latest at a Chernoff bound J
 * with P(n_k >= J) <= 1e-14 (walk_limit), so its time and memory are bounded.
 *
 * Rounding.  The repeated-row sieve of the loop hafnian cancels strongly when
 * one mode holds many photons (k identical pairs: a k-th finite difference),
 * and in float64 the small coefficients of L(z) then drown: 91 photons in a
 * mode gave errors 1e13 times the true z^0 coefficient, a normaliser 5.6e7
 * times too large and 98 % of the mass on the impossible parity.  So every
 * draw estimates the probability mass rounding may misplace: the
 * coefficients' (2 ||dL E|| / ||L E||, a total-variation bound, with |dL_m|
 * the unit roundoff times the sum of the moduli of the terms of ell_m), the
 * normaliser's and the amplitudes'.  Above MAX_MASS in float64 the step
 * recomputes L(z) in long double, still above in quad precision (113-bit
 * mantissa, where JZ_HAS_QUAD: jz_kernels.h), skipping a tier whose unit
 * roundoff cannot bring the estimate within MAX_MASS; still above, the shot
 * is refused (JZ_ERR_PRECISION), never returned.  The estimate is reported
 * (unresolved).  The coefficients come back as float64 from every tier (their
 * magnitudes are scaled by scale_coefficients; the normaliser and the walk
 * stay in float64 and estimate their own rounding).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jz_kernels.h"

#define RESOLVED 1e-12
/* The largest estimated probability mass that rounding may misplace in one
 * draw (the click sampler's MAX_PROBABILITY_ERROR).  A draw whose estimate
 * exceeds it in float64 recomputes L(z) in long double, then in quad; one
 * that still exceeds it is refused with JZ_ERR_PRECISION, never returned. */
#define MAX_MASS 1e-8
/* Tiers of the coefficients of L(z): float64, long double, quad (where
 * JZ_HAS_QUAD), and their unit roundoffs. */
#define N_TIERS (2 + JZ_HAS_QUAD)
/* Quad is software arithmetic: a retry costs ~40 s after 91 photons and
 * ~7.5 min after 172 (one core).  Past this many photons a draw that long
 * double cannot resolve is refused at once rather than retried. */
#define QUAD_MAX_PHOTONS 100
static const double tier_roundoff[3] = {DBL_EPSILON / 2, LDBL_EPSILON / 2, 0x1p-113};
/* The walk stops at the latest at J with P(n_k >= J) <= TAIL (Chernoff). */
#define TAIL 1e-14
/* ... and at most at MAX_WALK photons: beyond, the draw is refused. */
#define MAX_WALK 1e7
#define TWO_PI 6.283185307179586476925286766559L
/* The fan-out route's quad retry costs a software-arithmetic loop hafnian of
 * all the rows so far (~50x float64): past this many rows a mode that long
 * double cannot resolve is refused at once. */
#define FANOUT_QUAD_MAX_ROWS 30
/* A shot's loop-hafnian passes use its threads from this many rows on (a
 * pass of 20 rows takes ~10 ms on one core; smaller ones run faster alone). */
#define FANOUT_THREADED_ROWS 20

/* log2 sqrt(m!), summed (lgamma writes the global signgam: not thread-safe) */
static double log2_sqrt_factorial(int m)
{
    double sum = 0;
    for (int i = 2; i <= m; i++)
        sum += log2((double)i);
    return 0.5 * sum;
}

/* x sqrt(m!) zs^m, with log2(zs) given, without overflow in between. */
static jz_z factorial_weighted(jz_z x, int m, double log2_zs)
{
    const double lf = log2_sqrt_factorial(m) + m * log2_zs;
    const double whole = floor(lf), f = exp2(lf - whole);
    return ldexp(creal(x), (int)whole) * f + I * (ldexp(cimag(x), (int)whole) * f);
}

/* Divide L(z) (and its error bounds) by 2^e, e the exponent of
 * max_m |ell_m| sqrt(m!): exact, and the draw depends on ratios only, but the
 * normaliser, sum_j |amplitude_j|^2 ~ max_m |ell_m|^2 m!, stays in range. */
static void scale_coefficients(jz_z *ell, double *ell_err, int D)
{
    double top = -INFINITY;
    for (int m = 0; m <= D; m++)
        if (ell[m] != 0)
            top = fmax(top, log2(cabs(ell[m])) + log2_sqrt_factorial(m));
    if (!isfinite(top))
        return;
    const int e = (int)floor(top);
    for (int m = 0; m <= D; m++) {
        ell[m] = ldexp(creal(ell[m]), -e) + I * ldexp(cimag(ell[m]), -e);
        ell_err[m] = ldexp(ell_err[m], -e);
    }
}

typedef struct {
    double norm;        /* N, as a float64 (inf when out of range) */
    double log_norm;    /* log N, finite where N overflows */
    double coef_error;  /* ||dL E|| / sqrt(N) for |dL_m| <= ell_err_m */
    double rounding;    /* relative rounding estimate of the sum giving N */
} normalised;

/* The normaliser N = int |L(sqrt(t) z) E(sqrt(t) z)|^2 e^{-|z|^2} d^2z / pi
 * (t = 1 for the draw; exact.py's _normaliser derives it), E = e^{b z^2/2 + g z},
 * from the Gaussian moments divided by factorials, mt_ac = E[z^a conj(z)^c] / sqrt(a! c!),
 * which stay in range where the moments (~ m!) overflow.  Isserlis'
 * recursion divided by sqrt(a! c!):
 *   mt_ac = (mu mt_{a-1,c} + sqrt(a-1) s mt_{a-2,c} + sqrt(c) t mt_{a-1,c-1}) / sqrt(a),
 * N = weight sum_ac l_a mt_ac conj(l_c), l_m = ell_m sqrt(m!) t^{m/2}; the
 * weight's b and g are b t and g sqrt(t).  Coefficient errors: by the triangle
 * inequality ||dL E|| <= sum_m |dL_m| ||z^m E||, ||z^m E||^2 = weight m! mt_mm.
 * ell_err may be NULL. */
static normalised normaliser(const jz_z *ell, const double *ell_err, int D, jz_z b0, jz_z g0,
                             double t_z, jz_z *mom, jz_z *lf)
{
    const jz_z b = b0 * t_z, g = g0 * sqrt(t_z);
    const double log2_zs = 0.5 * log2(t_z);
    const double P00 = 2 * (1 - creal(b)), P01 = 2 * cimag(b), P11 = 2 * (1 + creal(b));
    const double det = P00 * P11 - P01 * P01;
    const double C00 = P11 / det, C01 = -P01 / det, C11 = P00 / det;
    const double h0 = 2 * creal(g), h1 = -2 * cimag(g);
    const double m0 = C00 * h0 + C01 * h1, m1 = C01 * h0 + C11 * h1;
    const double log_weight = log(2 / sqrt(det)) + 0.5 * (h0 * m0 + h1 * m1);
    const jz_z mu = m0 + I * m1, s = C00 - C11 + 2 * I * C01;
    const double t = C00 + C11;
    const int d = D + 1;
    for (int a = 0; a < d; a++)
        for (int c = 0; c < d; c++) {
            jz_z v;
            if (a == 0 && c == 0)
                v = 1;
            else if (a > 0) {
                v = mu * mom[(a - 1) * d + c];
                if (a > 1)
                    v += sqrt(a - 1.0) * s * mom[(a - 2) * d + c];
                if (c > 0)
                    v += sqrt((double)c) * t * mom[(a - 1) * d + c - 1];
                v /= sqrt((double)a);
            } else {
                v = conj(mu) * mom[c - 1];
                if (c > 1)
                    v += sqrt(c - 1.0) * conj(s) * mom[c - 2];
                v /= sqrt((double)c);
            }
            mom[a * d + c] = v;
        }
    for (int m = 0; m < d; m++)
        lf[m] = factorial_weighted(ell[m], m, log2_zs);
    jz_z total = 0;
    double total_abs = 0, err = 0;
    for (int a = 0; a < d; a++) {
        for (int c = 0; c < d; c++) {
            const jz_z term = lf[a] * mom[a * d + c] * conj(lf[c]);
            total += term;
            total_abs += cabs(term);
        }
        if (ell_err)
            err += creal(factorial_weighted(ell_err[a], a, log2_zs)) *
                   sqrt(fabs(creal(mom[a * d + a])));
    }
    normalised r;
    r.log_norm = log(creal(total)) + log_weight;
    r.norm = exp(log_weight) * creal(total);
    r.coef_error = err * exp(0.5 * (log_weight - r.log_norm));
    r.rounding = DBL_EPSILON / 2 * (2 * d + 4) * total_abs / creal(total);
    return r;
}

/* J with P(n_k >= J) <= TAIL, by Chernoff: P(n >= J) <= E[t^n] t^-J, where
 * E[t^n] N = sum_j t^j |amplitude_j|^2 is the normaliser of L(sqrt(t) z) E(sqrt(t) z)
 * (z -> sqrt(t) z scales amplitude_j by t^{j/2}); t = (1 + 1/|b|) / 2 <= 2
 * keeps |b t| < 1, and t^{D/2} <= 2^500 keeps the tilted coefficients in
 * range.  NaN where the tilted normaliser is not usable. */
static double walk_limit(const jz_z *ell, int D, jz_z b, jz_z g, double log_norm, jz_z *mom,
                         jz_z *lf)
{
    const double t = fmin(fmin(2.0, 0.5 * (1 + 1 / cabs(b))), exp2(1000.0 / (D + 1)));
    const normalised tilted = normaliser(ell, NULL, D, b, g, t, mom, lf);
    const double J = ceil((tilted.log_norm - log_norm - log(TAIL)) / log(t));
    return isfinite(J) ? J : NAN;
}

typedef struct {
    int *V, *groups, *occupied;
    int64_t *reps;
    jz_z *loops, *sub, *sub_loops, *sub_column, *ell, *mom, *lf, *q;
    double *coef, *coef_abs;
    int q_cap;
} workspace;

static void free_degree_buffers(workspace *w)
{
    free(w->V); free(w->groups); free(w->occupied); free(w->reps);
    free(w->sub); free(w->sub_loops); free(w->sub_column); free(w->ell); free(w->mom); free(w->lf);
    free(w->coef); free(w->coef_abs);
}

static void free_workspace(workspace *w)
{
    free_degree_buffers(w);
    free(w->loops); free(w->q);
}

/* Buffers sized by D_max, the largest number of photons before a mode;
 * grown with realloc, so their contents survive (the fan-out route grows
 * them between a mode's tiers). */
static int alloc_degree_buffers(workspace *w, int D_max)
{
    const size_t d = (size_t)D_max + 2;
    int ok = 1;
#define GROW(field, count)                                         \
    do {                                                           \
        void *grown = realloc(w->field, sizeof(*w->field) * (count)); \
        if (grown)                                                 \
            w->field = grown;                                      \
        else                                                       \
            ok = 0;                                                \
    } while (0)
    GROW(V, 2 * d);
    GROW(groups, 2 * d);
    GROW(occupied, d);
    GROW(reps, d);
    GROW(sub, d * d);
    GROW(sub_loops, d);
    GROW(sub_column, d);
    GROW(ell, d);
    GROW(mom, d * d);
    GROW(lf, d);
    GROW(coef, 2 * d);
    GROW(coef_abs, d);
#undef GROW
    return ok ? JZ_OK : JZ_ERR_MEMORY;
}

static int alloc_workspace(workspace *w, int M, int D_max)
{
    memset(w, 0, sizeof *w);
    w->loops = malloc(sizeof(jz_z) * M);
    w->q_cap = 64;
    w->q = malloc(sizeof(jz_z) * w->q_cap);
    if (!w->loops || !w->q)
        return JZ_ERR_MEMORY;
    return alloc_degree_buffers(w, D_max);
}

/* Grow the degree-sized buffers when the photons so far exceed them. */
static int ensure_degree(workspace *w, int *D_max, int D)
{
    if (D <= *D_max)
        return JZ_OK;
    *D_max = 2 * D;
    return alloc_degree_buffers(w, *D_max);
}

/* Vertices and pair groups for rows repeated reps[i] times (as in
 * hafnian.py's _pairing): groups of identical pairs first, then single rows
 * paired in order, padded with a loop-only vertex (-1) when their count is
 * odd. */
static void pairing(const int64_t *reps, int k, int *V, int *nv, int *groups, int *ng)
{
    int n = 0, g = 0, singles = 0;
    for (int i = 0; i < k; i++)
        if (reps[i] >= 2) {
            int pairs = (int)(reps[i] / 2);
            for (int p = 0; p < 2 * pairs; p++)
                V[n++] = i;
            groups[g++] = pairs;
        }
    for (int i = 0; i < k; i++)
        if (reps[i] % 2) {
            V[n++] = i;
            singles++;
        }
    if (singles % 2) {
        V[n++] = -1;
        singles++;
    }
    for (int p = 0; p < singles / 2; p++)
        groups[g++] = 1;
    *nv = n;
    *ng = g;
}

/* ell and its error bounds ell_err (in coef_abs): the coefficients of
 * L(z) = lhaf(B_occ; n_occ; loops + z B[occ, k]) in one pass, in float64,
 * long double or quad (tier 0, 1, 2); a coefficient's rounding error is
 * estimated as the unit roundoff of the tier times the sum of the moduli of
 * its terms (the kernels' cancellation indicator, kernels/_precision.py). */
static int coefficients(workspace *w, int q, int D, int tier, int n_threads)
{
    int nv, ng, status;
    pairing(w->reps, q, w->V, &nv, w->groups, &ng);
    int (*zpoly)(const void *, int, const void *, const void *, int, const int *, int,
                 const int *, int, int, double *, double *) =
        tier == 0 ? jz_loop_hafnian_zpoly_z
                  : tier == 1 ? jz_loop_hafnian_zpoly_lz : jz_loop_hafnian_zpoly_qz;
    status = zpoly(w->sub, q, w->sub_loops, w->sub_column, D + 1, w->V, nv, w->groups, ng, n_threads,
                   w->coef, w->coef_abs);
    const double roundoff = tier_roundoff[tier];
    for (int m = 0; m <= D; m++) {
        w->ell[m] = w->coef[2 * m] + I * w->coef[2 * m + 1];
        w->coef_abs[m] *= roundoff;
    }
    scale_coefficients(w->ell, w->coef_abs, D);
    return status;
}

/* Whether N is a usable normaliser and the coefficients' share of the
 * misplaced mass (2 ||dL E|| / ||L E|| bounds the total variation distance
 * the errors dL cause, plus the rounding of N) is within the budget. */
static int resolvable(normalised n)
{
    return n.norm > 0 && isfinite(n.norm) && 2 * n.coef_error + n.rounding <= MAX_MASS;
}

/* The tier to retry in where the coefficients of `tier` missed the budget:
 * the first higher tier whose coefficients could meet it, their error being
 * smaller by the ratio of the unit roundoffs (a usable normaliser is needed
 * to tell; without one, the next tier).  Quad, the slow tier, only where the
 * coefficients miss the budget on their own: where they meet it, what misses
 * is the normaliser's own float64 rounding, the same in every tier; and only
 * up to QUAD_MAX_PHOTONS photons so far (D).  N_TIERS where no tier could. */
static int retry_tier(normalised n, int tier, int D)
{
    if (!(n.norm > 0) || !isfinite(n.norm))
        return tier + 1;
    for (int t = tier + 1; t < N_TIERS; t++)
        if ((2 * n.coef_error) * (tier_roundoff[t] / tier_roundoff[tier]) <= MAX_MASS &&
            (t < 2 || (2 * n.coef_error > MAX_MASS && D <= QUAD_MAX_PHOTONS)))
            return t;
    return N_TIERS;
}

/* Draw n_k = j, the first j whose cumulative |amplitude_j|^2 exceeds u N
 * (amplitude_j = sum_m ell_m sqrt(j! / (j - m)!) q_{j - m},
 * q_i = sqrt(i!) [z^i] e^{b z^2 / 2 + g z}); stops at the latest at J
 * (walk_limit).  *mass: the estimated probability mass rounding misplaced,
 * the amplitudes' rounding (u (D + j + 2) times the moduli of their terms)
 * bounded as the coefficients' are, plus what the walk left unresolved. */
static int walk(workspace *w, int D, jz_z b, jz_z g, double u, double norm, double J,
                int64_t *n_k, double *mass)
{
    const double target = u * norm;
    double total = 0, abs2 = 0, left_mass = 0;
    int j = -1;
    w->q[0] = 1;
    int n_q = 1;
    for (;;) {
        j++;
        while (n_q <= j) {
            if (n_q == w->q_cap) {
                jz_z *grown = realloc(w->q, sizeof(jz_z) * 2 * w->q_cap);
                if (!grown)
                    return JZ_ERR_MEMORY;
                w->q = grown;
                w->q_cap *= 2;
            }
            const int i = n_q - 1;
            jz_z next = g * w->q[i];
            if (i)
                next += b * sqrt((double)i) * w->q[i - 1];
            w->q[n_q++] = next / sqrt((double)(i + 1));
        }
        jz_z amp = 0;
        double weight = 1, amp_abs = 0;
        for (int m = 0; m <= D && m <= j; m++) {
            const jz_z term = w->ell[m] * weight * w->q[j - m];
            amp += term;
            amp_abs += fabs(creal(term)) + fabs(cimag(term));
            weight *= sqrt((double)(j - m));
        }
        abs2 += amp_abs * amp_abs;
        total += creal(amp) * creal(amp) + cimag(amp) * cimag(amp);
        if (total > target)
            break;
        const double left = norm - total;
        if ((left <= RESOLVED * norm && j > D + 4 * cabs(g) * cabs(g) + 16) || j >= J) {
            left_mass = left / norm;
            break;
        }
    }
    *n_k = j;
    *mass = 2 * DBL_EPSILON / 2 * (D + j + 2) * sqrt(abs2 / norm) + left_mass;
    return JZ_OK;
}

/* One shot.  On JZ_ERR_PRECISION, pattern[k] = -1 marks the mode whose draw
 * could not be resolved; *unresolved is its estimated misplaced mass, NaN
 * where the normaliser is unusable (out of float64's range or not positive),
 * -J where the walk's bound J exceeds MAX_WALK. */
static int sample_one(const jz_z *B, int M, const jz_z *loops_in, const jz_z *beta,
                      const double *u, int64_t *pattern, double *unresolved, jz_stop *st)
{
    int D_max = 16, status;
    workspace w;
    if ((status = alloc_workspace(&w, M, D_max)) != JZ_OK) {
        free_workspace(&w);
        return status;
    }
    memcpy(w.loops, loops_in, sizeof(jz_z) * M);
    *unresolved = 0;
    int D = 0;
    for (int k = 0; k < M; k++) {
        if (jz_stopped(st)) {
            status = JZ_INTERRUPTED;
            break;
        }
        for (int i = 0; i < M; i++)
            w.loops[i] -= B[(size_t)i * M + k] * conj(beta[k]);
        if ((status = ensure_degree(&w, &D_max, D)) != JZ_OK)
            break;
        int q = 0;
        for (int i = 0; i < k; i++)
            if (pattern[i])
                w.occupied[q++] = i;
        for (int a = 0; a < q; a++) {
            for (int c = 0; c < q; c++)
                w.sub[a * q + c] = B[(size_t)w.occupied[a] * M + w.occupied[c]];
            w.sub_loops[a] = w.loops[w.occupied[a]];
            w.sub_column[a] = B[(size_t)w.occupied[a] * M + k];
            w.reps[a] = pattern[w.occupied[a]];
        }
        const jz_z b = B[(size_t)k * M + k], g = w.loops[k];
        normalised n;
        for (int tier = 0; tier < N_TIERS; tier = retry_tier(n, tier, D)) {
            if ((status = coefficients(&w, q, D, tier, 1)) != JZ_OK)
                goto done;
            n = normaliser(w.ell, w.coef_abs, D, b, g, 1.0, w.mom, w.lf);
            if (resolvable(n))
                break;
        }
        /* refused: the estimated mass, NaN for an unusable normaliser, -J for a walk bound
         * past MAX_WALK */
        double mass = 2 * n.coef_error + n.rounding, refused = NAN;
        if (n.norm > 0 && isfinite(n.norm))
            refused = mass;
        if (resolvable(n)) {
            const double J = walk_limit(w.ell, D, b, g, n.log_norm, w.mom, w.lf);
            refused = isnan(J) ? NAN : -J;
            if (J <= MAX_WALK) {
                double walk_mass;
                status = walk(&w, D, b, g, u[k], n.norm, J, &pattern[k], &walk_mass);
                if (status != JZ_OK)
                    break;
                mass += walk_mass;
                refused = mass > MAX_MASS ? mass : 0;
            }
        }
        if (refused != 0) {
            pattern[k] = -1;
            *unresolved = refused;
            status = JZ_ERR_PRECISION;
            break;
        }
        if (mass > *unresolved)
            *unresolved = mass;
        D += (int)pattern[k];
    }
done:
    free_workspace(&w);
    return status;
}

/* Photon numbers for `shots` shots of a pure state with matrix B (M x M,
 * complex, symmetric).  loops, beta, u: shots x M, row-major.  pattern: shots
 * x M output; unresolved: per shot; status: per shot.  Shots run in parallel;
 * each uses only its own inputs, so results do not depend on the threads.
 * The loop hafnians of a shot share its jz_stop (jz_stop_join). */
int jz_sample_photons(const void *B_, int M, int shots, const void *loops_, const void *beta_,
                      const double *u, int64_t *pattern, double *unresolved, int *status,
                      int n_threads)
{
    const jz_z *B = B_, *loops = loops_, *beta = beta_;
    if (M < 0 || shots < 0)
        return JZ_ERR_ARGUMENT;
    if (n_threads < 1)
        n_threads = 1;
    jz_stop local, *st = jz_stop_begin(&local);
    int finished = 0, failed = JZ_OK;
#pragma omp parallel num_threads(n_threads)
    {
        jz_stop *previous = jz_stop_join(st);
#pragma omp for schedule(dynamic, 1) nowait
        for (int s = 0; s < shots; s++)
            status[s] = jz_stopped(st) ? JZ_INTERRUPTED
                                       : sample_one(B, M, loops + (size_t)s * M,
                                                    beta + (size_t)s * M, u + (size_t)s * M,
                                                    pattern + (size_t)s * M, unresolved + s, st);
        jz_stop_drain(st, &finished);
        jz_stop_join(previous);
    }
    for (int s = 0; s < shots && failed == JZ_OK; s++)
        failed = status[s];
    return jz_stop_end(st, &local, failed);
}


/* ------------------------------------------------------------------------
 * The fan-out route (jiuzhang_emu/samplers/fanout.py derives it): exact
 * threshold and pseudo-PNR clicks at one loop-hafnian pass per mode over
 * ~one row per click (Bulmer et al., Sci. Adv. 8, eabl9236 (2022), with the
 * sub-detectors' photon numbers drawn from their whole distributions).
 *
 * Per mode k (in the caller's order): L(z) over the fired modes' rows, each
 * row scaled by 1/sqrt(K), then K = n_detectors * F sub-detectors in turn:
 * sub-detector i draws its photon number from P(x) exp(b' x^2/2 + g' x),
 * P the N-th derivative polynomial (N photons so far in the mode) of
 * L(s + x/sqrt K), s = (sum of the heterodyned sub-detectors' beta^*)/sqrt K,
 * b' = b/K, g' = (g + b s)/sqrt K; the first that sees light fires its
 * detector, whose other sub-detectors stay heterodyned.  The shift and the
 * derivatives run in long double, with error bounds carried from the
 * coefficients' (sums of moduli times the unit roundoff).
 * ------------------------------------------------------------------------ */

typedef struct {
    jz_lz *base, *poly;       /* L(center + radius y) in y; the sub-detector's polynomial */
    long double *base_err, *err, *mod;
    jz_z center;
    double radius;
    int cap;
} fan_buffers;

static void free_fan(fan_buffers *f)
{
    free(f->base); free(f->poly); free(f->base_err); free(f->err); free(f->mod);
}

/* Room for polynomials of the given degree (and one more), contents kept. */
static int ensure_fan(fan_buffers *f, int degree)
{
    if (degree + 2 <= f->cap)
        return JZ_OK;
    const int cap = 2 * (degree + 2);
    void *p[5] = {realloc(f->base, sizeof(jz_lz) * cap), NULL, NULL, NULL, NULL};
    if (p[0]) f->base = p[0];
    p[1] = realloc(f->poly, sizeof(jz_lz) * cap);
    if (p[1]) f->poly = p[1];
    p[2] = realloc(f->base_err, sizeof(long double) * cap);
    if (p[2]) f->base_err = p[2];
    p[3] = realloc(f->err, sizeof(long double) * cap);
    if (p[3]) f->err = p[3];
    p[4] = realloc(f->mod, sizeof(long double) * cap);
    if (p[4]) f->mod = p[4];
    for (int i = 0; i < 5; i++)
        if (!p[i])
            return JZ_ERR_MEMORY;
    f->cap = cap;
    return JZ_OK;
}

static long double lzabs(jz_lz x) { return fabsl(creall(x)) + fabsl(cimagl(x)); }

/* poly = N-th derivative polynomial of L(s + x/sqrt K) (degree D + N), with
 * its error bounds in err; written to w->ell / w->coef_abs as float64 and
 * rescaled (scale_coefficients).  Returns the degree. */
static int sub_polynomial(fan_buffers *f, workspace *w, int D, int N, jz_z s, int K,
                          jz_z b_sub, jz_z g_sub)
{
    const long double eps = LDBL_EPSILON / 2;
    const jz_z y = (s - f->center) / f->radius;  /* the shift in the base's variable */
    const long double as = cabs(y);
    jz_lz *a = f->poly;
    for (int m = 0; m <= D; m++) {
        a[m] = f->base[m];
        f->err[m] = f->base_err[m];
        f->mod[m] = lzabs(f->base[m]);
    }
    for (int i = 0; i < D; i++)       /* Taylor shift by repeated synthetic division */
        for (int j = D - 1; j >= i; j--) {
            a[j] += (jz_lz)y * a[j + 1];
            f->err[j] += as * f->err[j + 1];
            f->mod[j] += as * f->mod[j + 1];
        }
    long double scale = 1;
    const long double root = 1 / (f->radius * sqrtl((long double)K));
    for (int m = 0; m <= D; m++) {
        a[m] *= scale;
        f->err[m] = (f->err[m] + eps * (D + 1) * f->mod[m]) * scale;
        f->mod[m] *= scale;
        scale *= root;
    }
    int deg = D;
    const long double ab = cabs(b_sub), ag = cabs(g_sub);
    for (int n = 0; n < N; n++) {     /* P <- P' + (b' x + g') P, in place upwards */
        a[deg + 1] = 0;
        f->err[deg + 1] = f->mod[deg + 1] = 0;
        jz_lz a_prev = 0;             /* the old a[m - 1], err and mod alike */
        long double e_prev = 0, md_prev = 0;
        for (int m = 0; m <= deg + 1; m++) {
            const jz_lz a_m = a[m];
            const long double e_m = f->err[m], md_m = f->mod[m];
            jz_lz v = (jz_lz)g_sub * a_m + (jz_lz)b_sub * a_prev;
            long double e = ag * e_m + ab * e_prev, md = ag * md_m + ab * md_prev;
            if (m < deg) {
                v += (long double)(m + 1) * a[m + 1];
                e += (m + 1) * f->err[m + 1];
                md += (m + 1) * f->mod[m + 1];
            }
            a[m] = v;
            f->err[m] = e + eps * 3 * md;
            f->mod[m] = md;
            a_prev = a_m;
            e_prev = e_m;
            md_prev = md_m;
        }
        deg++;
    }
    for (int m = 0; m <= deg; m++) {
        w->ell[m] = (jz_z)a[m];
        w->coef_abs[m] = (double)(f->err[m] + eps * lzabs(a[m]));
    }
    scale_coefficients(w->ell, w->coef_abs, deg);
    return deg;
}

/* One fan-out draw: the photon number n of a sub-detector whose polynomial
 * is in w->ell (degree deg), and the rounding mass; JZ_ERR_PRECISION where
 * the tier's coefficients cannot meet MAX_MASS (*n then undefined, *mass the
 * estimate, NaN for an unusable normaliser, -J for a walk past MAX_WALK). */
static int sub_draw(workspace *w, int deg, jz_z b, jz_z g, double u, int64_t *n, double *mass,
                    normalised *nn)
{
    *nn = normaliser(w->ell, w->coef_abs, deg, b, g, 1.0, w->mom, w->lf);
    if (!resolvable(*nn)) {
        *mass = nn->norm > 0 && isfinite(nn->norm) ? 2 * nn->coef_error + nn->rounding : NAN;
        return JZ_ERR_PRECISION;
    }
    *mass = 2 * nn->coef_error + nn->rounding;
    const jz_z a0 = w->ell[0];
    const double p0 = creal(a0) * creal(a0) + cimag(a0) * cimag(a0);
    if (p0 > u * nn->norm) {          /* dark: the walk's first step, without its bound */
        const double a0_abs = fabs(creal(a0)) + fabs(cimag(a0));
        *n = 0;
        *mass += 2 * DBL_EPSILON / 2 * (deg + 2) * a0_abs / sqrt(nn->norm);
        return *mass > MAX_MASS ? JZ_ERR_PRECISION : JZ_OK;
    }
    const double J = walk_limit(w->ell, deg, b, g, nn->log_norm, w->mom, w->lf);
    if (!(J <= MAX_WALK)) {
        *mass = isnan(J) ? NAN : -J;
        return JZ_ERR_PRECISION;
    }
    double walk_mass;
    int status = walk(w, deg, b, g, u, nn->norm, J, n, &walk_mass);
    if (status != JZ_OK)
        return status;
    *mass += walk_mass;
    return *mass > MAX_MASS ? JZ_ERR_PRECISION : JZ_OK;
}

/* The sub-detectors of mode k, given L's coefficients in f->base: sets
 * *fired (detectors fired), *N (photons in the fired sub-detectors), *s (the
 * final shift) and raises *unresolved; JZ_ERR_PRECISION with *refusal set
 * where the tier missed the budget (the caller retries in the next tier). */
static int fan_mode(fan_buffers *f, workspace *w, int *D_max, int D, jz_z b, jz_z g,
                    const jz_z *sub_beta, const double *u, int n_det, int F, int64_t *fired,
                    int *N, jz_z *s_out, double *unresolved, double *refusal)
{
    const int K = n_det * F;
    const double root = 1 / sqrt((double)K);
    jz_z wsum = 0;
    for (int i = 0; i < K; i++)
        wsum += conj(sub_beta[i]);
    *fired = 0;
    *N = 0;
    double worst = 0;
    for (int d = 0; d < n_det; d++)
        for (int i = d * F; i < (d + 1) * F; i++) {
            wsum -= conj(sub_beta[i]);
            const jz_z s = wsum * root, b_sub = b / K, g_sub = (g + b * s) * root;
            int status;
            if ((status = ensure_fan(f, D + *N + 1)) != JZ_OK ||
                (status = ensure_degree(w, D_max, D + *N + 1)) != JZ_OK)
                return status;
            const int deg = sub_polynomial(f, w, D, *N, s, K, b_sub, g_sub);
            int64_t n = 0;
            double mass;
            normalised nn;
            status = sub_draw(w, deg, b_sub, g_sub, u[i], &n, &mass, &nn);
            if (status == JZ_ERR_PRECISION) {
                *refusal = mass;
                return status;
            }
            if (status != JZ_OK)
                return status;
            if (mass > worst)
                worst = mass;
            if (n > 0) {
                *N += (int)n;
                (*fired)++;
                break;
            }
        }
    *s_out = wsum * root;
    if (worst > *unresolved)
        *unresolved = worst;
    return JZ_OK;
}

/* L(z) = lhaf(B_occ; n_occ; loops + z B[occ, k]) as a polynomial in y,
 * z = center + radius y, from its values at the D + 1 points y = e^{2 pi i
 * p / (D + 1)} (one jz_loop_hafnian_zeval pass), by the inverse DFT in long
 * double.  The sub-detectors' shifts s run from beta_k^* to 0 (plus the
 * ancillas' bridge noise), so the circle is centred at beta_k^* / 2 with
 * radius |beta_k| / 2 + 1: inside it re-expanding is well conditioned.
 * Error bound of each coefficient: the mean of the values' (unit roundoff
 * times their sums of moduli) plus the transform's rounding. */
static int circle_values(workspace *w, fan_buffers *f, int q, int D, jz_z beta_k, int n_threads)
{
    int nv, ng;
    const int P = D + 1;
    pairing(w->reps, q, w->V, &nv, w->groups, &ng);
    f->center = conj(beta_k) / 2;
    f->radius = cabs(beta_k) / 2 + 1;
    jz_z *points = malloc(sizeof(jz_z) * P), *loops0 = malloc(sizeof(jz_z) * (q + 1));
    double *out = malloc(sizeof(double) * 2 * P), *out_abs = malloc(sizeof(double) * P);
    int status = JZ_ERR_MEMORY;
    if (points && loops0 && out && out_abs) {
        for (int p = 0; p < P; p++)
            points[p] = f->radius * cexp(TWO_PI * I * p / P);
        for (int a = 0; a < q; a++)
            loops0[a] = w->sub_loops[a] + f->center * w->sub_column[a];
        status = jz_loop_hafnian_zeval_z(w->sub, q, loops0, w->sub_column, points, P, w->V, nv,
                                         w->groups, ng, n_threads, out, out_abs);
    }
    if (status == JZ_OK) {
        long double err = 0, size = 0;
        for (int p = 0; p < P; p++) {
            err += DBL_EPSILON / 2 * out_abs[p];
            size += fabsl((long double)out[2 * p]) + fabsl((long double)out[2 * p + 1]);
        }
        jz_lz *roots = f->poly;  /* e^{-2 pi i j / P}: scratch until the sub-detectors */
        for (int j = 0; j < P; j++) {
            const long double angle = -TWO_PI * (long double)j / P;
            roots[j] = cosl(angle) + I * sinl(angle);
        }
        for (int m = 0; m < P; m++) {
            jz_lz c = 0;
            for (int p = 0; p < P; p++)
                c += ((long double)out[2 * p] + I * (long double)out[2 * p + 1]) *
                     roots[(long)p * m % P];
            f->base[m] = c / P;
            f->base_err[m] = (err + LDBL_EPSILON * P * size) / P;
        }
    }
    free(points); free(loops0); free(out); free(out_abs);
    return status;
}

/* One shot of the fan-out route; the clicks go to fired[order[t]]. */
static int fan_shot(const jz_z *B, int M, const jz_z *loops_in, const jz_z *beta,
                    const jz_z *sub_beta, const double *u, const int64_t *order, int n_det,
                    int F, int n_threads, int64_t *fired, double *unresolved, jz_stop *st)
{
    const int K = n_det * F;
    const double root = 1 / sqrt((double)K);
    int D_max = 16, status;
    workspace w;
    fan_buffers f = {0};
    int *rows = calloc(M, sizeof(int));
    if ((status = alloc_workspace(&w, M, D_max)) != JZ_OK || !rows ||
        (status = ensure_fan(&f, D_max)) != JZ_OK) {
        free_workspace(&w); free_fan(&f); free(rows);
        return status == JZ_OK ? JZ_ERR_MEMORY : status;
    }
    memcpy(w.loops, loops_in, sizeof(jz_z) * M);
    *unresolved = 0;
    int D = 0;
    for (int t = 0; t < M; t++) {
        const int k = (int)order[t];
        if (jz_stopped(st)) {
            status = JZ_INTERRUPTED;
            break;
        }
        for (int i = 0; i < M; i++)
            w.loops[i] -= B[(size_t)i * M + k] * conj(beta[k]);
        if ((status = ensure_degree(&w, &D_max, D)) != JZ_OK ||
            (status = ensure_fan(&f, D)) != JZ_OK)
            break;
        int q = 0;
        for (int i = 0; i < M; i++)
            if (rows[i])
                w.occupied[q++] = i;
        for (int a = 0; a < q; a++) {
            const int ia = w.occupied[a];
            for (int c = 0; c < q; c++)
                w.sub[a * q + c] = B[(size_t)ia * M + w.occupied[c]] * (root * root);
            w.sub_loops[a] = w.loops[ia] * root;
            w.sub_column[a] = B[(size_t)ia * M + k] * root;
            w.reps[a] = rows[ia];
        }
        const jz_z b = B[(size_t)k * M + k], g = w.loops[k];
        int N = 0;
        jz_z s = 0;
        double refusal = 0;
        status = JZ_ERR_PRECISION;
        /* tier -1: L interpolated from its values on a circle; then its
         * coefficients directly, in float64, long double, quad */
        /* threads only where a pass outweighs their start-up and barriers */
        const int threads = D >= FANOUT_THREADED_ROWS ? n_threads : 1;
        for (int tier = -1; tier < N_TIERS && status == JZ_ERR_PRECISION &&
                            (tier < 2 || D <= FANOUT_QUAD_MAX_ROWS); tier++) {
            if ((status = ensure_degree(&w, &D_max, D)) != JZ_OK)
                break;
            if (tier < 0)
                status = circle_values(&w, &f, q, D, beta[k], threads);
            else if ((status = coefficients(&w, q, D, tier, threads)) == JZ_OK) {
                f.center = 0;
                f.radius = 1;
                for (int m = 0; m <= D; m++) {
                    f.base[m] = w.ell[m];
                    f.base_err[m] = w.coef_abs[m];
                }
            }
            if (status != JZ_OK)
                break;
            status = fan_mode(&f, &w, &D_max, D, b, g, sub_beta + (size_t)k * K,
                              u + (size_t)k * K, n_det, F, &fired[k], &N, &s, unresolved,
                              &refusal);
        }
        if (status == JZ_ERR_PRECISION) {
            fired[k] = -1;
            *unresolved = refusal;
        }
        if (status != JZ_OK)
            break;
        if (N) {
            rows[k] = N;
            D += N;
            for (int i = 0; i < M; i++)
                w.loops[i] += B[(size_t)i * M + k] * s;
        }
    }
    free_workspace(&w);
    free_fan(&f);
    free(rows);
    return status;
}

/* Clicks of `shots` shots by the fan-out route: B (M x M), loops and beta
 * (shots x M), sub_beta and u (shots x M x K, K = n_det F, mode by mode),
 * order (shots x M: the modes in the order measured).  fired: shots x M
 * output (detectors fired per mode; -1 marks a refused draw's mode);
 * unresolved, status per shot.  shot_threads shots run in parallel, each
 * with inner_threads threads for its loop hafnians; every shot uses only
 * its own inputs and the loop hafnians do not depend on the threads, so the
 * clicks do not depend on either. */
int jz_sample_fanout(const void *B_, int M, int shots, const void *loops_, const void *beta_,
                     const void *sub_beta_, const double *u, const int64_t *order, int n_det,
                     int F, int64_t *fired, double *unresolved, int *status, int shot_threads,
                     int inner_threads)
{
    const jz_z *B = B_, *loops = loops_, *beta = beta_, *sub_beta = sub_beta_;
    if (M < 0 || shots < 0 || n_det < 1 || F < 1)
        return JZ_ERR_ARGUMENT;
    const size_t K = (size_t)n_det * F;
    if (shot_threads < 1)
        shot_threads = 1;
    if (inner_threads < 1)
        inner_threads = 1;
    jz_stop local, *st = jz_stop_begin(&local);
    int finished = 0, failed = JZ_OK;
#pragma omp parallel num_threads(shot_threads)
    {
        jz_stop *previous = jz_stop_join(st);
#pragma omp for schedule(dynamic, 1) nowait
        for (int s = 0; s < shots; s++)
            status[s] = jz_stopped(st)
                            ? JZ_INTERRUPTED
                            : fan_shot(B, M, loops + (size_t)s * M, beta + (size_t)s * M,
                                       sub_beta + (size_t)s * M * K, u + (size_t)s * M * K,
                                       order + (size_t)s * M, n_det, F, inner_threads,
                                       fired + (size_t)s * M, unresolved + s, st);
        jz_stop_drain(st, &finished);
        jz_stop_join(previous);
    }
    for (int s = 0; s < shots && failed == JZ_OK; s++)
        failed = status[s];
    return jz_stop_end(st, &local, failed);
}
