"""The shape of the package: the layer contract (import-linter, also run by ``make lint``) fails on a
planted violation, and modules reach each other only through the kit their package exports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evroam
from evroam.modules.kit import ModuleKit
from evroam.node.kits import BUILTIN_KITS

SRC = Path(evroam.__file__).resolve().parent
ROOT = SRC.parents[1]
MODULES = SRC / "modules"
PACKAGES = sorted(p.name for p in MODULES.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def _imports(path: Path, top: Path) -> list[tuple[str, list[str], int]]:
    """``(absolute module, imported names, line)`` of every import in ``path`` (a file below ``top``,
    the folder holding the ``evroam`` package), nested ones too."""
    package = list(path.relative_to(top).with_suffix("").parts)[:-1]
    found: list[tuple[str, list[str], int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, [], node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def _crossings(modules: Path = MODULES) -> list[str]:
    """Imports from one module package into another that are not ``from evroam.modules.X import KIT``."""
    top = modules.parents[1]
    wrong = []
    for own in PACKAGES:
        for path in sorted((modules / own).rglob("*.py")):
            for module, names, line in _imports(path, top):
                parts = module.split(".")
                if parts == ["evroam", "modules"] and any(n in PACKAGES and n != own for n in names):
                    wrong.append(f"{path.relative_to(top)}:{line} imports module packages {names}")
                    continue
                if parts[:2] != ["evroam", "modules"] or len(parts) < 3:
                    continue
                if parts[2] == own or parts[2] not in PACKAGES:
                    continue
                target = __import__(f"evroam.modules.{parts[2]}", fromlist=["_"])
                kits = len(parts) == 3 and all(isinstance(getattr(target, n, None), ModuleKit) for n in names)
                if not kits or not names:
                    where = path.relative_to(top)
                    wrong.append(f"{where}:{line} imports {module} {names}")
    return wrong


def test_modules_reach_each_other_only_through_their_kits() -> None:
    assert _crossings() == []


def test_each_builtin_module_package_exports_its_kit() -> None:
    by_package = {kit.name: kit for kit in BUILTIN_KITS}
    assert sorted(by_package) == PACKAGES
    for name, kit in by_package.items():
        package = __import__(f"evroam.modules.{name}", fromlist=["_"])
        exported = [
            getattr(package, n) for n in package.__all__ if isinstance(getattr(package, n), ModuleKit)
        ]
        assert exported == [kit]


@pytest.mark.parametrize(
    "line",
    [
        "from evroam.modules.locations.repository import load_location",
        "from ..locations import load_location",
        "from evroam.modules import locations",
        "    import evroam.modules.sessions.service",
    ],
)
def test_the_kit_boundary_check_sees_an_import_past_a_kit(tmp_path: Path, line: str) -> None:
    copy = tmp_path / "evroam" / "modules"
    shutil.copytree(MODULES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    body = f"def f() -> None:\n{line}\n" if line.startswith(" ") else line + "\n"
    (copy / "tariffs" / "planted.py").write_text(body)
    assert [c for c in _crossings(copy) if "planted.py" in c]


@pytest.mark.slow
def test_the_layer_contract_holds_and_breaks_on_a_planted_lazy_import(tmp_path: Path) -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail("lint-imports (import-linter) is not installed: it is a dev dependency")
    copy = tmp_path / "src"
    shutil.copytree(SRC, copy / "evroam", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PYTHONPATH": str(copy), "PATH": str(Path(sys.executable).parent)}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(lint), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
        )

    kept = run()
    assert kept.returncode == 0, kept.stdout + kept.stderr
    service = copy / "evroam" / "modules" / "tariffs" / "push.py"
    service.write_text(
        service.read_text(encoding="utf-8")
        + "\n\ndef _planted() -> object:\n"
        + "    from evroam.node.wiring import build_node\n\n"
        + "    return build_node\n"
    )
    broken = run()
    assert broken.returncode != 0
    assert "evroam.modules is not allowed to import evroam.node" in broken.stdout
    assert "evroam.modules.tariffs.push -> evroam.node.wiring" in broken.stdout
