import pytest

from jiuzhang_emu.kernels import work


@pytest.fixture(autouse=True)
def always_parallel(monkeypatch):
    """Kernel tests exercise the threaded paths even for small inputs, which
    the library otherwise runs on one thread (see work.SERIAL_SECONDS)."""
    monkeypatch.setattr(work, "SERIAL_SECONDS", 0.0)
