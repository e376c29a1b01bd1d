import pytest

from jiuzhang_emu.kernels import _kernels, work


@pytest.fixture(autouse=True)
def always_parallel(monkeypatch):
    """Kernel tests exercise the threaded paths even for small inputs, which
    the library otherwise runs on one thread (see work.SERIAL_SECONDS)."""
    monkeypatch.setattr(work, "SERIAL_SECONDS", 0.0)


@pytest.fixture
def no_native(monkeypatch):
    """Replace every native entry point: input errors must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("native code ran before the input was rejected")

    for name in dir(_kernels):
        obj = getattr(_kernels, name)
        if callable(obj) and not name.startswith("_") and name not in (
            "openmp_enabled", "openmp_max_threads", "InputError", "KernelError"
        ) and not isinstance(obj, type):
            monkeypatch.setattr(_kernels, name, forbidden)
