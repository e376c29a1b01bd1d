"""Validation: compare samples and real data with a model.

- :mod:`~jiuzhang_emu.validation.statistics`: exact k-th order click
  correlators of a model and their estimates from samples, with standard
  errors.
- :mod:`~jiuzhang_emu.validation.click_numbers`: total click-number
  distributions (exact, or positive-P phase space at any size) and
  chi-square / Z-score tests of data against them.
- :mod:`~jiuzhang_emu.validation.phase_space`: positive-P samples of a
  Gaussian state.
"""
from jiuzhang_emu.validation.click_numbers import (
    ClickNumberDistribution,
    CountTest,
    click_number_distribution,
    click_number_test,
)
from jiuzhang_emu.validation.statistics import (
    click_correlators,
    dark_probabilities,
    sample_click_correlators,
)

__all__ = [
    "ClickNumberDistribution",
    "CountTest",
    "click_correlators",
    "click_number_distribution",
    "click_number_test",
    "dark_probabilities",
    "sample_click_correlators",
]
