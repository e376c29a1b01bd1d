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
 * normaliser.  Nothing is truncated; when rounding leaves the cumulative sum a
 * hair below the target after the distribution is exhausted (left < 1e-12),
 * the draw stops there and the left-over fraction is reported.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jz_kernels.h"

#define RESOLVED 1e-12

/* int |sum_m ell_m z^m|^2 |e^{b z^2/2 + g z}|^2 e^{-|z|^2} d^2z / pi */
static double normaliser(const jz_z *ell, int D, jz_z b, jz_z g, jz_z *mom)
{
    const double P00 = 2 * (1 - creal(b)), P01 = 2 * cimag(b), P11 = 2 * (1 + creal(b));
    const double det = P00 * P11 - P01 * P01;
    const double C00 = P11 / det, C01 = -P01 / det, C11 = P00 / det;
    const double h0 = 2 * creal(g), h1 = -2 * cimag(g);
    const double m0 = C00 * h0 + C01 * h1, m1 = C01 * h0 + C11 * h1;
    const double weight = 2 / sqrt(det) * exp(0.5 * (h0 * m0 + h1 * m1));
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
                    v += (a - 1) * s * mom[(a - 2) * d + c];
                if (c > 0)
                    v += c * t * mom[(a - 1) * d + c - 1];
            } else {
                v = conj(mu) * mom[c - 1];
                if (c > 1)
                    v += (c - 1) * conj(s) * mom[c - 2];
            }
            mom[a * d + c] = v;
        }
    jz_z total = 0;
    for (int a = 0; a < d; a++)
        for (int c = 0; c < d; c++)
            total += ell[a] * mom[a * d + c] * conj(ell[c]);
    return weight * creal(total);
}

typedef struct {
    int *V, *groups, *occupied;
    int64_t *reps;
    jz_z *loops, *sub, *sub_loops, *sub_column, *ell, *mom, *q;
    double *coef, *coef_abs;
    int q_cap;
} workspace;

static void free_degree_buffers(workspace *w)
{
    free(w->V); free(w->groups); free(w->occupied); free(w->reps);
    free(w->sub); free(w->sub_loops); free(w->sub_column); free(w->ell); free(w->mom);
    free(w->coef); free(w->coef_abs);
}

static void free_workspace(workspace *w)
{
    free_degree_buffers(w);
    free(w->loops); free(w->q);
}

/* Buffers sized by D_max, the largest number of photons before a mode. */
static int alloc_degree_buffers(workspace *w, int D_max)
{
    const size_t d = (size_t)D_max + 2;
    w->V = malloc(sizeof(int) * 2 * d);
    w->groups = malloc(sizeof(int) * 2 * d);
    w->occupied = malloc(sizeof(int) * d);
    w->reps = malloc(sizeof(int64_t) * d);
    w->sub = malloc(sizeof(jz_z) * d * d);
    w->sub_loops = malloc(sizeof(jz_z) * d);
    w->sub_column = malloc(sizeof(jz_z) * d);
    w->ell = malloc(sizeof(jz_z) * d);
    w->mom = malloc(sizeof(jz_z) * d * d);
    w->coef = malloc(sizeof(double) * 2 * d);
    w->coef_abs = malloc(sizeof(double) * d);
    if (!w->V || !w->groups || !w->occupied || !w->reps || !w->sub || !w->sub_loops ||
        !w->sub_column || !w->ell || !w->mom || !w->coef || !w->coef_abs)
        return JZ_ERR_MEMORY;
    return JZ_OK;
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
    free_degree_buffers(w);
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
        /* ell: coefficients of L(z) = lhaf(B_occ; n_occ; loops + z B[occ, k]), one pass */
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
        {
            int nv, ng;
            pairing(w.reps, q, w.V, &nv, w.groups, &ng);
            status = jz_loop_hafnian_zpoly_z(w.sub, q, w.sub_loops, w.sub_column, D + 1, w.V,
                                             nv, w.groups, ng, 1, w.coef, w.coef_abs);
            if (status != JZ_OK)
                goto done;
            for (int m = 0; m <= D; m++)
                w.ell[m] = w.coef[2 * m] + I * w.coef[2 * m + 1];
        }
        const jz_z b = B[(size_t)k * M + k], g = w.loops[k];
        const double norm = normaliser(w.ell, D, b, g, w.mom);
        if (!(norm > 0) || !isfinite(norm)) {
            status = JZ_ERR_ARGUMENT;
            break;
        }
        const double target = u[k] * norm;
        double total = 0;
        int j = -1;
        w.q[0] = 1;
        int n_q = 1;
        for (;;) {
            j++;
            while (n_q <= j) {
                if (n_q == w.q_cap) {
                    jz_z *grown = realloc(w.q, sizeof(jz_z) * 2 * w.q_cap);
                    if (!grown) {
                        status = JZ_ERR_MEMORY;
                        goto done;
                    }
                    w.q = grown;
                    w.q_cap *= 2;
                }
                const int i = n_q - 1;
                jz_z next = g * w.q[i];
                if (i)
                    next += b * sqrt((double)i) * w.q[i - 1];
                w.q[n_q++] = next / sqrt((double)(i + 1));
            }
            jz_z amp = 0;
            double weight = 1;
            for (int m = 0; m <= D && m <= j; m++) {
                amp += w.ell[m] * weight * w.q[j - m];
                weight *= sqrt((double)(j - m));
            }
            total += creal(amp) * creal(amp) + cimag(amp) * cimag(amp);
            if (total > target)
                break;
            const double left = norm - total;
            if (left <= RESOLVED * norm && j > D + 4 * cabs(g) * cabs(g) + 16) {
                if (left / norm > *unresolved)
                    *unresolved = left / norm;
                break;
            }
        }
        pattern[k] = j;
        D += j;
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
