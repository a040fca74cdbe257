"""Stores open from URLs; unknown schemes list the known ones; other packages can add schemes."""

from __future__ import annotations

from typing import Any

import pytest

from datatailr_jupyter.errors import UnknownSchemeError
from datatailr_jupyter.store import registry


def test_unknown_scheme_lists_known_schemes() -> None:
    with pytest.raises(UnknownSchemeError, match="sqlite://") as info:
        registry.open_store("ftp://example/store")
    assert "'ftp://'" in str(info.value)


def test_a_plain_path_is_not_a_url() -> None:
    with pytest.raises(UnknownSchemeError, match="sqlite:///path"):
        registry.open_store("just-a-name")


def test_registered_scheme_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def factory(url: str, token: str | None = None) -> Any:
        seen.update(url=url, token=token)
        return "a store"

    monkeypatch.setitem(registry._registered, "memo", factory)
    assert registry.open_store("memo://x", token="t") == "a store"
    assert seen == {"url": "memo://x", "token": "t"}
    assert "memo" in registry.known_schemes()
