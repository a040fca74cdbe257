"""The CLI and the explorer act only through the Client: neither imports the engine, so both work on remote stores."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "datatailr_jupyter"


def engine_imports(path: Path, package: str | None = None) -> list[str]:
    """``file:line`` of every import of datatailr_jupyter.engine (absolute or relative, at any depth) in ``path``,
    a module of ``package`` (default: the package its place in the source tree says)."""
    found = []
    if package is None:
        package = ".".join(path.relative_to(PACKAGE.parent).parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        if any(n == "datatailr_jupyter.engine" or n.startswith("datatailr_jupyter.engine.") for n in names):
            found.append(f"{path.name}:{node.lineno}")
    return found


@pytest.mark.parametrize("folder", ["cli", "explorer"])
def test_cli_and_explorer_never_import_the_engine(folder: str) -> None:
    files = sorted((PACKAGE / folder).rglob("*.py"))
    assert files
    assert [hit for f in files for hit in engine_imports(f)] == []


def test_the_check_sees_relative_and_absolute_engine_imports(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from ..engine import rerun\nimport datatailr_jupyter.engine.reruns\nfrom .. import engine\n")
    assert engine_imports(probe, "datatailr_jupyter.cli") == ["probe.py:1", "probe.py:2", "probe.py:3"]
    probe.write_text("from ..client import Client\nfrom . import job\n")
    assert engine_imports(probe, "datatailr_jupyter.cli") == []
