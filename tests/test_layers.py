"""The package's layering (DESIGN.md), checked.

- The import-linter contract in pyproject.toml ([tool.importlinter]): a room
  imports only rooms below it, interface > files > validation > samplers >
  cost > physics > kernels > base.
- Only jiuzhang_emu.kernels imports the compiled jiuzhang_emu.kernels._kernels
  (import-linter sees .py files only, so an AST scan checks it).
- No module imports a private name of another package: ``_name`` in a dotted
  path, in ``from ... import _name`` or as ``module._name`` belongs to the
  package that holds it (and its subpackages).  jiuzhang_emu's own
  ``_threads`` and ``_version`` are the base, so every module may use them.
"""
import ast
from pathlib import Path

import pytest

import jiuzhang_emu

PACKAGE = Path(jiuzhang_emu.__file__).parent
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _private(part):
    return part.startswith("_") and not part.startswith("__")


def _module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """(line, full dotted name) of everything ``path`` imports, the names
    taken from modules included, and of ``module._name`` attribute uses of
    imported modules."""
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(), str(path))
    bound = {}  # local name -> dotted name of an imported module or object
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name))
                bound[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append((node.lineno, name))
                bound[alias.asname or alias.name] = name
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id in bound and _private(node.attr)):
            found.append((node.lineno, f"{bound[node.value.id]}.{node.attr}"))
    return module, [(line, name) for line, name in found if name.startswith("jiuzhang_emu")]


def _owner(name):
    """The package a private name belongs to: the path before its first
    private part, less the module holding it when that part is an attribute
    or a module (a private name is visible to its package)."""
    parts = name.split(".")
    first = next((i for i, part in enumerate(parts) if _private(part)), None)
    if first is None:
        return None
    holder = ".".join(parts[:first])
    path = PACKAGE.parent.joinpath(*parts[:first])
    # a private name inside a module (not a package) belongs to that module's package
    return holder if path.is_dir() else holder.rpartition(".")[0]


def _inside(module, package):
    return module == package or module.startswith(package + ".")


def _all_imports():
    for path in sorted(PACKAGE.rglob("*.py")):
        module, names = _imports(path)
        for line, name in names:
            yield module, path, line, name


def test_no_private_names_across_packages():
    broken = sorted({f"{path.relative_to(PACKAGE.parent)}:{line}: {module} uses {name}"
                     for module, path, line, name in _all_imports()
                     if (owner := _owner(name)) is not None and not _inside(module, owner)})
    assert not broken, "private names used outside their package:\n" + "\n".join(broken)


def test_only_kernels_imports_the_compiled_module():
    broken = sorted({f"{path.relative_to(PACKAGE.parent)}:{line}: {module}"
                     for module, path, line, name in _all_imports()
                     if _inside(name, "jiuzhang_emu.kernels._kernels")
                     and not _inside(module, "jiuzhang_emu.kernels")})
    assert not broken, "jiuzhang_emu.kernels._kernels imported from:\n" + "\n".join(broken)


def test_the_scan_sees_private_names():
    """The scanner itself: what counts as another package's private name."""
    assert _owner("jiuzhang_emu.kernels._kernels") == "jiuzhang_emu.kernels"
    assert _owner("jiuzhang_emu.kernels._precision.TIERS") == "jiuzhang_emu.kernels"
    assert _owner("jiuzhang_emu.validation.statistics._CHUNK") == "jiuzhang_emu.validation"
    assert _owner("jiuzhang_emu._threads.effective_n_threads") == "jiuzhang_emu"
    assert _owner("jiuzhang_emu.kernels.hafnian") is None
    assert _owner("jiuzhang_emu.__version__") is None
    assert not _inside("jiuzhang_emu.samplers.exact", "jiuzhang_emu.kernels")
    assert _inside("jiuzhang_emu.samplers.exact", "jiuzhang_emu")


def test_import_contract(tmp_path, monkeypatch):
    """lint-imports with pyproject.toml's contract, on the package the suite
    imports."""
    cli = pytest.importorskip("importlinter.cli")
    if not PYPROJECT.is_file():
        pytest.skip("no pyproject.toml next to the tests (an installed test tree)")
    monkeypatch.chdir(tmp_path)  # import-linter's cache and output stay out of the tree
    assert cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True) == 0
