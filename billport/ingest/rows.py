"""One Graph export JSON line: its values as the exact JSON text Microsoft sent.

A line is parsed into ``(field, raw value text)`` pairs, never through floats or orjson: the
stored document of the imported attribute set is the line's own bytes, and the other set is
rebuilt from the same raw texts, so what an export serves again is what was imported, byte
for byte. Each value is checked against its field type in ``export_fields.json``.
"""

from __future__ import annotations

import json
import json.decoder
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import itemgetter

from billport.billing.datasets import AttributeSet, Dataset, field_names, fields
from billport.errors import InvalidRequest

_SPACE = re.compile(r"[ \t\r\n]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_LITERALS = ("null", "true", "false")
_STRING = r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
# One `"key": value` and what follows it; a whole valid row is a run of these. Strings are
# checked here (no raw control characters, only JSON's escapes), so a row that matches
# needs no second parse; one that does not goes to the scanner, which says what is wrong.
_PAIR = re.compile(
    rf"[ \t\r\n]*({_STRING})[ \t\r\n]*:[ \t\r\n]*"
    rf"({_STRING}|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|null|true|false)"
    r"[ \t\r\n]*([,}])"
)
_OPEN = re.compile(r"[ \t\r\n]*\{")
_NUMBER_TEXT = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
# A value of each field type, or null: what check_value accepts. Possessive (no
# backtracking into a value once matched): the same language, a quarter faster.
_FAST_STRING = r'"[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+"'
_TYPED = {
    "string": _FAST_STRING,
    "datetime": _FAST_STRING,
    "int": r"-?+(?:0|[1-9][0-9]*+)",
    "decimal": r"-?+(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?+(?:[eE][-+]?+[0-9]++)?+",
}


class BadRow(InvalidRequest):
    """A row that stops the import: where it is and why."""

    def __init__(self, file: str, line: int, column: str, reason: str) -> None:
        where = f"{file}, line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {reason}")
        self.file, self.line, self.column, self.reason = file, line, column, reason


class RowError(ValueError):
    """A line that is not a valid row; ``column`` is the field at fault ('' for the line)."""

    def __init__(self, reason: str, column: str = "") -> None:
        super().__init__(reason)
        self.reason, self.column = reason, column


def raw_pairs(text: str) -> dict[str, str]:
    """The line's top-level ``{"key": value}`` pairs, each value as its exact JSON text."""
    opened = _OPEN.match(text)
    if opened is None:
        return _scanned(text)
    pairs: dict[str, str] = {}
    pos, match = opened.end(), _PAIR.match
    while (found := match(text, pos)) is not None:
        key, value, mark = found.groups()
        key = key[1:-1] if "\\" not in key else json.loads(key)
        if key in pairs:
            break
        pairs[key] = value
        pos = found.end()
        if mark == "}":
            if text[pos:].strip(" \t\r\n"):
                break
            return pairs
    return _scanned(text)  # not a valid row: the scanner finds the fault and says it


def _scanned(text: str) -> dict[str, str]:
    """:func:`raw_pairs` character by character, for its error messages."""
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] != "{":
        raise RowError("a row must be one JSON object per line")
    pairs: dict[str, str] = {}
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos : pos + 1] == "}":
        return pairs
    while True:
        if text[pos : pos + 1] != '"':
            raise RowError(f"expected a field name at character {pos + 1}")
        key, pos = _string(text, pos)
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        if text[pos : pos + 1] != ":":
            raise RowError(f"expected ':' after {key!r}", key)
        pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
        start = pos
        pos = _value_end(text, pos, key)
        if key in pairs:
            raise RowError("the field appears twice", key)
        pairs[key] = text[start:pos]
        pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
        mark = text[pos : pos + 1]
        pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
        if mark == "}":
            if pos != len(text):
                raise RowError("text after the row's closing '}'")
            return pairs
        if mark != ",":
            raise RowError(f"expected ',' or '}}' after {key!r}", key)


def _string(text: str, pos: int) -> tuple[str, int]:
    try:
        return json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined,no-any-return]
    except json.JSONDecodeError as exc:
        raise RowError(f"bad string: {exc.msg}") from None


def _value_end(text: str, pos: int, key: str) -> int:
    """Where the scalar value at ``pos`` ends (objects and arrays are not row values)."""
    head = text[pos : pos + 1]
    if head == '"':
        try:
            return _string(text, pos)[1]
        except RowError as exc:
            raise RowError(exc.reason, key) from None
    number = _NUMBER.match(text, pos)
    if number:
        return number.end()
    for literal in _LITERALS:
        if text.startswith(literal, pos):
            return pos + len(literal)
    raise RowError("the value is not a JSON string, number or null", key)


def check_value(kind: str, raw: str) -> None:
    """Raise RowError's reason when ``raw`` is not a JSON value of field type ``kind``."""
    if raw == "null":
        return
    if kind in ("string", "datetime"):
        if not raw.startswith('"'):
            raise RowError(f"a {kind} field must be a JSON string, got {raw[:40]}")
        return
    if kind == "int":
        if not _INTEGER.fullmatch(raw):
            raise RowError(f"an int field must be a JSON integer, got {raw[:40]}")
        return
    if raw.startswith('"') or raw in ("true", "false"):
        raise RowError(f"a decimal field must be a JSON number, got {raw[:40]}")
    try:
        Decimal(raw)
    except InvalidOperation:  # the regex already took only JSON numbers: defensive
        raise RowError(f"not a decimal: {raw[:40]}") from None


@dataclass(frozen=True)
class Shape:
    """What a file holds: its dataset and the attribute set its rows were exported with."""

    dataset: Dataset
    attribute_set: AttributeSet


def shapes_for(keys: frozenset[str]) -> list[Shape]:
    """The stored datasets × attribute sets whose field list is exactly ``keys``."""
    return [
        Shape(dataset, attribute_set)
        for dataset in Dataset
        if not dataset.aggregated
        for attribute_set in AttributeSet
        if frozenset(field_names(dataset, attribute_set)) == keys
    ]


class Renderer:
    """Checks one shape's rows and renders both documents of each."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.code = shape.dataset.code
        self.types = {f.name: f.type for f in fields(shape.dataset, shape.attribute_set)}
        self.full = field_names(shape.dataset, AttributeSet.FULL)
        self.basic = field_names(shape.dataset, AttributeSet.BASIC)
        own = fields(shape.dataset, shape.attribute_set)
        self.names = tuple(f.name for f in own)
        # The row as Graph writes it (compact, fields in export order): one regex call checks
        # every value's type and captures its text. Anything else takes the general path.
        self.exact = re.compile(
            "{" + ",".join(f'"{f.name}":({_TYPED[f.type]}|null)' for f in own) + "}"
        )
        # The other set as one %-format over this row's values (like seed/templates.py): a
        # basic row lacks some full-set fields, written empty: "" for text, null otherwise.
        other = self.basic if shape.attribute_set is AttributeSet.FULL else self.full
        kinds = {f.name: f.type for f in fields(shape.dataset, AttributeSet.FULL)}
        self.other = "{" + ",".join(
            f'"{name}":%s' if name in self.types
            else f'"{name}":' + ('""' if kinds[name] == "string" else "null")
            for name in other
        ) + "}"  # fmt: skip
        self.pick = itemgetter(*(name for name in other if name in self.types))
        self.own = "{" + ",".join(f'"{name}":%s' for name in self.names) + "}"
        self.in_order = itemgetter(*self.names)
        # The same, over a row's values as a tuple in its own set's order (the hot path).
        self.at = {name: index for index, name in enumerate(self.names)}
        self.pick_values = itemgetter(*(self.at[n] for n in other if n in self.types))
        usage = shape.dataset.usage
        # (currency, customer, charge type, invoice, total): what a line_items row needs.
        key_names = ("BillingCurrency" if usage else "Currency", "CustomerId", "ChargeType",
                     "InvoiceNumber", "BillingPreTaxTotal" if usage else "Total")  # fmt: skip
        self.keys = itemgetter(*(self.at[n] for n in key_names))
        self._compile_groups(other, kinds, key_names)

    def _compile_groups(
        self, other: tuple[str, ...], kinds: dict[str, str], key_names: tuple[str, ...]
    ) -> None:
        """The import's hot path over a compact line's bytes (``ingest/chunks.py``).

        The other set's fields present in this one come in a few runs that are consecutive
        in both (9 per dataset): ``match`` captures each run's ``"name":value,…`` text and the
        five key values, and ``other_of`` renders the other document from the runs — the
        same bytes as :meth:`docs_of` with 14 captures instead of one per field.
        """
        runs = self._shared_runs(other)
        starts = {run[0]: index for index, run in enumerate(runs)}
        ends = {run[-1] for run in runs}
        pattern, group, run_groups, key_groups = "{", 0, [], {}
        for index, name in enumerate(self.names):
            if index:
                pattern += ","
            if name in starts:
                group += 1
                run_groups.append(group)
                pattern += "("
            value = f"(?:{_TYPED[self.types[name]]}|null)"
            if name in key_names:
                group += 1
                key_groups[name] = group
                value = f"({_TYPED[self.types[name]]}|null)"
            pattern += f'"{name}":{value}'
            if name in ends:
                pattern += ")"
        self.match = re.compile((pattern + "}").encode()).fullmatch
        self.runs = itemgetter(*(g - 1 for g in run_groups))
        self.group_keys = itemgetter(*(key_groups[n] - 1 for n in key_names))
        pieces = []
        for name in other:
            if name in starts:
                pieces.append("%s")
            elif name not in self.types:
                pieces.append(f'"{name}":' + ('""' if kinds[name] == "string" else "null"))
        self.other_of = ("{" + ",".join(pieces) + "}").encode()
        # The same groups from a row's values (portal CSV records, anonymised rows): one
        # %-format of every group's text, NUL-separated (raw JSON values never hold a NUL).
        texts, picked = [], []
        for _group, kind, names in sorted(
            [(g, "run", run) for g, run in zip(run_groups, runs, strict=True)]
            + [(g, "key", [n]) for n, g in key_groups.items()]
        ):
            texts.append(",".join(f'"{n}":%s' for n in names) if kind == "run" else "%s")
            picked += [self.at[n] for n in names]
        self._groups_text, self._pick_groups = "\x00".join(texts), itemgetter(*picked)
        self._group_count = len(texts)

    def _shared_runs(self, other: tuple[str, ...]) -> list[list[str]]:
        """This set's fields that the other set has too, in runs consecutive in both."""
        position = {name: index for index, name in enumerate(other)}
        runs: list[list[str]] = []
        for name in self.names:
            if name not in position:
                continue
            last = runs[-1][-1] if runs else None
            if last is not None and position[name] - position[last] == 1 == (
                self.at[name] - self.at[last]
            ):  # next to the run's last field in both sets
                runs[-1].append(name)
            else:
                runs.append([name])
        return runs

    def groups_of(self, values: tuple[str, ...]) -> tuple[bytes, ...]:
        """The :attr:`match` groups of checked raw values in this set's order."""
        groups = tuple((self._groups_text % self._pick_groups(values)).encode().split(b"\x00"))
        if len(groups) != self._group_count:  # unreachable for checked values: defensive
            raise RowError("a value holds a NUL character")
        return groups

    def line(self, pairs: dict[str, str]) -> bytes:
        """The row in its own set, compact, in export order, from (changed) raw values."""
        return self.line_of(self.in_order(pairs))

    def line_of(self, values: tuple[str, ...]) -> bytes:
        text: str = self.own % values
        return text.encode()

    def values(self, text: str) -> tuple[str, ...]:
        """The row's checked raw values, in its own set's field order."""
        exact = self.exact.fullmatch(text)
        if exact is not None:
            groups: tuple[str, ...] = exact.groups()  # every group takes part: no None
            return groups
        ordered: tuple[str, ...] = self.in_order(self._checked(text))
        return ordered

    def docs_of(self, line: bytes, values: tuple[str, ...]) -> tuple[bytes, bytes]:
        """:meth:`docs` over the values as a tuple."""
        other = (self.other % self.pick_values(values)).encode()
        return (line, other) if self.shape.attribute_set is AttributeSet.FULL else (other, line)

    def pairs(self, text: str) -> dict[str, str]:
        """The row's checked raw values."""
        exact = self.exact.fullmatch(text)
        if exact is not None:
            return dict(zip(self.names, exact.groups(), strict=True))
        return self._checked(text)

    def _checked(self, text: str) -> dict[str, str]:
        pairs = raw_pairs(text)
        for name in pairs:
            if name not in self.types:
                raise RowError(
                    f"not a field of {self.shape.dataset.value} "
                    f"({self.shape.attribute_set.value} attribute set)",
                    name,
                )
        for name, kind in self.types.items():
            if name not in pairs:
                raise RowError("the field is missing", name)
            try:
                check_value(kind, pairs[name])
            except RowError as exc:
                raise RowError(exc.reason, name) from None
        return pairs

    def docs(self, line: bytes, pairs: dict[str, str]) -> tuple[bytes, bytes]:
        """``(doc_full, doc_basic)``: the line itself for its own set, the other rebuilt
        from the same raw texts in export order (a basic row's missing full fields: empty)."""
        other = (self.other % self.pick(pairs)).encode()
        return (line, other) if self.shape.attribute_set is AttributeSet.FULL else (other, line)
