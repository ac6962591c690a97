"""Wire details of the Graph JSON (issue 13 item 7): 7-digit lastActionDateTime, @odata.type
on the manifest and its blobs, and partitionType/schemaVersion set by the scenario."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.clock import ManualClock
from tests.support.sandbox import put_scenario, sandbox_app, start_export

App = tuple[TestClient, Runtime, ManualClock]
BILLING = "#microsoft.graph.partners.billing"


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    # A clock with a fraction: the sample's lastActionDateTime has 7 digits.
    with sandbox_app(settings, now="2026-11-21T12:00:00.1234567Z") as opened:
        yield opened


def finished(client: TestClient, runtime: Runtime) -> tuple[Any, Any]:
    """A succeeded operation and its manifest read through the navigation link."""
    location = start_export(client, runtime)
    Worker(runtime).run(once=True)
    headers = data.graph_headers(runtime)
    op = client.get(location, headers=headers).json()
    return op, client.get(op["resourceLocation@odata.navigationLink"], headers=headers).json()


def test_times_have_the_digits_of_the_samples(app: App) -> None:
    client, runtime, clock = app
    location = start_export(client, runtime)
    clock.advance(1.5)
    running = client.get(location, headers=data.graph_headers(runtime)).json()
    assert running["createdDateTime"] == "2026-11-21T12:00:00.123Z"
    assert running["lastActionDateTime"] == "2026-11-21T12:00:00.1234560Z"
    Worker(runtime).run(once=True)
    op = client.get(location, headers=data.graph_headers(runtime)).json()
    assert op["lastActionDateTime"] == "2026-11-21T12:00:01.6234560Z"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", op["resourceLocation"]["createdDateTime"]
    )


def test_the_manifest_and_its_blobs_carry_odata_type(app: App) -> None:
    client, runtime, _ = app
    op, manifest = finished(client, runtime)
    for body in (op["resourceLocation"], manifest):
        assert body["@odata.type"] == f"{BILLING}.manifest"
        assert body["blobCount"] == len(body["blobs"]) == 3
        for blob in body["blobs"]:
            assert list(blob) == ["@odata.type", "name", "partitionValue"]
            assert blob["@odata.type"] == f"{BILLING}.blob"
    assert op["@odata.type"] == f"{BILLING}.exportSuccessOperation"
    assert list(manifest)[:2] == ["@odata.context", "@odata.type"]


def test_partition_type_and_schema_version_come_from_the_scenario(app: App) -> None:
    client, runtime, _ = app
    op, manifest = finished(client, runtime)
    for body in (op["resourceLocation"], manifest):  # the defaults, as every live payload
        assert (body["partitionType"], body["schemaVersion"]) == ("default", "2")
    put_scenario(client, runtime, {"partitionType": "Default", "schemaVersion": "1"})
    op, manifest = finished(client, runtime)
    for body in (op["resourceLocation"], manifest):  # as the docs' sample
        assert (body["partitionType"], body["schemaVersion"]) == ("Default", "1")
        assert "/PartitionType=default" in body["rootDirectory"]  # the path is not renamed
    put_scenario(client, runtime, {"partitionType": "ItemCount"}, tenant=data.TENANT)
    op, _ = finished(client, runtime)
    assert (op["resourceLocation"]["partitionType"], op["resourceLocation"]["schemaVersion"]) == (
        "ItemCount",
        "2",
    )
