"""Smoke tests of benchmarks/exact_jiuzhang1.py: the quick run writes an
HDF5 file that a second run resumes (the next shot index, the same shots as
one uninterrupted run), a file of another experiment / method / seed is
refused, ``--report-only`` and ``--json`` summarise it, and ``--largest``
scans (marked slow: a few seconds each, in subprocesses).  Times are never
asserted.

The benchmark's default method is "fan-out"; where this build has no such
route the tests use "threshold-chain" (same threshold patterns, exact).
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jiuzhang_emu.detectors import PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.presets import random_experiment
from jiuzhang_emu.samplers import engine

h5py = pytest.importorskip("h5py")

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "exact_jiuzhang1.py"
METHOD = "fan-out" if "fan-out" in engine.METHODS else "threshold-chain"


def run(*args, check=True):
    proc = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)],
                          capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def load(path):
    with h5py.File(path, "r") as f:
        n = int(f.attrs["shots_done"])
        return {name: f[name][:] for name in f} | {"shots_done": n,
                                                    "method": f.attrs["method"]}


@pytest.mark.slow
def test_quick_run_resumes(tmp_path):
    path, whole = tmp_path / "quick.h5", tmp_path / "whole.h5"
    first = run("--quick", "--method", METHOD, "--out", path)
    assert "0 shots already there" in first.stdout
    assert "| clicks | shots | median (s) | mean (s) | max (s) | published (s) |" in first.stdout
    second = run("--quick", "--method", METHOD, "--out", path, "--json", tmp_path / "r.json")
    assert "5 shots already there" in second.stdout
    data = load(path)
    assert data["shots_done"] == 10 and data["method"] == METHOD
    np.testing.assert_array_equal(data["shot_index"], np.arange(10))
    np.testing.assert_array_equal(data["session"], [0] * 5 + [1] * 5)
    assert data["patterns"].shape == (10, 12) and set(np.unique(data["patterns"])) <= {0, 1}
    np.testing.assert_array_equal(data["clicks"], data["patterns"].sum(axis=1))
    assert np.all(data["seconds"] > 0)
    # shot i depends on i only: two runs of 5 = one run of 10
    run("--quick", "--method", METHOD, "--shots", 10, "--out", whole)
    np.testing.assert_array_equal(load(whole)["patterns"], data["patterns"])

    report = json.loads((tmp_path / "r.json").read_text())
    summary = report["summary"]
    assert summary["shots"] == 10 and len(report["sessions"]) == 2
    assert [b["band"] for b in summary["bands"]] == ["0-20", "20-35", "35-45", "45-55",
                                                     "55-65", "65+"]
    assert sum(b["shots"] for b in summary["bands"]) == 10
    assert summary["median"] <= summary["max"] and summary["mean"] <= summary["max"]

    only = run("--report-only", "--out", path)
    assert "10 shots," in only.stdout and "session 1" in only.stdout
    assert "drew" not in only.stdout
    assert load(path)["shots_done"] == 10  # --report-only draws nothing


@pytest.mark.slow
def test_refuses_another_experiment_method_or_seed(tmp_path):
    path = tmp_path / "quick.h5"
    run("--quick", "--method", METHOD, "--shots", 1, "--out", path)
    for args, what in ((("--modes", 14), "another experiment"),
                       (("--method", "exact"), "another method"),
                       (("--seed", 5), "another seed")):
        options = {"--method": METHOD, **dict([args])}
        proc = run("--quick", *[x for kv in options.items() for x in kv], "--out", path,
                   check=False)
        assert proc.returncode != 0 and what in proc.stderr, proc.stderr
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = [1]
    proc = run("--quick", "--method", METHOD, "--out", other, check=False)
    assert proc.returncode != 0 and "not a file of this benchmark" in proc.stderr
    assert load(path)["shots_done"] == 1


@pytest.mark.slow
def test_largest_scan(tmp_path):
    out = tmp_path / "largest.json"
    proc = run("--largest", "--method", METHOD, "--largest-start", 4, "--largest-step", 2,
               "--largest-max", 8, "--largest-shots", 3, "--json", out)
    assert "## Largest jiuzhang_like(M, r=1.577, transmission=0.2937)" in proc.stdout
    report = json.loads(out.read_text())["largest"]
    assert [e["n_modes"] for e in report["sizes"]] == [4, 6, 8]
    assert all(e["shots"] == 3 for e in report["sizes"])


def _module():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        spec = importlib.util.spec_from_file_location("exact_jiuzhang1", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(SCRIPT.parent))
    return module


@pytest.mark.parametrize("detector, dark, expected", [
    (PhotonNumberResolving(dark_count=1.0), 1.0, lambda light: light + 1),
    (Threshold(dark_count=1.0), 1.0, lambda light: np.ones_like(light)),
    (PseudoPNR(n_detectors=3, dark_count=1.0), 1.0, lambda light: np.full_like(light, 3)),
    (PseudoPNR(n_detectors=3), 0.0, lambda light: light),
])
def test_dark_counts_on_the_light_clicks(detector, dark, expected):
    """Dark counts on the light's counts: they fill the silent detectors
    (d = 1: all fire; d = 0: the light's clicks unchanged), and add one count
    to a photon-number-resolving detector."""
    module = _module()
    experiment = random_experiment(4, detectors=detector, rng=1)
    top = 9 if detector.max_count is None else detector.max_count
    light = np.array([[0, 1, 2, 0], [3, 0, 1, 1]]) % (top + 1)
    assert light.any() and (light < top).any()
    out_light, pattern = module.light_and_pattern(
        experiment, True, light, np.full(4, dark), np.random.default_rng(0))
    np.testing.assert_array_equal(out_light, light)
    np.testing.assert_array_equal(pattern, expected(light))
