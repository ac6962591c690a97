"""What a blob store holds, whatever the backend: staging leftovers and published names."""

from __future__ import annotations

from billport.blobs.azure import AzureBlobStore
from billport.blobs.base import BlobStore
from billport.blobs.local import STAGING, LocalBlobStore


def check_delete_prefix(store: BlobStore) -> None:
    """``delete_prefix`` removes whole directories or one blob, never staged blobs; every
    backend's test runs it, then checks the store is empty its own way."""
    for name in ("a/b/1", "a/b/2", "a/bc/3", "z/4"):
        _publish(store, "op-1", name, bytes(10))
    staged = store.stage("op-2", "a/b/5")
    staged.stream.write(b"still staging")
    staged.close()
    assert store.delete_prefix("a/b") == 2
    assert store.info("a/b/1") is None and store.info("a/b/2") is None
    assert store.info("a/bc/3") is not None  # shares the characters, not the directory
    assert store.delete_prefix("a/b/") == 0
    assert store.delete_prefix("z/4") == 1  # one blob by its exact name
    assert store.delete_prefix("nothing/here") == 0
    store.publish(staged)  # deleting published blobs never touches staged ones
    assert b"".join(store.read("a/b/5")) == b"still staging"
    assert store.delete_prefix("") == 2  # everything published


def _publish(store: BlobStore, key: str, path: str, data: bytes) -> None:
    staged = store.stage(key, path)
    staged.stream.write(data)
    staged.close()
    store.publish(staged)


def leftovers(store: BlobStore) -> list[str]:
    """Whatever staging left behind: staging files, or markers and uncommitted blocks."""
    if isinstance(store, LocalBlobStore):
        staging = store.root / STAGING
        return [str(p) for p in staging.rglob("*") if p.is_file()] if staging.exists() else []
    assert isinstance(store, AzureBlobStore)
    everything = store.container.list_blobs(include=["uncommittedblobs"])
    committed = {b.name for b in store.container.list_blobs()}
    return [b.name for b in everything if b.name not in committed or b.name.startswith(STAGING)]


def published(store: BlobStore, directory: str) -> list[str]:
    """Names of the published blobs directly under ``directory``, sorted."""
    if isinstance(store, LocalBlobStore):
        folder = store.root / directory
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.exists() else []
    assert isinstance(store, AzureBlobStore)
    prefix = directory.strip("/") + "/"
    names = (b.name for b in store.container.list_blobs(name_starts_with=prefix))
    return sorted(n[len(prefix) :] for n in names if "/" not in n[len(prefix) :])
