"""What a blob store holds, whatever the backend: staging leftovers and published names."""

from __future__ import annotations

from billport.blobs.azure import AzureBlobStore
from billport.blobs.base import BlobStore
from billport.blobs.local import STAGING, LocalBlobStore


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
