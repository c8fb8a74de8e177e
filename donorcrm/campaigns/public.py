"""The public, read-only page of a crowdfunding campaign: goal, raised, matched and honour roll.

A small Starlette app (`donorcrm.campaigns.public:app`) that can be embedded in an iframe; it
reads through the campaign service and never shows more than a donor agreed to show.
"""

from __future__ import annotations

from html import escape

from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from donorcrm.campaigns.models import Campaign
from donorcrm.campaigns.service import honour_roll, thermometer
from donorcrm.db import session_scope
from donorcrm.money import Money


def _campaign_code(slug: str) -> str | None:
    with session_scope() as s:
        return s.execute(select(Campaign.code).where(Campaign.public_slug == slug)).scalar()


def _data(slug: str) -> dict[str, object] | None:
    code = _campaign_code(slug)
    if code is None:
        return None
    with session_scope() as s:
        t = thermometer(s, code)
        roll = honour_roll(s, code, limit=25)
    return {
        "name": t.name, "goal": t.goal_minor, "raised": t.raised_minor, "matched": t.matched_minor,
        "total": t.total_minor, "gifts": t.gifts, "donors": t.donors, "currency": t.currency,
        "honour_roll": [{"name": r.name, "amount": r.amount_minor, "message": r.message,
                         "date": r.received_on.isoformat()} for r in roll],
    }


def campaign_json(request: Request) -> Response:
    data = _data(request.path_params["slug"])
    if data is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    return JSONResponse(data, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "max-age=30"})


def _eur(minor: int, currency: str) -> str:
    return escape(Money(minor, currency).format("nl"))


def campaign_page(request: Request) -> Response:
    data = _data(request.path_params["slug"])
    if data is None:
        return HTMLResponse("<h1>Not found</h1>", status_code=404)
    cur = str(data["currency"])
    goal = int(data["goal"] or 0)  # type: ignore[call-overload]
    raised, matched = int(data["raised"]), int(data["matched"])  # type: ignore[call-overload]
    pct_raised = min(100.0, 100 * raised / goal) if goal else 0.0
    pct_matched = min(100.0 - pct_raised, 100 * matched / goal) if goal else 0.0
    rows = "".join(
        f"<li><span class='who'>{escape(str(r['name']))}</span> <span class='amt'>{_eur(int(r['amount']), cur)}</span>"
        + (f"<q>{escape(str(r['message']))}</q>" if r["message"] else "") + "</li>"
        for r in data["honour_roll"]  # type: ignore[attr-defined]
    )
    html = f"""<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{escape(str(data['name']))}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5rem;max-width:40rem;color:#1d2b36}}
.bar{{display:flex;height:1.6rem;background:#e7edf2;border-radius:.8rem;overflow:hidden}}
.raised{{background:#0a7d5a}} .matched{{background:#f0a500}}
.figures{{display:flex;gap:1.5rem;margin:.6rem 0 1.2rem}} .figures b{{display:block;font-size:1.3rem}}
ul{{list-style:none;padding:0}} li{{padding:.35rem 0;border-bottom:1px solid #e7edf2}}
.amt{{float:right}} q{{display:block;color:#5b6b78;font-size:.9rem}}
</style></head><body>
<h1 id="campaign-name">{escape(str(data['name']))}</h1>
<div class="bar" role="progressbar" aria-valuenow="{raised + matched}" aria-valuemax="{goal}">
<div class="raised" style="width:{pct_raised:.1f}%"></div><div class="matched" style="width:{pct_matched:.1f}%"></div></div>
<div class="figures">
<div>Opgehaald<b id="raised">{_eur(raised, cur)}</b></div>
<div>Verdubbeld<b id="matched">{_eur(matched, cur)}</b></div>
<div>Doel<b id="goal">{_eur(goal, cur)}</b></div>
<div>Gevers<b id="donors">{int(data['donors']):,}</b></div></div>
<h2>Erelijst</h2><ul id="honour-roll">{rows}</ul>
</body></html>"""
    return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
                                       "Cache-Control": "max-age=30"})


routes = [
    Route("/c/{slug}.json", campaign_json),
    Route("/c/{slug}", campaign_page),
]

app = Starlette(routes=routes)
