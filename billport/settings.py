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


def setting(
    default: Any = dataclasses.MISSING,
    doc: str = "",
    *,
    shown: str | None = None,
    secret: bool = False,
    factory: Any = dataclasses.MISSING,
) -> Any:
    """One setting, declared once: its default, what it means (``doc``) and how the docs show
    the default (``shown``, else the value). The variable name comes from the field name,
    ``foo_bar`` -> ``BILLPORT_FOO_BAR``; ``secret`` keeps the value out of ``repr()``."""
    metadata = {"doc": doc, "shown": shown}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, repr=not secret, metadata=metadata)
    return field(default=default, repr=not secret, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """Every tunable of billport. Field ``foo_bar`` is read from ``BILLPORT_FOO_BAR``;
    ``docs/settings.md`` shows the table :func:`settings_table` renders from these fields."""

    data_dir: Path = setting(
        Path("./billport-data"),
        "SQLite database, local blobs (`blobs/`), signing keys (`keys/`)",
        shown="`./billport-data`",
    )
    database_url: str = setting(
        "",
        "e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/billport`",
        shown="SQLite file in the data dir",
    )
    host: str = setting("127.0.0.1", "where `serve` listens")
    port: int = setting(8000, "where `serve` listens")
    public_url: str = setting(
        "",
        "base URL in `Location`, navigation links and `rootDirectory` (behind a load balancer)",
        shown="from the request",
    )
    allowed_hosts: str = setting(
        "localhost,127.0.0.1,::1",
        "without `BILLPORT_PUBLIC_URL`: the `Host` names (comma-separated; `*` any) whose "
        "requests get URLs built from their `Host`; others get a 400 where a URL is needed",
    )
    keep_alive_seconds: float = setting(
        120.0,
        "how long an idle keep-alive connection stays open; well above `Retry-After`, so a "
        "client that waits exactly as told reuses its connection instead of racing the "
        "server closing it (raise it with a scenario `retryAfter` beyond it)",
    )
    max_in_flight: int = setting(
        128,
        "API requests one server process works on at once; a request beyond them waits up "
        "to `BILLPORT_ADMISSION_WAIT` for a slot, then is answered 503 with `Retry-After` in "
        "its surface's envelope (`/healthz` and `/readyz` are never refused; `0`: no limit)",
    )
    admission_wait: float = setting(
        1.0, "seconds a request beyond `BILLPORT_MAX_IN_FLIGHT` waits for a slot before a 503"
    )
    threads: int = setting(
        16,
        "threads one server process runs blocking request work on (database reads, "
        "rendering); more only contend for the GIL",
    )
    # Authentication
    token_lifetime: int = setting(3600, "seconds a dev-issuer token lives")
    max_token_lifetime: int = setting(
        86400,
        "longest token lifetime accepted (`exp` minus `iat`, else `nbf`), in seconds; Entra "
        "ID issues at most 24 h. `BILLPORT_TOKEN_LIFETIME` may not exceed it",
    )
    dev_issuer: str = setting(
        "https://login.billport.local",
        "issuer prefix of dev tokens (`{prefix}/{tenant}/v2.0`); never fetched",
    )
    trusted_issuer: str = setting(
        "",
        "trust an external issuer (Entra ID, Keycloak) instead of the dev one; see "
        "[authentication](authentication.md)",
    )
    trusted_jwks_url: str = setting("", "the external issuer's JWKS URL")
    admin_token: str = setting(
        "",
        "bearer token of the admin API (`/_billport/`); empty: one generated into the keys "
        "directory (`billport token --admin`); a server refuses one shorter than 32 characters",
        secret=True,
    )
    # Exports and workers
    worker: bool = setting(True, "`serve` runs an in-process export worker")
    lease_seconds: float = setting(30.0, "job lease; heartbeats every third of it")
    worker_poll_seconds: float = setting(0.5, "idle worker's poll interval")
    blob_rows: int = setting(
        250_000,
        "maximum rows per exported blob (`part-NNNNN-….json.gz`); the earlier name "
        "`BILLPORT_PART_ROWS` is still read when this one is not set",
    )
    partition_rows: int = setting(
        1_000_000,
        "exports above this many rows are split into partitions of this size, leased "
        "independently by any worker; `0` turns splitting off ([deploy](deploy.md))",
    )
    worker_listen_seconds: float = setting(
        5.0, "PostgreSQL: longest `LISTEN` wait of an idle worker before it polls anyway"
    )
    db_pool_size: int = setting(
        20,
        "database connections kept per process (PostgreSQL and SQLite): at least "
        "`BILLPORT_THREADS` plus the in-process worker's few, or connections are opened and "
        "closed per request under load",
    )
    db_max_overflow: int = setting(10, "database connections opened beyond the pool")
    db_pool_recycle: int = setting(
        1800, "seconds before a pooled PostgreSQL connection is replaced (`-1`: never)"
    )
    db_pool_pre_ping: bool = setting(
        True, "test a pooled connection before use; replaces ones killed while idle"
    )
    db_pool_timeout: float = setting(30.0, "seconds to wait for a free pooled connection")
    gzip_level: int = setting(1, "ISA-L compression level (0–3)")
    export_processes: int = setting(
        doc="processes that write one export's blobs at once when it has more than one "
        "blob; `1` writes in the worker's own process, which reads and compresses in two "
        "threads ([architecture](architecture.md#export-processes))",
        shown="half the cores (at least 1, at most 4)",
        factory=default_export_processes,
    )
    retry_after: int = setting(
        0,
        "`Retry-After` seconds on running operations. `0` (poll again at once) suits a local "
        "sandbox, where exports take milliseconds; the real service sends about 5: set this, "
        'or `{"retryAfter": 5}` in a scenario, to exercise a client\'s waiting',
    )
    sas_lifetime: int = setting(3600, "seconds a download token lives")
    data_format: str = setting(
        "compressedJSON",
        "manifest `dataFormat` (`compressedJSON` as observed live, or `compressedJSONLines` "
        "as documented)",
    )
    blob_backend: str = setting(
        "local",
        "`local` (files under the data dir) or `azure` (Azure Blob Storage); see "
        "[Blob storage](#blob-storage)",
    )
    # Azure Blob Storage: a connection string, or an account URL + account key (the key signs
    # the download SAS tokens, so it is needed either way); the container is created if missing.
    azure_connection_string: str = setting(
        "", "Azure: a storage connection string with `AccountName` and `AccountKey`", secret=True
    )
    azure_account_url: str = setting(
        "", "Azure, instead of a connection string: `https://<account>.blob.core.windows.net`"
    )
    azure_account_key: str = setting("", "Azure: the account key with the account URL", secret=True)
    azure_container: str = setting(
        "billport", "Azure container for exported blobs; created if missing"
    )
    azure_direct_downloads: bool = setting(
        False,
        "Azure: hand out container SAS tokens so clients download straight from storage; any "
        "holder can then read every blob whose name it knows (one tenant only). Off: "
        "downloads go through billport's `/blobs` route with a directory-scoped SAS",
    )
    # Sandbox
    scenario: str = setting(
        "",
        "the server-wide sandbox scenario: a JSON document or `@path` to one "
        "([sandbox](sandbox.md)); overridden at run time through `/_billport/`",
    )
    scenario_cache_seconds: float = setting(
        1.0,
        "how long a process reuses the scenarios it read; a change made through a process "
        "applies there at once, through another replica within this time (`0`: read on "
        "every call)",
    )
    request_log_size: int = setting(
        10_000,
        "API calls kept in the request log for `/_billport/requests` and the compliance "
        "report; `0` turns the log off",
    )
    now: str = setting(
        "",
        "ISO-8601 instant that pins the clock (unbilled periods, tests, demos)",
        shown="wall clock",
    )
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


def env_name(name: str) -> str:
    return ENV_PREFIX + name.upper()


def shown_default(name: str) -> str:
    """How the docs and CLI help show a setting's default ("" when it is empty)."""
    declared = next(f for f in dataclasses.fields(Settings) if f.name == name)
    if declared.metadata["shown"] is not None:
        return str(declared.metadata["shown"]).strip("`")
    value = getattr(Settings(), name)
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_table() -> str:
    """The Markdown table of every setting (docs/settings.md holds it; a test compares)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        if f.name == "extra":
            continue
        shown = f.metadata["shown"]
        if shown is None:
            value = getattr(defaults, f.name)
            shown = str(value).lower() if isinstance(value, bool) else str(value)
        default = f"`{shown}`" if shown and f.metadata["shown"] is None else (shown or "empty")
        rows.append(f"| `{env_name(f.name)}` | {default} | {f.metadata['doc']} |")
    return "\n".join(rows) + "\n"


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
    if not 1 <= settings.token_lifetime <= settings.max_token_lifetime:
        raise ConfigurationError(
            f"{env_name('token_lifetime')}={settings.token_lifetime} must be between 1 and "
            f"{env_name('max_token_lifetime')}={settings.max_token_lifetime} seconds: "
            "longer tokens would be refused by this server"
        )
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
    if settings.scenario_cache_seconds < 0:
        raise ConfigurationError(f"{env_name('scenario_cache_seconds')} must be 0 or more")
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
