"""The headline comparison: Jiuzhang 1.0's measured data against the ideal,
squashed and fitted models.

Data: the shipped click rates and click-number histogram of 2,995,852 normal
events (:func:`~jiuzhang_emu.presets.jiuzhang1_measured`).  Models:

- ideal: ``jiuzhang1()``, the published squeezing and transfer matrix;
- squashed: the ideal model with every squeezer replaced by its squashed
  (classical) counterpart of the same photon number (Martinez-Cifuentes,
  Fonseca-Romero, Quesada, Quantum 7, 1076 (2023));
- fitted: ``jiuzhang1(transmission_scale=s, thermal_fraction=eps)`` with
  (s, eps) fitted to the measured click-number mean and variance
  (:func:`~jiuzhang_emu.validation.fitting.fit_click_moments`).

The statistics of the comparison: :mod:`jiuzhang_emu.validation.reproduction`.
"""
from jiuzhang_emu.adversary_models import adversary_experiment
from jiuzhang_emu.presets.jiuzhang import jiuzhang1, jiuzhang1_measured
from jiuzhang_emu.validation.fitting import fit_click_moments
from jiuzhang_emu.validation.reproduction import compare_models


def jiuzhang1_comparison(*, samples=100_000, rng=0):
    """Jiuzhang 1.0's data against the ideal, squashed and fitted models.

    Parameters
    ----------
    samples : int
        Positive-P samples per model.
    rng : seed for the phase-space samples

    Returns
    -------
    Comparison
        ``.table()`` gives the Markdown summary.
    """
    measured = jiuzhang1_measured()
    ideal = jiuzhang1()
    fit = fit_click_moments(lambda **p: jiuzhang1(**p),
                            {"transmission_scale": (1.0, 0.5, 1.5),
                             "thermal_fraction": (0.0, 0.0, 0.95)},
                            measured.click_number_histogram)
    models = [("ideal", ideal, {}),
              ("squashed", adversary_experiment(ideal, "squashed"), {}),
              ("fitted", fit.experiment, fit.parameters)]
    return compare_models(models, measured, samples=samples, rng=rng)
