import pytest

from jiuzhang_emu.kernels import _cost


@pytest.fixture(autouse=True)
def always_parallel(monkeypatch):
    """Kernel tests exercise the threaded paths even for small inputs, which
    the library otherwise runs on one thread (see _cost.SERIAL_SECONDS)."""
    monkeypatch.setattr(_cost, "SERIAL_SECONDS", 0.0)
