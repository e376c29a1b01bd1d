"""What a new user does with the installed `jiuzhang-emu` command, run as a
real subprocess: versions, shot counts, options, file names, damaged files,
pipes, extending a run, validating a file against its own model, the
predicted time of every method, and interrupts by real signals."""
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from jiuzhang_emu import __version__, files

COMMAND = shutil.which("jiuzhang-emu") or pytest.skip("the jiuzhang-emu script is not installed",
                                                       allow_module_level=True)
SMALL = ["--preset", "jiuzhang_like", "--option", "n_modes=6", "--seed", "3"]


def _run(*args, cwd):
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_version():
    done = _run("--version", cwd=None)
    assert done.returncode == 0 and done.stdout.strip() == f"jiuzhang-emu {__version__}"


def test_shots_in_scientific_notation_and_info_shows_the_parameters(tmp_path):
    done = _run("sample", *SMALL, "--shots", "1e3", "--out", "run.h5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1000 shots by" in done.stderr and "predicted" in done.stderr
    info = _run("info", "run.h5", cwd=tmp_path).stdout
    assert "shots_written    1000" in info
    assert "preset           jiuzhang_like n_modes=6 r=1.0 transmission=0.3" in info
    assert "sources          3 x TwoModeSqueezer(r=1.0" in info
    assert "detector         threshold, 1 per mode, efficiency 1, dark count 0" in info


@pytest.mark.parametrize("change, message", [
    (["--option", "nmodes=8"], "has no option 'nmodes'; its options are n_modes, r, "
                               "transmission, detectors, rng, n_detectors"),
    (["--option", "transmission=1.5"], "transmission must lie in [0, 1], got 1.5"),
    (["--shots", "2.5"], "shots must be an integer >= 1, got 2.5"),
    (["--out", "out.txt"], "path must end in .h5 or .hdf5 (an HDF5 sample file), got 'out.txt'"),
])
def test_bad_input_names_what_is_valid(tmp_path, change, message):
    arguments = ["sample", *SMALL, "--shots", "100", "--out", "run.h5"]
    for flag, value in zip(change[::2], change[1::2]):
        if flag == "--option":
            arguments += [flag, value]
        else:
            arguments[arguments.index(flag) + 1] = value
    done = _run(*arguments, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "np.float64" not in done.stderr and list(tmp_path.iterdir()) == []


def test_methods_that_cannot_run_say_so_and_refusals_name_the_flag(tmp_path):
    done = _run("sample", "--preset", "jiuzhang3", "--method", "threshold-chain",
                "--shots", "10", "--out", "j3.h5", cwd=tmp_path)
    assert done.returncode == 2
    assert "samples threshold detectors only" in done.stderr and "pseudo-PNR" in done.stderr
    done = _run("sample", "--preset", "jiuzhang1", "--shots", "10", "--out", "j1.h5",
                cwd=tmp_path)
    assert done.returncode == 2 and "pass --max-seconds 0 to run it anyway" in done.stderr
    assert "max_seconds=None" not in done.stderr and "predicted" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_file_is_reported_by_name(tmp_path):
    assert _run("sample", *SMALL, "--shots", "2000", "--out", "run.h5", cwd=tmp_path).returncode == 0
    data = (tmp_path / "run.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    done = _run("info", "cut.h5", cwd=tmp_path)
    assert done.returncode == 2 and "'cut.h5'" in done.stderr
    assert "damaged or truncated" in done.stderr


def test_a_closed_pipe_ends_quietly(tmp_path):
    assert _run("sample", *SMALL, "--shots", "100", "--out", "run.h5", cwd=tmp_path).returncode == 0
    child = subprocess.Popen([COMMAND, "info", "run.h5"], cwd=tmp_path, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    child.stdout.close()  # as `| head -0`: the reader is gone before the first line
    error = child.stderr.read()
    child.wait(timeout=60)
    child.stderr.close()
    assert "Broken pipe" not in error and "Traceback" not in error and error == ""


def test_more_shots_extend_a_finished_run(tmp_path):
    assert _run("sample", *SMALL, "--shots", "100", "--out", "run.h5", cwd=tmp_path).returncode == 0
    done = _run("sample", *SMALL, "--shots", "300", "--out", "run.h5", cwd=tmp_path)
    assert done.returncode == 0 and "resumed at shot 64: 300 in all" in done.stdout
    assert _run("sample", *SMALL, "--shots", "300", "--out", "ref.h5", cwd=tmp_path).returncode == 0
    np.testing.assert_array_equal(files.read_samples(tmp_path / "run.h5").patterns,
                                  files.read_samples(tmp_path / "ref.h5").patterns)
    done = _run("sample", *SMALL, "--shots", "200", "--out", "run.h5", cwd=tmp_path)
    assert done.returncode == 2 and "a run can be extended, not shortened" in done.stderr


@pytest.mark.parametrize("detectors", ["threshold", "pnr"])
def test_validate_finds_the_model_in_the_file_and_refuses_another(tmp_path, detectors):
    sample = ["sample", *SMALL, "--option", f"detectors={detectors!r}", "--shots", "1000",
              "--out", "run.h5"]
    assert _run(*sample, cwd=tmp_path).returncode == 0
    done = _run("validate", "run.h5", "--out", "report", "--samples", "2000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = (tmp_path / "report" / "report.md").read_text()
    assert "| click numbers vs ideal |" in report
    assert ("| photon-number covariances |" in report) == (detectors == "pnr")

    other = ["validate", "run.h5", "--model", "jiuzhang_like", "--option", "n_modes=6",
             "--option", "r=1.5", "--option", f"detectors={detectors!r}", "--out", "other",
             "--samples", "2000"]
    done = _run(*other, cwd=tmp_path)
    assert done.returncode == 2 and "pass --other-model to compare them anyway" in done.stderr
    assert "r=1.5" in done.stderr and not (tmp_path / "other").exists()
    done = _run(*other, "--other-model", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr.startswith("warning: 'run.h5' was sampled from")


def _interrupt(tmp_path, sig, arguments, after=1.0):
    """Start `sample`, wait for its prediction and ``after`` seconds more,
    send ``sig``; (seconds to exit, completed process fields)."""
    child = subprocess.Popen([COMMAND, "sample", *arguments, "--out", "run.h5", "--no-progress"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        line = child.stderr.readline()
        assert "predicted" in line, line
        time.sleep(after)
        sent = time.perf_counter()
        child.send_signal(sig)
        child.wait(timeout=30)
        seconds = time.perf_counter() - sent
        return seconds, child.returncode, line + child.stderr.read()
    finally:
        child.kill()
        child.wait()
        child.stdout.close()
        child.stderr.close()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("arguments", [
    # an adversary whose batches take seconds (each squeezer sampled exactly)
    ["--preset", "jiuzhang1", "--method", "distinguishable", "--shots", "1000"],
    # the same on a pool of two workers
    ["--preset", "jiuzhang1", "--method", "distinguishable", "--shots", "1000", "--workers", "2"],
    # one exact shot that would take years: the native chain rule must notice
    ["--preset", "jiuzhang1", "--method", "exact", "--shots", "1", "--max-seconds", "0"],
], ids=["adversary", "pool", "exact"])
def test_a_signal_stops_a_run_within_seconds_and_leaves_a_resumable_file(
        tmp_path, sig, arguments):
    seconds, status, error = _interrupt(tmp_path, sig, arguments, after=3.0)
    assert status == 130, error
    assert seconds < 3.0, f"took {seconds:.1f} s to stop"
    assert "rerun the same command to resume" in error
    summary = files.info(tmp_path / "run.h5", statistics=False)
    assert not summary["complete"] and summary["shots_written"] % 64 == 0
