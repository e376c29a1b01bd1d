#define _POSIX_C_SOURCE 200809L  /* clock_gettime, nanosleep under -std=c11 */
#include <time.h>

#include "jz_common.h"

int jz_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int jz_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Interruption (see jz_common.h).  The owner reads the clock about every
 * JZ_CLOCK_SECONDS: the number of polls between two reads adapts to the work
 * between polls, so that a poll costs a compare and a decrement. */
#define JZ_CLOCK_SECONDS 1e-3
#define JZ_SPIN_SECONDS 1e-2   /* jz_stop_drain spins this long, then naps */

int (*jz_interrupt_hook)(void) = NULL;

static _Thread_local jz_stop *current;   /* the call this thread works for */

void jz_set_interrupt_hook(int (*hook)(void))
{
    jz_interrupt_hook = hook;
}

static double now_seconds(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC
    clock_gettime(CLOCK_MONOTONIC, &ts);
#else
    timespec_get(&ts, TIME_UTC);
#endif
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef _OPENMP
static void nap(void)
{
#if defined(__unix__) || defined(__APPLE__)
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
#endif
}
#endif

jz_stop *jz_stop_begin(jz_stop *local)
{
    if (current)
        return current;
    local->stop = 0;
    local->owner = &current;
    local->countdown = local->stride = 1;
    local->last = now_seconds();
    local->next = local->last + JZ_POLL_SECONDS;
    current = local;
    return local;
}

int jz_stop_end(jz_stop *st, jz_stop *local, int status)
{
    int stop;
    if (st == local)
        current = NULL;
#pragma omp atomic read
    stop = st->stop;
    return stop ? JZ_INTERRUPTED : status;
}

jz_stop *jz_stop_join(jz_stop *st)
{
    jz_stop *previous = current;
    current = st;
    return previous;
}

/* The owner's hook call, when due (never again once stopped). */
static int ask_hook(jz_stop *st, double now)
{
    if (now < st->next || st->stop)
        return st->stop;
    st->next = now + JZ_POLL_SECONDS;
    if (jz_interrupt_hook && jz_interrupt_hook()) {
#pragma omp atomic write
        st->stop = 1;
    }
    return st->stop;
}

int jz_stop_poll(jz_stop *st)
{
    if (st->owner != (const void *)&current || --st->countdown > 0)
        return 0;
    const double now = now_seconds(), gap = now - st->last;
    if (gap < JZ_CLOCK_SECONDS / 2) {
        if (st->stride < (1L << 30))
            st->stride *= 2;
    } else if (gap > 2 * JZ_CLOCK_SECONDS) {
        const long stride = (long)((double)st->stride * (JZ_CLOCK_SECONDS / gap));
        st->stride = stride > 1 ? stride : 1;
    }
    st->countdown = st->stride;
    st->last = now;
    return ask_hook(st, now);
}

/* After a `nowait` loop: counts this thread as finished; the owner keeps
 * polling until the whole team has finished (at the barrier it could not). */
void jz_stop_drain(jz_stop *st, int *finished)
{
#ifdef _OPENMP
#pragma omp atomic
    (*finished)++;
    if (st->owner != (const void *)&current || !jz_interrupt_hook)
        return;
    const int team = omp_get_num_threads();
    const double start = now_seconds();
    for (;;) {
        int done;
#pragma omp atomic read
        done = *finished;
        if (done >= team)
            return;
        const double now = now_seconds();
        ask_hook(st, now);
        if (now - start > JZ_SPIN_SECONDS)
            nap();
    }
#else
    (void)st;
    (void)finished;
#endif
}

int jz_run_batch(int (*item)(void *ctx, long i), void *ctx, long n, int n_threads,
                 int *status)
{
    jz_stop local, *st = jz_stop_begin(&local);
    int finished = 0;
    if (n_threads < 1)
        n_threads = 1;
#pragma omp parallel num_threads(n_threads)
    {
        jz_stop *previous = jz_stop_join(st);
#pragma omp for schedule(dynamic, 1) nowait
        for (long i = 0; i < n; i++)
            status[i] = jz_stopped(st) ? JZ_INTERRUPTED : item(ctx, i);
        jz_stop_drain(st, &finished);
        jz_stop_join(previous);
    }
    (void)finished;
    return jz_stop_end(st, &local, JZ_OK);
}
