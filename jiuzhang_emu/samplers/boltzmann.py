"""The k = 2 Boltzmann-machine sampler (being written for issue 17)."""
from jiuzhang_emu.errors import InputError


def check_experiment(experiment):
    raise InputError("method 'boltzmann' is not available yet")


def prepare(experiment, shots, root, *, path=None, n_workers=1, progress=None):
    raise InputError("method 'boltzmann' is not available yet")


def Sampler(experiment, prepared):
    raise InputError("method 'boltzmann' is not available yet")
