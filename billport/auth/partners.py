"""Whether a tenant is a partner this store serves: the one lookup behind token issuing,
token acceptance and the issuer's discovery document."""

from __future__ import annotations

from billport.store.clients import partner_exists
from billport.store.db import Database


def is_partner(db: Database, tenant_id: str) -> bool:
    with db.connect() as conn:
        return partner_exists(conn, tenant_id)
