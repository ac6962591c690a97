"""The Resellers page: a provider's resellers, what they own, the markup rules (edited with
the parser the admin API uses), and a reseller's invoice previewed next to its cost.

Reads and changes go through ``usecases.resellers``, the use cases of ``billport
resellers`` and ``/_billport/resellers``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from billport.errors import BillportError, InvalidRequest
from billport.runtime import Runtime
from billport.server.console.auth import PageSession, checked_form
from billport.server.console.charts import bar_chart
from billport.server.console.render import PREFIX, render
from billport.server.console.session import Session
from billport.store.resellers import Reseller
from billport.usecases import resellers

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _rules_text(document: dict[str, Any]) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode()


def _page(
    request: Request,
    session: Session,
    *,
    rules_text: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    runtime = _runtime(request)
    found = resellers.list_resellers(runtime.db)
    providers = sorted({r.provider_id for r in found})
    rules = {p: _rules_text(resellers.rules_of(runtime.db, p)[1]) for p in providers}
    rules.update(rules_text or {})
    chosen = _chosen(request, found)
    context: dict[str, Any] = {}
    if chosen is not None:
        context = _preview(runtime, request, chosen)
    return render(
        request,
        "resellers.html",
        session=session,
        page="resellers",
        resellers=found,
        rules=rules,
        chosen=chosen,
        error=error or context.pop("error", None),
        notice=(request.query_params.get("done") or "")[:300] or None,
        status=status,
        **context,
    )


def _chosen(request: Request, found: list[Reseller]) -> Reseller | None:
    wanted = (request.query_params.get("reseller") or "").strip().lower()
    return next((r for r in found if r.tenant_id == wanted), None)


def _preview(runtime: Runtime, request: Request, reseller: Reseller) -> dict[str, Any]:
    invoices = resellers.invoices_of(runtime.db, reseller.tenant_id)
    wanted = (request.query_params.get("invoice") or "").strip()
    if not invoices:
        return {"invoices": []}
    invoice_id = wanted if any(i["invoice_id"] == wanted for i in invoices) else ""
    invoice_id = invoice_id or str(invoices[0]["invoice_id"])
    try:
        shown = resellers.preview(runtime.db, reseller.tenant_id, invoice_id)
    except BillportError as exc:
        return {"invoices": invoices, "error": exc.message}
    bars = [(c.name or c.customer_id, c.price, False) for c in shown.customers]
    bars.sort(key=lambda bar: -abs(bar[1]))
    return {
        "invoices": invoices,
        "preview": shown,
        "chart": bar_chart(bars, shown.currency),
    }


@router.get("/resellers", response_class=HTMLResponse)
def resellers_page(request: Request, session: PageSession) -> HTMLResponse:
    return _page(request, session)


@router.post("/resellers/rules")
async def save_rules(request: Request, session: PageSession) -> Response:
    form = await checked_form(request, session)
    provider = str(form.get("provider") or "").strip()
    text = str(form.get("rules") or "")
    runtime = _runtime(request)
    try:
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequest(f"The rules are not valid JSON: {exc}.") from None
        saved, views = await run_in_threadpool(
            resellers.set_rules, runtime.db, document, runtime.clock(), provider or None
        )
    except BillportError as exc:
        return _page(request, session, rules_text={provider: text}, error=exc.message, status=400)
    changed = sum(len(v.added) + len(v.replaced) + len(v.removed) for v in views)
    done = (
        f"Saved {len(saved.get('rules', []))} rule(s) of {provider}: {len(views)} view(s) "
        f"rebuilt, {changed} row set(s) changed."
    )
    return RedirectResponse(f"{PREFIX}/resellers?{urlencode({'done': done})}", status_code=303)
