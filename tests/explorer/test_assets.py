"""plotly.js for the Charts tab: kept out of the widget's bundle and sent once on request as a binary buffer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from datatailr_jupyter.explorer import Explorer, assets
from datatailr_jupyter.explorer.widget import ESM_PATH

from .conftest import Built


class BufferComm(BaseComm):
    """A comm that keeps every custom message the widget publishes with its binary buffers."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        super().__init__(**kwargs)

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        if msg_type == "comm_msg" and (data or {}).get("method") == "custom":
            self.sent.append((data["content"], [bytes(b) for b in buffers or []]))


@pytest.fixture()
def explorer(monkeypatch: pytest.MonkeyPatch, built_store: Built) -> Iterator[Explorer]:
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: BufferComm(**kwargs))
    widget = Explorer("Daily Sales Report", env="prod", store=built_store.url)
    yield widget
    widget.close()


def ask(widget: Explorer, content: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    widget.comm.handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})
    return next((c, b) for c, b in widget.comm.sent if c.get("id") == content["id"])


def test_plotly_is_not_in_the_widget_bundle_but_beside_it() -> None:
    bundle = ESM_PATH.read_text()
    plotly = assets.PLOTLY_PATH.read_text()
    assert "plotly.js (basic - minified)" in plotly and "export default module.exports" in plotly
    assert "plotly.js (basic" not in bundle
    assert len(bundle) < 400_000, f"the widget bundle is {len(bundle):,} bytes"


def test_a_plotly_source_request_gets_the_file_as_one_binary_buffer(explorer: Explorer) -> None:
    content, buffers = ask(explorer, {"kind": "plotly-source", "id": 7, "payload": {}})
    data = assets.PLOTLY_PATH.read_bytes()
    assert content == {"kind": "plotly-source-response", "id": 7, "payload": {"bytes": len(data)}}
    assert buffers == [data]


def test_a_missing_plotly_file_is_an_error_that_says_how_to_build_it(
    explorer: Explorer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(assets.ASSETS, "plotly-source", tmp_path / "plotly.js")
    content, buffers = ask(explorer, {"kind": "plotly-source", "id": 8, "payload": {}})
    assert buffers == []
    assert content["error"]["type"] == "AssetMissing"
    assert "npm run build" in content["error"]["message"]
