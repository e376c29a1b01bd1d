"""The Gaussian classical models of a GBS experiment, as Experiments.

A validation of a GBS experiment must tell its samples apart from classical
imitations matched to its first moments.  Three of them are Gaussian
experiments in their own right, so their exact probabilities, click
statistics and phase-space estimates come from the same physics code as the
ideal model's; :func:`adversary_experiment` builds them.  "Squeezers" are
:class:`~jiuzhang_emu.sources.SingleModeSqueezer` and
:class:`~jiuzhang_emu.sources.TwoModeSqueezer` (with any thermal fraction);
the other sources (coherent, thermal, squashed, vacuum) are classical and are
kept as they are.

* ``"thermal"``: every squeezer replaced by the thermal state with the same
  mean photon number per mode (``.thermal()``: a two-mode squeezer becomes two
  independent thermal modes of sinh^2 r photons each, a single-mode squeezer
  Thermal(sinh^2 r)), through the same transfer matrix and detector
  efficiency.  The thermal hypothesis of the Jiuzhang validations (Zhong et
  al., Science 370, 1460 (2020)); Martinez-Cifuentes, Fonseca-Romero,
  Quesada, Quantum 7, 1076 (2023).
* ``"squashed"``: every squeezer replaced by its squashed counterpart
  (``.squashed()``: the same photon number, |<a a>| = n, resp. |<a b>| = n;
  the least noisy classical state with that photon number), Martinez-Cifuentes,
  Fonseca-Romero, Quesada, Quantum 7, 1076 (2023).  The replacements of both
  are fully indistinguishable (the mean photon numbers do not depend on it: no
  source has first-order coherence with another).
* ``"distinguishable"``: the light of every squeezer distinguishable from
  every other's: each squeezer given ``indistinguishability=0`` (the internal
  modes of :mod:`jiuzhang_emu.experiment`).  The distinguishable-photon
  hypothesis of the Jiuzhang validations (Zhong et al., Science 370, 1460
  (2020)).

Every model has the ideal experiment's ``mean_photon_numbers()``.  The
samplers of these and the non-Gaussian adversaries live in
:mod:`jiuzhang_emu.samplers.adversaries`.
"""
from dataclasses import replace

from jiuzhang_emu.errors import InputError
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.sources import SingleModeSqueezer, TwoModeSqueezer

#: Adversaries that are a Gaussian Experiment (see adversary_experiment).
GAUSSIAN_ADVERSARIES = ("thermal", "squashed", "distinguishable")

#: The sources an adversary replaces.
SQUEEZERS = (SingleModeSqueezer, TwoModeSqueezer)


def check_adversary_name(name, allowed):
    """Return ``name`` if it is one of ``allowed``, else raise InputError."""
    if name not in allowed:
        raise InputError(f"name must be one of {allowed}, got {name!r}")
    return name


def adversary_sources(experiment, name):
    """The sources of ``experiment``, whose squeezers the adversary ``name``
    replaces; InputError for an experiment built from a GaussianState."""
    if experiment.sources is None:
        raise InputError(f"the {name!r} adversary replaces the experiment's squeezers, so the "
                         f"experiment must be built from sources, not from a GaussianState")
    return experiment.sources


def adversary_experiment(experiment, name):
    """The classical (Gaussian) experiment behind the adversary ``name``.

    Parameters
    ----------
    experiment : Experiment
        Built from sources.
    name : {"thermal", "squashed", "distinguishable"}

    Returns
    -------
    Experiment
        The same transfer matrix and detector; every squeezer replaced by its
        thermal (``.thermal()``) or squashed (``.squashed()``) counterpart, or
        given ``indistinguishability=0``.  Its ``mean_photon_numbers()`` equal
        ``experiment.mean_photon_numbers()``.
    """
    check_adversary_name(name, GAUSSIAN_ADVERSARIES)
    sources = []
    for source in adversary_sources(experiment, name):
        if isinstance(source, SQUEEZERS):
            source = {"thermal": source.thermal, "squashed": source.squashed,
                      "distinguishable": lambda s=source: replace(s, indistinguishability=0.0),
                      }[name]()
        sources.append(source)
    provenance = {"adversary": name, "of": experiment.name,
                  "fingerprint": experiment.fingerprint()}
    return Experiment(sources, experiment.transfer_matrix, experiment.detector,
                      name=f"{experiment.name}-{name}", provenance=provenance)
