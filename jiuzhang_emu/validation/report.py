"""A readable validation report of samples (emulated or measured) against a
model: Markdown with PNG plots, and a table of tests with verdicts.

Sections: the click-number distribution of the data against the ideal model
and its classical (Gaussian) imitations, thermal and squashed (positive-P
phase space or exact, with error bands); the per-mode click rates against
the model; the pair click covariances; for photon-number-resolving (PNR)
data, the per-mode mean photon numbers and the photon-number covariances;
and a table of test results with verdicts.

PNR data against a PNR model: the click statistics are those of the
coarse-grained patterns (counts > 0) against the same experiment with
threshold detectors of the same efficiency and dark counts
(:func:`click_model_of`; a PNR dark count adds one count, a threshold dark
count one click, so the click law is the same), and the photon-number
statistics are tested against the PNR model itself.

The verdict rule (:func:`decide`)
---------------------------------
- Significance level ``alpha`` (default ALPHA = 0.01) for the whole table:
  the family-wise error rate over the m tests of the table that have a
  p-value, controlled by Holm's step-down correction (the smallest p-value
  is compared with alpha / m, the next with alpha / (m - 1), ..., stopping at
  the first that is not rejected).
- A test that rejects reads "rejected".
- A test that does not reject reads "consistent" only when it had the power
  to tell its model from each of the model's imitations (the ideal model
  from thermal and squashed light; the thermal model from the ideal and
  squashed ones; ...): power at least ``min_power`` (default MIN_POWER =
  0.8) with the shots given, computed at the Bonferroni level alpha / m (a
  lower bound on its power under Holm).  Otherwise it reads "inconclusive:
  N shots give power P to tell <model> from <imitation>; about K shots
  needed", K from the same power formula.
- Power formulas: the click-number chi-square is about noncentral
  chi2(bins - 1, lambda), lambda = n sum_bins (p_alt - p)^2 / (p + n s^2)
  (:func:`~jiuzhang_emu.validation.click_numbers.count_test_power`; s the
  phase-space error of the model, so a phase-space model limits the power
  at any number of shots); the chi-square tests of mean vectors (click
  rates, mean photon numbers) are noncentral chi2(k, n d^T C^-1 d); the
  max-|z| tests (pair covariances, photon-number covariances) are bounded
  below by the largest single-entry normal power
  (:mod:`jiuzhang_emu.validation.statistics`).
- The photon-number covariance test uses batch-means errors from
  COVARIANCE_BATCHES batches and Student t tails: photon numbers are
  heavy-tailed, and the normal tails of a studentised covariance reject
  several times too often at the levels Holm uses (see the constant).
- Likelihood ratios are Bayesian model comparisons (equal priors), not
  significance tests, and stay outside the alpha budget: "ideal favoured"
  when the posterior probability of the ideal model exceeds POSTERIOR =
  0.99, "<hypothesis> favoured" below 1 - POSTERIOR, else "undecided".  A
  Bayes factor of 99 wrongly favours the hypothesis with probability at most
  1/99 under the ideal model (Markov's inequality on the likelihood ratio).

Error bars in the plots: binomial standard errors of the observed click-number
frequencies and click rates, batch-means standard errors of the sample
covariances and mean photon numbers
(:func:`~jiuzhang_emu.validation.statistics.sample_click_correlators`,
:func:`~jiuzhang_emu.validation.statistics.sample_photon_number_moments`).

Plots need matplotlib (``pip install "jiuzhang-emu[plot]"``).
"""
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.detectors import PhotonNumberResolving, Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.validation.click_numbers import (
    click_number_distribution,
    click_number_test,
    count_test_power,
)
from jiuzhang_emu.validation.hypotheses import MAX_CLICKS, likelihood_ratio_test
from jiuzhang_emu.validation.low_order import (
    DEFAULT_MEMORY_BUDGET,
    as_chunks,
    check_memory,
    compare_pairs,
    compare_triples,
    mahalanobis,
    memory_estimate,
    pair_cumulant_blocks,
    pair_cumulant_matrix,
    pair_power_front,
    random_triples,
    stream_statistics,
    triple_statistics,
)
from jiuzhang_emu.validation.statistics import (
    check_click_model,
    check_clicks,
    chi_square_power,
    click_correlators,
    click_moments_of,
    MomentTest,
    max_count,
    max_z_critical,
    max_z_power,
    max_z_test,
    mean_vector_power,
    mean_vector_test,
    pair_covariance_variance,
    photon_number_moments,
    sample_click_correlators,
    sample_photon_number_moments,
    shots_for_power,
)

ALPHA = 0.01
MIN_POWER = 0.8
POSTERIOR = 0.99
IMITATIONS = ("thermal", "squashed")
LR_HYPOTHESES = ("thermal", "squashed", "distinguishable", "uniform")
#: Batches for the batch-means errors of photon-number covariances, and the
#: fewest shots per batch.  Photon numbers are heavy-tailed (one shot's
#: contribution to a covariance has skewness ~10 at Jiuzhang-like squeezing),
#: so the tails of a studentised covariance are far from normal; few large
#: batches and Student t tails with COVARIANCE_BATCHES - 1 degrees of freedom
#: kept the false-alarm rate at its nominal level in our checks (1000 exact
#: runs of 3000 shots of an 8-mode model: 0.8% at 1%, 0.4% at 0.2%; with 20
#: batches 2.2% and 0.7%).
COVARIANCE_BATCHES, MIN_BATCH_SHOTS = 10, 20
#: Above this many modes (or for patterns given as chunks) the report streams
#: (:func:`write_report`).
STREAMING_MODES = 1024
#: Positive-P samples per model distribution (the model and its thermal and
#: squashed imitations) by default, up to STREAMING_MODES modes and above:
#: at 8176 modes (``jiuzhang4()``) 100,000 samples take ~9 minutes per model
#: on two cores, 20,000 about 2.
PHASE_SPACE_SAMPLES, LARGE_PHASE_SPACE_SAMPLES = 100_000, 20_000
#: Random triples of the streamed report's third-order cumulants.
REPORT_TRIPLES = 1000
#: Patterns with at most ``max_clicks`` clicks kept from a stream for the
#: likelihood ratios.
KEPT_SHOTS = 20_000


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InputError('the report\'s plots need matplotlib: pip install "jiuzhang-emu[plot]"') \
            from exc
    return plt


# -- the verdict rule -----------------------------------------------------------
@dataclass(frozen=True)
class TableRow:
    """One significance test of the table.

    Attributes
    ----------
    name : str
        E.g. "click numbers vs ideal".
    result : str
        The statistic, as printed.
    pvalue : float
    model : str
        The model the test checks ("ideal", "thermal", ...).
    powers : dict
        imitation name -> ``power(shots, level)``: the test's power at
        significance ``level`` when ``shots`` samples follow the imitation.
    unreachable : str
        Why no number of shots reaches the power, when none does.
    """

    name: str
    result: str
    pvalue: float
    model: str = "ideal"
    powers: dict = field(default_factory=dict)
    unreachable: str = "the two agree on this statistic"


def holm(pvalues, alpha=ALPHA):
    """Holm's step-down test of m hypotheses at family-wise level ``alpha``.

    Returns
    -------
    rejected : ndarray of bool
    thresholds : ndarray
        The level each p-value was (or would have been) compared with:
        alpha / (m - rank), rank 0 for the smallest.
    """
    p = np.asarray(pvalues, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    thresholds = np.empty(m)
    thresholds[order] = alpha / (m - np.arange(m))
    rejected = np.zeros(m, dtype=bool)
    for index in order:
        if not p[index] <= thresholds[index]:
            break
        rejected[index] = True
    return rejected, thresholds


def decide(rows, shots, *, alpha=ALPHA, min_power=MIN_POWER):
    """Verdicts of the tests ``rows`` on ``shots`` samples (see the module
    docstring): "rejected ...", "consistent ..." or "inconclusive: ...".

    Parameters
    ----------
    rows : sequence of TableRow
    shots : int
    alpha : float
        Family-wise significance level over the rows (Holm).
    min_power : float
        The power a non-rejecting test needs against every imitation of its
        model to read "consistent".

    Returns
    -------
    list of str
        One per row; "-" for a row whose p-value is NaN (a test that could
        not run), which is also left out of the correction.
    """
    tested = [row for row in rows if np.isfinite(row.pvalue)]
    if not tested:
        return ["-"] * len(rows)
    rejected, thresholds = holm([row.pvalue for row in tested], alpha)
    decisions = {id(row): (reject, threshold)
                 for row, reject, threshold in zip(tested, rejected, thresholds)}
    level = alpha / len(tested)
    verdicts = []
    for row in rows:
        if id(row) not in decisions:
            verdicts.append("-")
            continue
        reject, threshold = decisions[id(row)]
        if reject:
            shown = f"p = {row.pvalue:.2g}" if row.pvalue > 0 else "p < 1e-300"
            rule = ", Holm" if len(tested) > 1 else ""
            verdicts.append(f"rejected ({shown} <= {threshold:.2g}{rule})")
            continue
        if not row.powers:
            verdicts.append("consistent (power not computed: no imitation of the model)")
            continue
        powers = {name: power(shots, level) for name, power in row.powers.items()}
        worst = min(powers, key=powers.get)
        if powers[worst] >= min_power:
            listed = ", ".join(f"{_floor(p)} vs {name}" for name, p in powers.items())
            verdicts.append(f"consistent (power {listed})")
            continue
        needed = shots_for_power(lambda n, f=row.powers[worst]: f(n, level), min_power,
                                 start=shots)
        advice = (f"about {needed} shots needed" if needed is not None else
                  f"no number of shots is enough: {row.unreachable}")
        verdicts.append(f"inconclusive: {shots} shots give power {_floor(powers[worst])} to tell "
                        f"{row.model} from {worst}; {advice}")
    return verdicts


def _floor(power):
    """Two decimals, rounded down (0.799 must not print as 0.80)."""
    return f"{math.floor(power * 100) / 100:.2f}"


def click_model_of(experiment):
    """The experiment with threshold detection of the same efficiency and
    dark counts: the click law of photon-number patterns (a click = at least
    one count).  Threshold and pseudo-PNR models are returned as they are."""
    detector = experiment.detector
    if not isinstance(detector, PhotonNumberResolving):
        return experiment
    sources = experiment.sources if experiment.sources is not None else experiment.input_state()
    return Experiment(sources, experiment.transfer_matrix,
                      Threshold(efficiency=detector.efficiency, dark_count=detector.dark_count),
                      name=f"{experiment.name}-threshold",
                      provenance={**experiment.provenance,
                                  "detectors": "threshold coarse-graining of the PNR model"})


def imitations_of(experiment, names=IMITATIONS):
    """{"ideal": experiment, name: its classical imitation, ...}, leaving out
    imitations that cannot be built (an experiment not built from sources)."""
    models = {"ideal": experiment}
    for name in names:
        try:
            models[name] = adversary_experiment(experiment, name)
        except InputError:
            pass  # no source list: no imitation to build
    return models


def count_test_rows(counts, distributions, *, names=None, min_expected=5.0):
    """One TableRow per model: the click-number chi-square of the histogram
    ``counts`` against ``distributions[name]``, with the power against every
    other distribution given.  ``names``: the models to test (default all).
    A model the test cannot run against (too few shots) gets a row with
    p-value NaN (outside the verdict rule's family)."""
    shots = int(np.sum(counts))
    rows = []
    for name, dist in distributions.items():
        if names is not None and name not in names:
            continue
        try:
            test = click_number_test(counts, dist, min_expected=min_expected)
        except InputError as exc:
            rows.append(TableRow(f"click numbers vs {name}", f"not computed: {exc}", np.nan, name))
            continue
        tvd = 0.5 * np.abs(np.asarray(counts) / shots - dist.probabilities).sum()
        powers = {other: (lambda n, level, a=dist, b=alt: count_test_power(
            a, b, n, level, min_expected=min_expected))
            for other, alt in distributions.items() if other != name}
        phase_space = any(d.method == "phase-space" for d in distributions.values())
        rows.append(TableRow(
            f"click numbers vs {name}",
            f"chi2/dof = {test.chi2:.1f}/{test.dof}, p = {test.pvalue:.3g}, "
            f"Z = {test.z_score:.1f}, TVD = {tvd:.4f}", test.pvalue, name, powers,
            "the phase-space estimates of the two distributions are too close for their "
            "error bars (raise samples / --samples)" if phase_space else
            "the two click-number distributions are the same"))
    return rows


def click_number_verdict(counts, experiment, *, alpha=ALPHA, min_power=MIN_POWER,
                         samples=None, rng=0):
    """The click-number test of a histogram against a model alone, with its
    verdict by the rule of :func:`decide` (one test, so no correction; power
    against the model's thermal and squashed imitations).

    Parameters
    ----------
    counts : array_like of int, shape (modes + 1,)
        Samples per click number.
    experiment : Experiment
        Threshold or pseudo-PNR model.
    alpha, min_power : float
    samples, rng
        Phase-space samples and seed for models beyond the exact sizes.

    Returns
    -------
    test : CountTest
    verdict : str
    """
    distributions = {name: click_number_distribution(model, samples=samples, rng=rng)
                     for name, model in imitations_of(experiment).items()}
    row = count_test_rows(counts, distributions, names=("ideal",))[0]
    if np.isnan(row.pvalue):
        raise InputError(row.result.removeprefix("not computed: "))
    test = click_number_test(counts, distributions["ideal"])
    return test, decide([row], int(np.sum(counts)), alpha=alpha, min_power=min_power)[0]


# -- the report -------------------------------------------------------------------
def write_report(patterns, experiment, out_dir, *, title=None, samples=None, rng=0,
                 max_clicks=MAX_CLICKS, alpha=ALPHA, min_power=MIN_POWER,
                 triples=REPORT_TRIPLES, memory_budget=DEFAULT_MEMORY_BUDGET, streaming=None):
    """Write ``report.md`` and its plots into ``out_dir``.

    Two paths.  In memory (an array of at most STREAMING_MODES modes): every
    section below.  Streaming (chunks, or more modes): one pass over the
    chunks (:func:`~jiuzhang_emu.validation.low_order.stream_statistics`);
    the click numbers as in memory; the click rates as a chi-square with the
    model's exact covariance by a Cholesky factor (the largest |z| with a
    Bonferroni bound where that factor fails); all pair cumulants against
    the model's (by blocks of rows) with z from the model's exact variance,
    plotted as densities; third-order cumulants on ``triples`` random mode
    triples; the likelihood ratios on the kept patterns with at most
    ``max_clicks`` clicks; and, named in the report with the reason, what
    cannot run at this size (photon-number moments of PNR data need the
    output state).

    Parameters
    ----------
    patterns : array_like of int, shape (shots, modes), or iterable of them
        Threshold, pseudo-PNR or photon-number patterns of the model's modes;
        an iterable of 2-D arrays (chunks, e.g. of a sample file) is read
        once.
    experiment : Experiment
        The model; its detector model must be the data's (PNR data: a PNR
        model, whose click statistics come from :func:`click_model_of`).
    out_dir : path-like
        Created if missing; existing report files are replaced.
    title : str, optional
    samples : int, optional
        Positive-P samples per model distribution (when not exact); None:
        PHASE_SPACE_SAMPLES, or LARGE_PHASE_SPACE_SAMPLES above
        STREAMING_MODES modes.
    rng : seed
    max_clicks : int
        Likelihood ratios use samples with at most this many clicks.
    alpha, min_power : float
        The verdict rule's family-wise significance level and the power a
        test needs to read "consistent" (module docstring).
    triples : int
        Random triples for third-order cumulants (streaming path).
    memory_budget : float
        Bytes (default 12 GB, streaming path): refused before the patterns
        are read when the model's and the sample's M x M matrices do not fit.
    streaming : bool, optional
        Force a path (default: streaming for chunks or above STREAMING_MODES
        modes).

    Returns
    -------
    pathlib.Path
        The report's path.
    """
    pnr = isinstance(experiment.detector, PhotonNumberResolving)
    click_model = click_model_of(experiment)
    check_click_model(click_model)
    chunks, array = as_chunks(patterns)
    if samples is None:
        samples = PHASE_SPACE_SAMPLES if experiment.n_modes <= STREAMING_MODES else \
            LARGE_PHASE_SPACE_SAMPLES
    if streaming is None:
        streaming = array is None or experiment.n_modes > STREAMING_MODES
    if streaming:
        return _streaming_report(chunks, experiment, click_model, Path(out_dir), title=title,
                                 samples=samples, rng=rng, max_clicks=max_clicks, alpha=alpha,
                                 min_power=min_power, triples=triples,
                                 memory_budget=memory_budget)
    patterns = array
    clicks = check_clicks(patterns, experiment.n_modes,
                          max_count=None if pnr else max_count(experiment))
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shots, M = clicks.shape
    lines = [f"# {title or 'Validation report'}", "",
             f"{shots} samples of {M} modes against the model `{experiment.name}` "
             f"({experiment.detector.kind} detection, mean photon number "
             f"{experiment.mean_photon_number():.3f}).", ""]
    if pnr:
        lines += ["Photon-number-resolving data: the click statistics below are those of the "
                  "coarse-grained patterns (a click: at least one count) against the same "
                  "experiment with threshold detectors of the same efficiency and dark counts; "
                  "the photon-number statistics are tested against the PNR model.", ""]

    models = imitations_of(click_model)
    rows = []
    counts = np.bincount(clicks.sum(axis=1, dtype=np.intp), minlength=M + 1)
    lines += _click_numbers(plt, out, counts, models, samples, rng, rows)
    rates, covariance = click_moments_of(click_model)
    alternatives = {name: click_moments_of(model) for name, model in models.items()
                    if name != "ideal"}
    lines += _click_rates(plt, out, clicks, rates, covariance, alternatives, alpha, rows)
    if M >= 2 and shots >= 20:
        lines += _pair_covariances(plt, out, clicks, click_model, rates, alternatives, alpha,
                                   rows)
    if pnr:
        lines += _photon_numbers(plt, out, np.asarray(patterns), experiment, alpha, rows)

    verdicts = decide(rows, shots, alpha=alpha, min_power=min_power)
    table = [f"| {row.name} | {row.result} | {verdict} |" for row, verdict in zip(rows, verdicts)]
    table += _likelihood_ratios(clicks, click_model, max_clicks)
    lines += _tests_section(rows, table, shots, alpha, min_power)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _tests_section(rows, table, shots, alpha, min_power, streamed=False):
    m = sum(np.isfinite(row.pvalue) for row in rows)
    methods = (
        "click rates, chi-square of the vector of per-mode rates with the model's exact "
        "covariance of one shot (Cholesky factor); pair and third-order cumulants, the largest "
        "|z| (each with the model's exact variance of the sample cumulant) with a Bonferroni "
        "bound over all of them" if streamed else
        "click rates and mean "
        "photon numbers, chi-square of the vector of per-mode means with the model's "
        "exact covariance of one shot; pair covariances, the largest |z| (each with "
        "the model's exact variance of the sample covariance) with a Bonferroni bound "
        "over the pairs; photon-number covariances, the largest |z| with batch-means "
        f"errors ({COVARIANCE_BATCHES} batches, Student t tails) and a Bonferroni "
        "bound")
    return ["## Tests", "",
              f"Significance level alpha = {alpha:g} for the whole table (family-wise error "
              f"rate), with Holm's step-down correction over its {m} tests with a p-value "
              f"(the smallest p-value is compared with alpha / {m} = {alpha / m:.2g}).  A test "
              f"that does not reject reads \"consistent\" only when its power to tell the "
              f"model from each of the model's classical imitations is at least {min_power:g} "
              f"with {shots} samples (power at the Bonferroni level alpha / {m}, a lower bound "
              f"under Holm); otherwise \"inconclusive\", with the number of samples that "
              f"would give that power.", "",
              "| test | result | verdict |", "|---|---|---|", *table, "",
              f"Tests: click numbers, chi-square over bins with at least 5 expected samples "
              f"(the model's phase-space variance added to each bin's); {methods}.  "
              f"Likelihood ratios (equal priors) are Bayesian comparisons outside the "
              f"alpha budget: a hypothesis is "
              f"favoured at posterior probability {POSTERIOR:g} (a Bayes factor of "
              f"{POSTERIOR / (1 - POSTERIOR):.0f}, which the ideal model's own samples reach "
              f"against it with probability at most {(1 - POSTERIOR) / POSTERIOR:.3g})."]


def _click_numbers(plt, out, counts, models, samples, rng, rows):
    shots, M = int(counts.sum()), len(counts) - 1
    distributions = {name: click_number_distribution(model, samples=samples, rng=rng)
                     for name, model in models.items()}
    rows += count_test_rows(counts, distributions)

    c = np.arange(M + 1)
    frequency = counts / shots
    error = np.sqrt(frequency * (1 - frequency) / shots)
    fig, ax = plt.subplots(figsize=(8, 4.2))
    for name, dist in distributions.items():
        p, e = dist.probabilities, dist.standard_errors
        band = " (band: 2 standard errors)" if dist.method == "phase-space" else ""
        line, = ax.plot(c, p, "-", lw=1.2, label=f"{name} model, {dist.method}{band}")
        ax.fill_between(c, p - 2 * e, p + 2 * e, color=line.get_color(), alpha=0.25, lw=0)
    ax.errorbar(c, frequency, yerr=error, fmt="o", ms=3, color="k", capsize=2, lw=0.8,
                label=f"data ({shots} samples, binomial standard errors)")
    mass = np.max([d.probabilities for d in distributions.values()], axis=0)
    shown = np.flatnonzero((mass > 1e-4) | (counts > 0))
    ax.set_xlim(shown.min() - 1, shown.max() + 1)
    ax.set_xlabel("clicks per sample C")
    ax.set_ylabel("probability P(C) / fraction of samples")
    ax.set_title(f"Click-number distribution: data against the models ({M} modes)")
    _legend_outside(ax)
    _save(fig, out / "click_numbers.png", plt)
    return ["## Click-number distribution", "",
            "Points: the fraction of samples with C clicks, with binomial standard errors; "
            "lines: the models' P(C), with 2-standard-error bands where they come from "
            "positive-P phase-space samples.", "", "![click numbers](click_numbers.png)", ""]


def _click_rates(plt, out, clicks, rates, covariance, alternatives, alpha, rows):
    shots, M = clicks.shape
    observed = clicks.mean(axis=0)
    test = mean_vector_test(observed, rates, covariance, shots)
    z = test.z_scores
    powers = {name: (lambda n, level, alt=alt_rates: mean_vector_power(
        rates, alt, covariance, n, level)) for name, (alt_rates, _) in alternatives.items()}
    rows.append(TableRow(
        "click rates",
        f"chi2/dof = {test.statistic:.1f}/{test.dof}, p = {test.pvalue:.3g}; max abs z = "
        f"{np.abs(z).max():.1f} over {M} modes, RMS relative deviation "
        f"{np.sqrt(np.mean(((observed - rates) / rates) ** 2)):.2%}", test.pvalue, "ideal",
        powers, "the imitations match the model's per-mode click rates"))

    error = np.sqrt(observed * (1 - observed) / shots)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    fig.suptitle(f"Click rate per mode: {shots} samples against the model "
                 f"(chi-square p = {test.pvalue:.2g})")
    _against_model(left, rates, observed, error, "modes (binomial standard errors)",
                   "model click probability p_j", "data click rate (fraction of samples)",
                   "rate against model", ms=3, capsize=2, lw=0.8)
    _rate_z_panel(right, z, "o", ms=3)
    _save(fig, out / "click_rates.png", plt)
    return ["## Click rates per mode", "",
            "Left: each mode's click rate against the model's click probability (binomial "
            "standard errors); right: their z-scores.", "", "![click rates](click_rates.png)",
            ""]


def _rate_z_panel(ax, z, marker, **style):
    """The click rates' z-score per mode, with the band |z| <= 2."""
    ax.axhspan(-2, 2, color="tab:green", alpha=0.12, label="|z| <= 2")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.plot(np.arange(len(z)), z, marker, color="k", label="mode", **style)
    ax.set_xlabel("mode j")
    ax.set_ylabel("z = (rate - p_j) / binomial standard error")
    ax.set_title("z-score per mode")
    _legend_outside(ax, below=True)


def _pair_covariances(plt, out, clicks, model, rates, alternatives, alpha, rows):
    shots = len(clicks)
    pairs, cov = click_correlators(model, 2)
    variance = pair_covariance_variance(rates, pairs, cov)
    _, estimate, batch_error = sample_click_correlators(clicks, 2)
    z = (estimate - cov) / np.sqrt(variance / shots)
    test = max_z_test(z)
    P = len(pairs)
    powers = {}
    for name, (alt_rates, alt_matrix) in alternatives.items():
        alt_cov = alt_matrix[pairs[:, 0], pairs[:, 1]]
        alt_variance = pair_covariance_variance(alt_rates, pairs, alt_cov)
        powers[name] = (lambda n, level, d=alt_cov - cov, v=alt_variance: max_z_power(
            d, np.sqrt(variance / n), np.sqrt(v / n), max_z_critical(P, level)))
    rows.append(TableRow(
        "pair covariances",
        f"max abs z = {test.statistic:.1f} over {P} pairs, p = {test.pvalue:.3g} "
        f"(Bonferroni); RMS z = {np.sqrt(np.mean(z**2)):.2f}", test.pvalue, "ideal", powers,
        "the imitations match the model's pair covariances"))

    critical = max_z_critical(P, alpha)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    fig.suptitle(f"Pair click covariances: {shots} samples against the model "
                 f"(max |z| = {test.statistic:.1f} over {P} pairs, p = {test.pvalue:.2g})")
    _against_model(left, cov, estimate, batch_error, "pairs (batch-means standard errors)",
                   "model covariance Cov(c_i, c_j)", "data covariance of the click indicators",
                   "covariance against model", ms=2, lw=0.5, alpha=0.6)
    bins = np.linspace(min(z.min(), -critical) - 0.5, max(z.max(), critical) + 0.5, 41)
    right.hist(z, bins=bins, color="0.6", label=f"{P} pairs")
    grid = np.linspace(bins[0], bins[-1], 200)
    right.plot(grid, P * (bins[1] - bins[0]) * np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi),
               "k-", lw=1, label="standard normal (model)")
    for sign in (-1, 1):
        right.axvline(sign * critical, color="tab:red", ls="--", lw=1,
                      label=f"|z| = {critical:.2f}: Bonferroni limit at {alpha:g}"
                      if sign > 0 else None)
    right.set_xlabel("z = (data - model) / model standard error")
    right.set_ylabel("pairs per bin")
    right.set_title("z-scores of the pairs")
    _legend_outside(right, below=True)
    _save(fig, out / "pair_correlators.png", plt)
    return ["## Pair click covariances", "",
            "Left: each pair's click covariance against the model's (batch-means standard "
            "errors); right: the histogram of their z-scores against the standard normal the "
            "model predicts.", "", "![pair correlators](pair_correlators.png)", ""]


def _photon_numbers(plt, out, patterns, experiment, alpha, rows):
    shots, M = patterns.shape
    means, covariance = photon_number_moments(experiment)
    alternatives = {name: photon_number_moments(model)
                    for name, model in imitations_of(experiment).items() if name != "ideal"}
    section = ["## Photon numbers", ""]
    sample_means, mean_errors = patterns.mean(axis=0), None
    test = mean_vector_test(sample_means, means, covariance, shots)
    powers = {name: (lambda n, level, alt=alt_means: mean_vector_power(
        means, alt, covariance, n, level)) for name, (alt_means, _) in alternatives.items()}
    rows.append(TableRow(
        "mean photon numbers",
        f"chi2/dof = {test.statistic:.1f}/{test.dof}, p = {test.pvalue:.3g}; max abs z = "
        f"{np.abs(test.z_scores).max():.1f} over {M} modes", test.pvalue, "ideal", powers,
        "the imitations have the model's mean photon numbers (matched by construction)"))

    batches = COVARIANCE_BATCHES
    upper = np.triu_indices(M)
    enough = shots >= MIN_BATCH_SHOTS * batches
    if enough:
        sample_means, mean_errors, sample_cov, cov_errors = sample_photon_number_moments(
            patterns, n_batches=batches)
        model_cov, data_cov, errors = covariance[upper], sample_cov[upper], cov_errors[upper]
        usable = errors > 0
        z = (data_cov[usable] - model_cov[usable]) / errors[usable]
        cov_test = max_z_test(z, dof=batches - 1)
        count = int(usable.sum())
        cov_powers = {name: (lambda n, level, d=alt_cov[upper][usable] - model_cov[usable]: (
            max_z_power(d, errors[usable] * np.sqrt(shots / n),
                        errors[usable] * np.sqrt(shots / n),
                        max_z_critical(count, level, dof=batches - 1))))
            for name, (_, alt_cov) in alternatives.items()}
        left_out = f", {len(errors) - count} with no spread left out" if count < len(errors) else ""
        rows.append(TableRow(
            "photon-number covariances",
            f"max abs z = {cov_test.statistic:.1f} over {count} entries (variances and "
            f"covariances{left_out}), p = {cov_test.pvalue:.3g} (Bonferroni, t with "
            f"{batches - 1} dof)", cov_test.pvalue, "ideal", cov_powers,
            "the imitations match the model's photon-number covariances"))
    else:
        section += [f"Photon-number covariances not tested: {shots} samples are too few for "
                    f"{batches} batches of at least {MIN_BATCH_SHOTS}.", ""]

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
    fig.suptitle(f"Photon numbers: {shots} samples against the PNR model")
    modes = np.arange(M)
    if mean_errors is None:
        mean_errors = np.sqrt(np.diag(covariance) / shots)
    left.plot(modes, means, "s", mfc="none", color="tab:blue", ms=6, label="model <n_j>")
    left.errorbar(modes, sample_means, yerr=mean_errors, fmt="o", ms=3, color="k", capsize=2,
                  lw=0.8, label="data (batch-means standard errors)")
    left.set_xlabel("mode j")
    left.set_ylabel("mean photon number <n_j> (photons per sample)")
    left.set_title(f"mean per mode (chi-square p = {test.pvalue:.2g})")
    _legend_outside(left, below=True)
    if enough:
        for name, (_, alt_cov) in alternatives.items():
            right.plot(model_cov, alt_cov[upper], ".", ms=3, alpha=0.6,
                       label=f"{name} imitation's value")
        _against_model(right, model_cov, data_cov, errors, "data (batch-means standard errors)",
                       "model Cov(n_i, n_j) (photons^2; i = j: variances)",
                       "Cov(n_i, n_j) (photons^2)",
                       f"covariances (max |z| = {cov_test.statistic:.1f}, "
                       f"p = {cov_test.pvalue:.2g})", ms=3, lw=0.6, capsize=1.5)
    else:
        right.set_axis_off()
        right.set_title("Photon-number covariances: too few samples")
    _save(fig, out / "photon_numbers.png", plt)
    return section + [
        "Left: each mode's mean photon number against the model's; right: the "
        "photon-number covariances and variances against the model's, with the thermal and "
        "squashed imitations' values for scale.", "", "![photon numbers](photon_numbers.png)",
        ""]


def _likelihood_ratios(clicks, model, max_clicks):
    usable = int((clicks.sum(axis=1) <= max_clicks).sum())
    if usable < 2:
        return [f"| likelihood ratios | not computed: fewer than 2 samples with at most "
                f"{max_clicks} clicks (exact probabilities cost 2^clicks) | - |"]
    table = []
    for name in LR_HYPOTHESES:
        try:
            ratio = likelihood_ratio_test(clicks, model, name, max_clicks=max_clicks)
        except InputError:
            continue
        verdict = ("ideal favoured" if ratio.posterior_ideal > POSTERIOR else
                   f"{name} favoured" if ratio.posterior_ideal < 1 - POSTERIOR else "undecided")
        table.append(f"| likelihood ratio vs {name} ({ratio.shots_used} samples) | "
                     f"mean ln ratio {ratio.mean:.3g} +- {ratio.standard_error:.2g}, "
                     f"P(ideal) = {ratio.posterior_ideal:.3g} | {verdict} (Bayesian) |")
    return table


def _against_model(ax, model, data, error, label, xlabel, ylabel, title, **style):
    """Data (with error bars) against the model's values, and the line data = model."""
    lim = _span(model, data - error, data + error)
    ax.plot(lim, lim, "-", color="0.5", lw=0.8, label="data = model")
    ax.errorbar(model, data, yerr=error, fmt="o", color="k", label=label, **style)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend_outside(ax, below=True)


def _span(*arrays):
    """Axis limits covering the arrays, with a 5% margin."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    margin = 0.05 * (high - low) or 0.05 * abs(high) or 0.05
    return [low - margin, high + margin]


def _legend_outside(ax, below=False):
    """The legend beside (or below) the axes, never over the data."""
    if below:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, ncol=2,
                  frameon=False)
    else:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)


def _save(fig, path, plt):
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110, bbox_inches="tight")
    plt.close(fig)


# -- the streaming report -----------------------------------------------------------
def _streaming_report(chunks, experiment, click_model, out, *, title, samples, rng, max_clicks,
                      alpha, min_power, triples, memory_budget):
    pnr = isinstance(experiment.detector, PhotonNumberResolving)
    M = experiment.n_modes
    check_memory(memory_estimate(M, click_model.n_inputs), memory_budget,
                 f"the report's pair statistics of {M} modes (model and sample matrices)")
    if isinstance(triples, bool) or not isinstance(triples, (int, np.integer)) or triples < 0:
        raise InputError(f"triples must be an integer >= 0, got {triples!r}")
    triple_sets = random_triples(M, int(triples), rng=rng) if M >= 3 and triples else None
    stat = stream_statistics(chunks, M, max_count=None if pnr else max_count(experiment),
                             detector_kind=experiment.detector.kind, triples=triple_sets,
                             keep_clicks=max_clicks, keep_shots=KEPT_SHOTS,
                             memory_budget=memory_budget - 8 * M * M)
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    shots = stat.shots
    lines = [f"# {title or 'Validation report'}", "",
             f"{shots} samples of {M} modes against the model `{experiment.name}` "
             f"({experiment.detector.kind} detection, mean photon number "
             f"{experiment.mean_photon_number():.3f}), read in one pass (streaming).", ""]
    if pnr:
        lines += ["Photon-number-resolving data: the click statistics below are those of the "
                  "coarse-grained patterns (a click: at least one count) against the same "
                  "experiment with threshold detectors of the same efficiency and dark counts.",
                  ""]
    models = imitations_of(click_model)
    rows = []
    lines += _click_numbers(plt, out, stat.histogram, models, samples, rng, rows)
    rates, covariance = pair_cumulant_matrix(click_model, memory_budget=memory_budget
                                             - 12 * M * M)
    alternatives = {name: model for name, model in models.items() if name != "ideal"}
    lines += _streamed_rates(plt, out, stat, rates, covariance, alternatives, rows)
    if M >= 2 and shots >= 20:
        lines += _streamed_pairs(plt, out, stat, rates, covariance, alternatives, alpha, rows,
                                 memory_budget - 20 * M * M)
    del covariance
    if triple_sets is not None and shots >= 20:
        lines += _streamed_triples(plt, out, stat, click_model, alternatives, rows)
    skipped = []
    if pnr:
        skipped.append("photon-number means and covariances of the PNR data: they need the "
                       "PNR model's output state (a 2M x 2M covariance) and the patterns in "
                       "memory; pass an array of at most "
                       f"{STREAMING_MODES} modes for them")
    verdicts = decide(rows, shots, alpha=alpha, min_power=min_power)
    table = [f"| {row.name} | {row.result} | {verdict} |" for row, verdict in zip(rows, verdicts)]
    kept = stat.kept if stat.kept is not None else np.zeros((0, M), dtype=np.uint8)
    if len(kept) >= 2:
        table += _likelihood_ratios(check_clicks(kept), click_model, max_clicks)
    else:
        skipped.append(f"likelihood ratios: they need exact pattern probabilities, whose cost "
                       f"grows as 2^clicks; {len(kept)} of {shots} samples have at most "
                       f"max_clicks = {max_clicks} clicks (mean "
                       f"{stat.histogram @ np.arange(M + 1) / shots:.0f} clicks per sample)")
    if skipped:
        lines += ["## Not computed at this size", ""] + [f"- {reason}." for reason in skipped]
        lines += [""]
    lines += _tests_section(rows, table, shots, alpha, min_power, streamed=True)
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _streamed_rates(plt, out, stat, rates, covariance, alternatives, rows):
    shots, M = stat.shots, stat.n_modes
    observed = stat.rates
    diff = observed - rates
    alt_rates = {name: model.click_probabilities() for name, model in alternatives.items()}
    quadratic = mahalanobis(covariance, [diff, *[a - rates for a in alt_rates.values()]])
    z = diff / np.sqrt(np.maximum(rates * (1 - rates), 1e-300) / shots)
    rms = float(np.sqrt(np.mean((diff / rates) ** 2)))
    if quadratic is not None:
        chi2 = float(shots * quadratic[0])
        test = MomentTest("chi-square", chi2, float(stats.chi2.sf(chi2, M)), M, z)
        powers = {name: (lambda n, level, q=q: chi_square_power(n * q, M, level))
                  for name, q in zip(alt_rates, quadratic[1:])}
        result = (f"chi2/dof = {chi2:.1f}/{M}, p = {test.pvalue:.3g}; max abs z = "
                  f"{np.abs(z).max():.1f} over {M} modes, RMS relative deviation {rms:.2%}")
    else:  # the covariance is not numerically positive definite
        test = max_z_test(z)
        sd = np.sqrt(np.maximum(rates * (1 - rates), 1e-300))
        powers = {name: (lambda n, level, d=a - rates, s=np.sqrt(np.maximum(a * (1 - a), 1e-300)):
                         max_z_power(d, sd / np.sqrt(n), s / np.sqrt(n),
                                     max_z_critical(M, level)))
                  for name, a in alt_rates.items()}
        result = (f"max abs z = {test.statistic:.1f} over {M} modes, p = {test.pvalue:.3g} "
                  f"(Bonferroni; the rates' covariance has no Cholesky factor), RMS relative "
                  f"deviation {rms:.2%}")
    rows.append(TableRow("click rates", result, test.pvalue, "ideal", powers,
                         "the imitations match the model's per-mode click rates"))

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    fig.suptitle(f"Click rate per mode: {shots} samples against the model, {M} modes "
                 f"(p = {test.pvalue:.2g})")
    edges = np.quantile(rates, np.linspace(0, 1, 31))
    where = np.clip(np.searchsorted(edges, rates, side="right") - 1, 0, 29)
    count = np.bincount(where, minlength=30)
    full = count >= 2
    mean_model = np.bincount(where, rates, 30)[full] / count[full]
    mean_data = np.bincount(where, observed, 30)[full] / count[full]
    spread = np.bincount(where, observed**2, 30)[full] / count[full] - mean_data**2
    error = np.sqrt(np.maximum(spread, 0) / (count[full] - 1))
    left.plot(rates, observed, ".", ms=1, color="0.7", label="modes")
    _against_model(left, mean_model, mean_data, error,
                   "mean per bin of modes (standard error)", "model click probability p_j",
                   "data click rate (fraction of samples)", "rate against model (binned)",
                   ms=3, capsize=2, lw=0.8)
    _rate_z_panel(right, z, "-", lw=0.3)
    _save(fig, out / "click_rates.png", plt)
    return ["## Click rates per mode", "",
            f"Left: the modes' click rates against the model's click probabilities (grey) and "
            f"their means in 30 bins of equal mode count (standard errors); right: the "
            f"binomial z-score of every mode. RMS relative deviation {rms:.2%}.", "",
            "![click rates](click_rates.png)", ""]


def _streamed_pairs(plt, out, stat, rates, covariance, alternatives, alpha, rows, budget):
    shots = stat.shots
    comparison = compare_pairs(rates, covariance, stat)
    P = comparison.count
    powers = {}
    for name, model in alternatives.items():
        # computed at the first call (a rejected test never asks): one more
        # pass over the imitation's pair cumulants, keeping the pairs that
        # can carry the power (pair_power_front) instead of its matrix
        fronts = {}

        def front(model=model, fronts=fronts):
            if not fronts:
                alt_rates = model.click_probabilities()
                fronts["front"] = pair_power_front(rates, covariance, alt_rates,
                                                   pair_cumulant_blocks(
                                                       model, rates=alt_rates,
                                                       memory_budget=max(budget, 1)))
            return fronts["front"]

        powers[name] = (lambda n, level, f=front: max_z_power(
            f()[0], f()[1] / np.sqrt(n), f()[2] / np.sqrt(n), max_z_critical(P, level)))
    rows.append(TableRow(
        "pair covariances",
        f"max abs z = {comparison.max_abs_z:.1f} over {P} pairs, p = {comparison.pvalue:.3g} "
        f"(Bonferroni); RMS z = {comparison.rms_z:.2f}; slope {comparison.slope:.4f}, l2 "
        f"{comparison.l2:.4g}", comparison.pvalue, "ideal", powers,
        "the imitations match the model's pair covariances"))

    critical = max_z_critical(P, alpha)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    fig.suptitle(f"Pair click covariances: {shots} samples against the model "
                 f"(max |z| = {comparison.max_abs_z:.1f} over {P} pairs, "
                 f"p = {comparison.pvalue:.2g})")
    _density(left, comparison, "pairs per cell", "model covariance Cov(c_i, c_j)",
             "data covariance of the click indicators",
             f"density of the {P} pairs (slope {comparison.slope:.3f})")
    _z_histogram(right, comparison, critical, alpha, "pairs")
    _save(fig, out / "pair_correlators.png", plt)
    return ["## Pair click covariances", "",
            f"All {P} pairs. Left: the density of (model, data) covariances (log colour) and "
            f"the mean data covariance per bin of model covariance (standard errors); right: "
            f"the histogram of their z-scores (model variance of the sample covariance) "
            f"against the standard normal the model predicts.  Slope through the origin "
            f"{comparison.slope:.4f}, l2 distance {comparison.l2:.4g}.", "",
            "![pair correlators](pair_correlators.png)", ""]


def _streamed_triples(plt, out, stat, model, alternatives, rows):
    shots = stat.shots
    triples, cumulants, variances = triple_statistics(model, stat.triples)
    comparison = compare_triples(cumulants, variances, stat)
    T = comparison.count
    powers = {}
    for name, alt in alternatives.items():
        _, alt_cumulants, alt_variances = triple_statistics(alt, triples)
        powers[name] = (lambda n, level, d=alt_cumulants - cumulants, v=alt_variances: (
            max_z_power(d, np.sqrt(variances / n), np.sqrt(v / n), max_z_critical(T, level))))
    rows.append(TableRow(
        "third-order cumulants",
        f"max abs z = {comparison.max_abs_z:.1f} over {T} random triples, p = "
        f"{comparison.pvalue:.3g} (Bonferroni); RMS z = {comparison.rms_z:.2f}; slope "
        f"{comparison.slope:.4f}, l2 {comparison.l2:.4g}", comparison.pvalue, "ideal", powers,
        "the imitations match the model's third-order cumulants"))
    data = stat.triple_cumulants()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4))
    fig.suptitle(f"Third-order click cumulants of {T} random triples: {shots} samples "
                 f"against the model (p = {comparison.pvalue:.2g})")
    _against_model(left, cumulants, data, np.sqrt(variances / shots),
                   "triples (model standard errors)", "model cumulant kappa_abc",
                   "data cumulant", f"cumulant against model (slope {comparison.slope:.3f})",
                   ms=2, lw=0.5, alpha=0.6)
    _z_histogram(right, comparison, max_z_critical(T, ALPHA), ALPHA, "triples")
    _save(fig, out / "triple_correlators.png", plt)
    return ["## Third-order click cumulants", "",
            f"{T} random mode triples. Left: each triple's cumulant against the model's (model "
            f"standard errors); right: the histogram of their z-scores.", "",
            "![triple correlators](triple_correlators.png)", ""]


def _density(ax, comparison, label, xlabel, ylabel, title):
    from matplotlib.colors import LogNorm

    counts, x_edges, y_edges = comparison.density
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_equal(counts.T, 0), cmap="viridis",
                         norm=LogNorm(vmin=1, vmax=max(1, counts.max())))
    ax.figure.colorbar(mesh, ax=ax, label=label)
    model, data, error = comparison.binned
    lim = [x_edges[0], x_edges[-1]]
    ax.plot(lim, lim, "-", color="0.5", lw=0.8, label="data = model")
    ax.errorbar(model, data, yerr=error, fmt="o", ms=2, color="tab:red", capsize=1.5, lw=0.6,
                label="mean per bin (standard error)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    _legend_outside(ax, below=True)


def _z_histogram(ax, comparison, critical, alpha, what):
    counts, edges = comparison.z_histogram
    ax.stairs(counts, edges, fill=True, color="0.6", label=f"{comparison.count} {what}")
    grid = np.linspace(edges[0], edges[-1], 200)
    width = edges[1] - edges[0]
    ax.plot(grid, comparison.count * width * np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k-",
            lw=1, label="standard normal (model)")
    for sign in (-1, 1):
        ax.axvline(sign * critical, color="tab:red", ls="--", lw=1,
                   label=f"|z| = {critical:.2f}: Bonferroni limit at {alpha:g}"
                   if sign > 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("z = (data - model) / model standard error")
    ax.set_ylabel(f"{what} per bin")
    ax.set_title(f"z-scores of the {what}")
    _legend_outside(ax, below=True)
