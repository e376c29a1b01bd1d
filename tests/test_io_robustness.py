"""Sample files under adverse conditions: a start that fails or is killed, a
path that is a symbolic link, temporary files left by a kill, a disk that
fills up (a file size limit in a child process, and a failing write in this
one)."""
import errno
import os
import resource
import signal
import subprocess
import sys
import textwrap
import threading

import h5py
import numpy as np
import pytest

from jiuzhang_emu import files, presets, samplers
from jiuzhang_emu.errors import InputError, KernelError
from jiuzhang_emu.files import storage
from jiuzhang_emu.samplers import engine

SHOTS = 5 * samplers.BATCH_SIZE + 17


def _experiment():
    return presets.random_experiment(4, rng=3)


def _attrs(path):
    with h5py.File(path, "r") as handle:
        return {key: (value.decode() if isinstance(value, bytes) else value)
                for key, value in handle.attrs.items()}


def _reference(tmp_path, shots=SHOTS, **kwargs):
    path = tmp_path / "reference.h5"
    files.write_samples(path, _experiment(), shots, **{"rng": 11, **kwargs})
    return path


_KILLED = textwrap.dedent("""
    import sys, time
    from jiuzhang_emu import files, presets
    from jiuzhang_emu.samplers import engine

    real = engine.iter_batches
    stop_after = int(sys.argv[3])

    def slow(*args, **kwargs):  # report each batch; hang before batch stop_after
        for item in real(*args, **kwargs):
            if item[0] == stop_after:
                print("stopped", flush=True)
                time.sleep(600)
            yield item

    if stop_after == 0:
        def slow(*args, **kwargs):
            print("stopped", flush=True)
            time.sleep(600)
            yield
    engine.iter_batches = slow
    files.write_samples(sys.argv[1], presets.random_experiment(4, rng=3), int(sys.argv[2]), rng=11)
""")


def _killed_writer(path, shots, stop_after):
    """A child writing ``path`` (seed 11), killed by SIGKILL before batch
    ``stop_after`` is written: the file a killed run leaves."""
    child = subprocess.Popen([sys.executable, "-c", _KILLED, str(path), str(shots),
                              str(stop_after)], stdout=subprocess.PIPE, text=True,
                             cwd=os.path.dirname(path))
    try:
        assert child.stdout.readline().strip() == "stopped"
        child.kill()
    finally:
        child.stdout.close()
        child.wait()
    assert child.returncode == -signal.SIGKILL


# -- a failed or killed start leaves no file that blocks the next run -----------

def test_a_start_that_fails_in_its_first_batch_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "run.h5"

    def broken(experiment, method, mps=None):
        raise KernelError("the sampler failed")

    monkeypatch.setattr(engine, "route_sampler", broken)
    with pytest.raises(KernelError, match="the sampler failed"):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()
    files.write_samples(path, _experiment(), SHOTS, rng=12, method="thermal")  # corrected
    np.testing.assert_array_equal(
        files.read_samples(path).patterns,
        samplers.sample(_experiment(), SHOTS, rng=12, method="thermal").patterns)


def test_an_interrupt_before_the_first_batch_keeps_a_file_to_resume_or_replace(
        tmp_path, monkeypatch):
    path = tmp_path / "run.h5"
    real = engine.iter_batches

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr(engine, "iter_batches", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(path, _experiment(), SHOTS)  # a fresh seed, kept for the resume
    summary = files.info(path)
    assert summary["shots_written"] == 0 and os.listdir(tmp_path) == ["run.h5"]
    monkeypatch.setattr(engine, "iter_batches", real)
    files.write_samples(path, _experiment(), SHOTS)  # the same command resumes
    np.testing.assert_array_equal(
        files.read_samples(path).patterns,
        samplers.sample(_experiment(), SHOTS, rng=summary["seed_entropy"]).patterns)
    monkeypatch.setattr(engine, "iter_batches", interrupted)
    other = tmp_path / "other.h5"
    with pytest.raises(KeyboardInterrupt):
        files.write_samples(other, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    files.write_samples(other, _experiment(), SHOTS, rng=12)  # another run replaces it
    assert files.info(other)["seed_entropy"] == 12


def test_a_killed_start_is_replaced_by_the_corrected_run(tmp_path):
    """A 0-shot file left by a kill before the first batch: another run
    replaces it (after its own checks), instead of 'belongs to a different
    run'."""
    path = tmp_path / "run.h5"
    _killed_writer(path, SHOTS, stop_after=0)
    assert files.info(path)["shots_written"] == 0
    with pytest.raises(InputError, match="shots must be"):  # the run's own checks still apply
        files.write_samples(path, _experiment(), 0, rng=12)
    assert files.info(path)["seed_entropy"] == 11
    report = files.write_samples(path, _experiment(), SHOTS, rng=12, method="thermal")
    assert report.resumed_from == 0
    samples = files.read_samples(path)
    assert (samples.seed_entropy, samples.method) == (12, "thermal")
    np.testing.assert_array_equal(
        samples.patterns,
        samplers.sample(_experiment(), SHOTS, rng=12, method="thermal").patterns)
    assert sorted(os.listdir(tmp_path)) == ["run.h5"]


def test_a_file_with_shots_of_another_run_is_still_refused(tmp_path):
    path = tmp_path / "run.h5"
    _killed_writer(path, SHOTS, stop_after=2)
    before = path.read_bytes()
    with pytest.raises(InputError, match="belongs to a different run"):
        files.write_samples(path, _experiment(), SHOTS, rng=12)
    assert path.read_bytes() == before


# -- symbolic links ------------------------------------------------------------

def test_resuming_a_killed_run_through_a_symlink_keeps_the_link(tmp_path):
    """The recovery of a killed writer's file replaces the file the link
    names, not the link."""
    reference = _reference(tmp_path)
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "run.h5"
    _killed_writer(target, SHOTS, stop_after=2)
    link = tmp_path / "link.h5"
    link.symlink_to(os.path.join("data", "run.h5"))
    assert files.info(link)["shots_written"] == 2 * samplers.BATCH_SIZE
    report = files.write_samples(link, _experiment(), SHOTS)  # the file's seed
    assert report.resumed_from == 2 * samplers.BATCH_SIZE and report.path == str(link)
    assert link.is_symlink() and os.readlink(link) == os.path.join("data", "run.h5")
    np.testing.assert_array_equal(files.read_samples(target).patterns,
                                  files.read_samples(reference).patterns)
    assert _attrs(target) == _attrs(reference)
    assert sorted(os.listdir(tmp_path / "data")) == ["run.h5"]


def test_a_new_run_through_a_symlink_writes_its_target_and_a_broken_link_is_refused(
        tmp_path):
    target = tmp_path / "run.h5"
    files.write_samples(target, _experiment(), SHOTS, rng=11)
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    report = files.write_samples(link, _experiment(), SHOTS + 64, rng=11)  # extend via the link
    assert link.is_symlink() and report.resumed_from == SHOTS - 17
    assert files.info(target)["shots_written"] == SHOTS + 64
    broken = tmp_path / "broken.h5"
    broken.symlink_to(tmp_path / "missing.h5")
    with pytest.raises(InputError, match="broken symbolic link"):
        files.write_samples(broken, _experiment(), SHOTS, rng=11)
    assert not (tmp_path / "missing.h5").exists()


# -- temporary files left by a kill ---------------------------------------------

def test_stale_temporary_files_are_removed_by_the_next_run(tmp_path):
    path = tmp_path / "run.h5"
    _killed_writer(path, SHOTS, stop_after=2)
    ours = [tmp_path / ".run.h5.0123456789ab.tmp", tmp_path / ".run.h5.fedcba987654.tmp"]
    others = [tmp_path / ".run.h5.notours.tmp", tmp_path / ".other.h5.0123456789ab.tmp",
              tmp_path / "run.h5.0123456789ab.tmp", tmp_path / ".run.h5.0123456789abc.tmp"]
    for name in ours + others:
        name.write_bytes(b"left by a kill during recovery")
    held = tmp_path / ".run.h5.aaaaaaaaaaaa.tmp"  # another live process's
    held.write_bytes(b"")
    fd = os.open(held, os.O_RDONLY)
    try:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    finally:
        os.close(fd)
    left = set(os.listdir(tmp_path))
    assert not any(p.name in left for p in ours)
    assert all(p.name in left for p in others) and held.name in left


def test_temporaries_are_not_touched_without_the_run_lock(tmp_path):
    path = tmp_path / "run.h5"
    _killed_writer(path, SHOTS, stop_after=1)
    stale = tmp_path / ".run.h5.0123456789ab.tmp"
    stale.write_bytes(b"")
    with storage._RunLock(str(path)):  # another run writes it
        with pytest.raises(InputError, match="being written by another run"):
            files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert stale.exists()


# -- a full disk ------------------------------------------------------------------

def _fails_after(monkeypatch, n_writes, code=errno.ENOSPC):
    """h5py dataset writes fail with ``code`` from the (n_writes + 1)-th on."""
    real = h5py.Dataset.__setitem__
    calls = []

    def write(self, key, value):
        calls.append(key)
        if len(calls) > n_writes and self.name == "/patterns":
            raise OSError(code, "Can't synchronously write data (file write failed)")
        return real(self, key, value)

    monkeypatch.setattr(h5py.Dataset, "__setitem__", write)


def test_a_failed_write_names_the_shots_kept_and_the_same_call_resumes(tmp_path, monkeypatch):
    reference = _reference(tmp_path)
    path = tmp_path / "run.h5"
    _fails_after(monkeypatch, 3)
    with pytest.raises(files.SampleFileWriteError) as caught:
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    error = caught.value
    assert error.errno == errno.ENOSPC and error.filename == str(path)
    assert (error.shots_written, error.shots_requested) == (3 * samplers.BATCH_SIZE, SHOTS)
    assert "No space left on device" in str(error) and "192 shots" in str(error)
    assert files.info(path)["shots_written"] == 3 * samplers.BATCH_SIZE
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns[:192])
    report = files.write_samples(path, _experiment(), SHOTS, rng=11)
    assert report.resumed_from == 192
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns)
    assert _attrs(path) == _attrs(reference)
    assert sorted(os.listdir(tmp_path)) == ["reference.h5", "run.h5"]


def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


_WRITER = textwrap.dedent("""
    import sys
    from jiuzhang_emu import files, presets
    try:
        files.write_samples(sys.argv[1], presets.jiuzhang_like(16, rng=0), int(sys.argv[2]),
                            rng=1, method="uniform")
    except files.SampleFileWriteError as exc:
        print("SampleFileWriteError", exc.errno, exc.shots_written, flush=True)
        sys.exit(3)
""")


def test_a_file_size_limit_ends_the_run_cleanly_and_it_resumes(tmp_path):
    """The issue's reproducer (a full tmpfs) as a file size limit in a child:
    before, h5py raised RuntimeError on the flush and the interpreter
    segfaulted at exit (status -11)."""
    path, shots = tmp_path / "run.h5", 20_000
    done = subprocess.run([sys.executable, "-c", _WRITER, str(path), str(shots)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          preexec_fn=_file_size_limit(30_000))  # the file: ~59 kB
    assert done.returncode == 3, (done.returncode, done.stderr[-3000:])
    _, code, written = done.stdout.split()
    assert int(code) == errno.EFBIG and 0 < int(written) < shots
    assert files.info(path)["shots_written"] == int(written)
    reference = tmp_path / "reference.h5"
    experiment = presets.jiuzhang_like(16, rng=0)
    files.write_samples(reference, experiment, shots, rng=1, method="uniform")
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns[:int(written)])
    report = files.write_samples(path, experiment, shots, method="uniform")
    assert report.resumed_from == int(written)
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns)
    assert sorted(os.listdir(tmp_path)) == ["reference.h5", "run.h5"]


def test_a_recovery_that_finds_no_room_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    """A killed writer's file is copied before it is resumed; a full disk
    during the copy is a SampleFileWriteError, the file unchanged."""
    reference = _reference(tmp_path)
    path = tmp_path / "run.h5"
    _killed_writer(path, SHOTS, stop_after=2)
    before = path.read_bytes()
    _fails_after(monkeypatch, 0)
    with pytest.raises(files.SampleFileWriteError, match="cannot copy .*run.h5.* to recover it"):
        files.write_samples(path, _experiment(), SHOTS, rng=11)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["reference.h5", "run.h5"]
    files.write_samples(path, _experiment(), SHOTS, rng=11)
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  files.read_samples(reference).patterns)



_OPEN_WRITER = textwrap.dedent("""
    import sys, h5py
    from jiuzhang_emu import files
    from jiuzhang_emu.files import storage
    with storage._RunLock(sys.argv[1]), h5py.File(sys.argv[1], "r+", libver=files.LIBVER,
                                                  locking=False) as writer:
        writer.flush()
        print("open", flush=True)
        if sys.stdin.readline().strip() == "swmr":
            writer.swmr_mode = True
            print("swmr", flush=True)
            sys.stdin.readline()
""")


def _writer(path):
    """A process holding ``path`` open for writing (not yet in SWMR mode)."""
    child = subprocess.Popen([sys.executable, "-c", _OPEN_WRITER, str(path)],
                             cwd=path.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    assert child.stdout.readline() == "open\n"
    return child


def test_a_file_being_written_is_read_with_swmr_once_its_writer_is_ready(tmp_path):
    """A reader of a running writer's file: opened without SWMR it read a
    superblock flushed before the rows it counts ('truncated file'), and
    before the writer was in SWMR mode it failed at once."""
    path = _reference(tmp_path)
    shots = files.info(path, statistics=False)["shots_written"]
    child = _writer(path)
    try:
        def swmr():
            child.stdin.write("swmr\n")
            child.stdin.flush()

        timer = threading.Timer(0.5, swmr)
        timer.start()
        summary = files.info(path, statistics=False)
        timer.join()
        assert child.stdout.readline() == "swmr\n"
        assert summary["shots_written"] == shots
        assert files.info(path)["shots_written"] == shots
    finally:
        child.communicate("done\n", timeout=60)


def test_a_reader_stops_waiting_for_a_writer_that_never_gets_ready(tmp_path, monkeypatch):
    path = _reference(tmp_path)
    monkeypatch.setattr(storage, "_WRITER_WAIT", 0.2)
    child = _writer(path)
    try:
        with pytest.raises(InputError, match="cannot read .*a run writing it has not made it readable within 0.2 s"):
            files.info(path, statistics=False)
    finally:
        child.communicate("done\n", timeout=60)
