"""Template pools: every (customer × product) subscription and (customer × meter × resource)
of a partner, rendered once as a :class:`DocTemplate` and reused for every line item."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from billport.billing.datasets import Dataset
from billport.billing.rounding import seat_unit_price, usage_based
from billport.seed import catalog
from billport.seed.templates import DocTemplate
from billport.seed.world import Customer, Partner, new_guid

DISCOUNTS = ((0, ""), (5, '["5.0% Promotional discount"]'), (15, '["15.0% Partner discount"]'))


@dataclass(frozen=True)
class ReconTemplate:
    """A license subscription: constants of reconciliation lines and the numbers behind them."""

    customer: Customer
    doc: DocTemplate  # dataset: billed reconciliation (same fields as unbilled)
    seat_cents: int  # ROUNDDOWN(EffectiveUnitPrice * PCToBCExchangeRate, 2), in cents


@dataclass(frozen=True)
class UsageTemplate:
    """A metered Azure resource: constants of usage lines and the numbers behind them."""

    customer: Customer
    doc: DocTemplate  # dataset: billed usage (same fields as unbilled)
    price_micro: int  # unit price in the billing currency, 6 places
    usd_price_micro: int


def _scaled(value: int, places: int) -> str:
    whole, frac = divmod(value, 10**places)
    return f"{whole}.{frac:0{places}d}"


def _in_currency(usd_micro: int, currency: str) -> int:
    return usd_micro * catalog.USD_RATES_MICRO[currency] // 1_000_000


def _party(partner: Partner, customer: Customer) -> dict[str, object]:
    return {
        "PartnerId": partner.tenant_id,
        "CustomerId": customer.customer_id,
        "CustomerName": customer.name,
        "CustomerDomainName": customer.domain_name,
        "CustomerCountry": customer.country,
        "MpnId": partner.mpn_id,
        "Tier2MpnId": customer.tier2_mpn_id,
    }


def recon_template(
    rng: random.Random,
    partner: Partner,
    customer: Customer,
    product: catalog.Product,
    since: datetime,
) -> ReconTemplate:
    """One subscription of ``customer`` to ``product``, started before ``since``."""
    currency = customer.currency
    unit_cents = (_in_currency(product.usd_price_micro, currency) + 5_000) // 10_000
    discount, adjustment = rng.choice(DISCOUNTS)
    effective = unit_cents * 10_000 * (100 - discount) // 100
    start = since - timedelta(days=rng.randrange(30, 700))
    reserved = product.unit_type == "Reservation"
    raw: dict[str, object] = {
        **_party(partner, customer),
        "OrderId": uuid.UUID(int=rng.getrandbits(128)).hex[:32],
        "ProductId": product.product_id,
        "SkuId": product.sku_id,
        "AvailabilityId": f"CFQ7TTC0{rng.randrange(1000, 9999)}",
        "SkuName": product.sku_name,
        "ProductName": product.product_name,
        "UnitPrice": _scaled(unit_cents, 2),
        "Currency": currency,
        "PriceAdjustmentDescription": adjustment,
        "PublisherName": product.publisher,
        "PublisherId": catalog.MICROSOFT_ID if product.publisher == catalog.MICROSOFT else "",
        "SubscriptionDescription": product.product_name,
        "SubscriptionId": new_guid(rng),
        "TermAndBillingCycle": product.term,
        "EffectiveUnitPrice": _scaled(effective, 6),
        "UnitType": product.unit_type,
        "AlternateId": uuid.UUID(int=rng.getrandbits(128)).hex[:12],
        "BillingFrequency": product.frequency,
        "PricingCurrency": currency,
        "PCToBCExchangeRate": "1.000000",
        "MeterDescription": "",
        "ReservationOrderId": new_guid(rng) if reserved else "",
        "CreditReasonCode": "",
        "SubscriptionStartDate": start,
        "SubscriptionEndDate": start + timedelta(days=365 * 3),
        "ReferenceId": new_guid(rng),
        "ProductQualifiers": product.qualifiers,
        "PromotionId": f"39NFJQT1Q5KL:{rng.randrange(1000, 9999)}" if discount == 5 else "",
        "ProductCategory": product.category,
    }
    doc = DocTemplate.build(Dataset.BILLED_RECONCILIATION, raw)
    return ReconTemplate(customer, doc, seat_cents(raw))


def seat_cents(raw: dict[str, object]) -> int:
    """One seat's ``Subtotal`` in cents by Microsoft's seat-based rule, from the template's
    own ``EffectiveUnitPrice`` and ``PCToBCExchangeRate`` text (a row's ``Subtotal`` is this
    times its quantity: exact integers per row, the same in Python and SQL)."""
    if usage_based(raw):  # every reconciliation charge type the seed writes is seat-based
        raise ValueError(f"{raw['ProductId']}: the seed writes seat-based reconciliation rows only")
    price = Decimal(str(raw["EffectiveUnitPrice"]))
    rate = Decimal(str(raw["PCToBCExchangeRate"]))
    return int(seat_unit_price(price, rate) * 100)


def usage_template(
    rng: random.Random,
    partner: Partner,
    customer: Customer,
    meter: catalog.Meter,
    entitlement: tuple[str, str],
    plan_subscription: str,
) -> UsageTemplate:
    """One resource of ``customer`` metered by ``meter`` in an Azure subscription."""
    currency = customer.currency
    price = _in_currency(meter.usd_price_micro, currency)
    group = rng.choice(catalog.RESOURCE_GROUPS)
    resource = f"{meter.resource_type.split('/')[-1].lower()[:10]}-{rng.randrange(100, 999)}"
    uri = (
        f"/subscriptions/{entitlement[0]}/resourceGroups/{group}/providers/"
        f"{meter.resource_type}/{resource}"
    )
    pec = rng.random() < 0.4
    plan = catalog.AZURE_PLAN
    raw: dict[str, object] = {
        **_party(partner, customer),
        "PartnerName": partner.name,
        "ProductId": plan.product_id,
        "SkuId": plan.sku_id,
        "AvailabilityId": "DZH318Z0BQ3Q",
        "SkuName": plan.sku_name,
        "ProductName": plan.product_name,
        "PublisherName": plan.publisher,
        "PublisherId": catalog.MICROSOFT_ID,
        "SubscriptionDescription": "Azure plan",
        "SubscriptionId": plan_subscription,
        "MeterType": "1 Compute Hour" if meter.unit == "1 Hour" else meter.unit,
        "MeterCategory": meter.category,
        "MeterId": str(uuid.uuid5(uuid.NAMESPACE_OID, meter.name + meter.region)),
        "MeterSubCategory": meter.subcategory,
        "MeterName": meter.name,
        "MeterRegion": meter.region,
        "Unit": meter.unit,
        "ResourceLocation": rng.choice(catalog.LOCATIONS),
        "ConsumedService": meter.service,
        "ResourceGroup": group,
        "ResourceURI": uri,
        "ChargeType": "new",
        "UnitPrice": _scaled(price, 6),
        "UnitType": meter.unit,
        "BillingCurrency": currency,
        "PricingCurrency": "USD",
        "ServiceInfo1": "",
        "ServiceInfo2": "",
        "Tags": f'{{"env":"{rng.choice(("prod", "dev", "test"))}","owner":"{group}"}}',
        "AdditionalInfo": "",
        "EffectiveUnitPrice": _scaled(price * (85 if pec else 100) // 100, 6),
        "PCToBCExchangeRate": _scaled(catalog.USD_RATES_MICRO[currency], 6),
        "EntitlementId": entitlement[0],
        "EntitlementDescription": entitlement[1],
        "PartnerEarnedCreditPercentage": "15" if pec else "0",
        "CreditPercentage": "0",
        "CreditType": "Credit Not Applied",
        "BenefitOrderID": "",
        "BenefitID": "",
        "BenefitType": "",
    }
    doc = DocTemplate.build(Dataset.BILLED_USAGE, raw)
    return UsageTemplate(customer, doc, price, meter.usd_price_micro)


def partner_pools(
    rng: random.Random, partner: Partner, since: datetime
) -> tuple[list[ReconTemplate], list[UsageTemplate]]:
    """Every subscription and metered resource of ``partner``'s customers."""
    licenses = [p for p in catalog.PRODUCTS if p is not catalog.AZURE_PLAN]
    recon: list[ReconTemplate] = []
    usage: list[UsageTemplate] = []
    for customer in partner.customers:
        for product in rng.sample(licenses, rng.randrange(2, 5)):
            recon.append(recon_template(rng, partner, customer, product, since))
        plan_subscription = new_guid(rng)
        entitlements = [(new_guid(rng), name) for name in ("Production", "Development")]
        for meter in rng.sample(catalog.METERS, rng.randrange(3, 7)):
            entitlement = rng.choice(entitlements)
            usage.append(
                usage_template(rng, partner, customer, meter, entitlement, plan_subscription)
            )
    return recon, usage
