"""@azure/storage-blob (JavaScript) lists an export's directory with the manifest's SAS and
downloads what it lists, unchanged, as the Python SDK does (test_blob_listing.py).

`npm ci` installs the package (package.json); the test fails, never skips, without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from billport.settings import Settings
from tests.integration.test_blob_listing import exported, names, sqlite_settings  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "support" / "js" / "list_blobs.mjs"


def node_list(container_url: str, sas: str, prefix: str) -> list[dict[str, object]]:
    node = shutil.which("node")
    assert node, "Node.js is needed (the machine has it; CI installs npm packages)"
    assert (ROOT / "node_modules" / "@azure" / "storage-blob").exists(), "run npm ci"
    done = subprocess.run(
        [node, str(SCRIPT), container_url, sas, prefix],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    listed: list[dict[str, object]] = json.loads(done.stdout)
    return listed


def test_the_javascript_sdk_lists_and_downloads_a_manifests_directory(
    sqlite_settings: Settings,  # noqa: F811
) -> None:
    with exported(sqlite_settings) as export:
        export.publish(f"{export.container}/{export.directory}X/part-sibling.json.gz", b"x")
        listed = node_list(export.container_url, export.sas, f"{export.directory}/")
        assert [blob["name"] for blob in listed] == names(export)  # not the sibling
        for blob in listed:
            info = export.runtime.blobs.info(f"{export.container}/{blob['name']}")
            assert info is not None
            assert blob["size"] == blob["downloaded"] == info.size
            assert blob["etag"] == info.etag
