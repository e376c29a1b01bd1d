"""The validation report and the `jiuzhang-emu validate` command, end to end
on an HDF5 sample file, a .npy array and a raw Jiuzhang 1.0 file."""
import io

import numpy as np
import pytest

from jiuzhang_emu import InputError, presets
from jiuzhang_emu import files as sample_io
from jiuzhang_emu.cli import main
from jiuzhang_emu.files import write_jiuzhang1
from jiuzhang_emu.validation.report import write_report

pytest.importorskip("matplotlib")


def _run(argv):
    out = io.StringIO()
    return main(argv, out=out), out.getvalue()


def test_report_of_imitation_samples_flags_the_thermal_model(tmp_path):
    experiment = presets.jiuzhang_like(8, r=1.2, transmission=0.5, rng=3)
    patterns = experiment.sample(4000, rng=1, method="thermal").patterns
    path = write_report(patterns, experiment, tmp_path / "report", samples=20000)
    text = path.read_text()
    for name in ("click_numbers.png", "click_rates.png", "pair_correlators.png"):
        assert (tmp_path / "report" / name).stat().st_size > 1000
        assert f"]({name})" in text
    assert "| click numbers vs ideal |" in text and "| click numbers vs thermal |" in text
    assert "| likelihood ratio vs thermal (4000 samples) |" in text
    assert "thermal favoured" in text  # thermal samples: the thermal hypothesis wins


def test_validate_command_on_a_sample_file_and_an_array(tmp_path):
    h5 = tmp_path / "run.h5"
    status, _ = _run(["sample", "--preset", "jiuzhang_like", "--option", "n_modes=6",
                      "--shots", "640", "--out", str(h5), "--seed", "3", "--no-progress"])
    assert status == 0
    status, text = _run(["validate", str(h5), "--model", "jiuzhang_like", "--option",
                         "n_modes=6", "--out", str(tmp_path / "rep"), "--samples", "4000"])
    assert status == 0 and "report written" in text
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "| click numbers vs ideal |" in report
    npy = tmp_path / "patterns.npy"
    np.save(npy, sample_io.read_samples(h5).patterns)
    status, _ = _run(["validate", str(npy), "--model", "jiuzhang_like", "--option", "n_modes=6",
                      "--out", str(tmp_path / "rep2"), "--samples", "4000"])
    assert status == 0


@pytest.mark.slow
def test_validate_command_on_a_raw_jiuzhang1_file(tmp_path):
    model = presets.jiuzhang1()
    patterns = model.sample(3000, rng=2, method="squashed").patterns
    raw = tmp_path / "data.bin"
    write_jiuzhang1(raw, patterns)
    status, text = _run(["validate", str(raw), "--format", "jiuzhang1", "--model", "jiuzhang1",
                         "--out", str(tmp_path / "rep"), "--samples", "4000"])
    assert status == 0
    report = (tmp_path / "rep" / "report.md").read_text()
    assert "3000 samples of 100 modes" in report
    assert "likelihood ratios | not computed" in report  # ~40 clicks per sample


def test_validate_bad_input(tmp_path):
    path = tmp_path / "x.dat"
    path.write_bytes(b"")
    status, _ = _run(["validate", str(path), "--model", "jiuzhang_like", "--out",
                      str(tmp_path / "r")])
    assert status == 2
    experiment = presets.jiuzhang_like(4, rng=1)
    with pytest.raises(InputError, match="the model has 4"):
        write_report(np.zeros((10, 5), int), experiment, tmp_path / "r")
