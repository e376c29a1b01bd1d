"""Bad input: every case raises InputError (a ValueError and a
JiuzhangEmuError) naming the parameter, before any native code runs; calls
predicted to run too long raise RuntimeLimitError at once."""
import json
import subprocess
import sys
import time

import numpy as np
import pytest

import jiuzhang_emu as jz
from jiuzhang_emu import InputError, JiuzhangEmuError, RuntimeLimitError

A4 = np.ones((4, 4))
O4 = np.zeros((4, 4))  # the O matrix of two vacuum modes
NOT_SYMMETRIC = np.triu(np.ones((4, 4)))
NOT_HERMITIAN = np.array([[0, 0.1, 0, 0], [0.3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
COMPLEX_SYMMETRIC_NOT_HERMITIAN = 0.1j * np.ones((4, 4))  # symmetric, but O != O^H
UNSTRUCTURED_O = np.eye(4) - np.diag([1.0, 0.5, 0.7, 0.9])  # valid O, no physical block structure
UNSTRUCTURED_O[0, 1] = UNSTRUCTURED_O[1, 0] = 0.1


def _with_nan(shape):
    X = np.ones(shape)
    X[(0,) * len(shape)] = np.nan
    return X


CASES = {
    # hafnian / loop hafnian: the matrix
    "haf-nonsquare": (lambda: jz.hafnian(np.ones((3, 4))), "A"),
    "haf-1d": (lambda: jz.hafnian(np.ones(4)), "A"),
    "haf-3d": (lambda: jz.hafnian(np.ones((2, 2, 2))), "A"),
    "haf-0d": (lambda: jz.hafnian(3.0), "A"),
    "haf-ragged": (lambda: jz.hafnian([[1.0, 2.0], [3.0]]), "A"),
    "haf-nan": (lambda: jz.hafnian(_with_nan((4, 4))), "A"),
    "haf-inf": (lambda: jz.hafnian(np.full((2, 2), np.inf)), "A"),
    "haf-complex-nan": (lambda: jz.hafnian(np.full((2, 2), complex(1, np.nan))), "A"),
    "haf-not-symmetric": (lambda: jz.hafnian(NOT_SYMMETRIC), "A"),
    "haf-not-symmetric-complex": (lambda: jz.hafnian(A4 + 1j * NOT_SYMMETRIC), "A"),
    "haf-strings": (lambda: jz.hafnian(np.array([["a", "b"], ["b", "a"]])), "A"),
    "lhaf-nonsquare": (lambda: jz.loop_hafnian(np.ones((3, 2))), "A"),
    "lhaf-not-symmetric": (lambda: jz.loop_hafnian(NOT_SYMMETRIC), "A"),
    # reps
    "reps-short": (lambda: jz.hafnian(A4, reps=[1, 2]), "reps"),
    "reps-long": (lambda: jz.hafnian(A4, reps=[1, 1, 1, 1, 1]), "reps"),
    "reps-2d": (lambda: jz.hafnian(A4, reps=[[1, 1, 1, 1]]), "reps"),
    "reps-negative": (lambda: jz.hafnian(A4, reps=[1, -1, 1, 1]), "reps"),
    "reps-non-integer": (lambda: jz.hafnian(A4, reps=[1, 1.5, 1, 1]), "reps"),
    "reps-nan": (lambda: jz.hafnian(A4, reps=[np.nan, 1, 1, 1]), "reps"),
    "lhaf-reps-negative": (lambda: jz.loop_hafnian(A4, reps=[0, 0, -2, 1]), "reps"),
    "lhaf-reps-short": (lambda: jz.loop_hafnian(A4, reps=[2]), "reps"),
    "lhaf-reps-non-integer": (lambda: jz.loop_hafnian(A4, reps=[0.5, 0, 1, 1]), "reps"),
    # diag
    "diag-short": (lambda: jz.loop_hafnian(A4, diag=[1.0, 2.0]), "diag"),
    "diag-2d": (lambda: jz.loop_hafnian(A4, diag=np.ones((1, 4))), "diag"),
    "diag-nan": (lambda: jz.loop_hafnian(A4, diag=[1.0, np.nan, 1.0, 1.0]), "diag"),
    # torontonian: O
    "tor-odd": (lambda: jz.torontonian(np.zeros((3, 3))), "O"),
    "tor-nonsquare": (lambda: jz.torontonian(np.zeros((4, 2))), "O"),
    "tor-3d": (lambda: jz.torontonian(np.zeros((1, 4, 4))), "O"),
    "tor-nan": (lambda: jz.torontonian(_with_nan((4, 4))), "O"),
    "tor-not-hermitian": (lambda: jz.torontonian(NOT_HERMITIAN), "O"),
    "tor-symmetric-not-hermitian": (lambda: jz.torontonian(COMPLEX_SYMMETRIC_NOT_HERMITIAN), "O"),
    "tor-not-pd": (lambda: jz.torontonian(2 * np.eye(4)), "O"),
    "tor-semidefinite": (lambda: jz.torontonian(np.eye(2)), "O"),
    "tor-indefinite": (lambda: jz.torontonian(np.diag([0.5, 0.5, 1.5, 0.5])), "O"),
    "ltor-not-pd": (lambda: jz.loop_torontonian(2 * np.eye(4), np.zeros(4)), "O"),
    "ltor-odd": (lambda: jz.loop_torontonian(np.zeros((5, 5)), np.zeros(5)), "O"),
    # gamma
    "gamma-short": (lambda: jz.loop_torontonian(O4, np.zeros(3)), "gamma"),
    "gamma-half": (lambda: jz.loop_torontonian(O4, np.zeros(2)), "gamma"),
    "gamma-2d": (lambda: jz.loop_torontonian(O4, np.zeros((1, 4))), "gamma"),
    "gamma-none": (lambda: jz.loop_torontonian(O4, None), "gamma"),
    "gamma-nan": (lambda: jz.loop_torontonian(O4, [0, np.nan, 0, 0]), "gamma"),
    # permanent
    "perm-nonsquare": (lambda: jz.permanent(np.ones((2, 3))), "M"),
    "perm-3d": (lambda: jz.permanent(np.ones((2, 2, 2))), "M"),
    "perm-inf": (lambda: jz.permanent(np.array([[np.inf]])), "M"),
    # n_threads
    "threads-zero-haf": (lambda: jz.hafnian(A4, n_threads=0), "n_threads"),
    "threads-zero-tor": (lambda: jz.torontonian(O4, n_threads=0), "n_threads"),
    "threads-zero-perm": (lambda: jz.permanent(A4, n_threads=0), "n_threads"),
    "threads-float": (lambda: jz.hafnian(A4, n_threads=2.0), "n_threads"),
    "threads-float-ltor": (lambda: jz.loop_torontonian(O4, np.zeros(4), n_threads=1.5), "n_threads"),
    "threads-bool": (lambda: jz.permanent(A4, n_threads=True), "n_threads"),
    "threads-str": (lambda: jz.loop_hafnian(A4, n_threads="2"), "n_threads"),
    # precision
    "precision-quad-haf": (lambda: jz.hafnian(A4, precision="quad"), "precision"),
    "precision-quad-lhaf": (lambda: jz.loop_hafnian(A4, precision="quad"), "precision"),
    "precision-quad-tor": (lambda: jz.torontonian(O4, precision="quad"), "precision"),
    "precision-quad-perm": (lambda: jz.permanent(A4, precision="quad"), "precision"),
    "precision-none": (lambda: jz.hafnian(A4, precision=None), "precision"),
    "precision-case": (lambda: jz.hafnian(A4, precision="Double"), "precision"),
    "precision-dd-haf": (lambda: jz.hafnian(A4, precision="double-double"), "precision"),
    "precision-dd-perm": (lambda: jz.permanent(A4, precision="double-double"), "precision"),
    "precision-dd-unstructured-tor": (
        lambda: jz.torontonian(UNSTRUCTURED_O, precision="double-double"), "precision"),
    # max_seconds
    "max-seconds-zero": (lambda: jz.hafnian(A4, max_seconds=0), "max_seconds"),
    "max-seconds-negative": (lambda: jz.torontonian(O4, max_seconds=-1.0), "max_seconds"),
    "max-seconds-str": (lambda: jz.permanent(A4, max_seconds="10"), "max_seconds"),
    "max-seconds-nan": (lambda: jz.loop_hafnian(A4, max_seconds=float("nan")), "max_seconds"),
    # batches
    "haf-batch-precision": (lambda: jz.hafnian_batch(A4[None], precision="quad"), "precision"),
    "haf-batch-threads": (lambda: jz.hafnian_batch(A4[None], n_threads=0), "n_threads"),
    "haf-batch-reps": (lambda: jz.hafnian_batch(A4[None], reps=[1, 1]), "reps"),
    "lhaf-batch-reps": (lambda: jz.loop_hafnian_batch(A4[None], reps=[1, -1, 1, 1]), "reps"),
    "tor-batch-2d": (lambda: jz.torontonian_batch(O4), "Os"),
    "tor-batch-not-pd": (lambda: jz.torontonian_batch(np.stack([O4, 2 * np.eye(4)])), "Os"),
    "tor-batch-not-hermitian": (lambda: jz.torontonian_batch(np.stack([O4, NOT_HERMITIAN])), "Os"),
    "tor-batch-odd": (lambda: jz.torontonian_batch(np.zeros((2, 3, 3))), "Os"),
    "ltor-batch-gammas": (lambda: jz.loop_torontonian_batch(np.stack([O4, O4]), np.zeros(4)), "gammas"),
    "ltor-batch-gammas-nan": (
        lambda: jz.loop_torontonian_batch(O4[None], np.full((1, 4), np.nan)), "gammas"),
    "perm-batch-nonsquare": (lambda: jz.permanent_batch(np.ones((2, 3, 4))), "Ms"),
    "perm-batch-2d": (lambda: jz.permanent_batch(np.ones((3, 3))), "Ms"),
    "perm-batch-nan": (lambda: jz.permanent_batch(_with_nan((2, 3, 3))), "Ms"),
    "perm-batch-threads": (lambda: jz.permanent_batch(np.ones((2, 3, 3)), n_threads=0), "n_threads"),
}

# batch entry points name their own parameters; non-numeric reps are input errors
CASES.update({
    "haf-batch-2d": (lambda: jz.hafnian_batch(A4), "As"),
    "haf-batch-not-symmetric": (lambda: jz.hafnian_batch(NOT_SYMMETRIC[None]), "As"),
    "lhaf-batch-diags": (
        lambda: jz.loop_hafnian_batch(np.ones((2, 3, 3)), diags=np.ones(3)), "diags"),
    "reps-strings": (lambda: jz.hafnian(A4, reps=["a", "b", "c", "d"]), "reps"),
    "ltor-batch-no-gammas": (lambda: jz.loop_torontonian_batch(O4[None], None), "gammas"),
})


def _check(call, param):
    with pytest.raises(InputError) as info:
        call()
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, JiuzhangEmuError)
    message = str(info.value)
    # the message names the parameter as a word (e.g. "gamma", not "gammas")
    words = message.replace("(", " ").replace(")", " ").replace("=", " ").replace(",", " ").split()
    assert param in words, f"{param!r} not named in {message!r}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_raises_input_error(case, no_native):
    call, param = CASES[case]
    _check(call, param)


def test_no_native_fixture_blocks_kernels(no_native):
    """The fixture really intercepts the kernels (else the tests above prove nothing)."""
    with pytest.raises(AssertionError, match="native code ran"):
        jz.hafnian(A4)
    with pytest.raises(AssertionError, match="native code ran"):
        jz.torontonian(O4)
    with pytest.raises(AssertionError, match="native code ran"):
        jz.permanent_batch(A4[None])


def test_valid_edge_inputs_are_accepted():
    # integer-valued float reps, integer matrices, lists, negative n_threads
    assert jz.hafnian(A4, reps=[1.0, 1.0, 0.0, 2.0]) == jz.hafnian(A4, reps=[1, 1, 0, 2])
    assert jz.hafnian([[0, 2], [2, 0]]) == 2.0
    assert jz.torontonian(O4.tolist(), n_threads=-1) == 0.0
    assert jz.permanent(np.eye(3, dtype=np.int32), n_threads=-100) == 1.0
    assert jz.hafnian(A4, max_seconds=None) == 3.0
    # symmetric to within rounding is symmetric
    B = np.random.default_rng(0).normal(size=(6, 6))
    B = B + B.T
    B[0, 1] += 1e-14
    assert jz.hafnian(B) == pytest.approx(jz.hafnian((B + B.T) / 2), rel=1e-12)


# ---------------------------------------------------------------- runtime guard


@pytest.mark.parametrize(
    "call",
    [lambda: jz.torontonian(np.zeros((80, 80))),
     lambda: jz.loop_torontonian(np.zeros((80, 80)), np.zeros(80)),
     lambda: jz.torontonian_batch(np.zeros((64, 60, 60))),
     lambda: jz.permanent(np.zeros((60, 60))),
     lambda: jz.permanent_batch(np.zeros((1000, 34, 34))),
     lambda: jz.hafnian(np.ones((30, 30)), max_seconds=1e-6),
     lambda: jz.loop_hafnian(np.ones((31, 31)), max_seconds=1e-6),
     lambda: jz.hafnian(np.ones((4, 4)), reps=[30, 30, 30, 30], max_seconds=1e-3),
     lambda: jz.hafnian_batch(np.ones((10, 30, 30)), max_seconds=1e-3)],
    ids=["tor-40-modes", "ltor-40-modes", "tor-batch", "perm-60", "perm-batch", "haf-30-tight",
         "lhaf-31-tight", "haf-reps-tight", "haf-batch"],
)
def test_runtime_limit(call, no_native):
    start = time.perf_counter()
    with pytest.raises(RuntimeLimitError, match=r"predicted run time [0-9.e+]+ s") as info:
        call()
    assert time.perf_counter() - start < 5
    assert isinstance(info.value, InputError)
    assert "max_seconds" in str(info.value)


def test_runtime_limit_lifted_with_none():
    A = np.ones((16, 16))
    with pytest.raises(RuntimeLimitError):
        jz.hafnian(A, max_seconds=1e-9)
    assert jz.hafnian(A, max_seconds=None) == pytest.approx(2027025.0, rel=1e-13)  # 15!!


# A hafnian whose guard is broken must not hang the suite: run it in a child
# process that is killed after a timeout.
_CHILD = """
import json, sys, time, warnings
import numpy as np
import jiuzhang_emu as jz
warnings.simplefilter("error")  # fail fast instead of computing for days
start = time.perf_counter()
try:
    {call}
    out = {{"error": None}}
except Exception as exc:  # report any failure to the parent
    out = {{"error": type(exc).__name__, "message": str(exc)}}
out["seconds"] = time.perf_counter() - start
print(json.dumps(out))
"""


@pytest.mark.parametrize(
    "call",
    ["jz.hafnian(np.zeros((80, 80)))",
     "jz.loop_hafnian(np.zeros((81, 81)))",
     "jz.hafnian(np.zeros((72, 72)))",
     "jz.hafnian_batch(np.zeros((2, 70, 70)))",
     "jz.hafnian_batch(np.ones((1000, 30, 30)), max_seconds=1.0)"],
)
def test_runtime_limit_big_hafnian(call, tmp_path):
    try:
        # run outside the source tree, so that the child imports the installed build
        proc = subprocess.run([sys.executable, "-c", _CHILD.format(call=call)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{call} ran for over 60 s instead of raising RuntimeLimitError")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["error"] == "RuntimeLimitError", out
    assert "predicted run time" in out["message"]
    assert out["seconds"] < 5
