"""Makes text from runs safe to print on a terminal: colours (SGR) may pass, every other control sequence may not.

Run data (logs, errors, results, names) is written by task code, so it can carry escape sequences that set the
window title, write the clipboard (OSC 52), make links (OSC 8), clear the screen or move the cursor. A terminal
must only ever see SGR colour sequences from it, and only when the output is a terminal that wants colour.
The sequences are recognised by their ECMA-48 shapes: CSI (``ESC [`` … final byte), OSC / DCS / SOS / PM / APC
strings (up to BEL or ``ESC \\``), two-byte ``ESC`` sequences, and the 8-bit C1 forms of the same.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

__all__ = ["clean", "wants_color"]

_SEQUENCE = re.compile(
    r"""
    (?P<csi>(?:\x1b\[|\x9b)(?P<params>[\x30-\x3f]*)[\x20-\x2f]*(?P<final>[\x40-\x7e])?)
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?   # OSC DCS SOS PM APC strings
    | \x1b[\x20-\x2f]*[\x30-\x7e]?                                                # other ESC sequences
    | \r(?!\n)                                                                    # a lone carriage return
    | [\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]                                          # other C0 / C1 controls
    """,
    re.VERBOSE,
)
_SGR_PARAMS = re.compile(r"[0-9;:]*")


def clean(text: str, color: bool = False) -> str:
    """``text`` without control sequences; SGR colour sequences are kept when ``color`` is true.

    Tabs and newlines stay; a carriage return that does not end a line becomes a newline, so text that a
    progress bar would overwrite stays visible.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("csi") is not None:
            sgr = match.group("final") == "m" and _SGR_PARAMS.fullmatch(match.group("params") or "")
            return match.group(0) if color and sgr else ""
        return "\n" if match.group(0) == "\r" else ""

    return _SEQUENCE.sub(replace, text)


def wants_color(stream: TextIO, no_color: bool = False) -> bool:
    """True when ``stream`` is a terminal and colour was not turned off (``--no-color`` or ``NO_COLOR``)."""
    if no_color or os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
