# Declarations of the C kernels in csrc/jz_kernels.h.  Array arguments are
# passed as void pointers; the C prototypes fix their element types.

from libc.stdint cimport int32_t, int64_t, uint8_t


cdef extern from "jz_kernels.h" nogil:
    int JZ_OK
    int JZ_ERR_MEMORY
    int JZ_ERR_NOT_PD
    int JZ_ERR_ARGUMENT
    int JZ_INTERRUPTED
    int JZ_ERR_PRECISION

    int jz_openmp_enabled()
    int jz_max_threads()
    void jz_set_interrupt_hook(int (*hook)() noexcept nogil)
    int jz_run_batch(int (*item)(void *ctx, long i) noexcept nogil, void *ctx, long n,
                     int n_threads, int *status)

    int jz_loop_hafnian_d(const void *A, int dim, const void *loops, const int *V, int nv,
                          const int *group_k, int n_groups, int n_threads,
                          double *out, double *out_abs)
    int jz_loop_hafnian_ld(const void *A, int dim, const void *loops, const int *V, int nv,
                           const int *group_k, int n_groups, int n_threads,
                           double *out, double *out_abs)
    int jz_loop_hafnian_z(const void *A, int dim, const void *loops, const int *V, int nv,
                          const int *group_k, int n_groups, int n_threads,
                          double *out, double *out_abs)
    int jz_loop_hafnian_lz(const void *A, int dim, const void *loops, const int *V, int nv,
                           const int *group_k, int n_groups, int n_threads,
                           double *out, double *out_abs)

    int jz_loop_hafnian_zpoly_z(const void *A, int dim, const void *loops, const void *loops1,
                                int n_z, const int *V, int nv, const int *group_k,
                                int n_groups, int n_threads, double *out, double *out_abs)
    int jz_loop_hafnian_zpoly_lz(const void *A, int dim, const void *loops, const void *loops1,
                                 int n_z, const int *V, int nv, const int *group_k,
                                 int n_groups, int n_threads, double *out, double *out_abs)
    int jz_loop_hafnian_zeval_z(const void *A, int dim, const void *loops, const void *loops1,
                                const void *points, int n_points, const int *V, int nv,
                                const int *group_k, int n_groups, int n_threads, double *out,
                                double *out_abs)
    int jz_loop_hafnian_zeval_lz(const void *A, int dim, const void *loops, const void *loops1,
                                 const void *points, int n_points, const int *V, int nv,
                                 const int *group_k, int n_groups, int n_threads, double *out,
                                 double *out_abs)
    int JZ_HAS_QUAD
    int jz_loop_hafnian_zpoly_qz(const void *A, int dim, const void *loops, const void *loops1,
                                 int n_z, const int *V, int nv, const int *group_k,
                                 int n_groups, int n_threads, double *out, double *out_abs)

    int jz_torontonian_d(const void *M, const void *v, int n, int n_threads,
                         double *out, double *out_abs)
    int jz_torontonian_ld(const void *M, const void *v, int n, int n_threads,
                          double *out, double *out_abs)
    int jz_torontonian_z(const void *M, const void *v, int n, int n_threads,
                         double *out, double *out_abs)
    int jz_torontonian_lz(const void *M, const void *v, int n, int n_threads,
                          double *out, double *out_abs)

    int jz_permanent_d(const void *A, int n, int n_threads, double *out, double *out_abs)
    int jz_permanent_ld(const void *A, int n, int n_threads, double *out, double *out_abs)
    int jz_permanent_z(const void *A, int n, int n_threads, double *out, double *out_abs)
    int jz_permanent_lz(const void *A, int n, int n_threads, double *out, double *out_abs)

    int jz_sample_photons(const void *B, int M, int shots, const void *loops, const void *beta,
                          const double *u, int64_t *pattern, double *unresolved, int *status,
                          int n_threads)
    int jz_sample_fanout(const void *B, int M, int shots, const void *loops, const void *beta,
                         const void *sub_beta, const double *u, const int64_t *order,
                         int n_det, int F, int64_t *fired, double *unresolved, int *status,
                         int shot_threads, int inner_threads)
    int jz_sample_clicks_d(const double *G, const double *v, int n_blocks, int block,
                           int shots, const double *u, int64_t *clicks, double *condition,
                           int *status, int n_threads)
    int jz_sample_clicks_ld(const double *G, const double *v, int n_blocks, int block,
                            int shots, const double *u, int64_t *clicks, double *condition,
                            int *status, int n_threads)
    int jz_sample_clicks_dd(const double *G, const double *v, int n_blocks, int block,
                            int shots, const double *u, int64_t *clicks, double *condition,
                            int *status, int n_threads)
    int jz_click_probabilities_d(const double *G, const double *v, const double *g,
                                 int n_blocks, int block, int n, const int64_t *patterns,
                                 double *log_prob, double *condition, int *status,
                                 int n_threads)
    int jz_click_probabilities_ld(const double *G, const double *v, const double *g,
                                  int n_blocks, int block, int n, const int64_t *patterns,
                                  double *log_prob, double *condition, int *status,
                                  int n_threads)
    int jz_click_probabilities_dd(const double *G, const double *v, const double *g,
                                  int n_blocks, int block, int n, const int64_t *patterns,
                                  double *log_prob, double *condition, int *status,
                                  int n_threads)

    int jz_torontonian_dd(const void *O, const void *gamma, int n, int n_threads,
                          double *out, double *out_abs)

    int jz_greedy_columns(uint8_t *X, int64_t L, int M, int j0, int j1, const double *p,
                          const double *pair, const int32_t *order, int n_threads)
    int jz_greedy_refine(uint8_t *X, int64_t L, int M, int j0, int j1, const double *pair,
                         const int32_t *order, double click_weight, int n_threads,
                         int64_t *flips)
    int jz_gibbs_sweeps(const float *J, const double *h, int M, int chains, int sweeps,
                        const double *u, uint8_t *x, int record_from, int record_every,
                        int n_records, uint8_t *records, int n_threads)
