"""The partner tenant a signed blob directory names (pure).

Which caller a request proves it is, is decided in ``server/sandbox_caller.py`` (verified
tokens and SAS only); this reads the tenant out of a path whose signature was checked.
"""

from __future__ import annotations

import re

_TENANT_IN_PATH = re.compile(r"PartnerTenantId=([0-9A-Za-z-]{1,36})")


def tenant_in_path(path: str) -> str | None:
    """The ``PartnerTenantId=…`` segment of a blob path, if any."""
    match = _TENANT_IN_PATH.search(path)
    return match.group(1) if match else None
