"""The lake's state file: what was synced, from which manifest and eTag, when.

``DIR/billport-state.json``, replaced atomically after every partition that lands, so a run
killed anywhere leaves a state that is true of the files: a partition is recorded only once
its file is in place (a partition in place but not yet recorded is exported again and
replaced, which never duplicates rows).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from billport.errors import BillportError
from billport.lake.files import write_json

STATE_VERSION = 1
SYNCED = "synced"  # the partition is in the lake
UNAVAILABLE = "unavailable"  # the service does not offer this dataset (404)
NO_DATA = "noData"  # failedOperation 5000: a legacy invoice, an empty unbilled period


class LakeStateError(BillportError):
    """The state file cannot be read; the message says which file and why."""

    exit_code = 2


@dataclass
class Record:
    """One partition (or one reason there is none) of an invoice or unbilled snapshot."""

    status: str
    fingerprint: str = ""  # the invoice as listed when it was exported (billed only)
    etag: str = ""
    manifest_id: str = ""
    billing_month: int = 0
    path: str = ""  # relative to the lake
    rows: int = 0
    synced_at: str = ""  # ISO-8601 UTC
    note: str = ""

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Record:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})


@dataclass
class LakeState:
    """``invoices[invoice id][dataset]`` and ``snapshots["dataset/period/CUR"]``."""

    invoices: dict[str, dict[str, Record]] = field(default_factory=dict)
    snapshots: dict[str, Record] = field(default_factory=dict)
    last_run: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, invoice_id: str, dataset: str) -> Record | None:
        return self.invoices.get(invoice_id, {}).get(dataset)

    def set_record(self, invoice_id: str, dataset: str, record: Record) -> None:
        with self._lock:
            self.invoices.setdefault(invoice_id, {})[dataset] = record

    def set_snapshot(self, key: str, record: Record) -> None:
        with self._lock:
            self.snapshots[key] = record

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "version": STATE_VERSION,
                "invoices": {
                    i: {d: asdict(r) for d, r in sorted(ds.items())}
                    for i, ds in sorted(self.invoices.items())
                },
                "snapshots": {k: asdict(r) for k, r in sorted(self.snapshots.items())},
                "lastRun": self.last_run,
            }

    def save(self, path: Path) -> None:
        write_json(path, self.to_json())

    @classmethod
    def load(cls, path: Path) -> LakeState:
        """The state at ``path``; an empty state when there is no file yet."""
        if not path.exists():
            return cls()
        try:
            body = orjson.loads(path.read_bytes())
            if body.get("version") != STATE_VERSION:
                raise ValueError(f"unknown state version {body.get('version')!r}")
            invoices = {
                i: {d: Record.from_json(r) for d, r in ds.items()}
                for i, ds in body.get("invoices", {}).items()
            }
            snapshots = {k: Record.from_json(r) for k, r in body.get("snapshots", {}).items()}
            return cls(invoices, snapshots, dict(body.get("lastRun") or {}))
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise LakeStateError(f"cannot read the lake state {path}: {exc}") from exc


def fingerprint(invoice: dict[str, Any]) -> str:
    """A digest of an invoice as listed: any change (total, amendments, dates) changes it."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(type(value).__name__)

    body = orjson.dumps(invoice, default=default, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()[:32]
