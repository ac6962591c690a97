"""Request and correlation ids: random version-4 UUID text, made without a system call.

``uuid.uuid4()`` reads 16 bytes from the kernel each time; under load that call drops and
takes back the interpreter lock on every request (6 % of a busy server's samples under wrk).
These ids name requests in headers and logs, nothing secret, so a generator seeded from
the kernel once per process (again in every forked child: ``serve --workers N`` must not
give two processes one sequence) is enough.
"""

from __future__ import annotations

import os
import random

_random = random.Random()


def _reseed() -> None:
    _random.seed(os.urandom(32))


_reseed()
os.register_at_fork(after_in_child=_reseed)


def new_request_id() -> str:
    """A random UUID (version 4, RFC 4122 variant) as its 36-character text."""
    bits = (
        (_random.getrandbits(128) & ~(0xF000 << 64) & ~(0xC << 60)) | (0x4000 << 64) | (0x8 << 60)
    )
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
