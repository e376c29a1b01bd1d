"""Models against measured click data: the comparison behind the headline
reproduction of Jiuzhang 1.0 (:func:`jiuzhang_emu.presets.jiuzhang1_comparison`,
which picks the data and the models).

For each model: the exact mean and variance of the click number, the
per-detector click rates against the measured ones (RMS relative deviation
and correlation), and the positive-P click-number distribution against the
measured histogram (total variation distance, chi-square / dof and the
Z-score of :func:`~jiuzhang_emu.validation.click_numbers.click_number_test`).
Nothing here is fitted to the histogram's shape or to the rates: those are
the independent checks.
"""
from dataclasses import dataclass

import numpy as np

from jiuzhang_emu.validation.click_numbers import click_number_distribution, click_number_test
from jiuzhang_emu.validation.fitting import click_moments, histogram_moments
from jiuzhang_emu.validation.statistics import click_correlators


@dataclass(frozen=True)
class ModelComparison:
    """One model against the measured data."""

    name: str
    parameters: dict
    mean_clicks: float
    click_variance: float
    rate_rms_deviation: float
    rate_correlation: float
    total_variation: float
    total_variation_error: float
    chi2_per_dof: float
    z_score: float
    distribution: object

    def row(self):
        params = ", ".join(f"{k}={v:.4g}" for k, v in self.parameters.items()) or "-"
        return (f"| {self.name} | {params} | {self.mean_clicks:.3f} | {self.click_variance:.3f} "
                f"| {100 * self.rate_rms_deviation:.2f}% | {self.rate_correlation:.4f} "
                f"| {self.total_variation:.4f} +- {self.total_variation_error:.4f} "
                f"| {self.chi2_per_dof:.4g} | {self.z_score:.4g} |")


@dataclass(frozen=True)
class Comparison:
    """The data's moments and every model's comparison."""

    data: dict
    models: list

    def table(self):
        """A Markdown table of the comparison."""
        lines = [f"Jiuzhang 1.0 data: {self.data['shots']:.0f} shots, click number mean "
                 f"{self.data['mean']:.3f} +- {self.data['mean_error']:.3f}, variance "
                 f"{self.data['variance']:.3f} +- {self.data['variance_error']:.3f}", "",
                 "| model | parameters | mean clicks | variance | click-rate RMS dev. | "
                 "rate corr. | TVD (click numbers) | chi2/dof | Z |",
                 "|---|---|---|---|---|---|---|---|---|"]
        return "\n".join(lines + [m.row() for m in self.models])


def compare_model(name, experiment, parameters, measured, *, samples, rng):
    """Compare one model with measured rates and click-number histogram."""
    mean, var = click_moments(experiment)
    _, rates = click_correlators(experiment, 1)
    deviation = (rates - measured.click_rates) / measured.click_rates
    dist = click_number_distribution(experiment, method="phase-space", samples=samples, rng=rng)
    hist = np.asarray(measured.click_number_histogram, dtype=float)
    n = min(len(hist), len(dist.probabilities))
    data_p = hist[:n] / hist.sum()
    tvd = 0.5 * np.abs(dist.probabilities[:n] - data_p).sum()
    # error of the TVD from the model's phase-space errors (first order)
    tvd_error = 0.5 * np.sqrt(np.sum(dist.standard_errors[:n] ** 2))
    test = click_number_test(hist[: len(dist.probabilities)], dist)
    return ModelComparison(name, dict(parameters), mean, var,
                           float(np.sqrt(np.mean(deviation**2))),
                           float(np.corrcoef(rates, measured.click_rates)[0, 1]),
                           float(tvd), float(tvd_error), test.chi2 / test.dof, test.z_score, dist)


def compare_models(models, measured, *, samples, rng):
    """Compare models with measured data.

    Parameters
    ----------
    models : sequence of (name, Experiment, parameters dict)
    measured : MeasuredData
        ``click_rates`` and ``click_number_histogram`` (for instance
        :func:`jiuzhang_emu.presets.jiuzhang1_measured`).
    samples : int
        Positive-P samples per model.
    rng : seed for the phase-space samples

    Returns
    -------
    Comparison
        ``.table()`` gives the Markdown summary.
    """
    rows = [compare_model(name, exp, params, measured, samples=samples, rng=rng)
            for name, exp, params in models]
    return Comparison(histogram_moments(measured.click_number_histogram), rows)
