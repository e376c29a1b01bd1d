"""A readable validation report of samples (emulated or measured) against a
model: Markdown with PNG plots.

Sections: the click-number distribution of the data against the ideal model
and its classical (Gaussian) imitations, thermal and squashed (positive-P
phase space or exact, with error bands); the per-mode click rates against
the model (scatter and z-scores); the pair click covariances (scatter and
z-scores); and a table of test results: the count test of every model, the
correlator tests, and, when the samples' click numbers allow exact pattern
probabilities, the likelihood-ratio tests against each classical hypothesis.

Plots need matplotlib (``pip install "jiuzhang-emu[plot]"``).
"""
import os
from pathlib import Path

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.validation.click_numbers import click_number_distribution, click_number_test
from jiuzhang_emu.validation.hypotheses import MAX_CLICKS, likelihood_ratio_test
from jiuzhang_emu.validation.statistics import (
    check_click_model,
    check_clicks,
    click_correlators,
    max_count,
    sample_click_correlators,
)

IMITATIONS = ("thermal", "squashed")
LR_HYPOTHESES = ("thermal", "squashed", "distinguishable", "uniform")
Z_FLAG = 6.0


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise InputError('the report\'s plots need matplotlib: pip install "jiuzhang-emu[plot]"') \
            from exc
    return plt


def write_report(patterns, experiment, out_dir, *, title=None, samples=100_000, rng=0,
                 max_clicks=MAX_CLICKS):
    """Write ``report.md`` and its plots into ``out_dir``.

    Parameters
    ----------
    patterns : array_like of int, shape (shots, modes)
        Threshold or pseudo-PNR patterns of the model's modes.
    experiment : Experiment
        The model (threshold or pseudo-PNR detection).
    out_dir : path-like
        Created if missing; existing report files are replaced.
    title : str, optional
    samples : int
        Positive-P samples per model distribution (when not exact).
    rng : seed
    max_clicks : int
        Likelihood ratios use samples with at most this many clicks.

    Returns
    -------
    pathlib.Path
        The report's path.
    """
    from jiuzhang_emu.samplers.adversaries import adversary_experiment

    check_click_model(experiment)
    clicks = check_clicks(patterns, experiment.n_modes, max_count=max_count(experiment))
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    shots, M = clicks.shape
    lines = [f"# {title or 'Validation report'}", "",
             f"{shots} samples of {M} modes against the model `{experiment.name}` "
             f"({experiment.detector.kind} detection, mean photon number "
             f"{experiment.mean_photon_number():.3f}).", ""]

    # click-number distributions
    models = {"ideal": experiment}
    for name in IMITATIONS:
        try:
            models[name] = adversary_experiment(experiment, name)
        except InputError:
            pass  # no source list: no imitation to build
    distributions = {name: click_number_distribution(model, samples=samples, rng=rng)
                     for name, model in models.items()}
    counts = np.bincount(clicks.sum(axis=1), minlength=M + 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    c = np.arange(M + 1)
    ax.bar(c, counts / shots, color="0.8", label=f"data ({shots} samples)")
    rows = []
    for name, dist in distributions.items():
        p, e = dist.probabilities, dist.standard_errors
        ax.plot(c, p, marker=".", label=f"{name} ({dist.method})")
        ax.fill_between(c, p - 2 * e, p + 2 * e, alpha=0.3)
        test = click_number_test(counts, dist)
        tvd = 0.5 * np.abs(counts / shots - p).sum()
        rows.append(f"| click numbers vs {name} | chi2/dof = {test.chi2:.1f}/{test.dof}, "
                    f"p = {test.pvalue:.3g}, Z = {test.z_score:.1f}, TVD = {tvd:.4f} | "
                    f"{'rejected' if test.z_score > Z_FLAG else 'consistent'} |")
    ax.set_xlabel("clicks per sample")
    ax.set_ylabel("probability")
    ax.legend()
    _save(fig, out / "click_numbers.png", plt)
    lines += ["## Click-number distribution", "",
              "Bars: data; lines: models with 2-standard-error bands (phase-space models).", "",
              "![click numbers](click_numbers.png)", ""]

    # per-mode click rates
    _, rates = click_correlators(experiment, 1)
    observed = clicks.mean(axis=0)
    z_rates = (observed - rates) / np.sqrt(np.maximum(rates * (1 - rates), 1e-300) / shots)
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    left.plot(rates, observed, ".")
    lim = [0, max(rates.max(), observed.max()) * 1.05]
    left.plot(lim, lim, "k-", lw=0.5)
    left.set_xlabel("model click probability")
    left.set_ylabel("data click rate")
    right.plot(np.arange(M), z_rates, ".")
    right.axhline(0, color="k", lw=0.5)
    right.set_xlabel("mode")
    right.set_ylabel("z-score")
    _save(fig, out / "click_rates.png", plt)
    rows.append(f"| click rates | max abs z = {np.abs(z_rates).max():.1f} over {M} modes, "
                f"RMS relative deviation {np.sqrt(np.mean(((observed - rates) / rates) ** 2)):.2%}"
                f" | {'rejected' if np.abs(z_rates).max() > Z_FLAG else 'consistent'} |")
    lines += ["## Click rates per mode", "", "![click rates](click_rates.png)", ""]

    # pair covariances
    if M >= 2 and shots >= 20:
        _, cov = click_correlators(experiment, 2)
        _, estimate, error = sample_click_correlators(clicks, 2)
        z_pairs = (estimate - cov) / error
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
        left.plot(cov, estimate, ".", ms=2)
        lim = [min(cov.min(), estimate.min()), max(cov.max(), estimate.max())]
        left.plot(lim, lim, "k-", lw=0.5)
        left.set_xlabel("model pair covariance")
        left.set_ylabel("data pair covariance")
        right.hist(z_pairs, bins=40)
        right.set_xlabel("z-score")
        _save(fig, out / "pair_correlators.png", plt)
        worst = np.abs(z_pairs).max()
        rows.append(f"| pair covariances | max abs z = {worst:.1f} over {len(z_pairs)} pairs, "
                    f"RMS z = {np.sqrt(np.mean(z_pairs**2)):.2f} | "
                    f"{'rejected' if worst > Z_FLAG else 'consistent'} |")
        lines += ["## Pair click covariances", "", "![pair correlators](pair_correlators.png)",
                  ""]

    # likelihood ratios
    usable = int((clicks.sum(axis=1) <= max_clicks).sum())
    if usable >= 2:
        for name in LR_HYPOTHESES:
            try:
                ratio = likelihood_ratio_test(clicks, experiment, name, max_clicks=max_clicks)
            except InputError:
                continue
            verdict = ("ideal favoured" if ratio.posterior_ideal > 0.99 else
                       f"{name} favoured" if ratio.posterior_ideal < 0.01 else "undecided")
            rows.append(f"| likelihood ratio vs {name} ({ratio.shots_used} samples) | "
                        f"mean ln ratio {ratio.mean:.3g} +- {ratio.standard_error:.2g}, "
                        f"P(ideal) = {ratio.posterior_ideal:.3g} | {verdict} |")
    else:
        rows.append(f"| likelihood ratios | not computed: fewer than 2 samples with at most "
                    f"{max_clicks} clicks (exact probabilities cost 2^clicks) | - |")

    lines += ["## Tests", "", "| test | result | verdict |", "|---|---|---|", *rows, "",
              f"Verdicts: rejected when a Z-score exceeds {Z_FLAG:g} (Drummond et al.'s clear "
              f"failure); likelihood ratios with equal priors."]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _save(fig, path, plt):
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=110)
    plt.close(fig)
