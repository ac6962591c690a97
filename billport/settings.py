"""One settings object, built once at start-up from ``BILLPORT_*`` variables and CLI flags.

Nothing else in billport reads ``os.environ``: entry points call :func:`load_settings`
and pass the result down.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from billport.errors import ConfigurationError
from billport.sandbox.scenario import Scenario, scenario_from_text

ENV_PREFIX = "BILLPORT_"
# Earlier names of settings, still read when the new name is not set.
ENV_ALIASES = {"blob_rows": "BILLPORT_PART_ROWS"}
MAX_DEFAULT_EXPORT_PROCESSES = 4
# Azure's container naming rule: 3-63 of [a-z0-9-], starting and ending alphanumeric, no "--".
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def default_export_processes() -> int:
    """One export process per two cores, at most four.

    A process reads in one thread and compresses in another, both outside the GIL, so it
    keeps about two cores busy; a second process on a 2-core machine only doubles memory
    (measured equal speed, docs/performance.md). More than four would contend for the disk.
    """
    return max(1, min((os.cpu_count() or 1) // 2, MAX_DEFAULT_EXPORT_PROCESSES))


@dataclass(frozen=True)
class Settings:
    """Every tunable of billport. Field ``foo_bar`` is read from ``BILLPORT_FOO_BAR``."""

    data_dir: Path = Path("./billport-data")
    database_url: str = ""  # empty: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # base URL used in Location / rootDirectory; empty: from request
    # Authentication
    token_lifetime: int = 3600
    dev_issuer: str = "https://login.billport.local"  # `iss` prefix of dev tokens; never fetched
    trusted_issuer: str = ""  # external issuer (e.g. Entra ID / Keycloak) instead of the dev one
    trusted_jwks_url: str = ""
    admin_token: str = field(default="", repr=False)
    # Exports and workers
    worker: bool = True  # `serve` runs one in-process worker
    lease_seconds: float = 30.0
    worker_poll_seconds: float = 0.5
    blob_rows: int = 250_000  # rows per exported blob (part-NNNNN); alias BILLPORT_PART_ROWS
    # Scale-out: exports above partition_rows rows are split into partitions of that many
    # rows, leased independently by any worker (0 turns splitting off).
    partition_rows: int = 1_000_000
    worker_listen_seconds: float = 5.0  # PostgreSQL LISTEN: longest idle wait before polling
    db_pool_size: int = 5
    db_max_overflow: int = 10
    db_pool_recycle: int = 1800  # seconds; -1 keeps connections forever
    db_pool_pre_ping: bool = True
    db_pool_timeout: float = 30.0
    gzip_level: int = 1
    # Processes that write one export's blobs at once (1: in the worker's own process,
    # which reads and compresses in two threads, so it keeps about two cores busy).
    export_processes: int = field(default_factory=default_export_processes)
    retry_after: int = 5
    sas_lifetime: int = 3600
    data_format: str = "compressedJSON"
    blob_backend: str = "local"  # local | azure
    # Azure Blob Storage: a connection string, or an account URL + account key (the key signs
    # the download SAS tokens, so it is needed either way); the container is created if missing.
    azure_connection_string: str = field(default="", repr=False)
    azure_account_url: str = ""
    azure_account_key: str = field(default="", repr=False)
    azure_container: str = "billport"
    # Sandbox: default scenario (JSON, or @path to a JSON file) and request-log retention
    scenario: str = ""
    request_log_size: int = 10_000  # newest calls kept for the request log; 0 turns it off
    # Clock: ISO-8601 instant that pins "now" (unbilled periods, demo); empty = wall clock
    now: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'billport.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def pinned_now(self) -> datetime | None:
        if not self.now:
            return None
        value = datetime.fromisoformat(self.now.replace("Z", "+00:00"))
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _coerce(name: str, raw: str, target: Any) -> Any:
    kind = target if isinstance(target, type) else type(target)
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind is Path:
            return Path(raw)
        return kind(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid value"
        ) from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings: defaults, then ``BILLPORT_*`` variables, then explicit overrides (CLI flags).

    Overrides whose value is ``None`` are ignored so CLI options can be passed straight through.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        raw = environ.get(ENV_PREFIX + f.name.upper())
        if raw is None and f.name in ENV_ALIASES:
            raw = environ.get(ENV_ALIASES[f.name])
        if raw is not None:
            values[f.name] = _coerce(f.name, raw, getattr(defaults, f.name))
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in {f.name for f in dataclasses.fields(Settings)}:
            raise ConfigurationError(f"unknown setting {key!r}")
        values[key] = Path(value) if key == "data_dir" else value
    settings = Settings(**values)
    if settings.blob_rows < 1:
        raise ConfigurationError("BILLPORT_BLOB_ROWS must be at least 1")
    if settings.export_processes < 1:
        raise ConfigurationError("BILLPORT_EXPORT_PROCESSES must be at least 1")
    if settings.partition_rows < 0:
        raise ConfigurationError("BILLPORT_PARTITION_ROWS must be 0 (off) or a row count")
    if settings.db_pool_size < 1 or settings.db_max_overflow < 0:
        raise ConfigurationError(
            "BILLPORT_DB_POOL_SIZE must be at least 1 and BILLPORT_DB_MAX_OVERFLOW at least 0"
        )
    if settings.data_format not in {"compressedJSON", "compressedJSONLines"}:
        raise ConfigurationError(
            "BILLPORT_DATA_FORMAT must be compressedJSON or compressedJSONLines"
        )
    if settings.blob_backend not in {"local", "azure"}:
        raise ConfigurationError("BILLPORT_BLOB_BACKEND must be local or azure")
    if settings.blob_backend == "azure":
        _check_azure(settings)
    _ = settings.pinned_now  # validates BILLPORT_NOW early
    if settings.request_log_size < 0:
        raise ConfigurationError("BILLPORT_REQUEST_LOG_SIZE must be 0 or more")
    configured_scenario(settings.scenario)  # a bad scenario stops start-up, naming the key
    return settings


@functools.lru_cache(maxsize=8)
def configured_scenario(value: str) -> Scenario | None:
    """The scenario of ``BILLPORT_SCENARIO``: a JSON document, or ``@path`` to a file holding one.

    Read once per process (cached by the setting's text): edit the file, restart the server
    or ``PUT`` the scenario.
    """
    text = value.strip()
    if not text.startswith("@"):
        return scenario_from_text(text)
    path = Path(text[1:]).expanduser()
    try:
        document = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read the scenario file {path}: {exc}") from None
    return scenario_from_text(document, where=str(path))


def _check_azure(settings: Settings) -> None:
    """Fail at start-up, not at the first export, when the Azure settings cannot work."""
    by_string = bool(settings.azure_connection_string)
    by_url = bool(settings.azure_account_url or settings.azure_account_key)
    if by_string and by_url:
        raise ConfigurationError(
            "set either BILLPORT_AZURE_CONNECTION_STRING or BILLPORT_AZURE_ACCOUNT_URL + "
            "BILLPORT_AZURE_ACCOUNT_KEY, not both"
        )
    if not by_string and not (settings.azure_account_url and settings.azure_account_key):
        raise ConfigurationError(
            "BILLPORT_BLOB_BACKEND=azure needs BILLPORT_AZURE_CONNECTION_STRING, or both "
            "BILLPORT_AZURE_ACCOUNT_URL and BILLPORT_AZURE_ACCOUNT_KEY"
        )
    if by_url and not settings.azure_account_url.startswith(("https://", "http://")):
        raise ConfigurationError(
            "BILLPORT_AZURE_ACCOUNT_URL must be an http(s) URL, e.g. "
            "https://<account>.blob.core.windows.net"
        )
    if not _CONTAINER_NAME.match(settings.azure_container):
        raise ConfigurationError(
            f"BILLPORT_AZURE_CONTAINER={settings.azure_container!r} is not a valid container "
            "name: 3-63 lowercase letters, digits and single hyphens, starting and ending "
            "with a letter or digit"
        )
