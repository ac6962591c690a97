"""The one message every client command gives when the server it talks to does not listen."""

from __future__ import annotations


def cannot_reach(url: str) -> str:
    """``cannot reach http://127.0.0.1:8000 — is `billport serve` running?``"""
    return f"cannot reach {url} — is `billport serve` running?"
