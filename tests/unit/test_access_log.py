"""The server's log never prints a SAS signature, a bearer token or an Authorization value."""

from __future__ import annotations

import io
import logging
import logging.config
from pydoc import locate

import pytest
from uvicorn.logging import AccessFormatter
from uvicorn.protocols.utils import get_path_with_query_string

from billport.server.access_log import REDACTED, RedactSecrets, log_config, redact

SIG = "kx1Qf%2Fq9Zk0s3cr3tSIG%3D"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/blobs/a/part-00000.json.gz?sv=2023&sp=r&sig={SIG}&se=2026",
         f"/blobs/a/part-00000.json.gz?sv=2023&sp=r&sig={REDACTED}&se=2026"),
        (f"/x?sig={SIG}", f"/x?sig={REDACTED}"),
        (f"/x?SIG={SIG}#frag", f"/x?SIG={REDACTED}#frag"),
        (f"/x?access_token={JWT}&a=1", f"/x?access_token={REDACTED}&a=1"),
        (f"Authorization: Bearer {JWT}", f"Authorization: {REDACTED}"),
        ("authorization=Basic dXNlcjpwYXNz, next", f"authorization={REDACTED}, next"),
        (f"sent bearer {JWT} twice", f"sent bearer {REDACTED} twice"),
        (f"token {JWT} in text", f"token {REDACTED} in text"),
        ("/v1/invoices?size=200&design=1&xsig=keep", "/v1/invoices?size=200&design=1&xsig=keep"),
        ('GET /healthz HTTP/1.1" 200', 'GET /healthz HTTP/1.1" 200'),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def access_record(query: bytes) -> logging.LogRecord:
    """The record uvicorn's h11 protocol logs for one request (same format and arguments)."""
    scope = {"raw_path": b"/blobs/t/part-00000.json.gz", "query_string": query}
    return logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5555", "GET", get_path_with_query_string(scope), "1.1", 200), None,
    )  # fmt: skip


def test_a_real_access_record_is_redacted_and_keeps_its_shape() -> None:
    config = log_config()
    access = config["formatters"]["access"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter(fmt=access["fmt"], use_colors=False))
    (name,) = config["handlers"]["access"]["filters"]
    factory = locate(config["filters"][name]["()"])
    assert factory is RedactSecrets
    handler.addFilter(factory())
    handler.handle(access_record(f"sv=2023&sr=c&sig={SIG}&sp=r".encode()))
    line = stream.getvalue()
    assert f"sig={REDACTED}&sp=r" in line
    assert SIG not in line and "kx1Qf" not in line
    assert '"GET /blobs/t/part-00000.json.gz?sv=2023&sr=c&' in line and line.rstrip().endswith(
        "200 OK"
    )


def test_every_handler_of_the_config_redacts() -> None:
    config = log_config()
    assert config["handlers"]
    for handler in config["handlers"].values():
        assert "redact_secrets" in handler["filters"]
    from uvicorn.config import LOGGING_CONFIG

    assert "filters" not in LOGGING_CONFIG["handlers"]["access"]  # uvicorn's own is untouched


def test_dict_arguments_and_the_message_are_redacted() -> None:
    record = logging.LogRecord(
        "uvicorn.error", logging.WARNING, __file__, 1, f"header Authorization: Bearer {JWT}",
        None, None,
    )  # fmt: skip
    record.args = {"url": f"/x?sig={SIG}"}
    assert RedactSecrets().filter(record) is True
    assert JWT not in record.msg and record.args == {"url": f"/x?sig={REDACTED}"}
