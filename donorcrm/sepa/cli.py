"""`donorcrm sepa ...` and `donorcrm mandates ...` commands (thin: parse, call a service, print)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import donorcrm.models  # noqa: F401  (every table known to the ORM before the first flush)
from donorcrm.config import get_settings
from donorcrm.db import session_scope
from donorcrm.errors import DonorCrmError

app = typer.Typer(help="SEPA direct debit: plan, run, confirm, returns.", no_args_is_help=True)
mandates_app = typer.Typer(help="SEPA mandates: list, show, cancel, expiring.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _date(text: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else dt.date.today()
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text}") from None


def _fail(exc: DonorCrmError) -> None:
    err.print(f"error: {exc}", markup=False, highlight=False)
    raise typer.Exit(1)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


@app.command("plan")
def plan_cmd(date: str = typer.Option(None, "--date", help="run date (default today)"),
             json_out: bool = typer.Option(False, "--json"),
             details: bool = typer.Option(False, "--details", help="list every collection")) -> None:
    """What a run on DATE would collect, and what changed since the previous run."""
    from donorcrm.sepa import service

    try:
        with session_scope() as s:
            preview = service.preview(s, _date(date))
    except DonorCrmError as exc:
        _fail(exc)
    if json_out:
        _print_json(preview.as_dict(with_collections=details))
        return
    _show_preview(preview)


def _show_preview(preview: Any) -> None:
    table = Table(title=f"SEPA run {preview.run_on}: {preview.n_collections} collections, EUR {preview.as_dict()['total']}")
    for column in ("due on", "type", "count", "total"):
        table.add_column(column)
    for g in preview.groups:
        table.add_row(g["due_on"], g["sequence_type"], str(g["count"]), g["total"])
    console.print(table)
    console.print(f"new: {len(preview.new)}  stopped: {len(preview.stopped)}  changed amounts: {len(preview.changed)}")
    for s in preview.suspicious:
        console.print(f"[yellow]suspicious:[/yellow] {s}")


@app.command("run")
def run_cmd(date: str = typer.Option(None, "--date"), out: Path = typer.Option(Path("sepa-out"), "--out"),
            dry_run: bool = typer.Option(False, "--dry-run"), json_out: bool = typer.Option(False, "--json"),
            version: str = typer.Option(None, "--version", help="pain.008.001.02 (default) or pain.008.001.08")) -> None:
    """Record the run for DATE, write validated pain.008 files to OUT and fill the pre-notification outbox.
    Resumable: run it again after an interruption."""
    from donorcrm.sepa import service

    run_on = _date(date)
    settings = get_settings()
    try:
        if dry_run:
            with session_scope() as s:
                preview = service.preview(s, run_on, settings)
            _print_json(preview.as_dict()) if json_out else _show_preview(preview)
            return
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=json_out) as bar:
            tasks: dict[str, Any] = {}

            def progress(step: str, done: int, total: int) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done)

            result = service.run_collections(run_on, settings=settings, out_dir=out, version=version, progress=progress)
        with session_scope() as s:
            notices = service.build_prenotifications(s, result.run_id, settings=settings)
    except DonorCrmError as exc:
        _fail(exc)
    data = {"run_id": result.run_id, "run_on": result.run_on.isoformat(), "status": result.status,
            "collections": result.n_collections, "total": service._eur(result.total_minor),
            "resumed": result.resumed, "prenotifications": notices,
            "files": [{"file": f.path, "transactions": f.n_transactions,
                       "control_sum": service._eur(f.control_sum_minor), "sha256": f.sha256} for f in result.files]}
    if json_out:
        _print_json(data)
        return
    console.print(f"run {result.run_id} ({result.run_on}): {result.n_collections} collections, "
                  f"EUR {data['total']}, {len(result.files)} file(s), {notices} new pre-notification(s)")
    for f in data["files"]:
        console.print(f"  {f['file']}  {f['transactions']} tx  EUR {f['control_sum']}  sha256 {f['sha256'][:16]}")


@app.command("confirm")
def confirm_cmd(run: str = typer.Argument(..., help="run id or run date")) -> None:
    """Book the run's collections as gifts in the ledger (idempotent)."""
    from donorcrm.sepa import service

    try:
        with session_scope() as s:
            found = service.get_run(s, run)
            booked = service.confirm_run(s, found.id)  # type: ignore[arg-type]
    except DonorCrmError as exc:
        _fail(exc)
    console.print(f"run {found.id}: {booked} gift(s) booked")


@app.command("returns")
def returns_cmd(file: Path = typer.Argument(..., exists=True, dir_okay=False),
                json_out: bool = typer.Option(False, "--json")) -> None:
    """Import a pain.002 or camt.054 file: reverse the gifts and apply the return policy."""
    from donorcrm.sepa import returns

    try:
        with session_scope() as s:
            report = returns.import_returns(s, file)
    except DonorCrmError as exc:
        _fail(exc)
    if json_out:
        _print_json(report.as_dict())
        return
    console.print(f"{report.kind}: {report.items} item(s), {report.applied} applied, {report.already} already done, "
                  f"{report.unmatched} unmatched; actions {report.by_action}")
    for p in report.problems:
        console.print(f"[yellow]{p}[/yellow]")


@app.command("outbox")
def outbox_cmd(run: str = typer.Option(None, "--run"), json_out: bool = typer.Option(False, "--json")) -> None:
    """Pending pre-notifications (IBANs never shown)."""
    from donorcrm.sepa import service

    with session_scope() as s:
        run_id = service.get_run(s, run).id if run else None
        rows = [{"donor_id": p.donor_id, "channel": p.channel, "amount": service._eur(p.amount_minor),
                 "due_on": p.due_on.isoformat(), "mandate_reference": p.mandate_reference,
                 "creditor_id": p.creditor_id} for p in service.outbox(s, run_id)]
    if json_out:
        _print_json(rows)
        return
    for r in rows:
        console.print(r)


def _mandate_table(rows: list[Any]) -> Table:
    table = Table()
    for column in ("id", "reference", "donor", "holder", "iban", "status", "last presented", "expires"):
        table.add_column(column)
    for v in rows:
        table.add_row(str(v.id), v.reference, str(v.donor_id), v.holder, v.iban, v.status,
                      str(v.last_presented_on or ""), str(v.expires_on or ""))
    return table


@mandates_app.command("list")
def mandates_list(status: str = typer.Option(None, "--status"), donor: int = typer.Option(None, "--donor"),
                  limit: int = typer.Option(100, "--limit"), json_out: bool = typer.Option(False, "--json")) -> None:
    from donorcrm.sepa import mandates

    with session_scope() as s:
        rows = mandates.list_mandates(s, status=status, donor_id=donor, limit=limit)
    if json_out:
        _print_json([v.as_dict() for v in rows])
    else:
        console.print(_mandate_table(rows))


@mandates_app.command("show")
def mandates_show(reference: str, json_out: bool = typer.Option(False, "--json")) -> None:
    from donorcrm.sepa import mandates

    try:
        with session_scope() as s:
            m = (mandates.get_mandate(s, int(reference)) if reference.isdigit()
                 else mandates.find_by_reference(s, reference))
            v = mandates.view(m)
    except DonorCrmError as exc:
        _fail(exc)
    if json_out:
        _print_json(v.as_dict())
    else:
        for k, val in v.as_dict().items():
            console.print(f"{k:>18}: {val}")


@mandates_app.command("cancel")
def mandates_cancel(reference: str, reason: str = typer.Option("donor request", "--reason")) -> None:
    from donorcrm.sepa import mandates

    try:
        with session_scope() as s:
            m = (mandates.get_mandate(s, int(reference)) if reference.isdigit()
                 else mandates.find_by_reference(s, reference))
            mandates.cancel(s, m.id, reason=reason)  # type: ignore[arg-type]
    except DonorCrmError as exc:
        _fail(exc)
    console.print(f"mandate {m.reference} cancelled")


@mandates_app.command("expiring")
def mandates_expiring(date: str = typer.Option(None, "--date"), json_out: bool = typer.Option(False, "--json")) -> None:
    """Mandates that expire within a month (36 months without a presented collection)."""
    from donorcrm.sepa import mandates

    with session_scope() as s:
        rows = mandates.expiring(s, _date(date))
    if json_out:
        _print_json([v.as_dict() for v in rows])
    else:
        console.print(_mandate_table(rows))
