"""Ready-made experiments: the Jiuzhang family and small exactly solvable ones.

Each preset returns an :class:`~jiuzhang_emu.experiment.Experiment` whose
``provenance`` dict says which parts are published data and which are
stand-ins.  ``get(name, **options)`` looks a preset up by name (for the
command line).
"""
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.presets.jiuzhang import (
    MeasuredData,
    jiuzhang1,
    jiuzhang1_measured,
    jiuzhang2,
    jiuzhang2_squeezing,
    jiuzhang3,
)
from jiuzhang_emu.presets.small import jiuzhang_like, random_experiment

PRESETS = {
    "jiuzhang1": jiuzhang1,
    "jiuzhang2": jiuzhang2,
    "jiuzhang3": jiuzhang3,
    "jiuzhang_like": jiuzhang_like,
    "random_experiment": random_experiment,
}


def get(name, **options):
    """Build the preset called ``name`` with keyword ``options``."""
    try:
        build = PRESETS[name]
    except KeyError:
        raise InputError(f"preset must be one of {sorted(PRESETS)}, got {name!r}") from None
    return build(**options)
