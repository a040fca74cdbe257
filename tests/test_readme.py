"""The README's examples run as written in `make shell` (the venv's `dt` and `python` first on PATH, DT_RUNS_STORE
pointing at a demo store): every `dt` line of the command-line block, and the Python blocks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from datatailr_jupyter import demo

README = Path(__file__).resolve().parents[1] / "README.md"
BIN = Path(sys.executable).parent
START, END = ":::command ", ":::exit "


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def _command_block() -> str:
    text = README.read_text()
    section = text[text.index("## Command line") :]
    (block,) = re.findall(r"^```bash\n(.*?)^```", section, flags=re.S | re.M)[:1]
    return str(block)


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """What `make shell` sets, over a small demo store with the default seed."""
    store = tmp_path_factory.mktemp("readme") / "demo-store"
    assert demo.main(["--store", str(store), "--runs", "60"]) == 0
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", DT_RUNS_STORE=str(store))
    env["DT_RUNS_TRUSTED_STORES"] = str(store)
    env["DT_RUNS_CONFIG"] = str(store.parent / "no-config.toml")
    env.pop("DT_RUNS_ENV", None)
    yield env


def test_every_dt_line_of_the_command_line_block_succeeds_with_output(shell_env: dict[str, str]) -> None:
    assert shutil.which("dt", path=shell_env["PATH"]) == str(BIN / "dt")
    script = ["set -u"]
    commands = []
    for line in _command_block().splitlines():
        code = re.split(r"\s+#\s", line)[0].strip()
        if not code or code.startswith("dt scheduler"):
            continue  # the scheduler runs until Ctrl+C
        if code.startswith("dt "):
            commands.append(code)
            script += [f"echo '{START}{len(commands) - 1}'", f'{code}; rc=$?; echo; echo "{END}$rc"']
        else:
            script.append(code)
    assert len(commands) >= 10
    done = subprocess.run(["bash", "-c", "\n".join(script)], env=shell_env, capture_output=True, text=True, timeout=600)
    outputs: dict[int, tuple[str, str]] = {}
    for part in ("\n" + done.stdout).split(f"\n{START}"):
        number, _, rest = part.partition("\n")
        if number.isdigit():
            body, _, rc = rest.rpartition(f"\n{END}")
            outputs[int(number)] = (body, rc.strip())
    assert sorted(outputs) == list(range(len(commands))), done.stdout + done.stderr
    for i, command in enumerate(commands):
        body, rc = outputs[i]
        assert rc == "0", f"{command}\n{body}\n{done.stderr}"
        assert body.strip(), f"{command} printed nothing\n{done.stderr}"
    text = dict(zip(commands, (outputs[i][0] for i in range(len(commands))), strict=True))
    assert "503 Slow Down" in text["dt log read $RUN --task publish_report --stderr --tail 4096"]
    assert "pandas.DataFrame" in text["dt result $RUN fetch_data"]
    assert "reuse" in text["dt job rerun $RUN --plan"]
    assert "==> task " in text['dt log read "Simple Data Pipeline" --tail 400']
    assert ": completed" in text['dt job run "Simple Data Pipeline" --env dev --wait']
    assert "calculate_total -> publish_report" in text['dt job get "Daily Sales Report"']


def test_the_python_examples_run(shell_env: dict[str, str], tmp_path: Path) -> None:
    blocks = [b for b in _blocks("python") if not b.lstrip().startswith("%")]
    assert any("connect()" in b for b in blocks)
    for block in blocks:
        done = subprocess.run(
            [str(BIN / "python"), "-"], input=block, cwd=tmp_path, env=shell_env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
        if "connect()" in block:
            assert "503 Slow Down" in done.stdout and "north" in done.stdout, done.stdout
