"""``jiuzhang-emu sample --method mps``: the network built (or resumed) next to
the sample file, its parameters recorded, and clear errors."""
import io as stdio

import numpy as np
import pytest

from jiuzhang_emu import files, presets
from jiuzhang_emu.cli import main
from jiuzhang_emu.samplers.mps import build_mps

SAMPLE = ["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6", "--option", "rng=2",
          "--shots", "150", "--seed", "3", "--method", "mps"]


def _run(argv):
    out = stdio.StringIO()
    return main(argv, out=out), out.getvalue()


def test_sample_builds_the_network_then_resumes(tmp_path, capsys):
    path = tmp_path / "run.h5"
    status, text = _run(SAMPLE + ["--chi", "6", "--cutoff", "3", "--out", str(path)])
    assert status == 0 and "wrote 150 shots" in text, capsys.readouterr().err
    network_file = tmp_path / "run.mps.h5"
    assert network_file.exists()
    assert "LossyMPS(modes=6, chi=6, cutoff=3" in capsys.readouterr().err
    samples = files.read_samples(path)
    assert samples.method == "mps" and samples.extra["mps"]["parameters"]["chi"] == 6
    experiment = presets.jiuzhang_like(6, rng=2)
    network = build_mps(experiment, chi=6, cutoff=3, progress=False)
    np.testing.assert_array_equal(
        samples.patterns, experiment.sample(150, rng=3, method="mps", mps=network).patterns)
    # more shots: the file and the network are reused (no option repeated)
    status, text = _run(SAMPLE[:-6] + ["--shots", "300", "--seed", "3", "--method", "mps",
                                       "--out", str(path)])
    assert status == 0 and "resumed at shot 128" in text, capsys.readouterr().err  # a batch


@pytest.mark.parametrize("change, message", [
    (["--chi", "0"], "chi must be an integer >= 1, got 0"),
    (["--cutoff", "0"], "cutoff must be an integer >= 1, got 0"),
    (["--split", "best"], "split must be one of"),
])
def test_bad_network_options(tmp_path, capsys, change, message):
    path = tmp_path / "run.h5"
    status, _ = _run(SAMPLE + ["--out", str(path)] + change)
    error = capsys.readouterr().err
    assert status == 2 and message in error and "Traceback" not in error
    assert not path.exists() and not (tmp_path / "run.mps.h5").exists()


def test_network_options_belong_to_method_mps(tmp_path, capsys):
    status, _ = _run(SAMPLE[:-2] + ["--chi", "4", "--out", str(tmp_path / "r.h5")])
    assert status == 2 and "--chi is an option of --method mps" in capsys.readouterr().err


def test_a_network_file_of_other_parameters_is_refused(tmp_path, capsys):
    network_file = tmp_path / "net.mps.h5"
    status, _ = _run(SAMPLE + ["--chi", "5", "--cutoff", "3", "--mps-file", str(network_file),
                               "--out", str(tmp_path / "a.h5")])
    assert status == 0
    before = network_file.read_bytes()
    status, _ = _run(SAMPLE + ["--chi", "7", "--cutoff", "3", "--mps-file", str(network_file),
                               "--out", str(tmp_path / "b.h5")])
    error = capsys.readouterr().err
    assert status == 2 and "chi 5 in the file, 7 requested" in error
    assert network_file.read_bytes() == before and not (tmp_path / "b.h5").exists()
