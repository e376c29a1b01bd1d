"""Exceptions of jiuzhang_emu.

Every exception derives from :class:`JiuzhangEmuError`.  Bad input also
derives from :class:`ValueError`, so generic handlers catch it; failures inside
a kernel derive from :class:`RuntimeError`.
"""


class JiuzhangEmuError(Exception):
    """Base class of all jiuzhang_emu exceptions."""


class InputError(JiuzhangEmuError, ValueError):
    """An argument has the wrong shape, type or value.

    The message names the parameter, the expected and the actual value.
    """


class RuntimeLimitError(InputError):
    """The predicted run time of a computation exceeds the caller's limit."""


class KernelError(JiuzhangEmuError, RuntimeError):
    """A native kernel failed."""


class PrecisionWarning(UserWarning):
    """Even the most precise tier available may miss the requested accuracy."""
