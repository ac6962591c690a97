"""``GET /{v1.0,beta}/$metadata`` serves the CSDL every ``@odata.context`` points at, and the
methods the SDKs expose but billport does not serve answer 405 in the Graph envelope."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from odatapy.edm.model import Edm, FullQualifiedName
from odatapy.edm.xml_io import XmlEdmProvider

from billport.billing.graph_model import BILLING, VERSIONS, graph_model, resources
from billport.jobs.worker import Worker
from billport.runtime import Runtime
from billport.settings import Settings
from tests.support import exports as data
from tests.support.factory import app_client, opened

ROOT = "reports/partners/billing"


@pytest.fixture
def app(settings: Settings) -> Iterator[tuple[TestClient, Runtime]]:
    with opened(settings, blob_rows=3) as runtime:
        data.build_dataset(runtime)
        with app_client(runtime) as client:
            yield client, runtime


@pytest.mark.parametrize("version", VERSIONS)
def test_metadata_is_csdl_xml_without_a_token(
    app: tuple[TestClient, Runtime], version: str
) -> None:
    client, _ = app
    response = client.get(f"/{version}/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "{http://docs.oasis-open.org/odata/ns/edmx}Edmx"
    edm = Edm.from_provider(XmlEdmProvider(response.content))
    aggregated = edm.get_entity_type(FullQualifiedName(BILLING, "billedAggregatedUsage"))
    assert (aggregated is not None) is (version == "beta")


def test_every_odata_context_resolves(app: tuple[TestClient, Runtime]) -> None:
    """The operation's, the manifest's, in both versions: the URL before ``#`` answers 200
    with the CSDL, and the fragment names the entity's collection."""
    client, runtime = app
    headers = data.graph_headers(runtime)
    for version in VERSIONS:
        response = client.post(
            f"/{version}/{ROOT}/usage/billed/export",
            json={"invoiceId": data.MODERN},
            headers=headers,
        )
        assert response.status_code == 202
        Worker(runtime).run(once=True)
        operation = client.get(response.headers["Location"], headers=headers).json()
        link = operation["resourceLocation@odata.navigationLink"]
        manifest = client.get(link, headers=headers).json()
        for body, collection in ((operation, "operations"), (manifest, "manifests")):
            url, fragment = body["@odata.context"].split("#")
            assert url == f"http://testserver/{version}/$metadata"
            assert fragment == f"{ROOT}/{collection}/$entity"
            metadata = client.get(url)
            assert metadata.status_code == 200
            ET.fromstring(metadata.content)


# (method, path under the version, the Allow header)
NOT_SERVED = [
    ("PATCH", ROOT, ""),
    ("DELETE", ROOT, ""),
    ("GET", ROOT, ""),
    ("GET", "reports/partners", ""),
    ("PUT", f"{ROOT}/usage", ""),
    ("PATCH", f"{ROOT}/reconciliation", ""),
    ("DELETE", f"{ROOT}/usage/billed", ""),
    ("GET", f"{ROOT}/reconciliation/unbilled", ""),
    ("GET", f"{ROOT}/operations", ""),
    ("POST", f"{ROOT}/operations", ""),
    ("GET", f"{ROOT}/manifests", ""),
    ("PATCH", f"{ROOT}/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14", "GET"),
    ("DELETE", f"{ROOT}/operations/9ab9cb54-d07f-4f52-9ea6-a09d7de52c14", "GET"),
    ("PUT", f"{ROOT}/manifests/b8d16d34-910e-47e4-8fa5-c934976a9a11", "GET"),
    ("POST", f"{ROOT}/manifests/b8d16d34-910e-47e4-8fa5-c934976a9a11", "GET"),
    ("GET", f"{ROOT}/usage/billed/export", "POST"),
    ("DELETE", f"{ROOT}/reconciliation/billed/microsoft.graph.partners.billing.export", "POST"),
    ("POST", f"{ROOT}/usage/unbilled", ""),
]


@pytest.mark.slow  # ~2.5 s: 80 requests, half of them with a signed token
def test_unimplemented_methods_are_405_in_the_graph_envelope(
    app: tuple[TestClient, Runtime],
) -> None:
    client, runtime = app
    cases = [(v, *case) for v in VERSIONS for case in NOT_SERVED]
    cases += [("beta", "PATCH", f"{ROOT}/aggregatedUsage", ""),
              ("beta", "GET", f"{ROOT}/aggregatedUsage/billed/export", "POST")]  # fmt: skip
    for version, method, path, allow in cases:
        for headers in ({}, data.graph_headers(runtime)):
            response = client.request(method, f"/{version}/{path}", headers=headers)
            where = f"{method} /{version}/{path}"
            assert response.status_code == 405, where
            assert response.headers["allow"] == allow, where
            error = response.json()["error"]
            assert set(error) == {"code", "message", "innerError"}, where
            assert error["code"] == "notSupported"
            assert (
                error["message"]
                == f"The HTTP method '{method}' is not supported on '/{version}/{path}'."
            )
            assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}


def test_served_methods_are_untouched(app: tuple[TestClient, Runtime]) -> None:
    client, runtime = app
    headers = data.graph_headers(runtime)
    unknown = client.get(f"/v1.0/{ROOT}/operations/nope", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "itemNotFound"
    export = client.post(f"/beta/{ROOT}/usage/billed/export", json={}, headers=headers)
    assert export.status_code == 400
    assert client.get(f"/v1.0/{ROOT}/nothing-here").status_code == 404


def test_every_export_route_is_an_action_of_its_version(app: tuple[TestClient, Runtime]) -> None:
    client, _ = app
    paths = client.get("/openapi.json").json()["paths"]
    for version in VERSIONS:
        declared = {
            f"/{version}{r.path}" for r in resources(graph_model(version)) if r.kind == "action"
        }
        routed = {p for p, ops in paths.items() if p.startswith(f"/{version}/") and "post" in ops}
        assert routed <= declared, routed - declared
        assert {p for p in routed if "aggregatedUsage" not in p} == {
            p for p in declared if "aggregatedUsage" not in p
        }
