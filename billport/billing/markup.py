"""A provider's markup rules, and a row re-priced at a reseller's price (pure).

The rules document (JSON from the admin API, JSON or TOML from a file)::

    {"default": {"percent": "10"},
     "rules": [
       {"reseller": "<tenant id>", "percent": "12"},
       {"reseller": "<tenant id>", "product": "CFQ7TTC0LH18", "sku": "0001",
        "price": "7.20", "currency": "USD"},
       {"chargeType": "usage", "meter": "<meter id>", "percent": "5"}]}

A rule names any of ``reseller``, ``customer``, ``product``, ``sku``, ``meter``,
``chargeType`` and ``currency`` (the row's ``PricingCurrency``), and exactly one action:
``percent`` (added to the provider's unit prices; may be negative, above -100) or ``price``
(a fixed unit price in ``currency``, which a price rule must name). The rule naming the most
of them wins; among equally specific ones, the first in the list. ``default`` (optional:
no markup) applies when no rule matches.

Re-pricing keeps Microsoft's arithmetic (spec/additions-2026.md §1.6): a reconciliation
row's ``Subtotal`` is recomputed from the new ``EffectiveUnitPrice`` with the usage- or
seat-based ``ROUNDDOWN`` rule (:mod:`billport.billing.rounding`), ``TaxTotal`` at the row's
original rate (half-up to the cent: Microsoft publishes no tax rounding rule), ``Total`` as
their sum; a usage row's ``PricingPreTaxTotal`` and ``BillingPreTaxTotal`` are the new
price times ``Quantity`` (times ``PCToBCExchangeRate``), rounded half-up to the places the
provider's value had. A row under a markup of 0 % keeps its amounts exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from billport.billing.rounding import CENT, rounddown, subtotal_by_rule
from billport.errors import InvalidRequest

HUNDRED = Decimal(100)
MAX_PLACES = 10  # a marked-up unit price keeps at most this many decimal places
MAX_RULES = 10_000
# selector key of a rule -> the row field it matches (case-insensitively)
SELECTORS = {
    "reseller": "",  # the reseller's tenant id: not a row field
    "customer": "CustomerId",
    "product": "ProductId",
    "sku": "SkuId",
    "meter": "MeterId",
    "chargeType": "ChargeType",
    "currency": "PricingCurrency",
}
ACTIONS = ("percent", "price")
# Fields that would show a reseller the provider's cost, and what a reseller sees instead.
COST_FIELDS: dict[str, Any] = {
    "PriceAdjustmentDescription": "",  # names the provider's adjustments (partner earned credit)
    "PartnerEarnedCreditPercentage": Decimal(0),
    "CreditPercentage": Decimal(0),
    "CreditType": "",
}


@dataclass(frozen=True)
class Markup:
    """What one rule does to a unit price."""

    percent: Decimal | None = None
    price: Decimal | None = None

    @property
    def identity(self) -> bool:
        return self.price is None and not self.percent

    def unit(self, value: Decimal) -> Decimal:
        if self.price is not None:
            return self.price
        factor = (HUNDRED + (self.percent or Decimal(0))) / HUNDRED
        return _tidy(value * factor, _places(value))


NO_MARKUP = Markup(percent=Decimal(0))


@dataclass(frozen=True)
class Rule:
    selectors: tuple[tuple[str, str], ...]  # (selector key, lowercase value)
    markup: Markup

    def matches(self, reseller: str, row: Mapping[str, Any]) -> bool:
        for key, wanted in self.selectors:
            value = reseller if key == "reseller" else row.get(SELECTORS[key])
            if str(value or "").strip().lower() != wanted:
                return False
        return True


@dataclass(frozen=True)
class Rules:
    """A parsed rules document; :meth:`markup` picks a row's rule."""

    rules: tuple[Rule, ...] = ()
    default: Markup = NO_MARKUP

    def markup(self, reseller: str, row: Mapping[str, Any]) -> Markup:
        best: Rule | None = None
        for rule in self.rules:  # sorted most specific first, file order within
            if rule.matches(reseller.lower(), row):
                best = rule
                break
        return self.default if best is None else best.markup


def parse_rules(document: Any) -> Rules:
    """The rules of ``document`` (a parsed JSON/TOML object); InvalidRequest naming the key."""
    if document is None:
        return Rules()
    if not isinstance(document, Mapping):
        raise InvalidRequest("the markup rules must be an object with 'rules' and 'default'")
    unknown = sorted(set(document) - {"rules", "default"})
    if unknown:
        raise InvalidRequest(f"unknown key {unknown[0]!r} in the markup rules")
    default = NO_MARKUP
    if document.get("default") is not None:
        default = _rule(document["default"], "default", selectors_allowed=False).markup
    listed = document.get("rules") or []
    if not isinstance(listed, Sequence) or isinstance(listed, str | bytes):
        raise InvalidRequest("'rules' must be a list of rules")
    if len(listed) > MAX_RULES:
        raise InvalidRequest(f"at most {MAX_RULES} markup rules")
    parsed = [_rule(item, f"rules[{i}]") for i, item in enumerate(listed)]
    ordered = sorted(enumerate(parsed), key=lambda pair: (-len(pair[1].selectors), pair[0]))
    return Rules(tuple(rule for _, rule in ordered), default)


def rules_document(rules: Any) -> dict[str, Any]:
    """``rules`` (a document) checked and in its canonical JSON form: decimals as text."""
    parse_rules(rules)
    if rules is None:
        return {"rules": []}
    out: dict[str, Any] = {"rules": [_canonical(r) for r in rules.get("rules") or []]}
    if rules.get("default") is not None:
        out["default"] = _canonical(rules["default"])
    return out


def _canonical(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (str(_decimal(v, k)) if k in ACTIONS else str(v)) for k, v in item.items()}


def _rule(item: Any, where: str, selectors_allowed: bool = True) -> Rule:
    if not isinstance(item, Mapping):
        raise InvalidRequest(f"{where}: a rule is an object")
    allowed = (set(SELECTORS) if selectors_allowed else set()) | set(ACTIONS)
    for key in item:
        if key not in allowed:
            hint = " (the default names no selectors)" if key in SELECTORS else ""
            raise InvalidRequest(f"{where}: unknown key {key!r}{hint}")
    actions = [a for a in ACTIONS if item.get(a) is not None]
    if len(actions) != 1:
        raise InvalidRequest(f"{where}: give exactly one of 'percent' or 'price'")
    selectors = []
    for key in SELECTORS:
        if key in item:
            value = item[key]
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise InvalidRequest(f"{where}.{key}: a non-empty text of at most 200 characters")
            selectors.append((key, value.strip().lower()))
    value = _decimal(item[actions[0]], f"{where}.{actions[0]}")
    if actions[0] == "percent":
        if value <= -HUNDRED or value > 10_000:
            raise InvalidRequest(f"{where}.percent: must be above -100 and at most 10000")
        markup = Markup(percent=value)
    else:
        if value < 0:
            raise InvalidRequest(f"{where}.price: a price cannot be negative")
        if "currency" not in item:
            raise InvalidRequest(f"{where}: a fixed 'price' needs the 'currency' it is in")
        markup = Markup(price=value)
    return Rule(tuple(selectors), markup)


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidRequest(f'{where}: a decimal number ("12.5")')
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise InvalidRequest(f"{where}: not a decimal number: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise InvalidRequest(f"{where}: not a finite number")
    return number


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _tidy(value: Decimal, places: int) -> Decimal:
    """``value`` without trailing zeros beyond ``places``, at most MAX_PLACES places."""
    if _places(value) > MAX_PLACES:
        value = value.quantize(Decimal(1).scaleb(-MAX_PLACES), rounding=ROUND_HALF_UP)
    keep = max(places, 0)
    trimmed = value.normalize()
    if _places(trimmed) < keep:
        trimmed = trimmed.quantize(Decimal(1).scaleb(-keep))
    return trimmed if trimmed != 0 else abs(trimmed)


def _half_up(value: Decimal, places: int) -> Decimal:
    result = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return result if result != 0 else abs(result)


def reprice_reconciliation(row: Mapping[str, Any], markup: Markup) -> dict[str, Any]:
    """The changed fields of a reconciliation row (amounts as Decimal) at ``markup``."""
    if markup.identity:
        return {}
    unit, effective = row.get("UnitPrice"), row.get("EffectiveUnitPrice")
    quantity = row.get("BillableQuantity")
    if quantity is None:
        quantity = row.get("Quantity")
    subtotal, tax = row.get("Subtotal"), row.get("TaxTotal")
    rate = row.get("PCToBCExchangeRate")
    rate = Decimal(1) if rate is None else rate
    changed: dict[str, Any] = {}
    if unit is not None:
        changed["UnitPrice"] = markup.unit(unit)
    if effective is None or quantity is None:
        return changed
    new_effective = markup.unit(effective)
    # A prorated seat (fractional BillableQuantity) gives more than cents: rounded down too.
    new_subtotal = rounddown(subtotal_by_rule(row, new_effective, quantity, rate))
    new_subtotal = new_subtotal if new_subtotal != 0 else abs(new_subtotal)
    if tax is None or subtotal is None or subtotal == 0:
        new_tax = tax if tax is not None else Decimal("0.00")
    else:
        new_tax = _half_up(new_subtotal * tax / subtotal, 2)
    changed.update(
        EffectiveUnitPrice=new_effective,
        Subtotal=new_subtotal,
        TaxTotal=new_tax,
        Total=(new_subtotal + new_tax).quantize(CENT),
    )
    return changed


def reprice_usage(row: Mapping[str, Any], markup: Markup) -> dict[str, Any]:
    """The changed fields of a daily-rated usage row (amounts as Decimal) at ``markup``."""
    if markup.identity:
        return {}
    changed: dict[str, Any] = {}
    unit, effective = row.get("UnitPrice"), row.get("EffectiveUnitPrice")
    if unit is not None:
        changed["UnitPrice"] = markup.unit(unit)
    quantity = row.get("Quantity")
    if effective is None or quantity is None:
        return changed
    new_effective = markup.unit(effective)
    rate = row.get("PCToBCExchangeRate")
    rate = Decimal(1) if rate is None else rate
    changed["EffectiveUnitPrice"] = new_effective
    pricing, billing = row.get("PricingPreTaxTotal"), row.get("BillingPreTaxTotal")
    if pricing is not None:
        changed["PricingPreTaxTotal"] = _half_up(new_effective * quantity, _places(pricing))
    if billing is not None:
        places = _places(billing)
        changed["BillingPreTaxTotal"] = _half_up(new_effective * quantity * rate, places)
    return changed
