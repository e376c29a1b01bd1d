"""jiuzhang_emu: a photonic quantum computing emulator for Gaussian boson
sampling, modelled on the USTC Jiuzhang experiments."""
__version__ = "0.1.0.dev0"

from jiuzhang_emu._config import show_config
from jiuzhang_emu._threads import effective_n_threads
from jiuzhang_emu.errors import (
    InputError,
    JiuzhangEmuError,
    KernelError,
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
