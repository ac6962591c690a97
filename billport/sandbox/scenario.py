"""The scenario document: one JSON object that says how the sandbox misbehaves (pure).

Every key is optional; an absent key means "as configured in settings" (``retryAfter`` ->
``BILLPORT_RETRY_AFTER``...). Unknown keys and bad values raise :class:`InvalidScenario`
naming the key, e.g. ``faults[0].probability``, so a typo never silently does nothing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

import orjson

from billport.billing.datasets import Dataset
from billport.errors import ConfigurationError, InvalidRequest

DATA_FORMATS = ("compressedJSON", "compressedJSONLines")
MANIFEST_MODES = ("inline", "link", "both")
# What manifests have said (graph-billing.md §4.1, additions-2026.md §1.3): "default" in
# every live payload (billport's default), "Default" in the docs' sample, "ItemCount" on the
# pre-Graph v2 beta; schemaVersion "2" live (the default), "1" in the docs.
PARTITION_TYPES = ("default", "Default", "ItemCount")
SCHEMA_VERSIONS = ("1", "2")
FAULT_KINDS = ("429", "503", "drop", "latency")
MAX_RETRY_AFTER = 86_400
MAX_LATENCY_MS = 120_000
MAX_SAS_LIFETIME = 7 * 86_400
TOP_LEVEL_KEYS = frozenset(
    {"progression", "retryAfter", "failures", "faults", "latencyMs", "sasLifetime",
     "dataFormat", "partitionType", "schemaVersion", "manifest", "seed"}
)  # fmt: skip
# The OpenAPI schema of a scenario document, from the same limits the parser applies
# (the parser stays the authority: it also checks rule contents and names the bad key).
SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A scenario document; see docs/sandbox.md. Unknown keys are refused.",
    "additionalProperties": False,
    "properties": {
        "progression": {"type": "string", "example": "polls:3"},
        "retryAfter": {"type": "integer", "minimum": 0, "maximum": MAX_RETRY_AFTER},
        "failures": {"type": "array", "items": {"type": "object"}},
        "faults": {"type": "array", "items": {"type": "object"}},
        "latencyMs": {"oneOf": [{"type": "integer"}, {"type": "array"}]},
        "sasLifetime": {"type": "integer", "minimum": 0, "maximum": MAX_SAS_LIFETIME},
        "dataFormat": {"type": "string", "enum": list(DATA_FORMATS)},
        "partitionType": {"type": "string", "enum": list(PARTITION_TYPES)},
        "schemaVersion": {"type": "string", "enum": list(SCHEMA_VERSIONS)},
        "manifest": {"type": "string", "enum": list(MANIFEST_MODES)},
        "seed": {"type": "integer"},
    },
}


class InvalidScenario(InvalidRequest):
    """A scenario document that cannot be applied; the message names the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"Invalid scenario: '{key}' {problem}.")
        self.key = key


@dataclass(frozen=True)
class Progression:
    """When a finished operation is shown as finished: at once, after seconds, or on a poll."""

    kind: str = "immediate"  # immediate | after | polls
    value: float = 0

    def __str__(self) -> str:
        if self.kind == "immediate":
            return "immediate"
        number = int(self.value) if float(self.value).is_integer() else self.value
        return f"{self.kind}:{number}"


@dataclass(frozen=True)
class ForcedFailure:
    """Exports whose dataset and invoice match these globs end as ``failedOperation``."""

    dataset: str | None
    invoice: str | None
    code: str
    message: str

    def matches(self, dataset: str, invoice_id: str | None) -> bool:
        if self.dataset is not None and not glob_match(self.dataset, dataset):
            return False
        if self.invoice is None:
            return True
        return invoice_id is not None and glob_match(self.invoice, invoice_id)


@dataclass(frozen=True)
class Latency:
    """Added latency in milliseconds: fixed (``low == high``) or uniform in ``[low, high]``."""

    low: int
    high: int

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    def to_json(self) -> int | list[int]:
        return self.low if self.fixed else [self.low, self.high]


@dataclass(frozen=True)
class FaultRule:
    """A fault injected with ``probability`` on requests whose path matches ``route``."""

    route: str
    kind: str  # 429 | 503 | drop | latency
    probability: float = 1.0
    retry_after: int | None = None
    latency: Latency | None = None
    methods: tuple[str, ...] = ()

    def applies(self, method: str, path: str) -> bool:
        if self.methods and method.upper() not in self.methods:
            return False
        return fnmatch.fnmatchcase(path, self.route)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"route": self.route, "kind": self.kind}
        out["probability"] = self.probability
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        if self.latency is not None:
            out["latencyMs"] = self.latency.to_json()
        if self.methods:
            out["methods"] = list(self.methods)
        return out


@dataclass(frozen=True)
class Scenario:
    """A validated scenario; ``None`` fields fall back to settings."""

    progression: Progression = field(default_factory=Progression)
    retry_after: int | None = None
    failures: tuple[ForcedFailure, ...] = ()
    faults: tuple[FaultRule, ...] = ()
    latency: Latency | None = None
    sas_lifetime: int | None = None
    data_format: str | None = None
    partition_type: str | None = None
    schema_version: str | None = None
    manifest: str | None = None
    seed: int = 0

    @property
    def random(self) -> bool:
        """Whether a request may need a seeded draw (a probability or a latency range)."""
        ranged = [self.latency] + [f.latency for f in self.faults]
        return any(0 < f.probability < 1 for f in self.faults) or any(
            r is not None and not r.fixed for r in ranged
        )

    def failure_for(self, dataset: str, invoice_id: str | None) -> ForcedFailure | None:
        """The first forced failure matching an export, if any."""
        return next((f for f in self.failures if f.matches(dataset, invoice_id)), None)

    def to_json(self) -> dict[str, Any]:
        """The normalised document (keys in camelCase; only what was set, plus the seed)."""
        out: dict[str, Any] = {"progression": str(self.progression)}
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        if self.failures:
            out["failures"] = [_failure_json(f) for f in self.failures]
        if self.faults:
            out["faults"] = [f.to_json() for f in self.faults]
        if self.latency is not None:
            out["latencyMs"] = self.latency.to_json()
        for key, value in (
            ("sasLifetime", self.sas_lifetime),
            ("dataFormat", self.data_format),
            ("partitionType", self.partition_type),
            ("schemaVersion", self.schema_version),
            ("manifest", self.manifest),
        ):
            if value is not None:
                out[key] = value
        out["seed"] = self.seed
        return out


def glob_match(pattern: str, value: str) -> bool:
    """Case-insensitive glob (``*``, ``?``, ``[...]``), the same on every platform."""
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def _failure_json(f: ForcedFailure) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if f.dataset is not None:
        out["dataset"] = f.dataset
    if f.invoice is not None:
        out["invoice"] = f.invoice
    out.update(code=f.code, message=f.message)
    return out


# --- parsing -------------------------------------------------------------------------------


def _int(key: str, raw: Any, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise InvalidScenario(key, "must be an integer")
    if not low <= raw <= high:
        raise InvalidScenario(key, f"must be between {low} and {high}")
    return raw


def _choice(key: str, raw: Any, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise InvalidScenario(key, f"must be one of {', '.join(allowed)}")
    return str(raw)


def _text(key: str, raw: Any, max_length: int) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidScenario(key, "must be a non-empty string")
    if len(raw) > max_length:
        raise InvalidScenario(key, f"must be at most {max_length} characters")
    return raw


def _glob(key: str, raw: Any, max_length: int = 200) -> str:
    """A glob whose ``[`` classes are closed; fnmatch would quietly treat ``[`` as literal."""
    text = _text(key, raw, max_length)
    depth_open = None
    for index, char in enumerate(text):
        if depth_open is None and char == "[":
            depth_open = index
        elif depth_open is not None and char == "]" and index > depth_open + 1:
            depth_open = None
    if depth_open is not None:
        raise InvalidScenario(key, f"is not a valid glob: unclosed '[' in {text!r}")
    return text


def _object(key: str, raw: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise InvalidScenario(key, "must be a JSON object")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        where = f"{key}.{unknown[0]}" if key != "scenario" else unknown[0]
        raise InvalidScenario(where, "is not a known key")
    return raw


def parse_progression(key: str, raw: Any) -> Progression:
    """``immediate``, ``after:<seconds>`` or ``polls:<n>`` (succeeds on the n-th poll)."""
    if not isinstance(raw, str):
        raise InvalidScenario(key, "must be 'immediate', 'after:<seconds>' or 'polls:<n>'")
    kind, _, number = raw.strip().partition(":")
    if kind == "immediate" and not number:
        return Progression()
    try:
        if kind == "after":
            seconds = float(number)
            if 0 <= seconds <= MAX_RETRY_AFTER:
                return Progression("after", seconds)
        elif kind == "polls":
            polls = int(number)
            if 1 <= polls <= 10_000:
                return Progression("polls", polls)
    except ValueError:
        pass
    raise InvalidScenario(
        key, "must be 'immediate', 'after:<seconds>' (0-86400) or 'polls:<n>' (1-10000)"
    )


def parse_latency(key: str, raw: Any) -> Latency:
    """Milliseconds: an integer, or ``[low, high]`` for a uniform range."""
    if isinstance(raw, list):
        if len(raw) != 2:
            raise InvalidScenario(key, "must be an integer or a [low, high] pair")
        low = _int(f"{key}[0]", raw[0], 0, MAX_LATENCY_MS)
        high = _int(f"{key}[1]", raw[1], 0, MAX_LATENCY_MS)
        if low > high:
            raise InvalidScenario(key, f"range is empty: low {low} > high {high}")
        return Latency(low, high)
    value = _int(key, raw, 0, MAX_LATENCY_MS)
    return Latency(value, value)


def _probability(key: str, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidScenario(key, "must be a number")
    if not 0 <= raw <= 1:
        raise InvalidScenario(key, "must be between 0 and 1")
    return float(raw)


def _dataset_glob(key: str, raw: Any) -> str:
    pattern = _glob(key, raw)
    if not any(glob_match(pattern, d.value) for d in Dataset):
        names = ", ".join(d.value for d in Dataset)
        raise InvalidScenario(key, f"matches no dataset ({names})")
    return pattern


def parse_failure(key: str, raw: Any) -> ForcedFailure:
    item = _object(key, raw, {"dataset", "invoice", "code", "message"})
    if "dataset" not in item and "invoice" not in item:
        raise InvalidScenario(key, "needs a 'dataset' and/or an 'invoice' pattern")
    dataset = _dataset_glob(f"{key}.dataset", item["dataset"]) if "dataset" in item else None
    invoice = _glob(f"{key}.invoice", item["invoice"], 20) if "invoice" in item else None
    code = _text(f"{key}.code", item.get("code", "5000"), 40)
    message = _text(f"{key}.message", item.get("message", "No data available"), 1000)
    return ForcedFailure(dataset, invoice, code, message)


def _route(key: str, raw: Any) -> str:
    route = _glob(key, raw, 500)
    if not route.startswith(("/", "*")):
        raise InvalidScenario(key, "must be a path glob starting with '/' or '*'")
    return route


def _methods(key: str, raw: Any) -> tuple[str, ...]:
    allowed = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    if not isinstance(raw, list) or not raw:
        raise InvalidScenario(key, "must be a non-empty list of HTTP methods")
    return tuple(
        _choice(f"{key}[{i}]", str(m).upper() if isinstance(m, str) else m, allowed)
        for i, m in enumerate(raw)
    )


def parse_fault(key: str, raw: Any) -> FaultRule:
    keys = {"route", "kind", "probability", "retryAfter", "latencyMs", "methods"}
    item = _object(key, raw, keys)
    if "route" not in item or "kind" not in item:
        raise InvalidScenario(key, "needs 'route' and 'kind'")
    route = _route(f"{key}.route", item["route"])
    kind = _choice(f"{key}.kind", item["kind"], FAULT_KINDS)
    probability = _probability(f"{key}.probability", item.get("probability", 1))
    retry_after = None
    if "retryAfter" in item:
        if kind not in ("429", "503"):
            raise InvalidScenario(f"{key}.retryAfter", "only applies to kind 429 or 503")
        retry_after = _int(f"{key}.retryAfter", item["retryAfter"], 0, MAX_RETRY_AFTER)
    latency = None
    if kind == "latency":
        if "latencyMs" not in item:
            raise InvalidScenario(f"{key}.latencyMs", "is required for kind latency")
        latency = parse_latency(f"{key}.latencyMs", item["latencyMs"])
    elif "latencyMs" in item:
        raise InvalidScenario(f"{key}.latencyMs", "only applies to kind latency")
    methods = _methods(f"{key}.methods", item["methods"]) if "methods" in item else ()
    return FaultRule(route, kind, probability, retry_after, latency, methods)


def _list(key: str, raw: Any) -> list[Any]:
    if not isinstance(raw, list):
        raise InvalidScenario(key, "must be a list")
    if len(raw) > 100:
        raise InvalidScenario(key, "must have at most 100 entries")
    return raw


# Keys whose value is one of a few strings: (document key, Scenario field, allowed values).
_CHOICES = (
    ("dataFormat", "data_format", DATA_FORMATS),
    ("partitionType", "partition_type", PARTITION_TYPES),
    ("schemaVersion", "schema_version", SCHEMA_VERSIONS),
    ("manifest", "manifest", MANIFEST_MODES),
)


def parse_scenario(raw: Any) -> Scenario:
    """Validate a scenario document (already JSON-decoded) into a :class:`Scenario`."""
    doc = _object("scenario", raw, set(TOP_LEVEL_KEYS))
    values: dict[str, Any] = {}
    if "progression" in doc:
        values["progression"] = parse_progression("progression", doc["progression"])
    if "retryAfter" in doc:
        values["retry_after"] = _int("retryAfter", doc["retryAfter"], 0, MAX_RETRY_AFTER)
    if "failures" in doc:
        items = _list("failures", doc["failures"])
        values["failures"] = tuple(parse_failure(f"failures[{i}]", f) for i, f in enumerate(items))
    if "faults" in doc:
        items = _list("faults", doc["faults"])
        values["faults"] = tuple(parse_fault(f"faults[{i}]", f) for i, f in enumerate(items))
    if "latencyMs" in doc:
        values["latency"] = parse_latency("latencyMs", doc["latencyMs"])
    if "sasLifetime" in doc:
        values["sas_lifetime"] = _int("sasLifetime", doc["sasLifetime"], 0, MAX_SAS_LIFETIME)
    for key, name, allowed in _CHOICES:
        if key in doc:
            values[name] = _choice(key, doc[key], allowed)
    if "seed" in doc:
        values["seed"] = _int("seed", doc["seed"], -(2**63), 2**63 - 1)
    return Scenario(**values)


def scenario_from_text(text: str, *, where: str = "BILLPORT_SCENARIO") -> Scenario | None:
    """A scenario given as JSON text (the ``BILLPORT_SCENARIO`` setting, or the file it names);
    ``None`` when the text is blank. A bad document is a :class:`ConfigurationError` naming
    ``where`` and the offending key."""
    if not text.strip():
        return None
    try:
        return parse_scenario(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        raise ConfigurationError(f"{where} is not valid JSON: {exc}") from None
    except InvalidScenario as exc:
        raise ConfigurationError(f"{where}: {exc.message}") from None
