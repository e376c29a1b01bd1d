"""Smoke tests of the benchmark scripts: the quick runs complete and print
their tables, and run_all.py's fits and plots."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kernels.py"
SAMPLERS_SCRIPT = SCRIPT.with_name("samplers.py")
EXACT_J1_SCRIPT = SCRIPT.with_name("exact_jiuzhang1.py")


def _importable(module):
    """Whether ``module`` imports in a fresh interpreter (keeps numba out of this one)."""
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True)
    return proc.returncode == 0


@pytest.mark.slow
def test_quick_benchmark_runs(tmp_path):
    if not _importable("thewalrus"):
        pytest.skip("thewalrus is not installed")
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "size |  ours (s) | ours ext (s) | ext/dbl | thewalrus (s) |   ratio" in proc.stdout
    assert "ratio > 1 means we are faster" in proc.stdout
    for kernel in ("hafnian", "loop_hafnian", "torontonian", "permanent"):
        assert f"## {kernel}" in proc.stdout
    report = json.loads(out.read_text())
    assert set(report["kernels"]) == {"hafnian", "loop_hafnian", "torontonian", "permanent"}
    for rows in report["kernels"].values():
        for row in rows:
            assert "median" in row["results"]["ours"]
            assert row["max_rel_disagreement"] < 1e-8


@pytest.mark.slow
def test_quick_sampler_benchmark_runs(tmp_path):
    out = tmp_path / "samplers.json"
    proc = subprocess.run(
        [sys.executable, str(SAMPLERS_SCRIPT), "--quick", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ratio > 1 means we are faster" in proc.stdout
    for case in ("(a) pure, r = 0.5", "(b) lossy, r = 1.0, transmission 0.5"):
        for table in ("threshold patterns, seconds per sample",
                      "photon numbers (PNR), seconds per sample", "setup seconds",
                      "sanity, sampled mean clicks"):
            assert f"## {case}: {table}" in proc.stdout
    report = json.loads(out.read_text())
    assert set(report["cases"]) == {"a", "b"}
    for case in report["cases"].values():
        assert [row["M"] for row in case["rows"]] == [8, 12]
        for row in case["rows"]:
            for kind, key in (("thr", "clicks"), ("pnr", "photons")):
                ours = row["results"][kind]["ours"]
                assert ours["per_sample"] > 0 and ours["shots"] > 0
                assert "setup" in ours
                # our sampler is exact: its sampled mean is near the exact one
                mean, err = ours["stats"][key]
                exact = row["mean_clicks" if kind == "thr" else "mean_photons"]
                assert abs(mean - exact) <= 6 * err + 0.02 * exact


@pytest.mark.slow
def test_cost_model_benchmark_and_summary(tmp_path):
    """cost_model.py --quick runs; run_all.py --summarise-only fits a * b^n
    to every library's times and draws the plots."""
    pytest.importorskip("matplotlib")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("cost_model.py")), "--quick", "--json",
         str(tmp_path / "cost_model.json")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("| route | M | shots | predicted mean (s/sample) | predicted, drawn samples |"
            in proc.stdout)
    assert "Jiuzhang 4.0" in proc.stdout
    checks = json.loads((tmp_path / "cost_model.json").read_text())["checks"]
    assert {c["route"] for c in checks} == {"threshold-chain", "exact", "fan-out"}
    assert all(c["measured"] > 0 and c["predicted"] > 0 for c in checks)

    sizes = [20, 24, 28, 32]
    kernels = {"kernels": {"hafnian": [
        {"size": n, "results": {"ours": {"median": 1e-6 * 1.4**n},
                                "peer": {"median": 3e-6 * 1.5**n}}} for n in sizes]}}
    (tmp_path / "kernels.json").write_text(json.dumps(kernels))
    proc = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("run_all.py")), "--summarise-only", "--out",
         str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "| hafnian | ours | 1e-06 | 1.400 | 32 |" in summary
    assert f"| hafnian | peer | 3e-06 | 1.500 | 32 | {3e-6 * 1.5**32:.3g} | " \
           f"{3 * (1.5 / 1.4)**32:.3g} |" in summary
    assert "The cost model against the real samplers" in summary
    for plot in ("kernels.png", "cost_model.png"):
        assert (tmp_path / plot).stat().st_size > 1000


@pytest.mark.slow
def test_quick_exact_jiuzhang1_benchmark_runs(tmp_path):
    """exact_jiuzhang1.py --quick samples a few shots into a file and prints
    the time per sample against clicks (resuming and the rest:
    tests/test_benchmark_exact_jiuzhang1.py)."""
    from jiuzhang_emu.samplers.engine import METHODS
    method = "fan-out" if "fan-out" in METHODS else "threshold-chain"
    proc = subprocess.run(
        [sys.executable, str(EXACT_J1_SCRIPT), "--quick", "--method", method, "--out",
         str(tmp_path / "quick.h5"), "--json", str(tmp_path / "quick.json")],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ("| clicks | shots | median (s) | mean (s) | max (s) | published (s) | "
            "published / our mean |") in proc.stdout
    summary = json.loads((tmp_path / "quick.json").read_text())["summary"]
    assert summary["shots"] == 5 and summary["max"] > 0


@pytest.mark.slow
def test_quick_mps_benchmark_runs(tmp_path):
    """mps_jiuzhang.py --quick builds two networks of a 12-mode experiment,
    samples them and the adversaries into resumable files, and prints both
    tables; a second run reads the files back."""
    command = [sys.executable, str(SCRIPT.with_name("mps_jiuzhang.py")), "--quick", "--out",
               str(tmp_path), "--json", str(tmp_path / "quick.json")]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| chi | largest bond | largest discarded weight |" in proc.stdout
    assert "| mps chi=16 | 640 |" in proc.stdout and "| thermal | 640 |" in proc.stdout
    result = json.loads((tmp_path / "quick.json").read_text())
    assert [b["sampled"] for b in result["builds"]] == [640, 640]
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert [b["sampled"] for b in json.loads((tmp_path / "quick.json").read_text())[
        "builds"]] == [0, 0]


@pytest.mark.slow
def test_low_order_greedy_benchmark_runs():
    script = SCRIPT.with_name("low_order.py")
    proc = subprocess.run(
        [sys.executable, str(script), "--greedy", "--sizes", "2:3", "--shots", "500",
         "--sweeps", "0", "1", "--threads", "1"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(row["modes"], row["sweeps"]) for row in rows] == [(52, 0), (52, 1)]
    assert all(row["pair_rms_z"] < 0.2 for row in rows)


@pytest.mark.slow
def test_jiuzhang4_benchmark_runs_every_task(tmp_path):
    """Every target of issue 17 at 1026 modes (above the report's streaming
    threshold), one process per task, and the table of what each sampler's
    file matches (~2 minutes, most of it the Boltzmann fit)."""
    script = SCRIPT.with_name("jiuzhang4.py")
    proc = subprocess.run(
        [sys.executable, str(script), "all", "--out", str(tmp_path), "--spatial-modes", "3",
         "--cube-side", "7", "--shots", "640", "--samples", "2000", "--report-samples", "2000",
         "--triples", "200"],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [(r["task"], r["method"]) for r in results] == [
        ("model", None), ("phase-space", None), ("sample", "greedy"), ("sample", "boltzmann"),
        ("sample", "squashed"), ("validate", "greedy"), ("table", None)]
    assert results[0]["modes"] == 1026 and results[0]["pairs"] == 1026 * 1025 // 2
    assert (tmp_path / "report-greedy" / "report.md").exists()
    rows = {row["name"]: row for row in results[-1]["rows"]}
    assert set(rows) == {"greedy", "boltzmann", "squashed"}
    assert all(row["shots"] == 640 for row in rows.values())
    assert rows["greedy"]["tests"]["click rates"][1] > 0.01  # built to match them
    assert "| greedy | 640 |" in proc.stderr and "| sample boltzmann |" in proc.stdout
