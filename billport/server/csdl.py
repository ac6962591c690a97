"""``$metadata``: the declared Graph model (billing/graph_model.py) as an OData v4 CSDL
XML document (OASIS CSDL XML 4.0: ``edmx:Edmx`` > ``edmx:DataServices`` > ``Schema``)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache

from billport.billing.graph_model import (
    CONTAINER,
    GRAPH,
    Action,
    ComplexType,
    EntityType,
    EnumType,
    Model,
    Parameter,
    Property,
    Schema,
    graph_model,
)

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"
CORE = "Org.OData.Core.V1"
CORE_URI = "https://oasis-tcs.github.io/odata-vocabularies/vocabularies/Org.OData.Core.V1.xml"
MEDIA_TYPE = "application/xml; charset=utf-8"


def _sub(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, attrs)


def _facets(node: ET.Element, nullable: bool, unicode: bool) -> None:
    if not nullable:
        node.set("Nullable", "false")
    if not unicode:
        node.set("Unicode", "false")


def _property(parent: ET.Element, prop: Property) -> None:
    _facets(_sub(parent, "Property", Name=prop.name, Type=prop.type), prop.nullable, prop.unicode)


def _entity(parent: ET.Element, entity: EntityType) -> None:
    node = _sub(parent, "EntityType", Name=entity.name)
    if entity.base:
        node.set("BaseType", entity.base)
    if entity.abstract:
        node.set("Abstract", "true")
    if entity.key:
        key = _sub(node, "Key")
        for name in entity.key:
            _sub(key, "PropertyRef", Name=name)
    for prop in entity.properties:
        _property(node, prop)
    for nav in entity.navigations:
        child = _sub(node, "NavigationProperty", Name=nav.name, Type=nav.type)
        if nav.contained:
            child.set("ContainsTarget", "true")
        _facets(child, nav.nullable, True)


def _complex(parent: ET.Element, complex_type: ComplexType) -> None:
    node = _sub(parent, "ComplexType", Name=complex_type.name)
    if complex_type.open:
        node.set("OpenType", "true")
    for prop in complex_type.properties:
        _property(node, prop)


def _enum(parent: ET.Element, enum_type: EnumType) -> None:
    node = _sub(parent, "EnumType", Name=enum_type.name)
    for name, value in enum_type.members:
        _sub(node, "Member", Name=name, Value=str(value))


def _parameter(parent: ET.Element, parameter: Parameter) -> None:
    node = _sub(parent, "Parameter", Name=parameter.name, Type=parameter.type)
    _facets(node, parameter.nullable, parameter.unicode)
    if parameter.default is not None:
        # An optional parameter and the value the service assumes without it.
        record = _sub(_sub(node, "Annotation", Term=f"{CORE}.OptionalParameter"), "Record")
        _sub(record, "PropertyValue", Property="DefaultValue", String=parameter.default)


def _action(parent: ET.Element, action: Action) -> None:
    node = _sub(parent, "Action", Name=action.name, IsBound="true")
    _facets(_sub(node, "Parameter", Name="bindingParameter", Type=action.binding), False, True)
    for parameter in action.parameters:
        _parameter(node, parameter)
    _sub(node, "ReturnType", Type=action.return_type)


def _schema(parent: ET.Element, schema: Schema, model: Model) -> None:
    node = _sub(parent, "Schema", xmlns=EDM, Namespace=schema.namespace)
    if schema.alias:
        node.set("Alias", schema.alias)
    for enum_type in schema.enum_types:
        _enum(node, enum_type)
    for entity in schema.entity_types:
        _entity(node, entity)
    for complex_type in schema.complex_types:
        _complex(node, complex_type)
    for action in schema.actions:
        _action(node, action)
    if schema.namespace == GRAPH:
        container = _sub(node, "EntityContainer", Name=CONTAINER)
        for name, type_name in model.singletons:
            _sub(container, "Singleton", Name=name, Type=type_name)


def csdl_document(model: Model) -> str:
    """The CSDL XML of ``model``, with its XML declaration."""
    root = ET.Element("edmx:Edmx", {"xmlns:edmx": EDMX, "Version": "4.0"})
    reference = _sub(root, "edmx:Reference", Uri=CORE_URI)
    _sub(reference, "edmx:Include", Namespace=CORE, Alias="Core")
    services = _sub(root, "edmx:DataServices")
    for schema in model.schemas:
        _schema(services, schema, model)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


@cache
def metadata_document(version: str) -> bytes:
    """``GET /{version}/$metadata``: built once per version."""
    return csdl_document(graph_model(version)).encode("utf-8")
