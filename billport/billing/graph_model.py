"""The part of Microsoft Graph's data model that billport implements, declared once (pure).

``$metadata`` (server/csdl.py) renders these declarations as CSDL for each API version, and
the routes for methods the service does not implement are derived from the same containment
tree. An element marked ``BETA`` exists only in ``/beta``, so beta's model is v1.0's plus
those: nothing is declared twice. Names and facets follow Microsoft's v1.0 CSDL
(shared/spec/graph-billing.md §1, §3, §4) and, for the aggregated usage export that is beta
only (September 2026), shared/spec/additions-2026.md §1.1–§1.2. The export actions come
from the datasets (billing/datasets.py: path, versions, whether it takes attributeSet).
"""

from __future__ import annotations

from dataclasses import dataclass

from billport.billing.datasets import Dataset

VERSIONS = ("v1.0", "beta")
ALL = frozenset(VERSIONS)
BETA = frozenset({"beta"})
GRAPH = "microsoft.graph"
BILLING = "microsoft.graph.partners.billing"
CONTAINER = "GraphService"


@dataclass(frozen=True)
class Property:
    name: str
    type: str  # a qualified name, ``Edm.*``, or ``Collection(...)`` of one
    nullable: bool = True
    unicode: bool = True


@dataclass(frozen=True)
class Navigation:
    name: str
    type: str
    contained: bool = True
    nullable: bool = True
    versions: frozenset[str] = ALL


@dataclass(frozen=True)
class EntityType:
    name: str
    base: str | None = f"{GRAPH}.entity"
    properties: tuple[Property, ...] = ()
    navigations: tuple[Navigation, ...] = ()
    key: tuple[str, ...] = ()
    abstract: bool = False
    versions: frozenset[str] = ALL


@dataclass(frozen=True)
class ComplexType:
    name: str
    properties: tuple[Property, ...]
    open: bool = False


@dataclass(frozen=True)
class EnumType:
    name: str
    members: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    nullable: bool = True
    unicode: bool = True
    default: str | None = None  # set: an optional parameter (Core.OptionalParameter)


@dataclass(frozen=True)
class Action:
    """A bound action; ``binding`` is the qualified type of its binding parameter."""

    name: str
    binding: str
    parameters: tuple[Parameter, ...]
    return_type: str
    versions: frozenset[str] = ALL


@dataclass(frozen=True)
class Schema:
    namespace: str
    alias: str | None = None
    entity_types: tuple[EntityType, ...] = ()
    complex_types: tuple[ComplexType, ...] = ()
    enum_types: tuple[EnumType, ...] = ()
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Model:
    """One version's schemas and the singletons of its entity container."""

    version: str
    schemas: tuple[Schema, ...]
    singletons: tuple[tuple[str, str], ...] = (("reports", f"{GRAPH}.reportRoot"),)

    def entity_type(self, qualified: str) -> EntityType:
        namespace, _, name = qualified.rpartition(".")
        for schema in self.schemas:
            for entity in schema.entity_types:
                if schema.namespace == namespace and entity.name == name:
                    return entity
        raise KeyError(qualified)


def _s(name: str, nullable: bool = False) -> Property:
    return Property(name, "Edm.String", nullable)


def _contained(name: str, type_name: str, versions: frozenset[str] = ALL) -> Navigation:
    return Navigation(name, f"{BILLING}.{type_name}", nullable=False, versions=versions)


_ERROR_FIELDS = (_s("code", True), _s("message", True), _s("target", True))
_DETAILS = Property("details", f"Collection({GRAPH}.publicErrorDetail)")

GRAPH_SCHEMA = Schema(
    GRAPH,
    alias="graph",
    entity_types=(
        EntityType("entity", None, (_s("id"),), key=("id",), abstract=True),
        EntityType(
            "reportRoot", navigations=(Navigation("partners", f"{GRAPH}.partners", nullable=False),)
        ),
        EntityType("partners", navigations=(_contained("billing", "billing"),)),
    ),
    complex_types=(
        ComplexType(
            "publicError",
            (*_ERROR_FIELDS, _DETAILS, Property("innerError", f"{GRAPH}.publicInnerError")),
        ),
        ComplexType("publicErrorDetail", _ERROR_FIELDS),
        ComplexType("publicInnerError", (*_ERROR_FIELDS, _DETAILS), open=True),
    ),
    enum_types=(
        EnumType(
            "longRunningOperationStatus",
            (
                ("notStarted", 0),
                ("running", 1),
                ("succeeded", 2),
                ("failed", 3),
                ("unknownFutureValue", 4),
            ),
        ),  # fmt: skip
    ),
)


@dataclass(frozen=True)
class Export:
    """One export action: ``billing/{group}/{leaf}`` of type ``type_name`` and its body."""

    group: str
    leaf: str
    type_name: str
    parameters: tuple[Parameter, ...]
    versions: frozenset[str] = ALL

    @property
    def url_path(self) -> str:
        return f"{self.group}/{self.leaf}"


_ATTRIBUTE_SET = Parameter("attributeSet", f"{BILLING}.attributeSet", default="full")
_INVOICE = Parameter("invoiceId", "Edm.String", False, unicode=False)
_PERIOD = (
    Parameter("currencyCode", "Edm.String", False, unicode=False),
    Parameter("billingPeriod", f"{BILLING}.billingPeriod", False),
)


def _export(dataset: Dataset) -> Export:
    """The action of a dataset, from the dataset's own path, versions and parameters."""
    group, leaf = dataset.url_path.split("/")
    parameters: tuple[Parameter, ...] = (_INVOICE,) if dataset.billed else _PERIOD
    if dataset.attribute_sets:  # not the aggregated usage export (additions-2026.md, E7)
        parameters += (_ATTRIBUTE_SET,)
    return Export(group, leaf, dataset.value, parameters, frozenset(dataset.versions))


EXPORTS = tuple(_export(d) for d in Dataset)
# The type of each group under billing (graph-billing.md §1; additions-2026.md §1.1).
GROUP_TYPES = {
    "reconciliation": "billingReconciliation",
    "usage": "azureUsage",
    "aggregatedUsage": "azureAggregatedUsage",
}
# A group exists in the versions that have one of its exports.
GROUPS = {
    group: (type_name, frozenset().union(*(e.versions for e in EXPORTS if e.group == group)))
    for group, type_name in GROUP_TYPES.items()
}


def _group_types() -> tuple[EntityType, ...]:
    groups = []
    for group, (type_name, versions) in GROUPS.items():
        leaves = tuple(
            _contained(e.leaf, e.type_name, e.versions) for e in EXPORTS if e.group == group
        )
        groups.append(EntityType(type_name, navigations=leaves, versions=versions))
    targets = tuple(EntityType(e.type_name, versions=e.versions) for e in EXPORTS)
    return (*groups, *targets)


_TIME = "Edm.DateTimeOffset"
_MANIFEST = EntityType(
    "manifest",
    properties=(
        Property("blobCount", "Edm.Int32", False),
        Property("blobs", f"Collection({BILLING}.blob)"),
        Property("createdDateTime", _TIME, False),
        *(_s(name) for name in ("dataFormat", "eTag", "partitionType", "partnerTenantId",
                                "rootDirectory", "sasToken", "schemaVersion")),
    ),
)  # fmt: skip
_OPERATION = f"{BILLING}.operation"
BILLING_SCHEMA = Schema(
    BILLING,
    entity_types=(
        EntityType(
            "billing",
            navigations=(
                Navigation("manifests", f"Collection({BILLING}.manifest)"),
                Navigation("operations", f"Collection({_OPERATION})"),
                *(_contained(g, t, v) for g, (t, v) in GROUPS.items()),
            ),
        ),
        *_group_types(),
        _MANIFEST,
        EntityType(
            "operation",
            properties=(
                Property("createdDateTime", _TIME, False),
                Property("lastActionDateTime", _TIME, False),
                Property("status", f"{GRAPH}.longRunningOperationStatus"),
            ),
        ),
        EntityType("runningOperation", _OPERATION),
        EntityType(
            "exportSuccessOperation",
            _OPERATION,
            navigations=(
                Navigation("resourceLocation", f"{BILLING}.manifest", False, nullable=False),
            ),
        ),
        EntityType(
            "failedOperation", _OPERATION, (Property("error", f"{GRAPH}.publicError", False),)
        ),
    ),
    complex_types=(ComplexType("blob", (_s("name"), _s("partitionValue"))),),
    enum_types=(
        EnumType("attributeSet", (("full", 1), ("basic", 2), ("unknownFutureValue", 3))),
        EnumType("billingPeriod", (("current", 1), ("last", 2), ("unknownFutureValue", 3))),
    ),
    actions=tuple(
        Action("export", f"{BILLING}.{e.type_name}", e.parameters, _OPERATION, e.versions)
        for e in EXPORTS
    ),
)


def _for_version(schema: Schema, version: str) -> Schema:
    """``schema`` without the elements that ``version`` does not have."""
    entities = tuple(
        EntityType(
            e.name, e.base, e.properties,
            tuple(n for n in e.navigations if version in n.versions),
            e.key, e.abstract, e.versions,
        )
        for e in schema.entity_types
        if version in e.versions
    )  # fmt: skip
    actions = tuple(a for a in schema.actions if version in a.versions)
    return Schema(
        schema.namespace, schema.alias, entities, schema.complex_types, schema.enum_types, actions
    )


def graph_model(version: str) -> Model:
    """The model of ``version`` (``v1.0`` or ``beta``)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown Graph version {version!r}")
    return Model(version, tuple(_for_version(s, version) for s in (GRAPH_SCHEMA, BILLING_SCHEMA)))


def exports(version: str) -> tuple[Export, ...]:
    return tuple(e for e in EXPORTS if version in e.versions)


@dataclass(frozen=True)
class Resource:
    """A URL of the model, e.g. ``/reports/partners/billing/operations/{id}``."""

    path: str
    kind: str  # singleton | collection | entity | action


def resources(model: Model) -> tuple[Resource, ...]:
    """Every URL of the containment tree under the singletons, with the bound actions."""
    actions = [(s.namespace, a) for s in model.schemas for a in s.actions]
    found: list[Resource] = []

    def walk(path: str, type_name: str, kind: str) -> None:
        found.append(Resource(path, kind))
        for namespace, action in actions:
            if action.binding == type_name:
                for segment in (action.name, f"{namespace}.{action.name}"):
                    found.append(Resource(f"{path}/{segment}", "action"))
        for nav in model.entity_type(type_name).navigations:
            if not nav.contained:
                continue
            if nav.type.startswith("Collection("):
                found.append(Resource(f"{path}/{nav.name}", "collection"))
                walk(f"{path}/{nav.name}/{{id}}", nav.type[len("Collection(") : -1], "entity")
            else:
                walk(f"{path}/{nav.name}", nav.type, "singleton")

    for name, type_name in model.singletons:
        walk(f"/{name}", type_name, "singleton")
    return tuple(found)
