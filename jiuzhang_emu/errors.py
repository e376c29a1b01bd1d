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
    """The predicted run time of a computation exceeds the caller's limit.

    ``seconds`` is the prediction and ``max_seconds`` the limit (None where
    the raiser did not give them).  The message ends with how to lift the
    limit from Python (``max_seconds=None``); the command line says its own
    flag instead.
    """

    LIFT = "pass max_seconds=None to run it anyway"

    def __init__(self, message, *, seconds=None, max_seconds=None):
        super().__init__(f"{message}; {self.LIFT}" if seconds is not None else message)
        self.reason, self.seconds, self.max_seconds = message, seconds, max_seconds


class KernelError(JiuzhangEmuError, RuntimeError):
    """A native kernel failed."""


class PrecisionLimitError(KernelError):
    """Rounding could misplace more than a kernel's accuracy budget even in
    its most precise tier: the result is refused, never returned.

    The message names the computation, the estimated error and the budget.
    """


class PrecisionWarning(UserWarning):
    """Even the most precise tier available may miss the requested accuracy."""
