"""The jiuzhang-emu command under adverse conditions: option values that are
not what a preset takes, damaged sample files, a full disk, a caller killed
with SIGKILL, worker processes that die."""
import io as stdio
import os
import resource
import select
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

from jiuzhang_emu import files, presets, samplers
from jiuzhang_emu.cli import main

COMMAND = shutil.which("jiuzhang-emu")
needs_command = pytest.mark.skipif(COMMAND is None, reason="the jiuzhang-emu script is not "
                                                           "installed")
SAMPLE = ["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6", "--shots", "100",
          "--seed", "3", "--no-progress"]


def _run(argv):
    out = stdio.StringIO()
    return main(argv, out=out), out.getvalue()


@pytest.mark.parametrize("option, message", [
    ("r=abc", "--option r='abc': r must be a number (preset 'jiuzhang_like', default 1.0), "
              "got the text 'abc'"),
    ("n_modes=x", "--option n_modes='x': n_modes must be a number"),
    ("n_modes=10**9", "--option n_modes='10**9': n_modes must be a number"),
    ("rng=x", "cannot be built with --option rng='x': TypeError"),
    ("rng=-1", "rng=-1: ValueError"),
    ("r=[1,2]", "r must be a number in [0, 4] (the supported squeezing range, 34.7 dB), "
                "got [1, 2]"),
])
@pytest.mark.parametrize("command", ["sample", "cost"])
def test_a_bad_option_value_is_a_one_line_usage_error_naming_it(tmp_path, capsys, option,
                                                                  message, command):
    out = str(tmp_path / "run.h5")
    argv = (SAMPLE + ["--out", out] if command == "sample"
            else ["cost", "--preset", "jiuzhang_like", "--samples", "100"])
    status, _ = _run(argv + ["--option", option])
    error = capsys.readouterr().err
    assert status == 2, error
    assert message in error and len(error.strip().splitlines()) == 1
    assert "Traceback" not in error and os.listdir(tmp_path) == []


@needs_command
def test_a_bad_option_value_prints_no_traceback(tmp_path):
    done = subprocess.run([COMMAND, *SAMPLE, "--out", "run.h5", "--option", "r=abc"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--option r='abc'" in done.stderr


@pytest.fixture
def sample_file(tmp_path):
    path = tmp_path / "run.h5"
    assert _run(SAMPLE + ["--out", str(path)])[0] == 0
    return path


@pytest.mark.parametrize("damage", ["delete experiment", "garbage experiment",
                                    "garbage seed_entropy", "flip method", "drop patterns",
                                    "preset options"])
def test_a_damaged_file_is_a_one_line_error_in_every_command(tmp_path, capsys, sample_file,
                                                             damage):
    with h5py.File(sample_file, "r+") as handle:
        if damage == "delete experiment":
            del handle.attrs["experiment"]
        elif damage == "garbage experiment":
            handle.attrs["experiment"] = "{not json"
        elif damage == "garbage seed_entropy":
            handle.attrs["seed_entropy"] = "[1, 2"
        elif damage == "flip method":
            handle.attrs["method"] = handle.attrs["method"][:-1] + "x"
        elif damage == "drop patterns":
            del handle["patterns"]
            handle["patterns"] = np.zeros(3)
        else:  # a file whose recorded preset does not build, digest and all
            import json
            experiment = json.loads(handle.attrs["experiment"])
            experiment["preset"]["options"]["n_modes"] = "six"
            handle.attrs["experiment"] = json.dumps(experiment)
            handle.attrs["metadata_sha256"] = files.metadata_digest(dict(handle.attrs.items()))
    capsys.readouterr()
    commands = [["info", str(sample_file)], SAMPLE + ["--out", str(sample_file)],
                ["validate", str(sample_file), "--out", str(tmp_path / "report"),
                 "--samples", "100"]]
    for argv in commands:
        status, _ = _run(argv)
        error = capsys.readouterr().err
        if damage == "preset options" and argv[0] != "validate":
            continue  # the metadata are sound; only rebuilding the model fails
        assert status == 2, (argv[0], error)
        assert "run.h5" in error and len(error.strip().splitlines()) == 1, (argv[0], error)
        assert "Traceback" not in error


def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@needs_command
def test_a_full_disk_ends_sample_with_a_message_and_the_same_command_resumes(tmp_path):
    """The issue's reproducer (sample --out on a small tmpfs) as a file size
    limit: before, a RuntimeError traceback and a segfault (exit 139)."""
    argv = [COMMAND, "sample", "--preset", "jiuzhang_like", "--option", "n_modes=16",
            "--method", "uniform", "--shots", "20000", "--seed", "1", "--out", "run.h5",
            "--no-progress"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          preexec_fn=_file_size_limit(30_000))  # of ~59 kB
    assert done.returncode == 1, (done.returncode, done.stderr[-3000:])
    error = done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert error.startswith("jiuzhang-emu sample: error: cannot write 'run.h5': [Errno 27]")
    assert "rerun the same command to resume" in error
    written = files.info(tmp_path / "run.h5")["shots_written"]
    assert f"the {written} shots of its complete batches (of 20000) are intact" in error
    assert 0 < written < 20000
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0 and f"resumed at shot {written}" in done.stdout, done.stderr
    experiment = presets.jiuzhang_like(16, rng=0)
    expected = samplers.sample(experiment, 20000, rng=1, method="uniform").patterns
    np.testing.assert_array_equal(files.read_samples(tmp_path / "run.h5").patterns, expected)
    assert sorted(os.listdir(tmp_path)) == ["run.h5"]


def _session(sid):
    """Processes of session ``sid`` that are not zombies, {pid: command}."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found[int(entry)] = command
    return found


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")
@needs_command
def test_sigkill_of_sample_with_workers_leaves_no_process_holding_stdout(tmp_path):
    """kill -9 on `sample --workers 2`: before, the two workers, the fork
    server and the resource tracker lived on, holding the caller's stdout."""
    with open(tmp_path / "stderr", "w") as stderr:
        child = subprocess.Popen(
            [COMMAND, "sample", "--preset", "jiuzhang_like", "--option", "n_modes=16",
             "--method", "distinguishable", "--shots", "1e6", "--seed", "1", "--workers", "2",
             "--out", "run.h5", "--no-progress"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while len(_session(child.pid)) < 5:  # caller, 2 resource trackers, 2 workers
            assert child.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, _session(child.pid)
            time.sleep(0.2)
        while not os.path.exists(tmp_path / "run.h5") or \
                files.info(tmp_path / "run.h5", statistics=False)["shots_written"] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.2)  # sampling has begun
        child.kill()
        child.wait()
        # a bound on a hang, not a timing: the pipe must reach EOF
        ready, _, _ = select.select([child.stdout], [], [], 30)
        assert ready and child.stdout.read() == b"", _session(child.pid)
        deadline = time.monotonic() + 30
        while _session(child.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session(child.pid) == {}
    finally:
        for pid in _session(child.pid):
            os.kill(pid, signal.SIGKILL)
        child.kill()
        child.wait()
        child.stdout.close()
    summary = files.info(tmp_path / "run.h5", statistics=False)
    assert 0 < summary["shots_written"] < summary["shots_requested"]


def _pool_workers(iterator):
    """Start ``iterator`` (a run on a pool) and return its worker processes."""
    first = next(iterator)
    import multiprocessing
    return first, [p for p in multiprocessing.active_children()
                   if p.name.startswith("LokyProcess")]


@pytest.mark.parametrize("sig, error", [(signal.SIGKILL, samplers.WorkerError),
                                        (signal.SIGTERM, KeyboardInterrupt)])
def test_a_worker_that_dies_ends_the_run_instead_of_a_hang(sig, error):
    """A pool replaces a dead worker but not its batch: the run used to wait
    for it for ever (e.g. `timeout` sends SIGTERM to the whole group)."""
    experiment = presets.jiuzhang_like(16, rng=0)
    batches = samplers.iter_batches(samplers.plan_run(
        experiment, 10**6, rng=1, method="distinguishable", n_workers=2))
    try:
        first, workers = _pool_workers(batches)
        assert first[0] == 0 and len(workers) == 2
        os.kill(workers[0].pid, sig)
        with pytest.raises(error) as caught:
            for _ in batches:
                pass
        if error is samplers.WorkerError:
            assert f"worker process {workers[0].pid} ended while sampling (killed by " \
                   f"SIGKILL)" in str(caught.value)
    finally:
        batches.close()


def test_a_file_of_a_spawned_seed_resumes_and_says_its_spawn_key(tmp_path, capsys):
    experiment = presets.jiuzhang_like(6, rng=0)  # as the command builds it
    path = tmp_path / "run.h5"
    seed = np.random.SeedSequence(3).spawn(2)[1]
    files.write_samples(path, experiment, 64, rng=seed)
    argv = ["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6", "--shots", "100",
            "--out", str(path), "--no-progress"]
    status, text = _run(argv)
    assert status == 0 and "100 in all (seed 3, spawn key [1])" in text
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  samplers.sample(experiment, 100, rng=seed).patterns)
    status, _ = _run(argv + ["--seed", "3"])
    error = capsys.readouterr().err
    assert status == 2 and "seed_spawn_key '[1]' in the file, '[]' requested" in error
