"""Errors the client raises, with what a person needs to act on them.

Every error of a remote call carries the HTTP status, the service's own error code and
message (Graph envelope, Partner Center envelope, OAuth2 error or Azure Storage XML) and the
request id the service logged, so a support ticket can quote it.

ClientError                      (a BillportError; CLI exit code 4)
├── RemoteError                  an HTTP error answer (status, code, message, request id)
│   └── AuthenticationFailed     401/403 or a refused token request (CLI exit code 3)
├── ConnectionFailed             refused (not retried), or no answer after the retries
├── OperationFailed              the export ended as ``failedOperation`` (e.g. code 5000)
├── OperationTimeout             the export did not finish within the overall timeout
└── DownloadFailed               a blob could not be downloaded completely
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from billport.errors import BillportError

# Headers in which Graph, Partner Center, Entra ID and Azure Storage return their request id.
REQUEST_ID_HEADERS = ("request-id", "x-ms-request-id", "ms-requestid", "client-request-id")


class ClientError(BillportError):
    """Base of the client's errors; ``exit_code`` is what the CLI exits with."""

    exit_code = 4


class RemoteError(ClientError):
    """The service answered with an error status."""

    def __init__(
        self,
        status: int | None,
        code: str | None,
        message: str,
        request_id: str | None,
        *,
        url: str = "",
    ) -> None:
        self.status = status
        self.error_code = code
        self.request_id = request_id
        self.url = url
        parts = [f"HTTP {status}"] if status else []
        if code:
            parts.append(str(code))
        text = " ".join(parts) or "error"
        text += f": {message}" if message else ""
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)
        self.detail = message


class AuthenticationFailed(RemoteError):
    """The credentials or the token were refused."""

    exit_code = 3


class ConnectionFailed(ClientError):
    """The service could not be reached: refused at once, or no answer after the retries.

    ``url`` is the origin that did not answer (``http://127.0.0.1:8000``); ``refused`` says
    nothing listens there (connection refused), which is not retried.
    """

    def __init__(self, message: str, *, url: str = "", refused: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.refused = refused


class OperationFailed(ClientError):
    """An export operation ended as ``failedOperation``."""

    def __init__(self, code: str, message: str, operation_url: str) -> None:
        self.operation_code = code
        self.operation_url = operation_url
        super().__init__(f"export failed: code {code}: {message} (operation {operation_url})")


class OperationTimeout(ClientError):
    """The export did not finish in time; the operation URL lets a later run continue."""

    def __init__(self, seconds: float, operation_url: str) -> None:
        self.operation_url = operation_url
        super().__init__(
            f"export not finished after {seconds:g} s (operation {operation_url}); "
            "run again with --resume to keep waiting"
        )


class DownloadFailed(ClientError):
    """A blob could not be downloaded completely or had the wrong size."""


def request_id_of(headers: Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name]
    return None


def _from_json(body: Any) -> tuple[str | None, str, str | None]:
    """Code, message and request id from any of the JSON error shapes."""
    if not isinstance(body, dict):
        return None, "", None
    error = body.get("error")
    if isinstance(error, dict):  # Graph: {"error": {"code", "message", "innerError"}}
        inner = error.get("innerError") or {}
        rid = inner.get("request-id") if isinstance(inner, dict) else None
        return _text(error.get("code")), _text(error.get("message")) or "", rid
    if isinstance(error, str):  # OAuth2 / Entra ID: {"error", "error_description", ...}
        message = _text(body.get("error_description")) or ""
        return error, message, _text(body.get("trace_id")) or _text(body.get("correlation_id"))
    if "description" in body or "code" in body:  # Partner Center: {"code", "description"}
        return _text(body.get("code")), _text(body.get("description")) or "", None
    return None, "", None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_XML_CODE = re.compile(r"<Code>(.*?)</Code>", re.S)
_XML_MESSAGE = re.compile(r"<Message>(.*?)</Message>", re.S)


def _from_xml(text: str) -> tuple[str | None, str]:
    """Azure Storage: ``<Error><Code/><Message/></Error>``; the message's first line."""
    code = _XML_CODE.search(text)
    message = _XML_MESSAGE.search(text)
    first = message.group(1).strip().splitlines()[0] if message else ""
    return (code.group(1).strip() if code else None), first


def error_for(response: httpx.Response) -> RemoteError:
    """The error a non-success ``response`` stands for (its body must have been read)."""
    code: str | None = None
    message = ""
    rid: str | None = None
    kind = response.headers.get("content-type", "")
    text = response.text if response.content else ""
    if "json" in kind or text.lstrip().startswith("{"):
        try:
            code, message, rid = _from_json(response.json())
        except ValueError:
            message = text[:200]
    elif "xml" in kind or text.lstrip().startswith("<"):
        code, message = _from_xml(text)
    else:
        message = text[:200]
    code = code or response.headers.get("x-ms-error-code")
    message = message or response.reason_phrase
    rid = request_id_of(response.headers) or rid
    return error_class(response.status_code)(
        response.status_code, code, message, rid, url=str(response.request.url)
    )


def error_class(status: int) -> type[RemoteError]:
    return AuthenticationFailed if status in (401, 403) else RemoteError


def check(response: httpx.Response) -> httpx.Response:
    """``response`` itself when it is a success, else raise the error it stands for."""
    if response.is_success:
        return response
    response.read()
    raise error_for(response)
