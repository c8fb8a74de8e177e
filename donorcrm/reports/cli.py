"""`donorcrm reports ...`: the admin's figures on the command line, and a summary rebuild."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from donorcrm.db import session_scope
from donorcrm.money import Money

app = typer.Typer(help="Donor growth, income breakdown and lapsed-donor lists.", no_args_is_help=True)
console = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _eur(minor: object) -> str:
    return "" if minor is None else Money(round(minor)).format("nl")  # type: ignore[call-overload]


def _pct(value: object) -> str:
    return "" if value is None else f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


def _emit_json(data: object) -> None:
    import json

    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@app.command("growth")
def growth_cmd(first: Annotated[int | None, typer.Option("--from", help="First year.")] = None,
               last: Annotated[int | None, typer.Option("--to", help="Last year.")] = None,
               as_json: JsonOpt = False) -> None:
    """New, retained, recaptured and lapsed donors, retention and the FEP gains and losses per year."""
    from donorcrm.reports.growth import growth_table

    with session_scope() as s:
        rows = growth_table(s, first_year=first, last_year=last)
    if as_json:
        _emit_json([{
            "year": g.year, "donors": g.donors, "new": g.new, "retained": g.retained, "recaptured": g.recaptured,
            "lapsed": g.lapsed, "retention": None if g.retention is None else float(g.retention),
            "new_donor_retention": None if g.new_donor_retention is None else float(g.new_donor_retention),
            "repeat_donor_retention": None if g.repeat_donor_retention is None else float(g.repeat_donor_retention),
            "dollar_retention": None if g.dollar_retention is None else float(g.dollar_retention),
            "total_minor": g.total_minor, "gains_minor": g.gains_minor, "losses_minor": g.losses_minor,
            "net_minor": g.net_minor,
        } for g in rows])
        return
    t = Table("year", "donors", "new", "retained", "recaptured", "lapsed", "retention", "income", "gains",
              "losses", "net")
    for g in rows:
        t.add_row(str(g.year), f"{g.donors:,}", f"{g.new:,}", f"{g.retained:,}", f"{g.recaptured:,}",
                  f"{g.lapsed:,}", _pct(g.retention), _eur(g.total_minor), _eur(g.gains_minor),
                  _eur(g.losses_minor), _eur(g.net_minor))
    console.print(t)


@app.command("income")
def income_cmd(year: Annotated[int, typer.Option(help="Year of the accounts.")], as_json: JsonOpt = False) -> None:
    """The "geworven baten" lines of the annual accounts for one year."""
    from donorcrm.reports.income import accounts_statement

    with session_scope() as s:
        rows = accounts_statement(s, year)
    if as_json:
        _emit_json([{"line": r.key, "english": r.english, "dutch": r.dutch, "amount_minor": r.amount_minor}
                    for r in rows])
        return
    t = Table("line", "Dutch", "amount")
    for r in rows:
        t.add_row(r.english, r.dutch, _eur(r.amount_minor))
    console.print(t)


@app.command("lapsed")
def lapsed_cmd(year: Annotated[int, typer.Option(help="The year they have not given in (yet).")],
               kind: Annotated[str, typer.Option(help="lybunt or sybunt.")] = "lybunt",
               out: Annotated[Path | None, typer.Option(help="Write CSV here instead of stdout.")] = None) -> None:
    """LYBUNT or SYBUNT donors as CSV."""
    from donorcrm.reports.growth import lapsed_donors

    with session_scope() as s:
        rows = lapsed_donors(s, year, kind=kind, limit=None)
    handle = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        w = csv.writer(handle)
        w.writerow(["donor_id", "name", "email", "last_year", "last_year_amount"])
        for d in rows:
            w.writerow([d.donor_id, d.name, d.email or "", d.last_year, Money(d.last_year_minor).to_string()])
    finally:
        if out:
            handle.close()


@app.command("rebuild")
def rebuild_cmd(if_stale: Annotated[bool, typer.Option("--if-stale", help="Only when rows were loaded around the "
                                                         "services (e.g. a raw bulk load).")] = False) -> None:
    """Recompute the ledger summaries the reports read (after a raw load, a restore or a manual correction)."""
    from donorcrm.gifts.summary import ensure_current, rebuild

    with session_scope() as s:
        if if_stale:
            if not ensure_current(s):
                typer.echo("summaries are current")
                return
        else:
            rebuild(s)
    typer.echo("summaries rebuilt")
