"""Log records without secrets: SAS signatures, bearer tokens and Authorization values.

uvicorn's access log prints each request line with its query string, and a blob download's
query string carries the SAS ``sig``. :class:`RedactSecrets` is a logging filter that
rewrites a record's message and string arguments before any handler formats them; it keeps
the arguments' shape, because uvicorn's ``AccessFormatter`` unpacks them by position.
:func:`log_config` is uvicorn's logging configuration with that filter on every handler,
so it covers the access log, uvicorn's error log and whatever propagates to them.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

REDACTED = "REDACTED"
SECRET_PARAMETERS = ("sig", "access_token", "client_secret", "client_assertion")
_PARAMETER = re.compile(
    r"(?i)(?<![\w-])(" + "|".join(SECRET_PARAMETERS) + r")=[^&#\s\"']*",
)
_AUTHORIZATION = re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:bearer\s+|basic\s+)?[^\s,;\"']+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[\w.~+/=-]+")
_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]*")  # a compact JWS anywhere in the text


def redact(text: str) -> str:
    """``text`` with secret query values, Authorization values and bearer tokens replaced."""
    if "=" in text:
        text = _PARAMETER.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _AUTHORIZATION.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _JWT.sub(REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Redacts every record it sees (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, each handler filtered by RedactSecrets."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": f"{__name__}.RedactSecrets"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_secrets")
    return config
