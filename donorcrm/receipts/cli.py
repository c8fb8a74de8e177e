"""`donorcrm receipts ...`: issue, list, void and replace receipts; Gift Aid claims; documents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from donorcrm.config import get_settings
from donorcrm.db import get_engine, session_scope
from donorcrm.errors import NotFound, ValidationError
from donorcrm.receipts import batch, delivery, service
from donorcrm.receipts.common import Jurisdiction
from donorcrm.receipts.models import ItemStatus, Receipt, ReceiptRun

app = typer.Typer(help="Annual tax receipts and Gift Aid.", no_args_is_help=True)
console = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _jurisdiction(text: str | None) -> Jurisdiction | None:
    if not text:
        return None
    value = {"GB": "UK"}.get(text.upper(), text.upper())
    try:
        return Jurisdiction(value)
    except ValueError:
        raise ValidationError(f"unknown jurisdiction {text!r}; one of {', '.join(Jurisdiction)}") from None


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console)


@app.command("issue")
def issue(
    year: Annotated[int, typer.Option(help="Tax year of the gifts.")],
    jurisdiction: Annotated[str | None, typer.Option(help="Only NL, UK, US, CA or DE.")] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the print file.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be issued; change nothing.")] = False,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only).")] = 1,
    deliver: Annotated[bool, typer.Option(help="E-mail and write the print file afterwards.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Issue every receipt due for YEAR. Resumable: run it again after a crash to finish the same run."""
    settings = get_settings()
    j = _jurisdiction(jurisdiction)
    engine = get_engine()
    if dry_run:
        with session_scope(engine) as s:
            p = batch.preview(s, year, j, settings)
        data = {"year": year, "receipts": dict(p.receipts), "totals_minor": p.totals}
        if as_json:
            _emit(data)
        else:
            for k, n in sorted(p.receipts.items()):
                typer.echo(f"{k}: {n} receipts")
            for k, v in sorted(p.totals.items()):
                typer.echo(f"{k}: {v / 100:.2f}")
        return
    with session_scope(engine) as s:
        run = batch.open_run(s, year, j, settings)
        run_id, total = run.id, run.total_items
        counts = batch.run_counts(s, run_id)  # type: ignore[arg-type]
    assert run_id is not None
    done = total - counts[ItemStatus.PENDING]
    with _progress() as bar:
        task = bar.add_task(f"receipts {year} (run {run_id})", total=total, completed=done)
        step = lambda n: bar.advance(task, n)  # noqa: E731
        if workers > 1:
            batch.work_in_processes(engine, run_id, workers, settings=settings, progress=step)
        else:
            batch.work(engine, run_id, settings=settings, progress=step)
    with session_scope(engine) as s:
        counts = batch.run_counts(s, run_id)
    summary: dict[str, Any] = {"run_id": run_id, "year": year, **counts}
    if deliver:
        with session_scope(engine) as s:
            summary["planned"] = delivery.plan(s, year=year)
        sent = delivery.send_emails(engine, settings=settings)
        path, printed = delivery.write_print_file(engine, out or settings.data_dir / "receipts", year=year)
        summary.update(emailed=sent.sent, email_failed=sent.failed, printed=printed,
                       print_file=str(path) if path else None)
    if as_json:
        _emit(summary)
    else:
        typer.echo(" ".join(f"{k}={v}" for k, v in summary.items()))


@app.command("work")
def work_cmd(run_id: int) -> None:
    """Join an open run as one more worker (another machine on the same PostgreSQL)."""
    engine = get_engine()
    with session_scope(engine) as s:
        run = s.get(ReceiptRun, run_id)
        if run is None:
            raise NotFound(f"no receipt run {run_id}")
        total = run.total_items
    with _progress() as bar:
        task = bar.add_task(f"run {run_id}", total=total)
        result = batch.work(engine, run_id, progress=lambda n: bar.advance(task, n))
    typer.echo(f"issued={result.issued} skipped={result.skipped} failed={result.failed}")


@app.command("list")
def list_cmd(
    year: Annotated[int, typer.Option()],
    jurisdiction: Annotated[str | None, typer.Option()] = None,
    donor: Annotated[int | None, typer.Option(help="Only this donor.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Receipts of a year with their status and correction flags."""
    j = _jurisdiction(jurisdiction)
    with session_scope() as s:
        stmt = select(Receipt).where(Receipt.year == year).order_by(Receipt.series, Receipt.serial)  # type: ignore[arg-type]
        if j:
            stmt = stmt.where(Receipt.jurisdiction == j.value)
        if donor:
            stmt = stmt.where(Receipt.donor_id == donor)
        rows = [{
            "number": r.number, "donor_id": r.donor_id, "name": r.donor_snapshot.get("name"), "kind": r.kind,
            "total": f"{r.total_minor / 100:.2f}", "currency": r.currency, "status": r.status,
            "needs_correction": r.needs_correction, "issued_on": r.issued_on,
        } for r in s.execute(stmt).scalars()]
    if as_json:
        _emit(rows)
        return
    table = Table("number", "donor", "name", "total", "status", "correction")
    for r in rows:
        table.add_row(r["number"], str(r["donor_id"]), r["name"] or "", f"{r['currency']} {r['total']}",
                      r["status"], "yes" if r["needs_correction"] else "")
    console.print(table)


@app.command("void")
def void_cmd(
    number: Annotated[str, typer.Argument(help="Receipt number (NL-2025-000012) or id.")],
    reason: Annotated[str, typer.Option(help="Why; kept on file.")],
    replace: Annotated[bool, typer.Option(help="Issue a replacement from the current ledger.")] = True,
) -> None:
    """Void a receipt (kept on file as cancelled) and issue its replacement."""
    with session_scope() as s:
        result = service.void_receipt(s, number, reason=reason, replace=replace)
        msg = f"voided {result.voided.number}"
        if result.replacement is not None:
            msg += f"; replaced by {result.replacement.number}"
    typer.echo(msg)


@app.command("pdf")
def pdf_cmd(number: str, out: Annotated[Path, typer.Option(help="File to write.")]) -> None:
    """Write a receipt's document (a voided one comes marked cancelled)."""
    with session_scope() as s:
        data = service.receipt_pdf(s, number)
    out.write_bytes(data)
    typer.echo(f"wrote {out}")


@app.command("agreement")
def agreement_cmd(transaction_number: str, out: Annotated[Path, typer.Option(help="File to write.")]) -> None:
    """Print a Dutch periodic-gift agreement, ready to sign."""
    from donorcrm.receipts.agreements import agreement_pdf

    with session_scope() as s:
        data, missing = agreement_pdf(s, transaction_number)
    out.write_bytes(data)
    typer.echo(f"wrote {out}" + (f" (still empty: {', '.join(missing)})" if missing else ""))


@app.command("deliver")
def deliver_cmd(
    year: Annotated[int | None, typer.Option()] = None,
    out: Annotated[Path | None, typer.Option(help="Folder for the print file.")] = None,
) -> None:
    """Retry failed e-mails and print whatever is still pending."""
    settings = get_settings()
    engine = get_engine()
    with session_scope(engine) as s:
        planned = delivery.plan(s, year=year)
    sent = delivery.send_emails(engine, settings=settings)
    path, printed = delivery.write_print_file(engine, out or settings.data_dir / "receipts", year=year)
    typer.echo(f"planned={planned} emailed={sent.sent} failed={sent.failed} printed={printed}"
               + (f" file={path}" if path else ""))


@app.command("giftaid-claim")
def giftaid_claim(
    date_from: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"])],
    date_to: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"])],
    out: Annotated[Path, typer.Option(help="CSV file with HMRC's schedule columns.")],
    aggregate_small: Annotated[bool, typer.Option(help="Aggregate small gifts (HMRC rules).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run")] = False,
) -> None:
    """Export the HMRC Gift Aid schedule for a period and record the gifts as claimed."""
    from donorcrm.receipts.giftaid import make_claim

    with session_scope() as s:
        result = make_claim(s, date_from.date(), date_to.date(), aggregate_small=aggregate_small, dry_run=dry_run)
    out.write_text(result.csv, encoding="utf-8")
    for p in result.problems:
        typer.echo(f"warning: {p}", err=True)
    typer.echo(f"{len(result.rows)} rows, gifts {result.gifts}, tax to reclaim {result.tax}; wrote {out}")
