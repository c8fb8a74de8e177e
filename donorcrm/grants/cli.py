"""`donorcrm grants ...`: list grants, show one, what falls due, reminders, spending import, fund balances."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from donorcrm.db import session_scope
from donorcrm.grants import reports, service, spending
from donorcrm.grants.rules import reminder_level
from donorcrm.money import Money

app = typer.Typer(help="Institutional income: lottery, funds, ministries, municipalities.", no_args_is_help=True)


class _Out:
    """stdout console; wide when piped, so tables are not cut to 80 columns in logs and mails."""

    def print(self, *args: Any, **kwargs: Any) -> None:
        width = None if sys.stdout.isatty() else 160
        Console(width=width).print(*args, **kwargs)


console = _Out()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _eur(value: str | None) -> str:
    return "" if value is None else Money.parse(value).format()


@app.command("list")
def list_grants(
    stage: Annotated[str | None, typer.Option(help="Only grants in this stage (applied, awarded, ...).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every grant with its stage, money position and co-funding."""
    with session_scope() as s:
        rows = reports.to_records(reports.grant_rows(s, stage=stage))
    if as_json:
        _emit(rows)
        return
    table = Table("reference", "funder", "stage", "amount", "received", "to receive", "to repay", "co-funding",
                  "next due")
    table.columns[0].no_wrap = True
    for r in rows:
        cof = "" if r["cofunding_required"] == "0.00" else (
            f"{_eur(r['cofunding_covered'])} / {_eur(r['cofunding_required'])}"
            + (" ok" if r["cofunding_met"] else " SHORT"))
        awarded = r["awarded"] != "0.00"
        amount = _eur(r["awarded"]) if awarded else (f"asked {_eur(r['requested'])}" if r["requested"] else "")
        money = [_eur(r[k]) if awarded else "" for k in ("received", "to_receive", "to_repay")]
        table.add_row(r["reference"], r["funder"], r["stage"], amount, *money, cof, str(r["next_due_on"] or ""))
    console.print(table)


@app.command("show")
def show(grant: Annotated[str, typer.Argument(help="Grant id or reference.")], as_json: JsonOpt = False) -> None:
    """One grant: decision, instalments, reports, repayments and the own income covering its co-funding."""
    with session_scope() as s:
        detail = reports.grant_detail(s, service.find_grant(s, grant).id)  # type: ignore[arg-type]
    if as_json:
        _emit(detail)
        return
    g = detail["grant"]
    console.print(f"[bold]{g['reference']}[/bold] {g['title']} — {g['funder']} ({g['funder_kind']})", markup=True)
    console.print(f"stage {g['stage']} · category {g['category']} · period {g['period_start']} – {g['period_end']}"
                  f" · fund {g['fund_code'] or '-'}", markup=False)
    console.print(f"awarded {_eur(g['awarded'])} · received {_eur(g['received'])} · to receive "
                  f"{_eur(g['to_receive'])} · to repay {_eur(g['to_repay'])}"
                  + (f" · settled {_eur(g['settled'])}" if g["settled"] else ""), markup=False)
    if g["cofunding_required"] != "0.00":
        console.print(f"co-funding {_eur(g['cofunding_covered'])} of {_eur(g['cofunding_required'])}"
                      + (" (met)" if g["cofunding_met"] else " (SHORT)"), markup=False)
    if g["conditions"]:
        console.print(f"conditions: {g['conditions']}", markup=False)
    for title, key, cols in (
        ("Instalments", "instalments", ("seq", "year", "due_on", "amount", "condition", "status", "received_on")),
        ("Reports", "reports", ("kind", "year", "due_on", "status", "submitted_on", "accepted_on")),
        ("Repayments", "repayments", ("amount", "claimed_on", "due_on", "paid_on")),
        ("Co-funding", "cofunding", ("source", "amount", "allocated_on", "note")),
    ):
        if detail[key]:
            table = Table(*cols, title=title)
            for item in detail[key]:
                table.add_row(*("" if item[c] is None else str(item[c]) for c in cols))
            console.print(table)


@app.command("due")
def due(
    days: Annotated[int, typer.Option(help="Look this many days ahead; overdue items always show.")] = 30,
    today: Annotated[str | None, typer.Option(help="Pretend today is YYYY-MM-DD.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Reports to send, instalments to receive and repayments to make, overdue first."""
    day = dt.date.fromisoformat(today) if today else dt.date.today()
    with session_scope() as s:
        items = service.due_items(s, until=day + dt.timedelta(days=days))
    rows = [{"due_on": i.due_on, "subject": str(i.subject), "id": i.subject_id, "grant_id": i.grant_id,
             "what": i.label, "state": str(reminder_level(i.due_on, day, horizon_days=days) or "upcoming")}
            for i in items]
    if as_json:
        _emit(rows)
        return
    table = Table("due", "state", "what")
    for r in rows:
        style = {"escalated": "bold red", "overdue": "red"}.get(r["state"], "")
        table.add_row(str(r["due_on"]), r["state"], r["what"], style=style)
    console.print(table)


@app.command("remind")
def remind(today: Annotated[str | None, typer.Option(help="Pretend today is YYYY-MM-DD.")] = None) -> None:
    """Run the reminder job now (the scheduler runs it daily)."""
    from donorcrm.grants.jobs import grant_reminders

    created = grant_reminders(dt.date.fromisoformat(today) if today else None)
    typer.echo(f"{created} reminder(s) created")


@app.command("import-spending")
def import_spending(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    locale: Annotated[str, typer.Option(help="Amount notation: nl (1.234,56), en or plain.")] = "nl",
    source: Annotated[str, typer.Option(help="Finance system name; booking references are unique per source.")]
    = "finance",
    partial: Annotated[bool, typer.Option(help="Book the good rows even when others have problems.")] = False,
) -> None:
    """Spending on restricted funds from the finance system's CSV export."""
    with session_scope() as s:
        result = spending.import_spending_csv(s, path.read_text(encoding="utf-8-sig"), source=source,
                                              locale=locale, partial=partial)
    for problem in result.problems:
        typer.echo(str(problem), err=True)
    typer.echo(f"{result.rows} rows: {result.written} written, {result.already_imported} already imported, "
               f"{len(result.problems)} problem(s)" + ("" if partial or result.ok else "; nothing written"))
    if not result.ok:
        raise typer.Exit(1)


@app.command("funds")
def funds(as_json: JsonOpt = False) -> None:
    """Restricted funds: income, spending and balance."""
    with session_scope() as s:
        rows = reports.to_records(reports.restricted_fund_rows(s))
    if as_json:
        _emit(rows)
        return
    table = Table("code", "name", "income", "spending", "balance")
    for r in rows:
        table.add_row(r["code"], r["name"], _eur(r["income"]), _eur(r["spending"]), _eur(r["balance"]))
    console.print(table)

