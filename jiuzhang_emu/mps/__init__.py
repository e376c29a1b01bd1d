"""Matrix product states of the pure part of a lossy Gaussian state (Oh et al. 2024).

- :mod:`~jiuzhang_emu.mps.schmidt`: the Schmidt data of every cut of a pure
  Gaussian state (Williamson decomposition of the right block, top-chi Fock
  patterns).
- :mod:`~jiuzhang_emu.mps.network`: the right-canonical site tensors (Fock
  amplitudes of one Gaussian unitary each, :mod:`jiuzhang_emu.fock`), the
  lossy MPS (:class:`LossyMPS`: random displacement + network) and its HDF5
  file.

Built and sampled by :mod:`jiuzhang_emu.samplers.mps` (``method="mps"``).
"""
from jiuzhang_emu.mps.network import LossyMPS, MPSParameters

__all__ = ["LossyMPS", "MPSParameters"]
