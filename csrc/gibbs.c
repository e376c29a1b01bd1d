/* Gibbs sweeps of a Boltzmann machine over 0/1 variables (the k = 2
 * low-order marginal sampler of Villalonga, Niu, Li, Neven, Platt,
 * Smelyanskiy, Boixo, arXiv:2109.11525; jiuzhang_emu/samplers/boltzmann.py
 * fits the machine).
 *
 *   P(x) ~ exp(sum_k h_k x_k + sum_{j<k} J_jk x_j x_k),   x in {0, 1}^M,
 *
 * J symmetric with a zero diagonal.  One sweep visits k = 0 .. M-1 in order
 * and draws x_k from its heat-bath conditional
 *
 *   P(x_k = 1 | x_rest) = 1 / (1 + exp(-f_k)),   f_k = h_k + sum_j J_kj x_j,
 *
 * by x_k = (u < P), u the caller's uniform for (chain, sweep, k).  The local
 * fields f are computed once per call and kept up to date: a change of x_k
 * by d = +-1 adds d J[k, :] to f (O(M) per flip; J row-major and f in
 * float32, which halves the memory traffic of a flip against float64: the
 * fields are rebuilt from h and x at every call, so their rounding error is
 * that of at most a few hundred thousand float32 additions, ~1e-4 of a
 * field of order 1 in the worst case, far below what moves a probability
 * by the shot noise of 10^4 shots).  Chains are independent; a thread takes a block of JZ_GIBBS_BLOCK
 * chains and runs them in lockstep site by site, so that row k of J is read
 * once from memory for the whole block.  Every chain's arithmetic is the same
 * whatever the blocking and the number of threads, so results do not depend
 * on n_threads.  No randomness inside: the uniforms come from the caller.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jz_kernels.h"

#define JZ_GIBBS_BLOCK 8

static int gibbs_block(const float *J, const double *h, int M, int n_chains, int sweeps,
                       const double *u, uint8_t *x, int record_from, int record_every,
                       int n_records, uint8_t *records, jz_stop *st)
{
    float *f = malloc((size_t)n_chains * M * sizeof(float));
    if (!f)
        return JZ_ERR_MEMORY;
    for (int c = 0; c < n_chains; c++) {
        float *fc = f + (size_t)c * M;
        const uint8_t *xc = x + (size_t)c * M;
        for (int k = 0; k < M; k++)
            fc[k] = (float)h[k];
        for (int j = 0; j < M; j++) {
            if (!xc[j])
                continue;
            const float *Jj = J + (size_t)j * M;
            for (int k = 0; k < M; k++)
                fc[k] += Jj[k];
        }
    }
    int recorded = 0, status = JZ_OK;
    for (int s = 0; s < sweeps; s++) {
        if (jz_stopped(st)) {
            status = JZ_INTERRUPTED;
            break;
        }
        for (int k = 0; k < M; k++) {
            const float *Jk = J + (size_t)k * M;
            for (int c = 0; c < n_chains; c++) {
                float *fc = f + (size_t)c * M;
                uint8_t *xc = x + (size_t)c * M;
                const double uk = u[((size_t)c * sweeps + s) * M + k];
                const uint8_t next = uk * (1.0 + exp(-(double)fc[k])) < 1.0;
                if (next == xc[k])
                    continue;
                xc[k] = next;
                if (next) {
                    for (int j = 0; j < M; j++)
                        fc[j] += Jk[j];
                } else {
                    for (int j = 0; j < M; j++)
                        fc[j] -= Jk[j];
                }
            }
        }
        const int done = s + 1;
        if (done >= record_from && (done - record_from) % record_every == 0
            && recorded < n_records) {
            for (int c = 0; c < n_chains; c++)
                memcpy(records + ((size_t)c * n_records + recorded) * M, x + (size_t)c * M,
                       (size_t)M);
            recorded++;
        }
    }
    free(f);
    return status;
}

/* `sweeps` sweeps of `chains` chains.  J: M x M float32, symmetric, zero
 * diagonal; h: M; u: chains x sweeps x M uniforms in [0, 1]; x: chains x M
 * states (0 / 1), updated in place.  After sweep s (1-based) with
 * s >= record_from and (s - record_from) % record_every == 0 the states are
 * copied to records (chains x n_records x M), at most n_records times. */
int jz_gibbs_sweeps(const float *J, const double *h, int M, int chains, int sweeps,
                    const double *u, uint8_t *x, int record_from, int record_every,
                    int n_records, uint8_t *records, int n_threads)
{
    if (M < 1 || chains < 0 || sweeps < 0 || record_from < 1 || record_every < 1
        || n_records < 0)
        return JZ_ERR_ARGUMENT;
    if (n_threads < 1)
        n_threads = 1;
    const int n_blocks = (chains + JZ_GIBBS_BLOCK - 1) / JZ_GIBBS_BLOCK;
    int *status = calloc((size_t)(n_blocks > 0 ? n_blocks : 1), sizeof(int));
    if (!status)
        return JZ_ERR_MEMORY;
    jz_stop local, *st = jz_stop_begin(&local);
    int finished = 0, failed = JZ_OK;
#pragma omp parallel num_threads(n_threads)
    {
        jz_stop *previous = jz_stop_join(st);
#pragma omp for schedule(dynamic, 1) nowait
        for (int b = 0; b < n_blocks; b++) {
            const int first = b * JZ_GIBBS_BLOCK;
            const int n = chains - first < JZ_GIBBS_BLOCK ? chains - first : JZ_GIBBS_BLOCK;
            status[b] = jz_stopped(st) ? JZ_INTERRUPTED
                        : gibbs_block(J, h, M, n, sweeps, u + (size_t)first * sweeps * M,
                                      x + (size_t)first * M, record_from, record_every,
                                      n_records, records + (size_t)first * n_records * M, st);
        }
        jz_stop_drain(st, &finished);
        jz_stop_join(previous);
    }
    for (int b = 0; b < n_blocks && failed == JZ_OK; b++)
        failed = status[b];
    free(status);
    return jz_stop_end(st, &local, failed);
}
