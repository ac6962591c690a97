"""Microsoft's Subtotal rules have one home, which the seed and the lake both use."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billport.billing import rounding
from billport.lake import rounding as lake_rounding
from billport.seed import catalog, pools
from billport.seed.world import Partner, make_customers

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_lake_uses_the_billing_rules_not_a_copy() -> None:
    for name in lake_rounding.__all__:
        assert getattr(lake_rounding, name) is getattr(rounding, name), name


def test_seat_and_usage_rules() -> None:
    price, quantity, rate = Decimal("11.723"), Decimal(3), Decimal("1.1")
    assert rounding.seat_unit_price(price, rate) == Decimal("12.89")  # 12.8953 toward zero
    assert rounding.seat_subtotal(price, quantity, rate) == Decimal("38.67")
    assert rounding.usage_subtotal(price, quantity, rate) == Decimal("38.67")  # 35.16 * 1.1
    price, quantity = Decimal("0.045"), Decimal("123.4567")
    assert rounding.usage_subtotal(price, quantity, rate) == Decimal("6.10")  # 5.55 * 1.1
    assert rounding.seat_subtotal(price, quantity, rate) == Decimal("0.04") * quantity
    assert rounding.seat_subtotal(Decimal("-1.239"), Decimal(1), Decimal(1)) == Decimal("-1.23")


def _partner() -> Partner:
    rng = random.Random(3)
    customers = make_customers(rng, "t-1", ("USD",), 1)
    return Partner("t-1", "Partner", "1234567", "p.example", "US", True, NOW, ("USD",), customers)


def test_a_template_knows_its_seat_subtotal_in_cents() -> None:
    product = next(p for p in catalog.PRODUCTS if p.product_id == "DZH318Z0BXWC")  # 23.99
    for seed in range(20):
        rng = random.Random(seed)
        partner = _partner()
        template = pools.recon_template(rng, partner, partner.customers[0], product, NOW)
        price = Decimal(template.doc.values["EffectiveUnitPrice"])
        assert template.seat_cents == int(rounding.rounddown(price) * 100)


def test_the_seed_refuses_a_usage_based_reconciliation_template() -> None:
    raw = {"ProductId": "DZH318Z0BQ3Q", "TermAndBillingCycle": "", "MeterDescription": "",
           "EffectiveUnitPrice": "1.000000", "PCToBCExchangeRate": "1.000000"}  # fmt: skip
    with pytest.raises(ValueError, match="seat-based"):
        pools.seat_cents(raw)
    assert pools.seat_cents({**raw, "TermAndBillingCycle": "One-Year commitment"}) == 100
