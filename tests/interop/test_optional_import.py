"""The Strawberry Fields interop is optional: without it the package imports,
and the interop module says how to install it.  Runs in every environment."""
import importlib
import sys

import pytest


def test_interop_package_imports_without_strawberryfields(monkeypatch):
    monkeypatch.setitem(sys.modules, "strawberryfields", None)  # import fails
    monkeypatch.delitem(sys.modules, "jiuzhang_emu.interop", raising=False)
    importlib.import_module("jiuzhang_emu.interop")


def test_missing_strawberryfields_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "strawberryfields", None)  # import fails
    monkeypatch.delitem(sys.modules, "jiuzhang_emu.interop.strawberryfields", raising=False)
    with pytest.raises(ImportError, match=r'pip install "jiuzhang-emu\[sf\]"') as info:
        importlib.import_module("jiuzhang_emu.interop.strawberryfields")
    assert "scipy < 1.14" in str(info.value)
