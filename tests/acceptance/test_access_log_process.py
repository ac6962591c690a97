"""A real ``billport serve``: its access log shows requests but no SAS signature or token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import process_env, processes

pytestmark = pytest.mark.slow
SIG = "Zm9vYmFyc2VjcmV0c2lnbmF0dXJl%3D"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0In0.c2VjcmV0LXRva2Vu"


def test_serve_access_log_redacts_signatures_and_tokens(tmp_path: Path) -> None:
    env = process_env(f"sqlite:///{tmp_path / 'billport.db'}", tmp_path / "data")
    with processes(tmp_path, env) as started:
        base = started.serve("serve")
        blob = httpx.get(f"{base}/blobs/t/x/part-00000.json.gz?sv=2023&sp=r&sig={SIG}")
        api = httpx.get(
            f"{base}/v1/invoices?access_token={TOKEN}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert blob.status_code >= 400 and api.status_code == 401
        started.stop_all()  # flush and close the log before reading it
        log = started.log("serve")
    assert "GET /blobs/t/x/part-00000.json.gz?sv=2023&sp=r&sig=REDACTED" in log
    assert "GET /v1/invoices?access_token=REDACTED" in log
    assert SIG not in log and "Zm9vYmFy" not in log
    assert TOKEN not in log and "c2VjcmV0LXRva2Vu" not in log
