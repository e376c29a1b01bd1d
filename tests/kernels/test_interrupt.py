"""Native kernels stop on Ctrl-C (SIGINT) or SIGTERM within a second or two.

Each test starts a call that would run for minutes in a child process, signals
it once the call has run for a while, and checks that the child exits within
a few seconds with the exception that the signal handler raised, from the
native layer.  Uninterrupted results are unchanged (the rest of the kernel
tests); a handler that does not raise leaves a result exactly as it was.
"""
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import jiuzhang_emu as jz

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PRELUDE = """
import numpy as np
import jiuzhang_emu as jz
import jiuzhang_emu.presets as presets
rng = np.random.default_rng(1)
def symmetric(n):
    X = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    return (X + X.T) / np.sqrt(n)
"""

# Each call below runs for minutes or more on two cores (2^28 leaves of a
# 28-pair hafnian, 2^36 subsets, 2^33 permanent terms; a bright 24-mode
# experiment: ~120 photons a shot, or ~20 clicks, about 0.5 s a shot).
CALLS = {
    "hafnian": "jz.hafnian(symmetric(56), max_seconds=None)",
    "loop_hafnian": "jz.loop_hafnian(symmetric(56), max_seconds=None)",
    "torontonian": "jz.torontonian(O36, max_seconds=None)",
    "loop_torontonian": "jz.loop_torontonian(O36, 0.1 * np.ones(72), max_seconds=None)",
    "torontonian_dd": "jz.torontonian(O36, precision='double-double', max_seconds=None)",
    "permanent": "jz.permanent(rng.normal(size=(34, 34)), max_seconds=None)",
    # one long item per thread, or one item and an idle calling thread
    "hafnian_batch": "jz.hafnian_batch(np.stack([symmetric(56)] * 2), n_threads=2, "
                     "max_seconds=None)",
    "torontonian_batch": "jz.torontonian_batch(O36[None], n_threads=2, max_seconds=None)",
    "exact_sampler": "bright.sample(2, rng=1, method='exact', max_seconds=None)",
    "click_sampler": "bright.sample(200, rng=1, method='threshold-chain', max_seconds=None)",
}
SETUP = {  # variables the calls use
    "O36": "O36 = presets.jiuzhang_like(36, r=1.0, transmission=0.5, rng=1)"
           ".output_state().o_matrix()",
    "bright": "bright = presets.jiuzhang_like(24, r=1.6, transmission=0.9, rng=1)",
}


def _run_and_signal(call, sig, handler="", wait=1.5, timeout=5.0):
    """Start `call` in a child, send `sig` `wait` s after it started; returns
    (exit code, stdout, stderr, seconds from the signal to the exit)."""
    setup = "\n".join(line for name, line in SETUP.items() if name in call)
    code = (PRELUDE + handler + setup + "\nprint('started', flush=True)\n" + call
            + "\nprint('finished', flush=True)\n")
    # from an empty folder, so that the child imports the installed build, not the source tree
    with tempfile.TemporaryDirectory() as cwd, subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=cwd) as child:
        try:
            started = child.stdout.readline()
            if started.strip() != "started":
                out, err = child.communicate(timeout=60)
                pytest.fail(f"the child did not start: {started}{out}\n{err}")
            time.sleep(wait)
            assert child.poll() is None, "the call ended before the signal"
            child.send_signal(sig)
            sent = time.monotonic()
            out, err = child.communicate(timeout=timeout)
            return child.returncode, started + out, err, time.monotonic() - sent
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()


@pytest.mark.parametrize("name", CALLS)
def test_sigint_stops_the_call(name):
    code, out, err, seconds = _run_and_signal(CALLS[name], signal.SIGINT)
    assert "finished" not in out
    assert "KeyboardInterrupt" in err, err
    assert "_kernels" in err.rsplit("Traceback", 1)[-1], err  # raised by the native layer
    assert code in (-signal.SIGINT, 128 + signal.SIGINT, 1), (code, err)
    assert seconds < 5


def test_sigterm_handler_exception_is_raised():
    handler = """
import signal
class Terminated(Exception):
    pass
def on_sigterm(signum, frame):
    raise Terminated("SIGTERM received")
signal.signal(signal.SIGTERM, on_sigterm)
"""
    code, out, err, seconds = _run_and_signal(CALLS["hafnian"], signal.SIGTERM, handler)
    assert "finished" not in out
    assert "Terminated: SIGTERM received" in err, err
    assert "KeyboardInterrupt" not in err
    assert code == 1
    assert seconds < 5


def test_handler_that_does_not_raise_leaves_the_result_unchanged():
    """Python signal handlers run during the call (the kernel polls them) and,
    when they do not raise, the result is bit for bit the same."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 40)) + 1j * rng.normal(size=(40, 40))
    A = (X + X.T) / np.sqrt(40)
    quiet = jz.hafnian(A, n_threads=2)
    handled = []
    previous = signal.signal(signal.SIGALRM,
                             lambda signum, frame: handled.append(time.monotonic()))
    signal.setitimer(signal.ITIMER_REAL, 0.005, 0.005)
    try:
        noisy = jz.hafnian(A, n_threads=2)
        returned = time.monotonic()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert noisy == quiet
    # the handler ran while the native call was running, not only before it
    # started or after it returned (the call takes ~0.4 s; the kernel polls
    # every 50 ms)
    assert sum(t < returned for t in handled) >= 3, handled
