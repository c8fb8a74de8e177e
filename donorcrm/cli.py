"""The `donorcrm` command line. It parses arguments, opens a transaction and calls services; no rules here."""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from donorcrm import audit
from donorcrm.db import get_engine, session_scope
from donorcrm.errors import DonorCrmError
from donorcrm.money import Money

app = typer.Typer(help="donorcrm: fundraising and donor CRM.", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Admin users and roles.", no_args_is_help=True)
import_app = typer.Typer(help="Import donors and gifts from CSV.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")


def _register_domain_commands() -> None:
    from donorcrm.banking.cli import app as bank_app
    from donorcrm.bequests.cli import app as bequests_app
    from donorcrm.campaigns.cli import actions_app as campaign_actions_app
    from donorcrm.campaigns.cli import app as campaigns_app
    from donorcrm.payments.cli import app as payments_app

    app.add_typer(bank_app, name="bank")
    app.add_typer(campaigns_app, name="campaigns")
    app.add_typer(campaign_actions_app, name="actions")
    app.add_typer(payments_app, name="payments")
    app.add_typer(bequests_app, name="bequests")
    from donorcrm.grants.cli import app as grants_app

    app.add_typer(grants_app, name="grants")
    from donorcrm.reports.cli import app as reports_app

    app.add_typer(reports_app, name="reports")
    from donorcrm.receipts.cli import app as receipts_app

    app.add_typer(receipts_app, name="receipts")

    from donorcrm.sepa.cli import app as sepa_app
    from donorcrm.sepa.cli import mandates_app

    app.add_typer(sepa_app, name="sepa")
    app.add_typer(mandates_app, name="mandates")


_register_domain_commands()

console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@app.callback()
def _root(actor: Annotated[str, typer.Option(envvar="DONORCRM_ACTOR", help="Name written in the audit log.")]
          = os.environ.get("USER", "cli")) -> None:
    audit.set_actor(f"cli:{actor}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database (DONORCRM_DATABASE_URL)."""
    from donorcrm import migrate

    migrate.upgrade()
    typer.echo("database is up to date")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, finance, fundraiser or viewer")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="DONORCRM_NEW_PASSWORD")],
    full_name: str = "",
) -> None:
    """Create a user who can log in to the admin."""
    from donorcrm.auth import add_user

    with session_scope() as s:
        add_user(s, username, password, role, full_name)
    typer.echo(f"user {username} added as {role}")


@user_app.command("list")
def user_list(as_json: JsonOpt = False) -> None:
    from donorcrm.auth import list_users

    with session_scope() as s:
        rows = [{"username": u.username, "role": u.role, "active": u.active, "last_login": u.last_login_at}
                for u in list_users(s)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['username']:<20} {r['role']:<10} {'active' if r['active'] else 'disabled'}")


@app.command("stats")
def stats(year: Annotated[int | None, typer.Option(help="Only this year.")] = None, as_json: JsonOpt = False) -> None:
    """Donor counts and income per annual-accounts category and year."""
    from donorcrm.reports.ledger import donors_per_year, income_by_category

    with session_scope() as s:
        income = income_by_category(s, year)
        donors = donors_per_year(s, year)
    by_year: dict[int, dict[str, int]] = defaultdict(dict)
    for row in income:
        by_year[row.year][row.category] = row.amount_minor
    years = sorted(set(by_year) | set(donors))
    if as_json:
        emit_json([{"year": y, "donors": donors.get(y, 0),
                    "income": {k: Money(v).to_string() for k, v in sorted(by_year[y].items())},
                    "total": Money(sum(by_year[y].values())).to_string()} for y in years])
        return
    table = Table(title="Donors and income per year")
    table.add_column("category")
    for y in years:
        table.add_column(str(y), justify="right")
    table.add_row("donors", *[f"{donors.get(y, 0):,}" for y in years])
    categories = sorted({c for y in years for c in by_year[y]})
    for c in categories:
        table.add_row(c, *[Money(by_year[y].get(c, 0)).format("nl") for y in years])
    table.add_row("total", *[Money(sum(by_year[y].values())).format("nl") for y in years], style="bold")
    console.print(table)


def _report_import(result: Any, kind: str) -> None:
    typer.echo(f"{kind}: {result.written} written, {result.already_present} already present, "
               f"{len(result.problems)} rejected")
    for p in result.problems:
        typer.echo(f"  rejected {p}", err=True)


@import_app.command("donors")
def import_donors_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
) -> None:
    """Import donors (valid rows in one transaction; rejected rows listed with their line)."""
    from donorcrm.importing.service import import_donors

    with session_scope() as s:
        result = import_donors(s, file)
    _report_import(result, "donors")
    if result.problems:
        raise typer.Exit(1)


@import_app.command("gifts")
def import_gifts_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    locale: Annotated[str, typer.Option(help="Decimal notation of amounts: nl, en or plain.")] = "plain",
) -> None:
    """Import gifts; re-importing the same file books nothing twice."""
    from donorcrm.importing.service import import_gifts

    with session_scope() as s:
        result = import_gifts(s, file, locale=locale)
    _report_import(result, "gifts")
    if result.problems:
        raise typer.Exit(1)


@app.command("demo")
def demo_cmd(
    donors: Annotated[int | None, typer.Option(help="Number of donors in 2020 (default: as the annual report).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed builds the same organisation.")] = 2020,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when the database has donors.")] = False,
) -> None:
    """Build the demo organisation (a refugee charity modelled on a 2020 annual report)."""
    from donorcrm.demo import UNFINISHED, build_demo, database_is_empty, unfinished_demo

    engine = get_engine()
    if unfinished_demo(engine):
        typer.echo(f"error: {UNFINISHED}", err=True)
        raise typer.Exit(1)
    if if_empty and not database_is_empty(engine):
        typer.echo("database has data already; demo not rebuilt")
        return
    summary = build_demo(engine, donors=donors, seed=seed, progress=True)
    typer.echo(summary)


@app.command("serve")
def serve(port: int = 8501, address: str = "127.0.0.1") -> None:
    """Start the main job: the admin app (or, without it, print the statistics)."""
    root = Path(__file__).resolve().parent.parent
    admin = root / "admin_app.py"
    if not admin.exists():
        stats(year=None, as_json=False)
        return
    os.execvp(sys.executable, [sys.executable, "-m", "streamlit", "run", str(admin), "--server.port", str(port),
                               "--server.address", address, "--server.headless", "true",
                               "--browser.gatherUsageStats", "false"])


def main() -> None:
    """Entry point: user errors print one line and exit non-zero, never a traceback."""
    try:
        app()
    except DonorCrmError as exc:
        print(f"error: {exc}", file=sys.stderr)  # one line, never wrapped
        sys.exit(2)


if __name__ == "__main__":
    main()
