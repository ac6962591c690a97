"""The Scenario page: view and edit the server-wide and per-tenant scenario; reset and seed.

The form's fields become one scenario document, validated by the parser the admin API uses
(``usecases.scenarios.set_scenario``), so a bad value gets the API's own message. Reset and
seed call ``usecases.admin`` exactly as ``POST /_billport/reset`` and ``/seed`` do.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from billport.billing.ids import check_tenant_id
from billport.errors import BillportError, InvalidRequest
from billport.runtime import Runtime
from billport.server.console.auth import PageSession, checked_form
from billport.server.console.render import PREFIX, render
from billport.server.console.session import Session
from billport.server.deps import recorder_of
from billport.usecases import admin, browse, scenarios

router = APIRouter(prefix=PREFIX, include_in_schema=False)
FIELDS = ("progression", "retryAfter", "sasLifetime", "dataFormat")
JSON_FIELDS = ("faults", "failures")
DATA_FORMATS = ("compressedJSON", "compressedJSONLines")
_INTEGER = re.compile(r"-?\d{1,12}")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def form_values(document: dict[str, Any]) -> dict[str, str]:
    """A scenario document as the form's fields (the keys without a field go to ``extra``)."""
    values = {key: "" if document.get(key) is None else str(document[key]) for key in FIELDS}
    for key in JSON_FIELDS:
        values[key] = orjson.dumps(document[key]).decode() if key in document else ""
    rest = {k: v for k, v in document.items() if k not in FIELDS + JSON_FIELDS}
    values["extra"] = orjson.dumps(rest, option=orjson.OPT_INDENT_2).decode() if rest else ""
    return values


def _json(name: str, text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidRequest(f"The '{name}' field is not valid JSON.") from None


def scenario_document(values: dict[str, str]) -> dict[str, Any]:
    """The scenario document the form describes (the parser then checks every value)."""
    document: dict[str, Any] = {}
    extra = values.get("extra", "").strip()
    if extra:
        parsed = _json("more keys", extra)
        if not isinstance(parsed, dict):
            raise InvalidRequest("The 'more keys' field must be a JSON object.")
        document.update(parsed)
    for key in (*FIELDS, *JSON_FIELDS):
        text = values.get(key, "").strip()
        if not text:
            continue
        if key in document:
            raise InvalidRequest(f"'{key}' is set twice: in its field and in 'more keys'.")
        if key in JSON_FIELDS:
            document[key] = _json(key, text)
        elif key in ("retryAfter", "sasLifetime") and _INTEGER.fullmatch(text):
            document[key] = int(text)
        else:
            document[key] = text
    return document


def _tenant(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return check_tenant_id(raw) if raw else None


def _page(
    request: Request,
    session: Session,
    tenant: str | None,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    runtime = _runtime(request)
    applied = scenarios.applied_scenario(runtime.db, runtime.settings, tenant)
    document = applied.scenario.to_json()
    return render(
        request,
        "scenario.html",
        session=session,
        page="scenario",
        tenant=tenant,
        applied=applied,
        document=orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(),
        values={**form_values({}), **values} if values else form_values(document),
        tenants=browse.tenant_ids(runtime.db),
        overridden=scenarios.tenants_with_scenarios(runtime.db),
        data_formats=DATA_FORMATS,
        error=error,
        notice=(request.query_params.get("done") or "")[:300] or None,
        status=status,
    )


def _back(tenant: str | None, done: str) -> RedirectResponse:
    query = {"done": done, **({"tenant": tenant} if tenant else {})}
    return RedirectResponse(f"{PREFIX}/scenario?{urlencode(query)}", status_code=303)


@router.get("/scenario", response_class=HTMLResponse)
def scenario_page(request: Request, session: PageSession) -> HTMLResponse:
    try:
        tenant = _tenant(request.query_params.get("tenant"))
    except BillportError as exc:
        return _page(request, session, None, error=exc.message, status=400)
    return _page(request, session, tenant)


def _text_values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/scenario")
async def save_scenario(request: Request, session: PageSession) -> Response:
    values = _text_values(await checked_form(request, session))
    runtime = _runtime(request)
    try:
        tenant = _tenant(values.get("tenant"))
    except BillportError as exc:
        return _page(request, session, None, error=exc.message, status=400)
    where = f"tenant {tenant}" if tenant else "the server"
    try:
        if values.get("action") == "clear":
            await run_in_threadpool(scenarios.clear_scenario, runtime.db, runtime.clock, tenant)
            return _back(tenant, f"Cleared the scenario of {where}.")
        document = scenario_document(values)
        await run_in_threadpool(scenarios.set_scenario, runtime.db, runtime.clock, tenant, document)
    except BillportError as exc:
        return _page(request, session, tenant, values=values, error=exc.message, status=400)
    return _back(tenant, f"Saved the scenario of {where}.")


@router.post("/reset")
async def reset(request: Request, session: PageSession) -> Response:
    values = _text_values(await checked_form(request, session))
    runtime = _runtime(request)
    all_data = values.get("all") == "on"
    recorder_of(request.app).flush()  # calls made before the reset go with it
    report = await run_in_threadpool(
        lambda: admin.reset(runtime.db, runtime.blobs, all_data=all_data)
    )
    done = (
        f"Reset: {report.operations} operations, {report.manifests} manifests, "
        f"{report.blobs} blobs, {report.requests} logged requests"
        + (" and all data" if all_data else "")
        + " removed."
    )
    return _back(None, done)


def seed_body(values: dict[str, str]) -> dict[str, Any]:
    """The ``POST /_billport/seed`` body the form describes."""
    body: dict[str, Any] = {}
    for key in ("lineItems", "tenants", "customers", "months", "seed"):
        text = values.get(key, "").strip()
        if text:
            body[key] = int(text) if _INTEGER.fullmatch(text) else text
    for flag in admin.FLAGS:
        if values.get(flag) == "on":
            body[flag] = True
    return body


@router.post("/seed")
async def seed(request: Request, session: PageSession) -> Response:
    values = _text_values(await checked_form(request, session))
    runtime = _runtime(request)
    try:
        parsed = admin.parse_seed_request(seed_body(values))
        seeded = await run_in_threadpool(
            admin.seed, runtime.db, runtime.blobs, runtime.clock(), parsed
        )
    except BillportError as exc:
        return _page(request, session, None, error=f"Seed: {exc.message}", status=400)
    if seeded.store is not None:
        done = (
            f"Seeded {len(seeded.store.partners)} tenants, {len(seeded.store.invoices)} "
            f"invoices, {seeded.store.total_line_items:,} line items."
        )
    else:
        assert seeded.appended is not None
        done = f"Added {sum(seeded.appended.added.values()):,} line items."
    return _back(None, done)
