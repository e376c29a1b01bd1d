"""The README's model example runs and prints what the README says."""
import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _block_after(heading):
    text = README.read_text()
    section = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_model_example_prints_the_documented_click_numbers():
    code = _block_after("## Model an experiment")
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), namespace)
    documented = re.search(r"# (expected clicks .*)", code).group(1)
    assert out.getvalue().strip() == documented
    assert abs(namespace["small"].probability([1, 0, 2, 0]) - 0.00769) < 5e-6


@pytest.mark.slow  # Jiuzhang 1.0: 100,000 phase-space samples, 20,000 thermal shots
def test_validate_example_prints_the_documented_verdict():
    """The example prints verdicts at thresholds its statistics clear by a
    wide margin (Z ~ 28 against 10, a largest pair |z| ~ 15 against 8), so
    the printed text does not depend on the last digits of a draw."""
    code = _block_after("## Validate")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    documented = re.search(r"# (thermal imitation rejected: .*)", code).group(1)
    assert out.getvalue().strip() == documented
