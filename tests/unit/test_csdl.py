"""The CSDL of ``$metadata``: built from billing/graph_model.py, valid for an OData parser,
every type reference resolved, beta a superset of v1.0."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from odatapy.edm.model import Edm, FullQualifiedName
from odatapy.edm.xml_io import XmlEdmProvider

from billport.billing.datasets import Dataset
from billport.billing.graph_model import BILLING, EXPORTS, VERSIONS, graph_model, resources
from billport.server.csdl import EDM, EDMX, csdl_document, metadata_document

NS = {"edmx": EDMX, "edm": EDM}
TYPED = ("Type", "BaseType")


def parsed(version: str) -> ET.Element:
    return ET.fromstring(metadata_document(version))


def declared_names(root: ET.Element) -> set[str]:
    names = set()
    for schema in root.iterfind("edmx:DataServices/edm:Schema", NS):
        prefixes = {schema.get("Namespace"), schema.get("Alias")} - {None}
        for kind in ("EntityType", "ComplexType", "EnumType"):
            for node in schema.iterfind(f"edm:{kind}", NS):
                names |= {f"{prefix}.{node.get('Name')}" for prefix in prefixes}
    return names


def type_references(root: ET.Element) -> list[str]:
    found = []
    for node in root.iter():
        for attribute in TYPED:
            value = node.get(attribute)
            if value is not None:
                found.append(re.sub(r"^Collection\((.*)\)$", r"\1", value))
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_every_type_reference_resolves(version: str) -> None:
    root = parsed(version)
    assert root.tag == f"{{{EDMX}}}Edmx" and root.get("Version") == "4.0"
    names = declared_names(root)
    references = type_references(root)
    assert len(references) > 40
    unresolved = [r for r in references if not r.startswith("Edm.") and r not in names]
    assert unresolved == []


@pytest.mark.parametrize("version", VERSIONS)
def test_an_odata_parser_reads_it_and_resolves_every_type(version: str) -> None:
    edm = Edm.from_provider(XmlEdmProvider(metadata_document(version)))
    for reference in type_references(parsed(version)):
        edm.resolve_type(reference)  # KeyError for an unknown type
    operation = edm.get_entity_type(FullQualifiedName(BILLING, "operation"))
    assert operation is not None
    derived = {t.name for t in edm.get_derived_types(operation)}
    assert derived == {"runningOperation", "exportSuccessOperation", "failedOperation"}
    for export in EXPORTS:
        action = edm.get_bound_action(
            FullQualifiedName(BILLING, "export"), f"{BILLING}.{export.type_name}"
        )
        assert (action is not None) is (version in export.versions), export.type_name


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("collection", ["operations", "manifests"])
def test_the_odata_context_of_every_body_resolves_in_the_model(
    version: str, collection: str
) -> None:
    """``$metadata#reports/partners/billing/{collection}/$entity``: singleton, then
    contained navigation properties, ending on a collection."""
    edm = Edm.from_provider(XmlEdmProvider(metadata_document(version)))
    singleton = edm.entity_container.get_singleton("reports")
    current = singleton.entity_type
    for segment in ("partners", "billing", collection):
        navigation = current.get_navigation_property(segment)
        assert navigation is not None and navigation.contains_target, segment
        current = navigation.type
    assert navigation.is_collection


def test_beta_is_v1_plus_the_aggregated_usage_export() -> None:
    def signatures(version: str) -> set[str]:
        out = set()
        for node in parsed(version).iter():
            path = f"{node.tag}|{node.get('Name')}|{node.get('Type')}|{node.get('BaseType')}"
            out.add(path)
        return out

    v1, beta = signatures("v1.0"), signatures("beta")
    assert v1 < beta
    extra = {s.split("|")[1] for s in beta - v1} | {
        s.split("|")[2] for s in beta - v1 if "|bindingParameter|" in s
    }
    assert {"aggregatedUsage", "azureAggregatedUsage", "billedAggregatedUsage"} <= extra
    assert f"{BILLING}.billedAggregatedUsage" in extra


def test_aggregated_usage_takes_only_an_invoice_id() -> None:
    root = parsed("beta")
    actions = root.iterfind("edmx:DataServices/edm:Schema/edm:Action", NS)
    by_binding = {
        a.find("edm:Parameter", NS).get("Type"): [  # type: ignore[union-attr]
            p.get("Name") for p in a.iterfind("edm:Parameter", NS)
        ]
        for a in actions
    }
    assert by_binding[f"{BILLING}.billedAggregatedUsage"] == ["bindingParameter", "invoiceId"]
    assert by_binding[f"{BILLING}.billedUsage"] == [
        "bindingParameter",
        "invoiceId",
        "attributeSet",
    ]
    assert by_binding[f"{BILLING}.unbilledReconciliation"][1:] == [
        "currencyCode",
        "billingPeriod",
        "attributeSet",
    ]


def test_attribute_set_is_an_optional_parameter_defaulting_to_full() -> None:
    root = parsed("v1.0")
    parameters = [p for p in root.iter(f"{{{EDM}}}Parameter") if p.get("Name") == "attributeSet"]
    assert len(parameters) == 4
    for parameter in parameters:
        value = parameter.find("edm:Annotation/edm:Record/edm:PropertyValue", NS)
        assert value is not None and value.get("String") == "full"
        annotation = parameter.find("edm:Annotation", NS)
        assert annotation is not None
        assert annotation.get("Term") == "Org.OData.Core.V1.OptionalParameter"


def test_the_enums_and_their_values() -> None:
    root = parsed("v1.0")
    enums = {
        e.get("Name"): [(m.get("Name"), m.get("Value")) for m in e]
        for e in root.iter(f"{{{EDM}}}EnumType")
    }
    assert enums["attributeSet"] == [("full", "1"), ("basic", "2"), ("unknownFutureValue", "3")]
    assert enums["billingPeriod"] == [("current", "1"), ("last", "2"), ("unknownFutureValue", "3")]
    assert [n for n, _ in enums["longRunningOperationStatus"]] == [
        "notStarted", "running", "succeeded", "failed", "unknownFutureValue",
    ]  # fmt: skip


def test_the_declared_exports_are_the_datasets() -> None:
    """One export per dataset, at the dataset's own Graph path."""
    by_type = {e.type_name: e for e in EXPORTS}
    for dataset in Dataset:
        assert by_type[dataset.value].url_path == dataset.url_path


def test_the_url_tree_of_v1() -> None:
    paths = [r.path for r in resources(graph_model("v1.0")) if r.kind != "action"]
    assert paths == [
        "/reports",
        "/reports/partners",
        "/reports/partners/billing",
        "/reports/partners/billing/manifests",
        "/reports/partners/billing/manifests/{id}",
        "/reports/partners/billing/operations",
        "/reports/partners/billing/operations/{id}",
        "/reports/partners/billing/reconciliation",
        "/reports/partners/billing/reconciliation/billed",
        "/reports/partners/billing/reconciliation/unbilled",
        "/reports/partners/billing/usage",
        "/reports/partners/billing/usage/billed",
        "/reports/partners/billing/usage/unbilled",
    ]
    actions = [r.path for r in resources(graph_model("beta")) if r.kind == "action"]
    assert len(actions) == 10  # five exports, each at /export and the qualified name
    assert "/reports/partners/billing/aggregatedUsage/billed/export" in actions


def test_the_document_is_deterministic_and_declared() -> None:
    assert csdl_document(graph_model("beta")) == metadata_document("beta").decode()
    assert metadata_document("beta").startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    with pytest.raises(ValueError):
        graph_model("v2.0")
