"""Run data printed by `dt` reaches a terminal without OSC, DCS, cursor or erase sequences; colours only on a TTY."""

from __future__ import annotations

import io
import re

import pytest

from datatailr_jupyter import cli
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.terminal import clean, wants_color

ESC = "\x1b"
OSC52 = ESC + "]52;c;cm0gLXJmIH4gIyBwYXN0ZWQ=\x07"  # write the clipboard
TITLE = ESC + "]0;PWNED-TITLE" + ESC + "\\"  # set the window title, ST-terminated
LINK = ESC + "]8;;http://example.invalid\x07click" + ESC + "]8;;\x07"
ERASE = ESC + "[2J" + ESC + "[H" + ESC + "[3;4H" + ESC + "[K"
DCS = ESC + "Pq#0;2;0;0;0#1" + ESC + "\\"
C1_CSI = "\x9b2J"
RED = ESC + "[31m" + "red" + ESC + "[0m"
HOSTILE = f"a{OSC52}b{TITLE}c{LINK}d{ERASE}e{DCS}f{C1_CSI}g\x07\x08h {RED}"
# what may reach a terminal from run data: SGR colour sequences, nothing else that starts with ESC or is C0/C1
ONLY_SGR = re.compile(r"\x1b\[[0-9;:]*m")


def unsafe(text: str) -> list[str]:
    rest = ONLY_SGR.sub("", text).replace("\r\n", "\n")
    return [ch for ch in rest if (ord(ch) < 32 and ch not in "\n\t") or 0x7F <= ord(ch) <= 0x9F]


@pytest.mark.parametrize(
    ("text", "color", "expected"),
    [
        (HOSTILE, False, "abcclickdefgh red"),
        (HOSTILE, True, f"abcclickdefgh {RED}"),
        ("progress 10%\rprogress 100%\r\ndone\n", False, "progress 10%\nprogress 100%\r\ndone\n"),
        ("tab\tand\nnewline", False, "tab\tand\nnewline"),
        (ESC + "]0;unterminated title\nnext line", False, "\nnext line"),
        (ESC + "[38;5;196mwide" + ESC + "[0m", True, ESC + "[38;5;196mwide" + ESC + "[0m"),
        (ESC + "[?1049h" + "alt screen", True, "alt screen"),  # a private CSI is not a colour
        ("plain text, ünïcödé ✓", True, "plain text, ünïcödé ✓"),
    ],
)
def test_clean_keeps_text_and_colours_and_drops_every_other_sequence(text: str, color: bool, expected: str) -> None:
    assert clean(text, color) == expected
    assert not unsafe(clean(text, color))


def test_colour_only_on_a_terminal_that_wants_it(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert wants_color(Tty()) and not wants_color(io.StringIO()) and not wants_color(Tty(), no_color=True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not wants_color(Tty())


@task()
def noisy():
    import sys

    print(HOSTILE, flush=True)
    print(f"err {TITLE}{OSC52}", file=sys.stderr, flush=True)
    return f"result {TITLE}{OSC52}{ERASE}"


@task()
def explodes(value):
    raise ValueError(f"bad {TITLE}{OSC52}{ERASE}")


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    from datatailr_jupyter.store.registry import open_store

    path = tmp_path_factory.mktemp("terminal") / "store"
    store = open_store(f"sqlite://{path}")

    @workflow(name="Escapes")
    def escapes():
        explodes(noisy())

    try:
        handle = escapes(local_run=True, store=store, executor="thread")
        return str(path), handle.run_id
    finally:
        store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["logs", "{run}", "noisy"],
        ["logs", "{run}", "noisy", "--stderr"],
        ["result", "{run}", "noisy"],
        ["run", "{run}"],
        ["runs"],
        ["runs", "Escapes", "--state", "failed"],
        ["rerun", "{run}", "--plan"],
    ],
)
@pytest.mark.parametrize("tty", [False, True])
def test_dt_never_writes_control_sequences_from_run_data(
    hostile_store: tuple[str, int],
    argv: list[str],
    tty: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, run = hostile_store
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(cli, "wants_color", lambda stream, no_color=False: tty and not no_color)
    code = cli.main(["--store", store, *[a.format(run=run) for a in argv]])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    assert captured.out.strip(), "the command printed nothing"
    assert unsafe(captured.out) == [] and unsafe(captured.err) == []
    assert "PWNED-TITLE" not in captured.out  # the title text lived inside the OSC string: gone with it
    if argv[0] == "logs" and "--stderr" not in argv:
        assert ("\x1b[31mred" in captured.out) is tty  # colours on a terminal only


def test_raw_logs_keep_the_stored_bytes(hostile_store: tuple[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    store, run = hostile_store
    assert cli.main(["--store", store, "--raw", "logs", str(run), "noisy"]) == 0
    assert HOSTILE in capsys.readouterr().out


def test_no_color_strips_colours_on_a_terminal(
    hostile_store: tuple[str, int], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run = hostile_store
    monkeypatch.setattr(cli, "wants_color", lambda stream, no_color=False: not no_color)
    assert cli.main(["--store", store, "--no-color", "logs", str(run), "noisy"]) == 0
    out = capsys.readouterr().out
    assert "red" in out and ESC not in out


def test_the_engines_own_line_about_a_failed_run_carries_no_control_sequence(
    tmp_path_factory: pytest.TempPathFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    from datatailr_jupyter.store.registry import open_store

    store = open_store(f"sqlite://{tmp_path_factory.mktemp('engine-line') / 'store'}")

    @workflow(name="Escapes In Errors")
    def escapes():
        explodes(noisy())

    try:
        escapes(local_run=True, store=store, executor="thread")
    finally:
        store.close()
    err = capfd.readouterr().err
    assert "run 1 of 'Escapes In Errors' failed" in err and "ValueError: bad" in err
    assert unsafe(err) == [] and "PWNED-TITLE" not in err
