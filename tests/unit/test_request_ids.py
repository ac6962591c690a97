"""Request ids: valid random version-4 UUIDs, distinct, and a fresh sequence after fork."""

from __future__ import annotations

import os
import uuid

from billport.server.request_ids import new_request_id


def test_ids_are_version_4_uuids_and_distinct() -> None:
    ids = [new_request_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:500]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then leave at once
        os.write(write, new_request_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.waitpid(pid, 0)
    os.close(read)
    assert uuid.UUID(child).version == 4
    assert child != new_request_id()  # the parent's next one is another id
