"""Smoke test of benchmarks/kernels.py: the quick run completes and prints its tables."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kernels.py"


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
