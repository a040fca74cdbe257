"""Resolves the store URL, token, environment, trusted stores and executor: arguments, then DT_RUNS_* variables
(DT_EXECUTOR), then the config file."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
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
ENV_TRUSTED_STORES = "DT_RUNS_TRUSTED_STORES"
ENV_MAX_LOG_BYTES = "DT_RUNS_MAX_LOG_BYTES"
ENV_EXECUTOR = "DT_EXECUTOR"
ENV_SHOW_RUNS = "DT_SHOW_RUNS"
DEFAULT_ENV = "dev"
DEFAULT_EXECUTOR = "process"
_STRING_KEYS = ("store", "token", "env", "executor")
_KEYS = (*_STRING_KEYS, "trusted_stores", "max_log_bytes", "show_runs")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_PORT = re.compile(r"[0-9]+(/.*)?")
_LOG_BYTES = re.compile(r"[0-9][0-9_]*\s*([kmg]b?)?", re.IGNORECASE)


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


def default_store_url() -> str:
    """The URL of the user's own default store (the one used when nothing else is given)."""
    return "sqlite://" + str(default_store_path())


def store_url_from(value: str) -> str:
    """A store URL from what a user typed: a URL is kept, a filesystem path becomes sqlite:///<absolute path>."""
    value = value.strip()
    if not value:
        raise ConfigError("the store location is empty; give a directory path or a URL like sqlite:///path")
    if "://" in value:
        return value
    return "sqlite://" + str(Path(value).expanduser().resolve())


def normalize_store_url(value: str, base: Path | None = None) -> str:
    """A store URL in the one form trust lists compare: a path or ``sqlite://`` URL becomes ``sqlite://`` and the
    resolved absolute path (symlinks followed; a relative path taken from ``base``, else the working directory);
    any other URL is kept without a trailing slash."""
    value = value.strip()
    if "://" in value and not value.lower().startswith("sqlite://"):
        return value.rstrip("/")
    path = Path(value[len("sqlite://") :] if "://" in value else value).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    return "sqlite://" + os.path.realpath(path)


def _check_log_bytes(value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and _LOG_BYTES.fullmatch(value.strip()):
        return value.strip()
    raise ConfigError(f'{where}, max_log_bytes must be a number of bytes like 67108864 or a size like "64M"')


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc}; fix or remove it") from None
    unknown = sorted(set(data) - set(_KEYS))
    if unknown:
        raise ConfigError(f"the config file {path} has unknown keys {unknown}; known keys are {', '.join(_KEYS)}")
    for key in _STRING_KEYS:
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"in the config file {path}, {key} must be a string")
    if "trusted_stores" in data:
        stores = data["trusted_stores"]
        if not isinstance(stores, list) or not all(isinstance(s, str) and s.strip() for s in stores):
            raise ConfigError(
                f"in the config file {path}, trusted_stores must be a list of store paths or URLs, like "
                '["/data/team-store", "sqlite:///data/other"]'
            )
        data["trusted_stores"] = [normalize_store_url(s, path.parent) for s in stores]
    if "max_log_bytes" in data:
        data["max_log_bytes"] = _check_log_bytes(data["max_log_bytes"], f"in the config file {path}")
    if "show_runs" in data and not isinstance(data["show_runs"], bool):
        raise ConfigError(f"in the config file {path}, show_runs must be true or false")
    return data


def trusted_stores(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The stores the user trusts besides the default store, normalised (``normalize_store_url``):
    $DT_RUNS_TRUSTED_STORES (os.pathsep-separated) when set, else ``trusted_stores`` of the config file."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_TRUSTED_STORES):
        return tuple(normalize_store_url(s) for s in _split_list(environ[ENV_TRUSTED_STORES]) if s.strip())
    listed = _read_config(config_path(environ)).get("trusted_stores", [])
    return tuple(listed)


def _split_list(text: str) -> list[str]:
    """An os.pathsep-separated list in which URLs keep their own colons (``sqlite:///p``, ``http://host:80``)."""
    items: list[str] = []
    for piece in text.split(os.pathsep):
        last = items[-1] if items else ""
        if os.pathsep == ":" and (
            (_SCHEME.fullmatch(last) and piece.startswith("//"))
            or ("://" in last and ":" not in last.split("://", 1)[1] and _PORT.fullmatch(piece))
        ):
            items[-1] = f"{last}:{piece}"
        else:
            items.append(piece)
    return items


def is_trusted_store(url: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether the user trusts the store at ``url`` for pickles: it is their default store, or it is listed in
    $DT_RUNS_TRUSTED_STORES or the config file (who owns the directory is checked by the store, not here)."""
    wanted = normalize_store_url(url)
    if wanted == normalize_store_url(default_store_url()):
        return True
    return wanted in trusted_stores(environ)


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
        store_url, source = default_store_url(), "default"

    resolved_token = token or environ.get(ENV_TOKEN) or from_config("token")
    resolved_env = env or environ.get(ENV_ENV) or from_config("env") or DEFAULT_ENV
    if environ is os.environ:
        try:
            export_max_log_bytes(os.environ, from_config)
        except ConfigError:
            pass  # reported where a setting is read from the broken file; a chosen store still opens
    return Settings(store_url=store_url, token=resolved_token, env=check_env(resolved_env), source=source)


def resolve_executor(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The executor runs use when none is given, and where that came from: $DT_EXECUTOR, else ``executor`` of
    the config file (e.g. "dask://scheduler:8786", "thread"), else the local process pool."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_EXECUTOR, "").strip():
        return environ[ENV_EXECUTOR].strip(), ENV_EXECUTOR
    path = config_path(environ)
    configured = _read_config(path).get("executor")
    if isinstance(configured, str) and configured.strip():
        return configured.strip(), f"config file {path}"
    return DEFAULT_EXECUTOR, "default"


def resolve_show_runs(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``wf(local_run=True)`` in a notebook shows the run in the cell's output: $DT_SHOW_RUNS (0 / false /
    no / off turn it off), else ``show_runs`` of the config file, else yes."""
    environ = os.environ if environ is None else environ
    value = environ.get(ENV_SHOW_RUNS, "").strip().lower()
    if value:
        if value not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
            raise ConfigError(f"{ENV_SHOW_RUNS} must be 1 or 0 (true / false), not {environ[ENV_SHOW_RUNS]!r}")
        return value in ("1", "true", "yes", "on")
    return bool(_read_config(config_path(environ)).get("show_runs", True))


def export_max_log_bytes(
    environ: MutableMapping[str, str], from_config: Callable[[str], str | None] | None = None
) -> None:
    """Set $DT_RUNS_MAX_LOG_BYTES from the config file's ``max_log_bytes`` unless it is set already, so the
    engine's worker processes (which read the variable) inherit the cap."""
    if environ.get(ENV_MAX_LOG_BYTES):
        return
    if from_config is None:
        value = _read_config(config_path(environ)).get("max_log_bytes")
    else:
        value = from_config("max_log_bytes")
    if value:
        environ[ENV_MAX_LOG_BYTES] = value
