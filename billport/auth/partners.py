"""Whether a tenant is a partner this store serves: the one lookup behind token issuing,
token acceptance and the issuer's discovery document.

Asked on every API call, so a partner once found is remembered for
``PARTNER_CACHE_SECONDS``; an unknown tenant is looked up again each time (a newly seeded
partner is served at once). A reset that removes partners calls :func:`forget_partners`.
"""

from __future__ import annotations

from billport.store.caching import PerDatabase
from billport.store.clients import partner_exists
from billport.store.db import Database

PARTNER_CACHE_SECONDS = 30.0
_KNOWN: PerDatabase[bool] = PerDatabase(size=4096)


def is_partner(db: Database, tenant_id: str) -> bool:
    def look_up() -> bool:
        with db.connect() as conn:
            return partner_exists(conn, tenant_id)

    return _KNOWN.get(db, tenant_id, PARTNER_CACHE_SECONDS, look_up, keep=bool)


def known_partner(db: Database, tenant_id: str) -> bool:
    """``True`` when ``tenant_id`` is a partner remembered from a recent lookup (no I/O)."""
    return bool(_KNOWN.peek(db, tenant_id))


def forget_partners(db: Database) -> None:
    _KNOWN.forget(db)
