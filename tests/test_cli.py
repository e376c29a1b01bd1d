"""The jiuzhang-emu command: demo, sample, info, and clear errors."""
import io as stdio
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from jiuzhang_emu import files, presets
from jiuzhang_emu.cli import main

SAMPLE = ["sample", "--preset", "random_experiment", "--option", "n_modes=3",
          "--option", "rng=1", "--shots", "100", "--seed", "5"]


def _run(argv):
    out = stdio.StringIO()
    return main(argv, out=out), out.getvalue()


def test_demo_compares_samples_with_the_exact_model():
    status, text = _run(["demo", "--shots", "400"])
    assert status == 0
    assert "mean clicks per shot   sampled" in text and "exact" in text
    assert "max |z|" in text and "click-number distribution" in text
    verdict = text.strip().splitlines()[-1]
    assert verdict.startswith("verdict at alpha = 0.01: ") and "rejected" not in verdict


def test_demo_can_write_its_samples(tmp_path):
    path = tmp_path / "demo.h5"
    status, text = _run(["demo", "--shots", "200", "--out", str(path)])
    assert status == 0 and f"written to {path}" in text
    assert files.info(path)["shots_written"] == 200


def test_sample_then_info_then_rerun(tmp_path):
    path = str(tmp_path / "run.h5")
    status, text = _run(SAMPLE + ["--out", path])
    assert status == 0 and "wrote 100 shots of random_experiment-3" in text
    experiment = presets.random_experiment(3, rng=1)
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  experiment.sample(100, rng=5).patterns)
    status, text = _run(["info", path])
    assert status == 0
    assert "shots_written    100" in text and "mean_clicks" in text and "clicks   shots" in text
    status, text = _run(SAMPLE + ["--out", path])
    assert status == 0 and "already complete" in text


@pytest.mark.parametrize("change, message", [
    (["--shots", "0"], "shots must be an integer >= 1, got 0"),
    (["--method", "magic"], "method must be one of"),
    (["--workers", "0"], "n_workers must be an integer >= 1, got 0"),
    (["--option", "n_modes"], "--option must look like KEY=VALUE"),
    (["--option", "colour=1"], "has no option 'colour'; its options are n_modes, r,"),
    (["--preset", "jiuzhang9"], "preset must be one of"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, change, message):
    path = tmp_path / "run.h5"
    status, _ = _run(SAMPLE + ["--out", str(path)] + change)
    error = capsys.readouterr().err
    assert status == 2 and message in error and len(error.strip().splitlines()) == 1
    assert "Traceback" not in error and not path.exists()


def test_cost_of_a_preset_here_and_on_supercomputers():
    status, text = _run(["cost", "--preset", "jiuzhang_like", "--option", "n_modes=8",
                         "--shots", "1e6", "--samples", "2000"])
    assert status == 0
    assert "threshold-chain route:" in text and "exact route:" in text
    assert "1e+06 samples by the" in text
    for machine in ("TaihuLight", "Fugaku", "Frontier", "El Capitan"):
        assert f"{machine}: " in text


@pytest.mark.parametrize("argv, message", [
    (["cost"], "give --preset NAME or --claims"),
    (["cost", "--preset", "jiuzhang_like", "--claims"], "give --preset NAME or --claims"),
    (["cost", "--preset", "jiuzhang_like", "--shots", "0"], "shots must be >= 1, got 0"),
])
def test_cost_bad_input(capsys, argv, message):
    status, _ = _run(argv)
    error = capsys.readouterr().err
    assert status == 2 and message in error


def test_resume_of_another_run_is_refused(tmp_path, capsys):
    path = tmp_path / "run.h5"
    assert _run(SAMPLE + ["--out", str(path)])[0] == 0
    before = path.read_bytes()
    status, _ = _run(SAMPLE + ["--out", str(path), "--seed", "6"])
    assert status == 2 and "seed_entropy '5' in the file, '6' requested" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_info_of_a_missing_or_foreign_file(tmp_path, capsys):
    assert _run(["info", str(tmp_path / "missing.h5")])[0] == 2
    assert "not an existing file" in capsys.readouterr().err
    foreign = tmp_path / "notes.txt"
    foreign.write_text("hello")
    assert _run(["info", str(foreign)])[0] == 2
    assert "not an HDF5 file" in capsys.readouterr().err


def test_usage_errors_and_help():
    assert _run(["sample", "--preset", "jiuzhang_like"])[0] == 2  # no --shots, --out
    assert _run(["--help"])[0] == 0


def test_python_dash_m_runs_the_command(tmp_path):
    # from elsewhere: the installed build, not the source tree, is imported
    result = subprocess.run([sys.executable, "-m", "jiuzhang_emu", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "demo" in result.stdout


def test_console_script_is_installed():
    bin_dir = os.path.dirname(sys.executable)
    script = shutil.which("jiuzhang-emu", path=os.pathsep.join([bin_dir, os.environ["PATH"]]))
    if script is None:
        pytest.skip("the jiuzhang-emu script is not installed (reinstall the package)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "sample" in result.stdout


def test_interrupted_sample_keeps_its_batches_and_resumes(tmp_path, capsys, monkeypatch):
    from jiuzhang_emu.samplers import engine

    real = engine.iter_batches

    def interrupted(*args, **kwargs):
        for k, item in enumerate(real(*args, **kwargs)):
            if k == 1:
                raise KeyboardInterrupt
            yield item

    path = str(tmp_path / "run.h5")
    monkeypatch.setattr(engine, "iter_batches", interrupted)
    assert _run(SAMPLE + ["--out", path])[0] == 130
    assert "interrupted: 64 of 100 shots" in capsys.readouterr().err
    monkeypatch.undo()
    status, text = _run(SAMPLE + ["--out", path])
    assert status == 0 and "resumed at shot 64" in text
    np.testing.assert_array_equal(files.read_samples(path).patterns,
                                  presets.random_experiment(3, rng=1).sample(100, rng=5).patterns)
