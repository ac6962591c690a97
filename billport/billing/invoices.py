"""Partner Center invoices: the invoice model, invoice ids, paging limits and the filter grammar.

Pure domain: no I/O. The store translates a parsed :data:`Filter` to SQL through
:func:`lower`, which reduces every filter to comparisons of ``invoiceDate`` with UTC
instants; :func:`evaluate` applies the same reduction in Python (used by tests to pin
the semantics the SQL must have).

Filter grammar (the ``filter`` query parameter, JSON, property names case-insensitive)::

    filter   := simple | compound
    simple   := {"Field": field, "Value": string, "Operator": compare}
    compound := {"LeftFilter": filter, "RightFilter": filter, "Operator": "and" | "or"}
    field    := "InvoiceDate" | "invoice_date"            (case-insensitive)
    compare  := equals | not_equals | greater_than | greater_than_or_equals
              | less_than | less_than_or_equals          (.NET or Java spelling,
                                                          case-insensitive, "_" ignored)

A date value (``MM/dd/yyyy`` or ISO ``yyyy-MM-dd``) stands for the whole UTC day; a
date-time value (ISO-8601, ``Z``/offset optional, no offset = UTC) is one instant.
"""

from __future__ import annotations

import enum
import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import orjson

from billport.billing.ids import MAX_INVOICE_ID_LENGTH, is_safe_id
from billport.errors import InvalidFilter, InvalidRequest, NotFound

# Paging. The Java SDK refuses sizes outside 1..200 before sending; we enforce the same
# range so the sandbox never accepts what a real client could not send.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 200
# Above this the databases' OFFSET (and clients' int32 offsets) stop making sense.
MAX_OFFSET = 2**31 - 1
# Nested compound filters deeper than this are refused (the SDKs build depth 2).
MAX_FILTER_DEPTH = 32

LEGACY = "legacy"
MODERN = "modern"


# --- the invoice model -------------------------------------------------------------------


@dataclass(frozen=True)
class InvoiceDetail:
    """One (line-item type, billing provider) pair an invoice has line items for."""

    line_item_type: str  # billing_line_items | usage_line_items
    billing_provider: str  # office | azure | one_time | marketplace

    @property
    def path_provider(self) -> str:
        """``one_time`` -> ``OneTime``: the provider as spelt in path-form line-item links."""
        return "".join(part.capitalize() for part in self.billing_provider.split("_"))

    @property
    def path_line_item_type(self) -> str:
        """``billing_line_items`` -> ``BillingLineItems``."""
        return "".join(part.capitalize() for part in self.line_item_type.split("_"))


@dataclass(frozen=True)
class Invoice:
    """An invoice, or an amendment of one (``amends_of`` set), with its nested amendments."""

    invoice_id: str
    invoice_date: datetime
    billing_period_start: datetime
    billing_period_end: datetime
    total_charges: Decimal
    paid_amount: Decimal
    currency_code: str
    currency_symbol: str
    document_type: str  # invoice | void_note | adjustment_note
    invoice_type: str  # Recurring | OneTime
    commerce: str  # legacy | modern
    amends_of: str | None
    details: tuple[InvoiceDetail, ...]
    tax_receipts: tuple[str, ...]
    amendments: tuple[Invoice, ...] = field(default=())

    @property
    def typed_id(self) -> str:
        """``Recurring-D02005YFHI``: the id used in the invoice's own links."""
        return f"{self.invoice_type}-{self.invoice_id}"


@dataclass(frozen=True)
class InvoiceRef:
    """An invoice id from a URL: bare (``G000024130``) or typed (``OneTime-G000024130``)."""

    invoice_id: str
    invoice_type: str | None = None  # canonical spelling when a type prefix was given

    def accepts(self, invoice: Invoice) -> bool:
        """Whether ``invoice`` is the one this reference names (prefix must match the type)."""
        return self.invoice_type is None or self.invoice_type == invoice.invoice_type


INVOICE_TYPES = {"recurring": "Recurring", "onetime": "OneTime"}


def parse_invoice_type(raw: str | None) -> str | None:
    """The ``invoiceType`` query value as stored (``Recurring``/``OneTime``); case and ``_``
    ignored, so the docs table's ``one_time`` is accepted; ``None`` or blank: every type."""
    if raw is None or not raw.strip():
        return None
    canonical = INVOICE_TYPES.get(raw.strip().replace("_", "").lower())
    if canonical is None:
        shown = raw[:40].encode("unicode_escape").decode("ascii")
        raise InvalidRequest(
            f"Invalid value '{shown}' for 'invoiceType': use Recurring or OneTime."
        )
    return canonical


def parse_invoice_ref(raw: str) -> InvoiceRef:
    """Split an optional, case-insensitive ``Recurring-``/``OneTime-`` prefix off an id.

    Anything that cannot be a stored id (too long, odd characters) is simply not found.
    """
    prefix, dash, rest = raw.partition("-")
    typed = INVOICE_TYPES.get(prefix.lower()) if dash else None
    ref = InvoiceRef(rest, typed) if typed else InvoiceRef(raw)
    if not is_safe_id(ref.invoice_id, MAX_INVOICE_ID_LENGTH):
        shown = raw[:100].encode("unicode_escape").decode("ascii")
        raise NotFound(f"Invoice '{shown}' was not found.")
    return ref


@functools.lru_cache(maxsize=256)  # a store holds few distinct details lists
def invoice_details_from_json(text: str) -> tuple[InvoiceDetail, ...]:
    """Decode the ``invoices.details`` column."""
    return tuple(
        InvoiceDetail(item["invoiceLineItemType"], item["billingProvider"])
        for item in orjson.loads(text)
    )


@functools.lru_cache(maxsize=1024)
def tax_receipts_from_json(text: str) -> tuple[str, ...]:
    """Decode the ``invoices.tax_receipts`` column."""
    return tuple(str(receipt) for receipt in orjson.loads(text))


# --- paging ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    """Which slice of the legacy invoices to return; modern ones are never paged."""

    size: int = DEFAULT_PAGE_SIZE
    offset: int = 0

    @classmethod
    def of(cls, size: int | None, offset: int | None) -> PageRequest:
        """Validate ``size``/``offset`` query values (``None``: not given)."""
        size = DEFAULT_PAGE_SIZE if size is None else size
        offset = 0 if offset is None else offset
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidRequest(f"size must be an integer between 1 and {MAX_PAGE_SIZE}.")
        if not 0 <= offset <= MAX_OFFSET:
            raise InvalidRequest(f"offset must be an integer between 0 and {MAX_OFFSET}.")
        return cls(size, offset)


# --- filter grammar ----------------------------------------------------------------------


class Comparison(enum.Enum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    GREATER_THAN = "greater_than"
    GREATER_THAN_OR_EQUALS = "greater_than_or_equals"
    LESS_THAN = "less_than"
    LESS_THAN_OR_EQUALS = "less_than_or_equals"


class Logical(enum.Enum):
    AND = "and"
    OR = "or"


class FilterField(enum.Enum):
    INVOICE_DATE = "InvoiceDate"


def _token(text: str) -> str:
    """Fold .NET (``greater_than``) and Java (``GreaterThan``) spellings to one key."""
    return text.replace("_", "").lower()


_COMPARISONS = {_token(op.value): op for op in Comparison}
_LOGICALS = {_token(op.value): op for op in Logical}
_FIELDS = {"invoicedate": FilterField.INVOICE_DATE}


@dataclass(frozen=True)
class DateValue:
    """A filter value: the UTC instants ``[start, end)``; ``end is None`` for one instant."""

    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class SimpleFilter:
    field: FilterField
    operator: Comparison
    value: DateValue


@dataclass(frozen=True)
class CompoundFilter:
    left: Filter
    operator: Logical
    right: Filter


Filter = SimpleFilter | CompoundFilter

# re.ASCII: \d would otherwise accept any Unicode digit (e.g. fullwidth).
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE | re.ASCII,
)
_LAST_INSTANT = datetime.max.replace(tzinfo=UTC)


def _whole_day(day: date) -> DateValue:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # 9999-12-31 has no next day: its end is the last representable instant.
    end = start + timedelta(days=1) if day < date.max else _LAST_INSTANT
    return DateValue(start, end)


def parse_date_value(text: str) -> DateValue:
    """``01/01/2023``, ``1/1/2023``, ``2023-01-01`` -> that UTC day; ISO date-time -> instant."""
    text = text.strip()
    try:
        if match := _US_DATE.fullmatch(text):
            month, day, year = (int(part) for part in match.groups())
            return _whole_day(date(year, month, day))
        if _ISO_DATE.fullmatch(text):
            return _whole_day(date.fromisoformat(text))
        if match := _ISO_DATETIME.fullmatch(text):
            main, fraction, zone = match.groups()
            # .NET writes 7 fractional digits; Python keeps microseconds.
            fraction = (fraction or "")[:7]
            zone = "+00:00" if zone is None or zone.upper() == "Z" else zone
            moment = datetime.fromisoformat(main.replace(" ", "T") + fraction + zone)
            return DateValue(moment.astimezone(UTC))
    except (ValueError, OverflowError):
        pass
    raise InvalidFilter(
        f"Filter value '{text[:100]}' is not a valid date: use MM/dd/yyyy (e.g. 01/31/2023) "
        "or ISO-8601 (e.g. 2023-01-31 or 2023-01-31T00:00:00Z)."
    )


def parse_filter(text: str) -> Filter:
    """Parse the ``filter`` query parameter (already URL-decoded once)."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise InvalidFilter(
            f"Filter is nested too deeply (at most {MAX_FILTER_DEPTH} levels)."
        ) from None
    except ValueError:
        # Some clients URL-encode the JSON twice.
        if "%" not in text:
            raise InvalidFilter("Filter is not valid JSON.") from None
        try:
            document = json.loads(unquote(text))
        except (ValueError, RecursionError):
            raise InvalidFilter("Filter is not valid JSON.") from None
    _require_text(document)
    return filter_from_json(document)


def _require_text(document: Any) -> None:
    """Refuse JSON whose strings are not Unicode text: a ``\\ud800`` escape decodes to a
    lone surrogate, which no error message (nor the database) could carry."""
    try:  # the strict UTF-8 codec refuses lone surrogates, in keys and in values
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidFilter(
            "Filter is not valid text: it contains an unpaired surrogate escape (\\ud800)."
        ) from None


def filter_from_json(document: Any, path: str = "filter", depth: int = 1) -> Filter:
    """Build a filter from decoded JSON; errors name the offending part (``filter.LeftFilter``)."""
    if depth > MAX_FILTER_DEPTH:
        raise InvalidFilter(f"Filter is nested too deeply (at most {MAX_FILTER_DEPTH} levels).")
    if not isinstance(document, dict):
        raise InvalidFilter(f"{path} must be a JSON object.")
    props = _fold_keys(document, path)
    if "leftfilter" in props or "rightfilter" in props:
        return _compound(props, path, depth)
    return _simple(props, path)


_SIMPLE_KEYS = {"field": "Field", "value": "Value", "operator": "Operator"}
_COMPOUND_KEYS = {"leftfilter": "LeftFilter", "rightfilter": "RightFilter", "operator": "Operator"}


def _fold_keys(document: dict[str, Any], path: str) -> dict[str, Any]:
    """Property names are case-insensitive; the same name twice is ambiguous."""
    folded: dict[str, Any] = {}
    for key, value in document.items():
        lowered = key.lower()
        if lowered in folded:
            raise InvalidFilter(f"{path} has property '{key}' more than once.")
        folded[lowered] = value
    return folded


def _check_keys(props: dict[str, Any], expected: dict[str, str], path: str, kind: str) -> None:
    unknown = sorted(set(props) - set(expected))
    if unknown:
        allowed = ", ".join(expected.values())
        raise InvalidFilter(
            f"{path} has unknown property '{unknown[0]}': a {kind} filter has {allowed}."
        )
    missing = [name for key, name in expected.items() if key not in props]
    if missing:
        raise InvalidFilter(f"{path} is missing '{missing[0]}'.")


def _string(props: dict[str, Any], key: str, path: str) -> str:
    value = props[key]
    if not isinstance(value, str):
        raise InvalidFilter(f"{path}.{_SIMPLE_KEYS[key]} must be a string.")
    return value


def _simple(props: dict[str, Any], path: str) -> SimpleFilter:
    _check_keys(props, _SIMPLE_KEYS, path, "simple")
    field_name = _string(props, "field", path)
    field_ = _FIELDS.get(_token(field_name))
    if field_ is None:
        raise InvalidFilter(
            f"{path}.Field '{field_name[:100]}' is not a filterable field: use InvoiceDate."
        )
    operator_name = _string(props, "operator", path)
    if _token(operator_name) in _LOGICALS:
        raise InvalidFilter(
            f"{path}.Operator '{operator_name}' combines filters: use it in a filter with "
            "LeftFilter and RightFilter, or use a comparison (equals, not_equals, greater_than, "
            "greater_than_or_equals, less_than, less_than_or_equals)."
        )
    operator = _COMPARISONS.get(_token(operator_name))
    if operator is None:
        raise InvalidFilter(
            f"{path}.Operator '{operator_name[:100]}' is not a known operator: use equals, "
            "not_equals, greater_than, greater_than_or_equals, less_than or less_than_or_equals."
        )
    return SimpleFilter(field_, operator, parse_date_value(_string(props, "value", path)))


def _compound(props: dict[str, Any], path: str, depth: int) -> CompoundFilter:
    _check_keys(props, _COMPOUND_KEYS, path, "compound")
    operator_name = props["operator"]
    if not isinstance(operator_name, str):
        raise InvalidFilter(f"{path}.Operator must be a string.")
    operator = _LOGICALS.get(_token(operator_name))
    if operator is None:
        kind = "a comparison" if _token(operator_name) in _COMPARISONS else "not known"
        raise InvalidFilter(
            f"{path}.Operator '{operator_name[:100]}' is {kind}: a filter with LeftFilter and "
            "RightFilter needs 'and' or 'or'."
        )
    left = filter_from_json(props["leftfilter"], f"{path}.LeftFilter", depth + 1)
    right = filter_from_json(props["rightfilter"], f"{path}.RightFilter", depth + 1)
    return CompoundFilter(left, operator, right)


# --- semantics: filters as comparisons of invoiceDate with instants ----------------------


class Bound(enum.Enum):
    """A primitive comparison ``invoiceDate <op> instant``."""

    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


@dataclass(frozen=True)
class Condition:
    """``invoiceDate <bound> instant``."""

    bound: Bound
    instant: datetime


@dataclass(frozen=True)
class Junction:
    """All (``and``) or any (``or``) of its parts."""

    operator: Logical
    parts: tuple[Predicate, ...]


Predicate = Condition | Junction

_INSTANT_BOUNDS = {
    Comparison.EQUALS: Bound.EQ,
    Comparison.NOT_EQUALS: Bound.NE,
    Comparison.GREATER_THAN: Bound.GT,
    Comparison.GREATER_THAN_OR_EQUALS: Bound.GE,
    Comparison.LESS_THAN: Bound.LT,
    Comparison.LESS_THAN_OR_EQUALS: Bound.LE,
}


def _lower_day(operator: Comparison, start: datetime, end: datetime) -> Predicate:
    """A day is the half-open range ``[start, end)``; compare against the whole of it."""
    if operator is Comparison.EQUALS:
        return Junction(Logical.AND, (Condition(Bound.GE, start), Condition(Bound.LT, end)))
    if operator is Comparison.NOT_EQUALS:
        return Junction(Logical.OR, (Condition(Bound.LT, start), Condition(Bound.GE, end)))
    if operator is Comparison.GREATER_THAN:
        return Condition(Bound.GE, end)
    if operator is Comparison.GREATER_THAN_OR_EQUALS:
        return Condition(Bound.GE, start)
    if operator is Comparison.LESS_THAN:
        return Condition(Bound.LT, start)
    return Condition(Bound.LT, end)


def lower(filter_: Filter) -> Predicate:
    """Reduce a filter to comparisons of ``invoiceDate`` (the only field) with instants."""
    if isinstance(filter_, CompoundFilter):
        return Junction(filter_.operator, (lower(filter_.left), lower(filter_.right)))
    value = filter_.value
    if value.end is not None:
        return _lower_day(filter_.operator, value.start, value.end)
    return Condition(_INSTANT_BOUNDS[filter_.operator], value.start)


_TESTS = {
    Bound.EQ: lambda a, b: a == b,
    Bound.NE: lambda a, b: a != b,
    Bound.GT: lambda a, b: a > b,
    Bound.GE: lambda a, b: a >= b,
    Bound.LT: lambda a, b: a < b,
    Bound.LE: lambda a, b: a <= b,
}


def evaluate(predicate: Predicate, invoice_date: datetime) -> bool:
    """Whether an invoice dated ``invoice_date`` matches (the reference for the SQL form)."""
    if isinstance(predicate, Condition):
        return bool(_TESTS[predicate.bound](invoice_date, predicate.instant))
    results = (evaluate(part, invoice_date) for part in predicate.parts)
    return all(results) if predicate.operator is Logical.AND else any(results)
