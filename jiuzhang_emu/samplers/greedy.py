"""The whole-set greedy spoofer (being rebuilt for issue 17; for now the
per-batch spoofer of :mod:`jiuzhang_emu.samplers.adversaries`)."""
from jiuzhang_emu.detectors import Threshold
from jiuzhang_emu.errors import InputError
from jiuzhang_emu.samplers.adversaries import GreedySampler


def check_experiment(experiment):
    if not isinstance(experiment.detector, Threshold):
        raise InputError(f"method 'greedy' needs threshold detectors, got "
                         f"{experiment.detector.kind} detection")


def prepare(experiment, shots, root, *, path=None, n_workers=1, progress=None):
    return None


def Sampler(experiment, prepared):
    return GreedySampler(experiment)
