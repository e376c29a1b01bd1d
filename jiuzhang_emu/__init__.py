"""jiuzhang_emu: a photonic quantum computing emulator for Gaussian boson
sampling, modelled on the USTC Jiuzhang experiments."""
from jiuzhang_emu._version import __version__

from jiuzhang_emu._config import show_config
from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import (
    InputError,
    JiuzhangEmuError,
    KernelError,
    PrecisionLimitError,
    PrecisionWarning,
    RuntimeLimitError,
)
from jiuzhang_emu.kernels import (
    BatchResult,
    KernelResult,
    hafnian,
    hafnian_batch,
    loop_hafnian,
    loop_hafnian_batch,
    loop_torontonian,
    loop_torontonian_batch,
    permanent,
    permanent_batch,
    torontonian,
    torontonian_batch,
)
from jiuzhang_emu.detectors import PhotonNumberResolving, PseudoPNR, Threshold
from jiuzhang_emu.experiment import Experiment
from jiuzhang_emu.interferometers import (
    Mesh,
    clements_decomposition,
    haar_unitary,
    load_transfer_matrix,
    lossy_transfer_matrix,
)
from jiuzhang_emu.sources import (
    Coherent,
    SingleModeSqueezer,
    Squashed,
    Thermal,
    TwoModeSqueezer,
    TwoModeSquashed,
    Vacuum,
)
from jiuzhang_emu.states import GaussianState
