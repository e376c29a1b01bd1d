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
    JZ_ERR_ARGUMENT = 3,    /* invalid size or argument */
    JZ_INTERRUPTED = 4,     /* stopped by jz_interrupt_hook: no result */
    JZ_ERR_PRECISION = 5    /* rounding could exceed the kernel's budget in every tier */
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

/* Interruption.  A kernel call and every kernel call nested in it (on its
 * threads) share one jz_stop.  Only the thread that started the call (the
 * owner) asks jz_interrupt_hook, at most every JZ_POLL_SECONDS; once the hook
 * returns nonzero, stop is set, every thread skips its remaining work, and the
 * call returns JZ_INTERRUPTED.  Polling changes no arithmetic: a call that is
 * not interrupted returns exactly what it returned without it.
 *
 *   jz_stop local, *st = jz_stop_begin(&local);   the enclosing call's, or local
 *   ... jz_stopped(st) between pieces of work of a microsecond or more ...
 *   return jz_stop_end(st, &local, status);
 *
 * A parallel loop whose owner could run out of tasks before the others ends
 * with `nowait` and jz_stop_drain, so that the owner keeps polling meanwhile;
 * a parallel region whose threads call kernels joins them with jz_stop_join. */
#define JZ_POLL_SECONDS 0.05
/* Recursions poll at nodes with at least this many levels below them (2^6
 * leaves or more), so that a poll is a small part of the work it follows. */
#define JZ_POLL_LEVELS 6

typedef struct {
    int stop;                         /* read by every thread */
    const void *owner;
    _Alignas(64) long countdown, stride;  /* the owner's, on their own cache line */
    double last, next;
} jz_stop;

extern int (*jz_interrupt_hook)(void);   /* NULL: never interrupted */
void jz_set_interrupt_hook(int (*hook)(void));

jz_stop *jz_stop_begin(jz_stop *local);
int jz_stop_end(jz_stop *st, jz_stop *local, int status);
jz_stop *jz_stop_join(jz_stop *st);   /* returns the one this thread had */
int jz_stop_poll(jz_stop *st);
void jz_stop_drain(jz_stop *st, int *finished);

/* Nonzero once the call must stop; cheap, any thread. */
static inline int jz_stopped(jz_stop *st)
{
    int stop;
#pragma omp atomic read
    stop = st->stop;
    return stop || (jz_interrupt_hook && jz_stop_poll(st));
}

/* Runs item(ctx, i) for i < n on n_threads threads (dynamic schedule), the
 * status of each in status[i]; the items' kernel calls share one jz_stop.
 * Returns JZ_INTERRUPTED if stopped, else JZ_OK. */
int jz_run_batch(int (*item)(void *ctx, long i), void *ctx, long n, int n_threads,
                 int *status);

#endif
