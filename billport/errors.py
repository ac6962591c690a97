"""Domain errors. Each HTTP surface maps them to its own envelope in one place.

BillportError
├── ConfigurationError      bad settings or environment
├── InvalidRequest          malformed input (400)
│   └── InvalidFilter       Partner Center filter grammar
├── AuthenticationError     no/invalid/expired token (401)
├── PermissionDenied        valid token, not allowed (403)
├── NotFound                unknown or another tenant's resource (404)
├── StoreError              the database or blob storage refused a request (500)
└── ServiceUnavailable      a backing service cannot be reached: retry later (503)
    ├── DatabaseUnavailable
    └── StorageUnavailable

Errors of the database driver and the Azure SDK are translated into these where they
enter billport (``store.db.Database``, ``blobs.azure``), so no surface ever shows them raw.
"""

from __future__ import annotations


class BillportError(Exception):
    """Base of every error billport raises on purpose."""

    code = "generalException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(BillportError):
    code = "configurationError"


class InvalidRequest(BillportError):
    code = "BadRequest"


class InvalidFilter(InvalidRequest):
    pass


class AuthenticationError(BillportError):
    code = "InvalidAuthenticationToken"


class PermissionDenied(BillportError):
    code = "Forbidden"


class NotFound(BillportError):
    code = "itemNotFound"


class StoreError(BillportError):
    code = "generalException"


class ServiceUnavailable(BillportError):
    code = "serviceNotAvailable"


class DatabaseUnavailable(ServiceUnavailable):
    pass


class StorageUnavailable(ServiceUnavailable):
    pass
