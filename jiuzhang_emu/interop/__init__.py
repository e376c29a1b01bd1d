"""Interoperability with other photonic simulators (optional extras).

* :mod:`jiuzhang_emu.interop.strawberryfields`: :class:`~jiuzhang_emu.Experiment`
  to and from a Strawberry Fields ``Program``; needs
  ``pip install "jiuzhang-emu[sf]"``.

The submodules import their simulator when imported themselves, so
``import jiuzhang_emu`` never needs them.
"""
