"""Money as people read it: the one formatter of every amount billport shows a person
(reconciliation reports, the terminal tables, invoice statement PDFs).

``format_amount(Decimal("-1234.5"), "USD")`` is ``-1,234.50``: thousands separators, at least
the currency's ISO 4217 minor units (JPY 0, USD 2, KWD 3), a minus sign, and ``+`` on request
for differences. An amount is never rounded for display: digits beyond the currency's places
are kept when they are not zero (a difference of ``0.004`` inside a tolerance stays visible),
so a formatted amount always reads back as the exact Decimal. ``format_money`` puts the
currency code in front (``USD -1,234.50``): codes, not symbols, because ``$`` is also the
Australian, Canadian and Mexican dollar's.
"""

from __future__ import annotations

from decimal import Decimal

DEFAULT_MINOR_UNITS = 2
# ISO 4217 currencies whose minor unit is not 2 (the list's entries in actual use).
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
         "VND", "VUV", "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip


def minor_units(currency: str) -> int:
    """Decimal places of ``currency`` (2 for codes the table does not know)."""
    return MINOR_UNITS.get(currency.strip().upper(), DEFAULT_MINOR_UNITS)


def format_amount(value: Decimal, currency: str, *, signed: bool = False) -> str:
    """``value`` with separators and the currency's places; ``+`` for positives if ``signed``."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"not a finite Decimal amount: {value!r}")
    places = minor_units(currency)
    exponent = value.normalize().as_tuple().exponent if value else 0
    assert isinstance(exponent, int)  # finite, checked above
    shown = value.quantize(Decimal(1).scaleb(min(-places, exponent)))  # exact: no digit lost
    sign = "-" if shown < 0 else ("+" if signed and shown > 0 else "")
    return f"{sign}{abs(shown):,f}"


def format_money(value: Decimal, currency: str, *, signed: bool = False) -> str:
    """``USD 1,234.50``: :func:`format_amount` after the currency code (if there is one)."""
    amount = format_amount(value, currency, signed=signed)
    code = currency.strip().upper()
    return f"{code} {amount}" if code else amount
