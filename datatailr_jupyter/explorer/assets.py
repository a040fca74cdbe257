"""Front-end code the widget loads on demand (plotly.js for the Charts tab), sent as a binary buffer on its comm.

The widget's own bundle (`static/widget.js`) is sent with every widget instance, so code only some views need is
kept out of it: the view asks once per page with a `plotly-source` request and imports the bytes from a Blob URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["ASSET_KINDS", "PLOTLY_PATH", "asset_message"]

PLOTLY_PATH = Path(__file__).parent.parent / "static" / "plotly.js"
"""plotly.js (basic bundle) wrapped as an ES module by js/build.mjs."""

ASSETS = {"plotly-source": PLOTLY_PATH}
ASSET_KINDS = frozenset(ASSETS)
"""Request kinds answered with a file's bytes in the message's one buffer."""


def asset_message(kind: str, request_id: Any) -> tuple[dict[str, Any], list[bytes]]:
    """The response to an asset request: ``{kind: "<kind>-response", id, payload: {bytes}}`` and the file as its
    one buffer, or an error response (no buffer) saying how to build the missing file."""
    path = ASSETS[kind]
    response_kind = f"{kind}-response"
    try:
        data = path.read_bytes()
    except OSError as exc:
        message = (
            f"The explorer's chart library is missing ({path}: {exc.strerror or exc}): run `npm run build` in the "
            "datatailr_jupyter source checkout, or reinstall the package from a wheel."
        )
        return {"kind": response_kind, "id": request_id, "error": {"type": "AssetMissing", "message": message}}, []
    return {"kind": response_kind, "id": request_id, "payload": {"bytes": len(data)}}, [data]
