"""Property-based: no input reaches a 5xx, on any surface (issue 18 item 1).

Hypothesis generates hostile input per surface — Partner Center invoices (size, offset,
the filter grammar, invoiceType, ids), Graph export bodies, blob names, SAS fields and
``Range`` headers, the admin API — and every answer must be a 2xx-4xx in that surface's
envelope. Examples are bounded and derandomised (the same in CI every run), with a
deadline per example; the whole module runs in well under a minute.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billport.runtime import Runtime
from billport.settings import load_settings
from tests.integration.test_error_shapes import pc_headers
from tests.support import exports as data
from tests.support.factory import app_client, opened
from tests.support.sandbox import admin_headers

pytestmark = pytest.mark.slow  # several seconds each; CI runs them (the fast run does not)
BOUNDED = settings(
    max_examples=60,
    deadline=2000,  # ms per example; the machine is shared
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DIRECTORY = "billedreconfastpath/v1/x"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Runtime]]:
    """One app over the small dataset for the module, on SQLite."""
    data_dir = tmp_path_factory.mktemp("property") / "data"
    app_settings = load_settings(
        environ={}, data_dir=data_dir, now="2026-11-21T12:00:00Z", worker=False
    )
    # TestClient's Host, so exports get their Location rather than the allow-list's 400
    app_settings = app_settings.replace(allowed_hosts="localhost,127.0.0.1,::1,testserver")
    with opened(app_settings, blob_rows=3) as runtime:
        data.build_dataset(runtime, rows=2)
        staged = runtime.blobs.stage("property", f"{DIRECTORY}/part.gz")
        staged.stream.write(b"0123456789" * 10)
        staged.close()
        runtime.blobs.publish(staged)
        with app_client(runtime) as client:
            yield client, runtime


def no_server_error(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]


# --- text that hurts: surrogates (as JSON escapes), controls, huge numbers, separators ----

hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["../../x", "..", "%00", "\x00", "9" * 5000, "-0", "1e9", "\u0661", " "]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10).map(lambda t: t + "\ud800"),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(hostile_text, children, max_size=3)
    ),
    max_leaves=10,
)


def as_json(value: Any) -> str:
    """JSON text; surrogates become ``\\ud800`` escapes, which decode back to surrogates."""
    return json.dumps(value, ensure_ascii=True)


# --- Partner Center: the invoice list and the filter grammar -----------------------------

FIELDS = st.sampled_from(["InvoiceDate", "invoice_date", "invoicedate", "InvoiceType", ""])
OPERATORS = st.sampled_from(
    ["equals", "not_equals", "greater_than", "LessThanOrEquals", "and", "or", "starts_with"]
)
DATES = st.one_of(
    st.sampled_from(["01/01/2023", "2023-01-01", "2023-01-31T00:00:00Z", "9999-12-31"]),
    st.sampled_from(["13/45/2023", "0001-01-01T00:00:00-23:59", "2023-02-30", "1/1/99999"]),
    hostile_text,
)
simple_filters = st.fixed_dictionaries({"Field": FIELDS, "Value": DATES, "Operator": OPERATORS})
filters = st.recursive(
    simple_filters | json_values,
    lambda children: st.fixed_dictionaries(
        {"LeftFilter": children, "RightFilter": children, "Operator": OPERATORS}
    ),
    max_leaves=6,
)
query_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@BOUNDED
@given(
    size=st.none() | query_text | st.integers().map(str),
    offset=st.none() | query_text | st.integers().map(str),
    filter_=st.none() | filters.map(as_json) | query_text,
    invoice_type=st.none() | st.sampled_from(["Recurring", "onetime", "One_Time"]) | query_text,
    encode_twice=st.booleans(),
)
def test_partner_center_invoice_list(
    app: tuple[TestClient, Runtime],
    size: str | None,
    offset: str | None,
    filter_: str | None,
    invoice_type: str | None,
    encode_twice: bool,
) -> None:
    client, runtime = app
    params = {"size": size, "offset": offset, "filter": filter_, "invoiceType": invoice_type}
    parts = [f"{k}={quote(v, safe='')}" for k, v in params.items() if v is not None]
    if encode_twice and filter_ is not None:
        parts.append(f"filter={quote(quote(filter_, safe=''), safe='')}")
    response = client.get(f"/v1/invoices?{'&'.join(parts)}", headers=pc_headers(runtime))
    no_server_error(response)
    body = response.json()
    if response.status_code != 200:
        assert set(body) == {"code", "description", "data", "source"}


@BOUNDED
@given(invoice_id=query_text | hostile_text.filter(lambda t: "\ud800" not in t))
def test_partner_center_invoice_by_id(app: tuple[TestClient, Runtime], invoice_id: str) -> None:
    client, runtime = app
    path = f"/v1/invoices/{quote(invoice_id, safe='')}"
    no_server_error(client.get(path, headers=pc_headers(runtime)))


# --- Graph: export bodies ------------------------------------------------------------------

EXPORTS = [
    "reconciliation/billed/export",
    "reconciliation/unbilled/export",
    "usage/billed/export",
    "usage/unbilled/export",
]
export_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "invoiceId": json_values | st.just(data.MODERN),
            "attributeSet": json_values | st.sampled_from(["full", "basic", "FULL"]),
            "billingPeriod": json_values | st.sampled_from(["current", "last"]),
            "currencyCode": json_values | st.sampled_from(["USD", "usd", "E\u00dfR"]),
        },
    ),
)


@BOUNDED
@given(
    endpoint=st.sampled_from(EXPORTS),
    body=export_bodies.map(as_json) | st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
def test_graph_export_bodies(app: tuple[TestClient, Runtime], endpoint: str, body: str) -> None:
    client, runtime = app
    headers = {**data.graph_headers(runtime), "Content-Type": "application/json"}
    response = client.post(
        f"/v1.0/reports/partners/billing/{endpoint}",
        content=body.encode("utf-8", "surrogatepass"),
        headers=headers,
    )
    no_server_error(response)
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "innerError"}


# --- blobs: names, SAS fields, Range ---------------------------------------------------------

SAS_FIELDS = ["sv", "st", "se", "sr", "sp", "sdd", "sig"]
path_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="?#"), max_size=60)
range_text = st.one_of(
    st.builds(
        "bytes={}-{}".format,
        st.none() | st.integers(min_value=0, max_value=10**30),
        st.none() | st.integers(min_value=0, max_value=10**30),
    ).map(lambda t: t.replace("None", "")),
    st.text(alphabet=st.characters(max_codepoint=255, exclude_categories=["Cc"]), max_size=30),
    st.just("bytes=0-" + "9" * 5000),
)


@BOUNDED
@given(
    name=st.just("part.gz") | path_text,
    tamper=st.dictionaries(st.sampled_from(SAS_FIELDS), query_text | hostile_text, max_size=3),
    drop=st.sets(st.sampled_from(SAS_FIELDS), max_size=2),
    range_header=st.none() | range_text,
    method=st.sampled_from(["GET", "HEAD"]),
)
def test_blob_route(
    app: tuple[TestClient, Runtime],
    name: str,
    tamper: dict[str, str],
    drop: set[str],
    range_header: str | None,
    method: str,
) -> None:
    client, runtime = app
    where = runtime.blobs.download_location(
        DIRECTORY, base_url="http://testserver", now=runtime.clock(), lifetime=60
    )
    fields = dict(part.split("=", 1) for part in where.sas_token.split("&"))
    fields.update(
        {k: quote(v.encode("utf-8", "surrogatepass"), safe="") for k, v in tamper.items()}
    )
    query = "&".join(f"{k}={v}" for k, v in fields.items() if k not in drop)
    url = f"/blobs/{DIRECTORY}/{quote(name.encode('utf-8'), safe='/')}?{query}"
    headers = {} if range_header is None else {"x-ms-range": range_header.encode("latin-1")}
    response = client.request(method, url, headers=headers)
    no_server_error(response)
    if response.status_code >= 400:
        assert response.headers["x-ms-error-code"]
        if method == "GET":
            assert ET.fromstring(response.content).tag == "Error", (url, response.content)


# --- the admin API ---------------------------------------------------------------------------

seed_bodies = st.fixed_dictionaries(
    {"invoice": json_values | hostile_text},  # with an invoice: never a whole new store
    optional={
        "lineItems": st.integers(min_value=-5, max_value=3) | json_values,
        "seed": st.integers() | json_values,
        "tenants": json_values,
        "unknownKey": json_values,
    },
)


@BOUNDED
@given(
    seed=seed_bodies.map(as_json) | st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    scenario=json_values.map(as_json),
    tenant=query_text.filter(lambda t: t not in {"", ".", ".."}) | st.just(data.TENANT),
)
def test_admin_api(app: tuple[TestClient, Runtime], seed: str, scenario: str, tenant: str) -> None:
    client, runtime = app
    headers = {**admin_headers(runtime), "Content-Type": "application/json"}
    encoded = quote(tenant, safe="")
    responses = [
        client.post(
            "/_billport/seed", content=seed.encode("utf-8", "surrogatepass"), headers=headers
        ),
        client.put(f"/_billport/tenants/{encoded}/scenario", content=scenario, headers=headers),
        client.get(f"/_billport/tenants/{encoded}/scenario", headers=headers),
        client.put("/_billport/scenario", content=scenario, headers=headers),
    ]
    client.delete("/_billport/scenario", headers=headers)  # the next example starts clean
    for response in responses:
        no_server_error(response)
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "innerError"}


# --- the resellers admin API: reseller bodies and markup rules --------------------------

RULE_KEYS = st.sampled_from(
    ["reseller", "customer", "product", "sku", "meter", "chargeType", "currency", "percent",
     "price", "colour"]
)  # fmt: skip
rule_values = st.one_of(
    hostile_text, st.integers(), st.floats(allow_nan=True), st.none(), st.booleans(),
    st.sampled_from(["12.5", "-100", "1e400", "NaN", "Infinity", "-0"]),
)  # fmt: skip
rules_documents = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"rules": st.lists(st.dictionaries(RULE_KEYS, rule_values, max_size=4), max_size=4)},
        optional={"default": st.dictionaries(RULE_KEYS, rule_values, max_size=2)},
    ),
)
reseller_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"name": rule_values},
        optional={
            "mpnId": rule_values,
            "customers": st.lists(rule_values, max_size=3) | rule_values,
            "tier2MpnIds": st.lists(rule_values, max_size=3) | rule_values,
            "provider": rule_values,
            "client": rule_values,
        },
    ),
)
RESELLER_TENANT = "eeeeeeee-0000-4000-8000-00000000000e"


@BOUNDED
@given(
    body=reseller_bodies.map(as_json),
    rules=rules_documents.map(as_json),
    tenant=query_text.filter(lambda t: t not in {"", ".", ".."}) | st.just(RESELLER_TENANT),
    provider=query_text | st.just(data.TENANT),
)
def test_resellers_admin_api(
    app: tuple[TestClient, Runtime], body: str, rules: str, tenant: str, provider: str
) -> None:
    client, runtime = app
    headers = {**admin_headers(runtime), "Content-Type": "application/json"}
    encoded = quote(tenant, safe="")
    query = {"provider": provider}
    responses = [
        client.put(f"/_billport/resellers/{encoded}", content=body, headers=headers),
        client.put("/_billport/markup-rules", content=rules, headers=headers, params=query),
        client.get("/_billport/markup-rules", headers=headers, params=query),
        client.get("/_billport/resellers", headers=headers, params=query),
        client.post("/_billport/resellers/refresh", headers=headers, params=query),
        client.delete(f"/_billport/resellers/{encoded}", headers=headers),
    ]
    for response in responses:
        no_server_error(response)
        if response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message", "innerError"}
