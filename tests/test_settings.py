"""Settings come from arguments, then DT_RUNS_* variables, then the config file, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatailr_jupyter.errors import ConfigError, InvalidNameError
from datatailr_jupyter.settings import resolve


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return {"DT_RUNS_CONFIG": str(path)}


def test_argument_beats_environment_beats_config(tmp_path: Path) -> None:
    environ = _config(tmp_path, 'store = "/from/config"\nenv = "pre"\ntoken = "c"\n')
    assert resolve(environ=environ).store_url == "sqlite:///from/config"
    assert resolve(environ=environ).env == "pre"
    environ |= {"DT_RUNS_STORE": "http://team:8000", "DT_RUNS_ENV": "prod", "DT_RUNS_TOKEN": "e"}
    settings = resolve(environ=environ)
    assert (settings.store_url, settings.env, settings.token, settings.source) == (
        "http://team:8000",
        "prod",
        "e",
        "DT_RUNS_STORE",
    )
    settings = resolve("sqlite:///arg", "t", "dev", environ=environ)
    assert (settings.store_url, settings.env, settings.token, settings.source) == (
        "sqlite:///arg",
        "dev",
        "t",
        "argument",
    )


def test_default_is_the_local_store_in_env_dev(tmp_path: Path) -> None:
    settings = resolve(environ={"DT_RUNS_CONFIG": str(tmp_path / "missing.toml")})
    assert settings.store_url.startswith("sqlite:///") and settings.store_url.endswith("store")
    assert (settings.env, settings.source, settings.token) == ("dev", "default", None)


def test_a_relative_path_becomes_an_absolute_sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve("my-store", environ={}).store_url == f"sqlite://{tmp_path / 'my-store'}"


def test_broken_or_unknown_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        resolve(environ=_config(tmp_path, "store = [unclosed"))
    with pytest.raises(ConfigError, match="unknown keys"):
        resolve(environ=_config(tmp_path, 'stor = "x"\n'))


def test_bad_env_is_refused() -> None:
    with pytest.raises(InvalidNameError):
        resolve(env="pro d", environ={})
