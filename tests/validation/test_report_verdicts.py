"""The validation report's verdicts, PNR data and plots.

The verdict rule (jiuzhang_emu.validation.report): family-wise significance
level alpha over the table's tests with a p-value, Holm's step-down
correction; a test that does not reject reads "consistent" only with power
>= 0.8 against every classical imitation of its model, else "inconclusive".

Statistical tests below state their level.  Where a seeded draw must not be
rejected, the report runs at alpha = 0.001, so that any other draw (a moved
seed or stream) flips the assertion with probability at most 0.001; where a
draw must be rejected or must stay inconclusive, the test first computes the
power at that level and asserts the margin (power > 0.9999, or < 0.01).
"""
import re
import subprocess
import sys

import numpy as np
import pytest

from jiuzhang_emu import InputError, PhotonNumberResolving, Threshold, presets
from jiuzhang_emu import files as sample_io
from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.validation import click_number_distribution
from jiuzhang_emu.validation import report
from jiuzhang_emu.validation.click_numbers import _merge_bins, count_test_power
from jiuzhang_emu.validation.report import TableRow, click_model_of, decide, holm, write_report
from jiuzhang_emu.validation.statistics import shots_for_power

pytest.importorskip("matplotlib")

STRICT = 1e-3  # alpha for assertions that a seeded draw is not rejected
IDEAL_ROWS = ("click numbers vs ideal", "click rates", "pair covariances")


def small():
    return presets.jiuzhang_like(12, r=1.2, transmission=0.4, rng=0)


def pnr_model():
    return presets.jiuzhang_like(8, r=1.0, transmission=0.5, rng=0, detectors=(
        PhotonNumberResolving(efficiency=0.9, dark_count=0.02)))


def verdicts(path):
    """{test name: verdict} from a report's table."""
    rows = re.findall(r"^\| (.+?) \| .+? \| (.+?) \|$", path.read_text(), flags=re.M)
    return {name: verdict for name, verdict in rows if name != "test"}


# -- the rule on given p-values ---------------------------------------------------
def test_holm_steps_down():
    rejected, thresholds = holm([0.003, 0.0001, 0.03, 0.009], alpha=0.01)
    assert rejected.tolist() == [True, True, False, False]
    np.testing.assert_allclose(thresholds, [0.01 / 3, 0.01 / 4, 0.01, 0.01 / 2])
    # 0.006 > 0.01 / 2 stops the steps: 0.007 is not rejected although below 0.01
    assert holm([0.001, 0.006, 0.007], alpha=0.01)[0].tolist() == [True, False, False]


def test_verdict_wording():
    """alpha = 0.01 over three tests: power at 0.01 / 3."""
    levels = []

    def strong(n, level):
        levels.append(level)
        return 0.95

    rows = [TableRow("a", "x", 1e-5, "ideal", {"thermal": strong}),
            TableRow("b", "x", 0.5, "ideal", {"thermal": strong,
                                               "squashed": lambda n, level: 0.99}),
            TableRow("c", "x", 0.5, "ideal", {"thermal": strong,
                                               "squashed": lambda n, level: min(1.0, n / 1e4)}),
            TableRow("d", "x", 0.2, "thermal", {"ideal": lambda n, level: level},
                    unreachable="they agree"),
            TableRow("e", "not computed", np.nan)]
    a, b, c, d, e = decide(rows, 1000)
    assert a.startswith("rejected (p = 1e-05 <= 0.0025, Holm)")
    assert b == "consistent (power 0.95 vs thermal, 0.99 vs squashed)"
    assert c == ("inconclusive: 1000 shots give power 0.10 to tell ideal from squashed; "
                 "about 8000 shots needed")
    assert d == ("inconclusive: 1000 shots give power 0.00 to tell thermal from ideal; "
                 "no number of shots is enough: they agree")
    assert e == "-"
    assert set(levels) == {0.01 / 4}  # four tests have a p-value
    assert decide([TableRow("f", "x", 0.5)], 10) == [
        "consistent (power not computed: no imitation of the model)"]


def test_shots_for_power_rounds_up():
    assert shots_for_power(lambda n: n / 12345, 0.8) == 9900  # 9876 rounded up
    assert shots_for_power(lambda n: 0.1, 0.8) is None
    assert shots_for_power(lambda n: 0.9, 0.8, start=50) == 50


def test_count_test_power_matches_the_noncentral_chi_square_formula():
    """Exact models: lambda = n sum (p_alt - p)^2 / p over the merged bins."""
    from scipy import stats

    experiment = small()
    ideal = click_number_distribution(experiment)
    thermal = click_number_distribution(adversary_experiment(experiment, "thermal"))
    n, level = 300, 0.002
    bins = _merge_bins(n * ideal.probabilities, 5.0)
    p = np.array([ideal.probabilities[list(b)].sum() for b in bins])
    q = np.array([thermal.probabilities[list(b)].sum() for b in bins])
    expected = stats.ncx2.sf(stats.chi2.isf(level, len(bins) - 1), len(bins) - 1,
                             n * np.sum((q - p) ** 2 / p))
    assert count_test_power(ideal, thermal, n, level) == pytest.approx(expected, rel=1e-9)
    assert count_test_power(ideal, ideal, n, level) == pytest.approx(level)
    assert count_test_power(ideal, thermal, 10 * n, level) > count_test_power(
        ideal, thermal, n, level)


# -- simulated data ---------------------------------------------------------------
@pytest.mark.statistical
def test_ideal_samples_are_not_rejected_and_thermal_is(tmp_path, any_seed):
    """Exact samples of the 12-mode model, report at alpha = 0.001 (Holm):
    the tests of the ideal model reject another draw with probability at
    most 0.001; the thermal model's count test has power > 0.9999."""
    experiment = small()
    shots = 2000
    patterns = experiment.sample(shots, rng=any_seed(11), method="auto").patterns
    ideal = click_number_distribution(experiment)
    thermal = click_number_distribution(adversary_experiment(experiment, "thermal"))
    assert count_test_power(thermal, ideal, shots, STRICT / 5) > 0.9999
    path = write_report(patterns, experiment, tmp_path, alpha=STRICT, max_clicks=0)
    found = verdicts(path)
    assert "alpha = 0.001" in path.read_text() and "Holm" in path.read_text()
    for name in IDEAL_ROWS:
        assert not found[name].startswith("rejected"), (name, found[name])
        assert found[name].startswith(("consistent", "inconclusive"))
    assert found["click numbers vs thermal"].startswith("rejected")
    # the squashed imitation is close: 2000 shots cannot tell it apart
    assert re.match(r"inconclusive: 2000 shots give power 0\.\d\d to tell ideal from squashed; "
                    r"about \d+ shots needed", found["click numbers vs ideal"])


@pytest.mark.statistical
def test_thermal_samples_are_rejected_with_enough_shots(tmp_path, any_seed):
    """4000 thermal-imitation samples, alpha = 0.01: the ideal model's count
    test has power > 0.9999 at 0.01 / 5, and its pair test (thermal light has
    no pair covariances here, the model up to 0.025) about 6 standard errors
    beyond the 4.3 at which it rejects."""
    experiment = small()
    ideal = click_number_distribution(experiment)
    thermal = click_number_distribution(adversary_experiment(experiment, "thermal"))
    assert count_test_power(ideal, thermal, 4000, 0.01 / 5) > 0.9999
    patterns = experiment.sample(4000, rng=any_seed(12), method="thermal").patterns
    found = verdicts(write_report(patterns, experiment, tmp_path, max_clicks=0))
    assert found["click numbers vs ideal"].startswith("rejected")
    assert found["pair covariances"].startswith("rejected")


@pytest.mark.statistical
def test_few_thermal_shots_are_inconclusive(tmp_path, any_seed):
    """30 thermal-imitation shots, alpha = 0.001: the ideal model's count
    test has power < 0.01 at 0.001 / 5, so it neither rejects (probability
    < 0.01) nor calls the data consistent; it says how many shots would do."""
    experiment = small()
    shots = 30
    ideal = click_number_distribution(experiment)
    thermal = click_number_distribution(adversary_experiment(experiment, "thermal"))
    assert count_test_power(ideal, thermal, shots, STRICT / 5) < 0.01
    patterns = experiment.sample(shots, rng=any_seed(13), method="thermal").patterns
    found = verdicts(write_report(patterns, experiment, tmp_path, alpha=STRICT, max_clicks=0))
    verdict = found["click numbers vs ideal"]
    match = re.match(r"inconclusive: 30 shots give power (0\.\d\d) to tell ideal from "
                     r"(thermal|squashed); about (\d+) shots needed", verdict)
    assert match, verdict
    assert int(match.group(3)) > 10 * shots
    assert not any(v.startswith("consistent") for v in found.values())


# -- photon-number-resolving data ---------------------------------------------------
def test_click_model_of_a_pnr_model_keeps_efficiency_and_dark_counts():
    experiment = presets.jiuzhang_like(6, r=1.0, transmission=0.5, rng=0, detectors=(
        PhotonNumberResolving(efficiency=[0.9, 0.8, 0.85, 0.9, 0.95, 0.7], dark_count=0.02)))
    clicks = click_model_of(experiment)
    assert isinstance(clicks.detector, Threshold)
    np.testing.assert_array_equal(clicks.detector.efficiencies(6),
                                  experiment.detector.efficiencies(6))
    np.testing.assert_array_equal(clicks.detector.dark_counts(6), 0.02)
    # P(mode j clicks) = 1 - P(n_j = 0) of the PNR model, dark counts included
    dark = np.array([experiment.probability([0], modes=[j]) for j in range(6)])
    np.testing.assert_allclose(clicks.click_probabilities(), 1 - dark, rtol=1e-10)
    assert click_model_of(clicks) is clicks


@pytest.mark.statistical
def test_pnr_report_end_to_end(tmp_path, any_seed):
    """Exact PNR samples at alpha = 0.001: click rows (coarse-grained,
    against the threshold model) and photon-number rows present, none
    rejected; 6000 thermal-imitation PNR samples: the photon-number
    covariances and the count test reject (alpha = 0.01; over 40 seeds the
    covariance p-value at 3000 samples was at most 3e-4, the Holm threshold
    at least 0.0014)."""
    experiment = pnr_model()
    patterns = experiment.sample(3000, rng=any_seed(21), method="auto").patterns
    assert patterns.max() > 1
    path = write_report(patterns, experiment, tmp_path / "ideal", alpha=STRICT, max_clicks=0)
    text, found = path.read_text(), verdicts(path)
    assert "photon-number-resolving detection" in text and "coarse-grained" in text
    assert "![photon numbers](photon_numbers.png)" in text
    assert (tmp_path / "ideal" / "photon_numbers.png").stat().st_size > 1000
    for name in (*IDEAL_ROWS, "mean photon numbers", "photon-number covariances"):
        assert not found[name].startswith("rejected"), (name, found[name])
    # the imitations have the model's mean photon numbers by construction
    assert "no number of shots is enough" in found["mean photon numbers"]

    patterns = experiment.sample(6000, rng=any_seed(22), method="thermal").patterns
    found = verdicts(write_report(patterns, experiment, tmp_path / "thermal", max_clicks=0))
    assert found["photon-number covariances"].startswith("rejected")
    assert found["click numbers vs ideal"].startswith("rejected")


def test_pnr_patterns_need_a_pnr_or_click_model(tmp_path):
    experiment = presets.jiuzhang_like(4, rng=1)
    with pytest.raises(InputError, match="0/1"):
        write_report(np.full((30, 4), 2), experiment, tmp_path)


# -- plots ------------------------------------------------------------------------------
def test_every_plot_has_a_title_labelled_axes_and_error_bars(tmp_path, monkeypatch):
    figures = {}
    save = report._save

    def record(fig, path, plt):
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
        figures[path.name] = {
            "title": (fig._suptitle.get_text() if fig._suptitle else "")
            or " ".join(ax.get_title() for ax in axes),
            "axes": [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) for ax in axes],
            "error_bars": sum(len(ax.containers) for ax in axes),
            "legends_inside": [ax.get_legend() is not None and ax.get_legend().get_bbox_to_anchor()
                               is ax.bbox for ax in axes]}
        save(fig, path, plt)

    monkeypatch.setattr(report, "_save", record)
    experiment = pnr_model()
    patterns = experiment.sample(800, rng=3, method="auto").patterns
    text = write_report(patterns, experiment, tmp_path, samples=2000, max_clicks=0).read_text()
    assert sorted(figures) == ["click_numbers.png", "click_rates.png", "pair_correlators.png",
                               "photon_numbers.png"]
    for name, figure in figures.items():
        assert f"]({name})" in text
        assert figure["title"].strip(), name
        for title, xlabel, ylabel in figure["axes"]:
            assert title and xlabel and ylabel, (name, title, xlabel, ylabel)
        assert figure["error_bars"] >= 1, name
        assert not any(figure["legends_inside"]), name  # legends beside or below the axes
    assert "probability" in figures["click_numbers.png"]["axes"][0][2]


# -- the command ------------------------------------------------------------------------
def test_validate_command_in_a_subprocess(tmp_path):
    """The installed command on an HDF5 file of PNR samples (the preset
    jiuzhang_like with PNR detectors)."""
    experiment = presets.jiuzhang_like(6, rng=0, detectors="pnr")
    path = tmp_path / "pnr.h5"
    sample_io.write_samples(path, experiment, 640, rng=5, method="auto", progress=False)
    result = subprocess.run(
        [sys.executable, "-m", "jiuzhang_emu.cli", "validate", str(path), "--model",
         "jiuzhang_like", "--option", "n_modes=6", "--option", "detectors='pnr'", "--out",
         str(tmp_path / "rep"), "--samples", "2000"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)  # the installed build
    assert result.returncode == 0, result.stderr
    assert "report written" in result.stdout
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "alpha = 0.01" in text and "Holm" in text
    for name in ("click numbers vs ideal", "mean photon numbers", "photon-number covariances"):
        assert f"| {name} |" in text
    for name in ("click_numbers.png", "click_rates.png", "pair_correlators.png",
                 "photon_numbers.png"):
        assert (tmp_path / "rep" / name).stat().st_size > 1000
