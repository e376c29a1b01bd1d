/* Shared definitions for the jiuzhang_emu native kernels.
 *
 * Every kernel is a pure C function: row-major inputs, caller-owned outputs,
 * an integer status returned.  Work is split into a fixed number of tasks
 * whose partial sums are added in task order, so a result does not depend on
 * the number of threads.
 */
#ifndef JZ_COMMON_H
#define JZ_COMMON_H

#include <complex.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    JZ_OK = 0,
    JZ_ERR_MEMORY = 1,      /* workspace allocation failed */
    JZ_ERR_NOT_PD = 2,      /* matrix not positive definite (torontonian) */
    JZ_ERR_ARGUMENT = 3     /* invalid size or argument */
};

/* The number of tasks a parallel loop is split into; fixed so that the
 * summation order, and therefore the result, is the same for any thread
 * count. */
#define JZ_TASKS 256

typedef double _Complex jz_z;
typedef long double _Complex jz_lz;

int jz_openmp_enabled(void);
int jz_max_threads(void);

/* Neumaier compensated summation of real values. */
typedef struct { long double sum, comp; } jz_acc;

#endif
