"""Ready-made experiments: the Jiuzhang family and small exactly solvable ones.

Each preset returns an :class:`~jiuzhang_emu.experiment.Experiment` whose
``provenance`` dict says which parts are published data and which are
stand-ins.  ``get(name, **options)`` looks a preset up by name (for the
command line).  :func:`jiuzhang1_comparison` sets Jiuzhang 1.0's measured data
against the ideal, squashed and fitted models (``jiuzhang-emu reproduce``);
:func:`advantage_table` prices the published advantage claims (:data:`CLAIMS`)
with the cost model (``jiuzhang-emu cost --claims``).

Each preset records how to build it again in ``Experiment.preset``
(``{"name": ..., "options": {...}}``, in ``describe()`` and so in sample
files) when its options are plain values; a random part must then be seeded
by an integer.  None otherwise.
"""
import functools
import inspect

import numpy as np

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.presets import jiuzhang as _jiuzhang
from jiuzhang_emu.presets import small as _small
from jiuzhang_emu.presets.jiuzhang import MeasuredData, jiuzhang1_measured, jiuzhang2_squeezing
from jiuzhang_emu.presets.advantage import CLAIMS, advantage_table
from jiuzhang_emu.presets.reproduction import jiuzhang1_comparison

_PLAIN = (bool, int, float, str, type(None))


def _plain(value):
    """``value`` as a JSON value, or raise TypeError."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if not isinstance(value, _PLAIN):
        raise TypeError(type(value).__name__)
    return value


def _recorded(build):
    """``build`` that records its name and options in ``Experiment.preset``."""
    signature = inspect.signature(build)

    @functools.wraps(build)
    def preset(*args, **kwargs):
        experiment = build(*args, **kwargs)
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        seeded = "rng" not in signature.parameters or isinstance(
            bound.arguments.get("rng"), (int, np.integer))
        try:
            options = {key: _plain(value) for key, value in bound.arguments.items()}
        except TypeError:
            seeded = False
        if seeded:
            experiment.preset = {"name": build.__name__, "options": options}
        return experiment

    return preset


jiuzhang1 = _recorded(_jiuzhang.jiuzhang1)
jiuzhang2 = _recorded(_jiuzhang.jiuzhang2)
jiuzhang3 = _recorded(_jiuzhang.jiuzhang3)
jiuzhang4 = _recorded(_jiuzhang.jiuzhang4)
jiuzhang_like = _recorded(_small.jiuzhang_like)
random_experiment = _recorded(_small.random_experiment)

PRESETS = {
    "jiuzhang1": jiuzhang1,
    "jiuzhang2": jiuzhang2,
    "jiuzhang3": jiuzhang3,
    "jiuzhang4": jiuzhang4,
    "jiuzhang_like": jiuzhang_like,
    "random_experiment": random_experiment,
}


def options(name):
    """The option names of the preset called ``name``, in order."""
    return list(inspect.signature(_build(name)).parameters)


def _build(name):
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"preset must be one of {sorted(PRESETS)}, got {name!r}") from None


def get(name, **options_):
    """Build the preset called ``name`` with keyword ``options_``; an
    unknown option is an InputError listing the preset's options."""
    build = _build(name)
    unknown = sorted(set(options_) - set(options(name)))
    if unknown:
        raise InputError(f"preset {name!r} has no option {', '.join(map(repr, unknown))}; "
                         f"its options are {', '.join(options(name))}")
    try:
        return build(**options_)
    except TypeError as exc:  # a required option left out
        raise InputError(f"preset {name!r}: {exc}; its options are "
                         f"{', '.join(options(name))}") from None
