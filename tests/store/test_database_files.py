"""Only SQLite touches runs.db, runs.db-wal and runs.db-shm: closing any other descriptor on them drops the POSIX
locks of the process's live connections, and another process may then checkpoint or delete a WAL in use."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import datatailr_jupyter

PACKAGE = Path(datatailr_jupyter.__file__).parent

OPENERS = {"open", "fdopen", "read_bytes", "read_text", "write_bytes", "write_text", "truncate", "mmap",
           "copy", "copy2", "copyfile", "copyfileobj", "FileIO"}  # fmt: skip
DATABASE = re.compile(r"(\bdb\b|\.db\b|runs\.db|-wal|-shm|\bwal\b|\bshm\b|journal)", re.IGNORECASE)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def database_opens(source: str) -> list[str]:
    """Calls that open, read, write, copy or truncate something whose expression names the database files."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or _called_name(node) not in OPENERS:
            continue
        parts = [*node.args, *(k.value for k in node.keywords)]
        if isinstance(node.func, ast.Attribute):
            parts.append(node.func.value)  # Path(...).read_bytes(), db.open()
        if any(DATABASE.search(ast.unparse(p)) for p in parts):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_detector_finds_every_way_of_opening_the_database() -> None:
    samples = [
        "with open(db, 'rb') as fh: fh.read(100)",
        "fd = os.open(self.files.db, os.O_RDONLY)",
        "data = self.db.read_bytes()",
        "Path(root / 'runs.db-wal').open('rb')",
        "shutil.copy(files.db, backup)",
        "io.FileIO(str(root) + '/runs.db-shm')",
    ]
    for sample in samples:
        assert database_opens(sample), sample
    assert database_opens("open(path, 'rb'); os.open(log, 0); self.results.read_bytes()") == []


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_opens_the_database_files_outside_sqlite(module: Path) -> None:
    assert database_opens(module.read_text(encoding="utf-8")) == []
