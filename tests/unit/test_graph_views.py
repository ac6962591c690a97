"""Graph JSON shapes: times to the digit the samples show, @odata.type on the manifest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from billport.billing.datasets import Dataset
from billport.server.graph_views import MILLISECONDS, TICKS, manifest_json, timestamp
from billport.store.manifests import ExportBlob, Manifest

MOMENT = datetime(2023, 3, 9, 8, 37, 48, 504669, tzinfo=UTC)


def test_ticks_render_seven_digits_of_a_microsecond_time() -> None:
    """The sample's ``.5046691Z`` has 100 ns; a time billport keeps to the microsecond shows
    the same instant with the 7th digit 0."""
    assert timestamp(MOMENT, TICKS) == "2023-03-09T08:37:48.5046690Z"
    assert timestamp(MOMENT.replace(microsecond=0), TICKS) == "2023-03-09T08:37:48.0000000Z"
    assert timestamp(MOMENT.replace(microsecond=1), TICKS) == "2023-03-09T08:37:48.0000010Z"


def test_milliseconds_truncate_as_before() -> None:
    assert timestamp(MOMENT) == timestamp(MOMENT, MILLISECONDS) == "2023-03-09T08:37:48.504Z"
    assert timestamp(MOMENT.replace(microsecond=37999)) == "2023-03-09T08:37:48.037Z"


def test_any_offset_renders_as_utc_and_naive_times_are_utc() -> None:
    paris = MOMENT.astimezone(timezone(timedelta(hours=1)))
    assert timestamp(paris, TICKS) == "2023-03-09T08:37:48.5046690Z"
    assert timestamp(MOMENT.replace(tzinfo=None), TICKS) == "2023-03-09T08:37:48.5046690Z"


def manifest() -> Manifest:
    blob = ExportBlob("part-00000-x.c000.json.gz", rows=3, size=10)
    return Manifest(
        "m-1", "t-1", Dataset.BILLED_USAGE, "k", "f", "ETAG", "2", "compressedJSON",
        "default", "c/v1", (blob,), 3, 10, MOMENT,
    )  # fmt: skip


def test_manifest_and_blobs_carry_their_odata_type_and_overrides() -> None:
    body = manifest_json(manifest(), root_directory="https://x/c/v1", sas_token="sig=1")
    assert body["@odata.type"] == "#microsoft.graph.partners.billing.manifest"
    assert body["blobs"] == [
        {
            "@odata.type": "#microsoft.graph.partners.billing.blob",
            "name": "part-00000-x.c000.json.gz",
            "partitionValue": "default",
        }
    ]
    assert (body["partitionType"], body["schemaVersion"]) == ("default", "2")
    assert body["createdDateTime"] == "2023-03-09T08:37:48.504Z"
    changed = manifest_json(
        manifest(), root_directory="r", sas_token="s", partition_type="Default", schema_version="1"
    )
    assert (changed["partitionType"], changed["schemaVersion"]) == ("Default", "1")
