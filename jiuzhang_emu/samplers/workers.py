"""Where a run's batches are drawn: this process, local worker processes, or
a Dask cluster.

:func:`map_batches` calls ``draw(index, size)`` for each batch and yields
the results in batch order; batches depend only on their index, so the
results do not depend on where they are drawn.

Local worker processes run on a loky ``ProcessPoolExecutor``: workers are
started fresh (fork + exec, never a fork of a process whose OpenMP runtime
is live) and do not re-run the caller's ``__main__`` module, so a plain
script without an ``if __name__ == "__main__":`` guard can use them.  A
broken pool is reported, never waited on: a worker that dies is a
:class:`WorkerError` naming it and its signal, or an interrupt when it was
ended by SIGTERM or SIGINT (`timeout` signals the whole process group).
Interrupting a run (Ctrl-C, or SIGTERM where the caller turns it into
KeyboardInterrupt) stops it within a second or two: the native kernels poll
for signals, and leaving the pool kills its workers.  A worker also exits at
once when the process that started it dies without cleaning up (SIGKILL):
it watches its parent (see :func:`_start_worker`).
"""
import contextlib
import os
import signal
import threading
import time
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from jiuzhang_emu.errors import InputError, JiuzhangEmuError


class WorkerError(JiuzhangEmuError, RuntimeError):
    """A worker process died while the run was sampling."""


def check_n_workers(n_workers):
    if isinstance(n_workers, bool) or not isinstance(n_workers, (int, np.integer)) or n_workers < 1:
        raise InputError(f"n_workers must be an integer >= 1, got {n_workers!r}")
    return int(n_workers)


def map_batches(draw, batches, n_workers=1, client=None):
    """Yield ``(index, draw(index, size))`` for ``batches``, pairs (index,
    size), in order: in this process (``n_workers`` 1), on ``n_workers``
    local worker processes, or on the Dask ``client``'s cluster.  ``draw``
    must pickle for the last two."""
    if client is not None:
        futures = client.map(draw, *zip(*batches), pure=False) if batches else []
        try:
            for (index, _), future in zip(batches, futures):
                yield index, future.result()
        finally:
            client.cancel(futures)
        return
    if n_workers == 1:
        for index, size in batches:
            yield index, draw(index, size)
        return
    yield from _local_pool(draw, batches, n_workers)


def _local_pool(draw, batches, n_workers):
    from loky import ProcessPoolExecutor

    executor = ProcessPoolExecutor(n_workers, initializer=_start_worker,
                                   initargs=(draw, os.getpid()))
    workers, finished = {}, False
    try:
        futures = [executor.submit(_draw_batch, index, size) for index, size in batches]
        for (index, _), future in zip(batches, futures):
            yield index, _next_result(future, executor, workers)
        finished = True
    finally:
        results, manager = executor._result_queue, executor._executor_manager_thread
        executor.shutdown(wait=False, kill_workers=True)
        for worker in _seen_workers(executor, workers).values():
            if worker.exitcode is None:
                with contextlib.suppress(OSError):
                    os.kill(worker.pid, signal.SIGKILL)
            worker.join(1)
        if not finished and manager is not None:
            _unblock(manager, results)


def _unblock(manager, results, seconds=1.0):
    """End the wait of a pool's ``manager`` thread for the rest of a result
    that a worker killed while sending it never sent (the interpreter joins
    that thread at exit): with the workers gone, closing this process's
    write end of the ``results`` pipe makes the read end at EOF.  Idle
    workers (a run that finished) send nothing, so only an interrupted run
    needs this."""
    manager.join(seconds)  # a manager that is not stuck closes the pipe itself
    if manager.is_alive():
        with contextlib.suppress(OSError):
            results._writer.close()


def _seen_workers(executor, workers):
    """Add the executor's live worker processes to ``workers`` (pid ->
    process) and return it: a broken executor forgets its processes."""
    workers.update(getattr(executor, "_processes", None) or {})
    return workers


def _next_result(future, executor, workers, poll_seconds=1.0):
    """The result of a batch's ``future``, waited for in slices, so that this
    thread runs its signal handlers and sees a worker that died (the batches
    it held are lost)."""
    while True:
        _check_workers(_seen_workers(executor, workers))
        try:
            return future.result(timeout=poll_seconds)
        except FuturesTimeout:
            pass
        except BrokenProcessPool:
            _check_workers(workers)
            raise WorkerError("a worker process ended while sampling; the batches it held "
                              "are lost, so the run stops") from None


def _check_workers(workers):
    """Raise for the dead workers in ``workers``: WorkerError naming one that
    did not end by SIGTERM/SIGINT (the pool ends the others once one died),
    else KeyboardInterrupt."""
    dead = {pid: worker.exitcode for pid, worker in workers.items()
            if worker.exitcode is not None}
    if not dead:
        return
    interrupts = (-signal.SIGTERM, -signal.SIGINT)
    for pid, code in dead.items():
        if code in interrupts:
            continue
        try:
            cause = f"killed by {signal.Signals(-code).name}" if code < 0 else None
        except ValueError:
            cause = f"killed by signal {-code}"
        cause = cause or f"exit status {code}"
        raise WorkerError(f"worker process {pid} ended while sampling ({cause}); "
                          f"the batches it held are lost, so the run stops")
    raise KeyboardInterrupt


_WORKER_DRAW = None


def _start_worker(draw, caller):
    """Pool initializer: keep ``draw``; Ctrl-C is the caller's to handle (it
    ends the pool); exit as soon as the caller (pid ``caller``, the worker's
    parent) is gone.

    A worker whose caller was killed would otherwise live on, waiting for
    tasks on a queue whose write end it holds itself, with the caller's
    stdout and stderr.  When the parent dies the worker is re-parented,
    which the watch thread sees.
    """
    global _WORKER_DRAW
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_DRAW = draw
    threading.Thread(target=_exit_with_parent, args=(caller,), daemon=True,
                     name="jiuzhang_emu-parent-watch").start()


def _exit_with_parent(caller, poll_seconds=0.2):
    while os.getppid() == caller:
        time.sleep(poll_seconds)
    os._exit(1)


def _draw_batch(index, size):
    return _WORKER_DRAW(index, size)
