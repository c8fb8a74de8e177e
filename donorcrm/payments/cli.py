"""`donorcrm payments ...`: catch up with providers, import payouts, reconcile, serve the webhook endpoint.

Provider keys come from the environment (DONORCRM_STRIPE_API_KEY, DONORCRM_STRIPE_WEBHOOK_SECRET,
DONORCRM_MOLLIE_API_KEY); they are never taken as options, so they stay out of shell history and logs.
"""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from donorcrm.config import get_settings
from donorcrm.db import get_engine, session_scope
from donorcrm.errors import ValidationError
from donorcrm.payments.events import retry_parked
from donorcrm.payments.payouts import import_payouts, reconcile
from donorcrm.payments.provider import get_provider
from donorcrm.payments.sync import sync as run_sync

app = typer.Typer(help="Online giving through Stripe and Mollie.", no_args_is_help=True)
console = Console()

PROVIDER = typer.Option(..., "--provider", "-p", help="stripe or mollie")


def _since(text: str | None, default_days: int) -> dt.datetime:
    if not text:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=default_days)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"--since wants a date like 2026-11-01, got {text!r}") from None
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@app.command("sync")
def sync_cmd(provider: str = PROVIDER,
             since: str = typer.Option(None, help="first creation date to look at (default: 7 days ago)"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """Pull payments, refunds, chargebacks and subscription changes the webhooks may have missed."""
    adapter = get_provider(provider)
    engine = get_engine(get_settings().database_url)
    with Progress(SpinnerColumn(), TextColumn("{task.description} {task.completed}"), console=console,
                  transient=True, disable=as_json) as bar:
        task = bar.add_task(f"{provider}: payments read", total=None)
        report = run_sync(engine, adapter, _since(since, 7), progress=lambda n: bar.advance(task, n))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    console.print(f"{provider}: {report.payments_seen} payments read, {report.processed} changed, "
                  f"{report.duplicates} already known, {report.parked} parked; {report.gifts_booked} gifts and "
                  f"{report.reversals} reversals booked; {report.retried} parked events retried; "
                  f"{report.subscriptions_checked} subscriptions checked, {report.subscriptions_ended} ended")
    for problem in report.problems:
        console.print(f"[yellow]problem[/] {problem}")


@app.command("payouts")
def payouts_cmd(provider: str = PROVIDER,
                since: str = typer.Option(None, help="first payout date to import (default: 35 days ago)"),
                as_json: bool = typer.Option(False, "--json")) -> None:
    """Import payouts (Stripe) or settlements (Mollie), link payments to them, record fees; then reconcile."""
    adapter = get_provider(provider)
    engine = get_engine(get_settings().database_url)
    imported = import_payouts(engine, adapter, _since(since, 35))
    with session_scope(engine) as s:
        rec = reconcile(s, adapter.name.value, get_settings().currency)
    if as_json:
        typer.echo(json.dumps({"imported": imported.__dict__, **rec.as_dict()}, indent=2))
        return
    console.print(f"{provider}: {imported.payouts} payouts, {imported.lines} lines "
                  f"({imported.unmatched} unknown to us), {imported.fees} new fee rows")
    _print_reconciliation(rec)


@app.command("report")
def report_cmd(provider: str = PROVIDER, as_json: bool = typer.Option(False, "--json")) -> None:
    """Reconciliation from what is stored: unpaid-out payments, unknown payout lines, payout totals."""
    engine = get_engine(get_settings().database_url)
    with session_scope(engine) as s:
        rec = reconcile(s, provider, get_settings().currency)
    if as_json:
        typer.echo(json.dumps(rec.as_dict(), indent=2))
        return
    _print_reconciliation(rec)


def _print_reconciliation(rec) -> None:  # type: ignore[no-untyped-def]
    table = Table("payout", "paid on", "amount", "gross", "fees", "difference", title="Payouts")
    for c in rec.payouts:
        table.add_row(c.payout_id, str(c.paid_on or ""), c.amount.format(), c.gross.format(), c.fees.format(),
                      c.difference.format())
    console.print(table)
    console.print(f"paid but not yet paid out: {len(rec.not_paid_out)}; "
                  f"in a payout but unknown to us: {len(rec.unknown_in_payouts)}; fees: {rec.fees_total}")
    for payout_id, kind, object_id, gross in rec.unknown_in_payouts:
        console.print(f"  unknown {kind} {object_id} in {payout_id}: {gross}")


@app.command("retry")
def retry_cmd(provider: str = PROVIDER, as_json: bool = typer.Option(False, "--json")) -> None:
    """Process again the webhook events parked because the provider could not be reached."""
    adapter = get_provider(provider)
    results = retry_parked(get_engine(get_settings().database_url), adapter)
    done = sum(1 for r in results if r.http_status < 300)
    if as_json:
        typer.echo(json.dumps({"retried": len(results), "done": done}))
        return
    console.print(f"{provider}: {len(results)} parked events retried, {done} done")


@app.command("serve")
def serve_cmd(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8081)) -> None:
    """Run the webhook endpoint (POST /stripe, POST /mollie) with uvicorn; put it behind your web server."""
    import uvicorn

    uvicorn.run("donorcrm.payments.webhooks:create_app", factory=True, host=host, port=port, log_level="info")
