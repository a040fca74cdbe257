"""Eight processes writing one store lose nothing and never see a busy error; every write is BEGIN IMMEDIATE
(reliability test T5)."""

from __future__ import annotations

import ast
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import datatailr_jupyter.store as store_package
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store._schema import write
from datatailr_jupyter.store._writes import rebuild_derived
from datatailr_jupyter.store.sqlite import SqliteRunStore

from .store_worker import WORKFLOW, register

REPO = Path(__file__).resolve().parents[2]
PROCESSES, RUNS = 8, 100  # 5 transitions per run: 500 per process
WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


@pytest.mark.parametrize("how", ["store", "deploy"])
def test_two_processes_registering_names_that_fold_to_one_key_at_once_only_one_succeeds(
    tmp_path: Path, how: str
) -> None:
    for attempt in range(3):
        store_dir = tmp_path / f"store-{attempt}"
        SqliteRunStore(store_dir).close()
        names = ["Daily Report", "daily-report"]
        children = [
            subprocess.Popen([sys.executable, "-m", "tests.store.store_worker", "register", str(store_dir), name, how],
                             cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for name in names
        ]  # fmt: skip
        for child in children:  # both opened the store and wait: start them together
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outcomes = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0
            outcomes.append(json.loads(out.strip().splitlines()[-1]))
        assert sorted(o["ok"] for o in outcomes) == [False, True], outcomes
        winner = names[[o["ok"] for o in outcomes].index(True)]
        [refused] = [o["error"] for o in outcomes if not o["ok"]]
        assert "InvalidNameError" in refused and "rename this one or use that exact name" in refused
        assert f"a workflow {winner!r} already uses the key 'daily-report'" in refused
        with SqliteRunStore(store_dir) as store:
            [info] = store.list_workflows()
            assert (info.name, info.latest_version) == (winner, 1)


@pytest.mark.slow
def test_eight_processes_make_4000_transitions_with_none_lost_and_no_busy_errors(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    with SqliteRunStore(store_dir) as store:
        register(store)
    children = [
        subprocess.Popen([sys.executable, "-m", "tests.store.store_worker", "transitions", str(store_dir), str(n),
                          str(RUNS)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for n in range(PROCESSES)
    ]  # fmt: skip
    for child in children:  # all imported and waiting: start them together
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    reports = []
    for child in children:
        out, _ = child.communicate(timeout=300)
        assert child.returncode == 0
        reports.append(json.loads(out.strip().splitlines()[-1]))
    errors = [e for r in reports for e in r["errors"]]
    assert errors == [], errors[:3]
    commits = sorted(ms for r in reports for ms in r["commit_ms"])
    assert len(commits) == PROCESSES * RUNS * 5
    p99 = commits[int(len(commits) * 0.99)]
    assert p99 < 500, f"p99 commit {p99:.1f} ms"
    print(f"\n{len(commits)} transitions, p50 {commits[len(commits) // 2]:.2f} ms, p99 {p99:.2f} ms")

    with SqliteRunStore(store_dir) as store:
        page = store.list_runs(RunQuery(workflow=WORKFLOW, limit=1000))
        assert page.total == PROCESSES * RUNS == len(page.runs)
        assert all(r.state is RunState.COMPLETED and r.task_counts == {"completed": 1} for r in page.runs)
        assert store.list_runs(RunQuery(env="dev")).total == store.list_runs(RunQuery(env="prod")).total == 400
        (info,) = store.list_workflows()
        assert info.n_runs == PROCESSES * RUNS and len(info.recent_states) == 10
        assert store.activity(WORKFLOW, None).total == PROCESSES * RUNS
        values = {tuple(json.loads(store.read_result(r.run_id, 0)[1])) for r in page.runs}
        assert values == {(n, i) for n in range(PROCESSES) for i in range(RUNS)}
        conn = sqlite3.connect(store_dir / "runs.db")
        tables = ("run_days", "run_hours", "wf_env")
        before = [sorted(conn.execute(f"SELECT * FROM {t} WHERE {'n != 0' if t != 'wf_env' else '1'}")) for t in tables]  # noqa: S608
        with write(store._conn()) as tx:
            rebuild_derived(tx)
        after = [sorted(conn.execute(f"SELECT * FROM {t} WHERE {'n != 0' if t != 'wf_env' else '1'}")) for t in tables]  # noqa: S608
        conn.close()
        assert after == before


# ---------------------------------------------------------------- static check of the write path


def _modules() -> list[Path]:
    folder = Path(store_package.__file__).parent
    return [folder / "sqlite.py", *sorted(folder.glob("_*.py"))]


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _sql(node: ast.Constant) -> str:
    return node.value.strip().upper() if isinstance(node.value, str) else ""


def test_every_write_statement_runs_on_a_begin_immediate_transaction() -> None:
    checked = 0
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        parents = _parents(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Constant) or not _sql(node) or isinstance(parents.get(node), ast.Expr):
                continue  # not SQL, or a docstring
            text = _sql(node)
            if "BEGIN" in text.split():
                assert text in ("BEGIN IMMEDIATE", "BEGIN DEFERRED"), f"{path.name}:{node.lineno}: {text}"
                function = next(p for p in _ancestors(node, parents) if isinstance(p, ast.FunctionDef))
                assert (text, function.name) in (("BEGIN IMMEDIATE", "write"), ("BEGIN DEFERRED", "snapshot"))
                continue
            if not text.startswith(tuple(w + " " for w in WRITE_WORDS)):
                continue
            checked += 1
            ancestors = list(_ancestors(node, parents))
            top = next((a for a in ancestors if isinstance(a, ast.Assign) and a in tree.body), None)
            if top is not None:  # a module constant: a migration, or statements only ever run on tx
                (target,) = top.targets
                assert isinstance(target, ast.Name)
                if target.id.startswith("_V"):
                    continue  # run by migrate() through write()
                _only_on_tx(tree, parents, target.id, path)
                continue
            call = next((a for a in ancestors if isinstance(a, ast.Call)), None)
            assert call is not None, f"{path.name}:{node.lineno}: write SQL outside a call"
            func = call.func
            assert isinstance(func, ast.Attribute) and func.attr in ("execute", "executemany"), (
                f"{path.name}:{node.lineno}: write SQL not run by execute/executemany"
            )
            assert isinstance(func.value, ast.Name) and func.value.id == "tx", (
                f"{path.name}:{node.lineno}: write SQL runs on {ast.unparse(func.value)}, not on a write() transaction"
            )
    assert checked > 20


def test_every_tx_comes_from_write_and_no_script_or_implicit_transaction_is_used() -> None:
    for path in _modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg == "tx":
                assert node.annotation is not None and ast.unparse(node.annotation) == "Tx", (
                    f"{path.name}:{node.lineno}"
                )
            if isinstance(node, ast.withitem) and isinstance(node.optional_vars, ast.Name):
                if node.optional_vars.id == "tx":
                    assert ast.unparse(node.context_expr) in ("write(conn)", "self._write()", "write(self._conn())")
            if isinstance(node, ast.Attribute):
                assert node.attr not in ("executescript", "commit", "rollback"), f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("connect"):
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                if "isolation_level" in keywords or ast.unparse(node.func) == "sqlite3.connect":
                    assert keywords.get("isolation_level") == "None", f"{path.name}:{node.lineno}"


def _only_on_tx(tree: ast.Module, parents: dict[ast.AST, ast.AST], name: str, path: Path) -> None:
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
    assert uses, f"{path.name}: {name} is never used"
    for use in uses:
        call = next(a for a in _ancestors(use, parents) if isinstance(a, ast.Call))
        assert ast.unparse(call.func) in ("tx.execute", "tx.executemany"), f"{path.name}:{use.lineno}: {name}"


def _ancestors(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> list[ast.AST]:
    out = []
    while node in parents:
        node = parents[node]
        out.append(node)
    return out
