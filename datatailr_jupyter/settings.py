"""Resolves the store URL, token and environment: arguments, then DT_RUNS_* variables, then the config file."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .errors import ConfigError
from .models import check_env

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

APP = "datatailr_jupyter"
ENV_STORE = "DT_RUNS_STORE"
ENV_TOKEN = "DT_RUNS_TOKEN"
ENV_ENV = "DT_RUNS_ENV"
ENV_CONFIG = "DT_RUNS_CONFIG"
DEFAULT_ENV = "dev"


@dataclass(frozen=True)
class Settings:
    store_url: str
    token: str | None
    env: str
    source: str  # where store_url came from: "argument", "DT_RUNS_STORE", "config file <path>", "default"


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The config file: $DT_RUNS_CONFIG, else <user config dir>/config.toml."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG]).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir(APP)) / "store"


def store_url_from(value: str) -> str:
    """A store URL from what a user typed: a URL is kept, a filesystem path becomes sqlite:///<absolute path>."""
    value = value.strip()
    if not value:
        raise ConfigError("the store location is empty; give a directory path or a URL like sqlite:///path")
    if "://" in value:
        return value
    return "sqlite://" + str(Path(value).expanduser().resolve())


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}; fix or remove it") from None
    unknown = sorted(set(data) - {"store", "token", "env"})
    if unknown:
        raise ConfigError(f"the config file {path} has unknown keys {unknown}; known keys are store, token, env")
    for key in ("store", "token", "env"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"in the config file {path}, {key} must be a string")
    return data


def resolve(
    url: str | None = None,
    token: str | None = None,
    env: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Each setting from the first place that has it: argument, environment variable, config file, default."""
    environ = os.environ if environ is None else environ
    path = config_path(environ)
    config: dict[str, Any] | None = None

    def from_config(key: str) -> str | None:
        nonlocal config
        if config is None:
            config = _read_config(path)
        value = config.get(key)
        return value if isinstance(value, str) else None

    if url:
        store_url, source = store_url_from(url), "argument"
    elif environ.get(ENV_STORE):
        store_url, source = store_url_from(environ[ENV_STORE]), ENV_STORE
    elif (configured := from_config("store")) is not None:
        store_url, source = store_url_from(configured), f"config file {path}"
    else:
        store_url, source = "sqlite://" + str(default_store_path()), "default"

    resolved_token = token or environ.get(ENV_TOKEN) or from_config("token")
    resolved_env = env or environ.get(ENV_ENV) or from_config("env") or DEFAULT_ENV
    return Settings(store_url=store_url, token=resolved_token, env=check_env(resolved_env), source=source)
