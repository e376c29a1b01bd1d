"""The notebooks in notebooks/: each runs at small settings, and each is
committed executed.

A notebook's first code cell, tagged ``parameters``, holds its sizes as plain
assignments; the execution test replaces them with SMALL's values and runs
the notebook in a temporary directory (nothing is written into the repo)
with the ``python3`` kernel, which jupyter_client starts with this
interpreter, so the kernel imports the installed jiuzhang_emu.
"""
import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

#: Small settings per notebook: a few seconds each.
SMALL = {
    "quickstart.ipynb": {"N_MODES": 6, "SHOTS": 400},
    "jiuzhang1.ipynb": {"PHASE_SPACE_SAMPLES": 2_000, "LIVE_SHOTS": 2},
    "spoofers.ipynb": {"N_MODES": 6, "SHOTS": 400},
    "advantage.ipynb": {"SAMPLES": 2_000, "CALIBRATE": False, "CLICK_MODES": (8,),
                        "PHOTON_MODES": (4,), "CHECK_SECONDS": 0.3,
                        "SCALING_MODES": (8, 16, 32)},
    "mps.ipynb": {"CHIS": (4, 16), "SHOTS": 4000, "PHASE_SPACE_SAMPLES": 2_000, "TRIPLES": 50,
                  "PRESETS_144": ("jiuzhang3",), "CHI_144": 4, "SHOTS_144": 100,
                  "RESULTS": None},
    "jiuzhang4.ipynb": {"SPATIAL_MODES": 2, "CUBE_SIDE": 3, "SHOTS": 640,
                        "PHASE_SPACE_SAMPLES": 2_000, "TRIPLES": 50, "RESULTS": None},
}


def read(name):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def parameters_cell(notebook):
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), \
        "the first code cell must carry the tag 'parameters'"
    return code[0]


def test_every_notebook_is_listed():
    assert sorted(SMALL) == sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))


def prints_nothing(cell):
    """Only imports and assignments: a cell that has no output to show."""
    return all(isinstance(node, (ast.Import, ast.ImportFrom, ast.Assign))
               for node in ast.parse(cell.source).body)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_committed_executed(name):
    """Saved after one clean run from the top: every code cell executed in
    order, each with outputs unless it only imports and assigns, no error or
    stderr output, and plots."""
    notebook = read(name)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    for index, cell in enumerate(code):
        assert cell.outputs or prints_nothing(cell), f"{name}: code cell {index} has no outputs"
        for output in cell.outputs:
            assert output.output_type != "error", \
                f"{name}: code cell {index} failed: {output.ename}: {output.evalue}"
            assert output.get("name") != "stderr", \
                f"{name}: code cell {index} wrote to stderr: {output.text[:500]}"
    assert any("image/png" in output.get("data", {}) for cell in code for output in cell.outputs)


#: Notebooks that take more than ~3 s even at small settings.
SLOW = {"advantage.ipynb", "jiuzhang1.ipynb", "jiuzhang4.ipynb", "mps.ipynb"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW
                                  else name for name in sorted(SMALL)])
def test_runs_at_small_settings(name, tmp_path):
    notebook = read(name)
    cell = parameters_cell(notebook)
    assigned = {target.id for node in ast.parse(cell.source).body
                if isinstance(node, ast.Assign) for target in node.targets}
    assert set(SMALL[name]) <= assigned, f"{name}: the parameters cell assigns {sorted(assigned)}"
    cell.source += "\n" + "\n".join(f"{key} = {value!r}" for key, value in SMALL[name].items())
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert not any(output.output_type == "error" for cell in notebook.cells
                   for output in cell.get("outputs", []))
    assert not any(tmp_path.iterdir()), "the notebook left files in its working directory"
