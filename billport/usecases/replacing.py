"""Replace a tenant's row sets in one transaction, keeping the ones that did not change.

Used by ``billport import`` and by resellers' views. The new rows were appended with ids
above ``floor``; per scope (a billed invoice, or an unbilled month and currency) their
documents' SHA-256 is compared with the stored ones': equal, the new copies are deleted
again (same ids: the same data fingerprint, the same manifest eTag); different, the older
rows are deleted (new ids: a new fingerprint, so a new manifest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa

from billport.store import imports as store


@dataclass(frozen=True)
class Written:
    """What was appended for one scope: the document column hashed, its rows and digest."""

    column: str  # "doc_full" or "doc_basic"
    rows: int
    digest: str  # SHA-256 hex of the documents in id order, each followed by b"\n"


@dataclass
class Settled:
    added: list[store.RowScope] = field(default_factory=list)  # scopes new to the store
    replaced: list[store.RowScope] = field(default_factory=list)
    unchanged: list[store.RowScope] = field(default_factory=list)

    @property
    def changed(self) -> list[store.RowScope]:
        return [*self.added, *self.replaced]


def settle(conn: sa.Connection, written: Mapping[store.RowScope, Written], floor: int) -> Settled:
    """Keep, per scope, the older rows or the new ones; what happened to each."""
    out = Settled()
    for scope, new in written.items():
        count, digest = store.scope_digest(conn, scope, new.column, floor)
        if count == new.rows and digest == new.digest:
            store.delete_rows(conn, scope, above=floor, new=True)
            out.unchanged.append(scope)
            continue
        (out.replaced if count else out.added).append(scope)
        store.delete_rows(conn, scope, above=floor, new=False)
    return out
