"""Settings come from arguments, then DT_RUNS_* variables, then the config file, then the default."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datatailr_jupyter.errors import ConfigError, InvalidNameError
from datatailr_jupyter.settings import is_trusted_store, resolve, trusted_stores


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


def test_trusted_stores_come_from_the_environment_else_the_config_file_normalised(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    environ = _config(tmp_path, 'trusted_stores = ["./link", "sqlite:///data/team/", "https://runs.example/"]\n')
    assert trusted_stores(environ) == (f"sqlite://{tmp_path / 'real'}", "sqlite:///data/team", "https://runs.example")
    assert is_trusted_store(str(tmp_path / "real"), environ) and is_trusted_store("/data/team/", environ)
    assert not is_trusted_store("/data/other", environ)
    environ["DT_RUNS_TRUSTED_STORES"] = os.pathsep.join(["/data/other", "sqlite:///data/more", "http://team:8000/"])
    assert trusted_stores(environ) == ("sqlite:///data/other", "sqlite:///data/more", "http://team:8000")
    assert not is_trusted_store("/data/team", environ)


def test_bad_trusted_stores_or_max_log_bytes_are_clear_errors(tmp_path: Path) -> None:
    for text in ('trusted_stores = "/one/store"\n', "trusted_stores = [1]\n", 'trusted_stores = [""]\n'):
        with pytest.raises(ConfigError, match="trusted_stores must be a list of store paths or URLs"):
            trusted_stores(_config(tmp_path, text))
    for text in ("max_log_bytes = -1\n", 'max_log_bytes = "lots"\n', "max_log_bytes = true\n"):
        with pytest.raises(ConfigError, match="max_log_bytes must be a number of bytes"):
            resolve(environ=_config(tmp_path, text))


def test_max_log_bytes_of_the_config_is_exported_for_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DT_RUNS_MAX_LOG_BYTES", "")
    monkeypatch.setenv("DT_RUNS_CONFIG", _config(tmp_path, 'max_log_bytes = "64M"\n')["DT_RUNS_CONFIG"])
    resolve()
    assert os.environ["DT_RUNS_MAX_LOG_BYTES"] == "64M"
    monkeypatch.setenv("DT_RUNS_MAX_LOG_BYTES", "8192")  # the variable beats the config file
    resolve()
    assert os.environ["DT_RUNS_MAX_LOG_BYTES"] == "8192"
