"""`donorcrm bequests ...`: the legacy pipeline, its forecast and what the annual accounts recognise."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from donorcrm.db import session_scope
from donorcrm.errors import ValidationError
from donorcrm.money import Money

app = typer.Typer(help="Legacies: pipeline, forecast and recognition.", no_args_is_help=True)
console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Reference date YYYY-MM-DD (default: today).")]


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _eur(minor: int, currency: str = "EUR") -> str:
    return Money(minor, currency).format("nl")


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _money_fields(row: dict[str, Any]) -> dict[str, Any]:
    """JSON shows amounts as decimal strings ("1250.00") next to the rest of the row."""
    out = {}
    currency = row.get("currency", "EUR")
    for key, value in row.items():
        if key.endswith("_minor") and isinstance(value, int):
            out[key[:-6]] = Money(value, currency).to_string()
        else:
            out[key] = value
    return out


@app.command("list")
def list_cmd(
    stage: Annotated[str | None, typer.Option(help="Only cases in this stage, e.g. administration.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only cases that sat too long in their stage.")] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Legacy cases with stage, estimate and money received."""
    from donorcrm.bequests.reports import case_rows
    from donorcrm.bequests.rules import Stage

    if stage is not None:
        try:
            Stage(stage)
        except ValueError:
            raise ValidationError(f"unknown stage {stage!r}; one of {', '.join(s.value for s in Stage)}") from None
    with session_scope() as s:
        rows = case_rows(s, stage=stage, on=_date(on), only_overdue=overdue)
    if as_json:
        _emit([_money_fields(asdict(r)) for r in rows])
        return
    table = Table(title=f"Legacy cases ({len(rows)})")
    for col in ("reference", "deceased", "kind", "stage", "since", "estimated", "received", ""):
        table.add_column(col, justify="right" if col in ("estimated", "received") else "left")
    for r in rows:
        table.add_row(r.reference, r.deceased_name, r.kind, r.stage, str(r.stage_since),
                      _eur(r.estimated_minor, r.currency), _eur(r.received_minor, r.currency),
                      "overdue" if r.overdue else "")
    console.print(table)


@app.command("forecast")
def forecast_cmd(
    on: OnOpt = None,
    quarters: Annotated[int, typer.Option(help="Quarters ahead, from the current one.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Expected legacy income per quarter for the next three years (low, central, high)."""
    from donorcrm.bequests.reports import forecast_rows

    if quarters < 1:
        raise ValidationError("quarters must be at least 1")
    with session_scope() as s:
        data = forecast_rows(s, _date(on), quarters)
    if as_json:
        _emit({
            "on": data["on"],
            "quarters": [_money_fields(asdict(q)) for q in data["quarters"]],
            "totals": {k: Money(v).to_string() for k, v in data["totals"].items()},
            "beyond": {k: Money(v).to_string() for k, v in data["beyond"].items()},
            "undated": {k: Money(v).to_string() for k, v in data["undated"].items()},
        })
        return
    table = Table(title=f"Legacy income forecast from {data['on']}")
    for col in ("quarter", "low", "central", "high"):
        table.add_column(col, justify="left" if col == "quarter" else "right")
    for q in data["quarters"]:
        table.add_row(q.quarter, _eur(q.low_minor), _eur(q.central_minor), _eur(q.high_minor))
    t = data["totals"]
    table.add_row("total", _eur(t["low"]), _eur(t["central"]), _eur(t["high"]), style="bold")
    b, u = data["beyond"], data["undated"]
    table.add_row("later", _eur(b["low"]), _eur(b["central"]), _eur(b["high"]), style="dim")
    table.add_row("life interests", _eur(u["low"]), _eur(u["central"]), _eur(u["high"]), style="dim")
    console.print(table)


@app.command("recognised")
def recognised_cmd(
    year: Annotated[int, typer.Option(help="Financial year (calendar year).")],
    as_json: JsonOpt = False,
) -> None:
    """Legacy income recognised in a year (RJ 650), cash received, and recognised but not yet received."""
    from donorcrm.bequests.reports import recognised_vs_received

    with session_scope() as s:
        data = recognised_vs_received(s, year)
    if as_json:
        _emit({"year": year, "cases": [_money_fields(asdict(r)) for r in data["cases"]],
               "totals": _money_fields(data["totals"])})
        return
    table = Table(title=f"Legacies {year}: recognised and received")
    for col in ("reference", "deceased", "stage", "recognised", "received", "receivable 31-12"):
        table.add_column(col, justify="right" if col[0] == "r" and col != "reference" else "left")
    for r in data["cases"]:
        table.add_row(r.reference, r.deceased_name, r.stage, _eur(r.recognised_minor), _eur(r.received_minor),
                      _eur(r.receivable_minor))
    t = data["totals"]
    if t["unlinked_received_minor"]:
        table.add_row("(no case)", "", "", _eur(t["unlinked_received_minor"]), _eur(t["unlinked_received_minor"]),
                      _eur(0))
    table.add_row("total", "", "", _eur(t["recognised_minor"]), _eur(t["received_minor"]),
                  _eur(t["receivable_minor"]), style="bold")
    console.print(table)


@app.command("follow-up")
def follow_up_cmd(on: OnOpt = None) -> None:
    """Create follow-up tasks for cases that sat too long in their stage (what the scheduler runs daily)."""
    from donorcrm.bequests.service import create_follow_up_tasks

    with session_scope() as s:
        created = create_follow_up_tasks(s, _date(on) or dt.date.today())
    typer.echo(f"{len(created)} follow-up task(s) created")
