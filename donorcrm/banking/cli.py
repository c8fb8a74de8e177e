"""`donorcrm bank ...`: import statements, match them, work the suspense queue."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from donorcrm.db import session_scope
from donorcrm.errors import DonorCrmError, ValidationError
from donorcrm.money import Money

from . import reports, service
from .models import AllocationKind, NotGiftPurpose

app = typer.Typer(help="Bank statements: import camt.053/054, match lines to gifts, work the suspense queue.",
                  no_args_is_help=True)
console = Console()


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except DonorCrmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _print(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, default=str, indent=2))
    else:
        render(data)


@app.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="camt.053/054 files"),
    match: bool = typer.Option(True, "--match/--no-match", help="match the new lines right away"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import statements; each file is all or nothing, and a file imported before changes nothing.

    After a crash, running the same command again skips the files that went in and does the rest.
    """
    out = []
    with _user_errors(), _files_progress(len(files), enabled=not as_json) as step:
        for path in files:
            step(f"{path.name}: reading and matching" if match else f"{path.name}: reading")
            with session_scope() as s:
                result = service.import_file(s, path, match=match)
                matched = None
                for m in result.matched:
                    matched = m.as_dict() if matched is None else {
                        k: (matched[k] + v if isinstance(v, int) else matched[k]) for k, v in m.as_dict().items()}
                step(f"{path.name}: saving")
            step(None)
            out.append({"file": str(path), "new_statements": result.statements_new,
                        "already_imported": result.statements_known, "lines": result.lines,
                        "warnings": [str(p) for p in result.problems], "matched": matched})

    def render(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            console.print(f"{r['file']}: {r['new_statements']} new statement(s), {r['already_imported']} already"
                          f" imported, {r['lines']} lines")
            for w in r["warnings"]:
                console.print(f"  warning: {w}")
            if r["matched"]:
                m = r["matched"]
                console.print(f"  booked automatically: {m['auto_booked']}, to suspense: {m['suspense']}")

    _print(out, as_json, render)


@app.command("match")
def match_cmd(
    statement: int | None = typer.Option(None, help="only this statement's lines"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Match all lines still fully in suspense; report what was booked and what is left."""
    with _user_errors(), session_scope() as s:
        with console.status("matching…", spinner="dots") if not as_json else _nothing():
            result = service.match(s, statement_id=statement)
        report = {"this_run": result.as_dict(), "overall": reports.summary(s, statement_id=statement)}

    def render(r: dict[str, Any]) -> None:
        run, total = r["this_run"], r["overall"]
        console.print(f"this run: {run['lines']} lines, {run['auto_booked']} booked automatically"
                      f" ({run['auto_amount']}), {run['suspense']} to suspense ({run['suspense_amount']})")
        for rule, n in sorted(run["by_rule"].items()):
            console.print(f"  {rule}: {n}")
        console.print(f"overall: {total['lines']} lines, {total['booked_automatically']} automatic,"
                      f" {total['booked_by_hand']} by hand, {total['suspense']} in suspense"
                      f" ({total['suspense_amount']}), match rate {total['match_rate']}")

    _print(report, as_json, render)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _files_progress(total: int, *, enabled: bool) -> Iterator[Callable[[str | None], None]]:
    """A bar over the files with the current file's phase; step(None) marks a file done."""
    if not enabled:
        yield lambda _phase: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("files", total=total)

        def step(phase: str | None) -> None:
            if phase is None:
                bar.advance(task)
            else:
                bar.update(task, description=phase)

        yield step


@app.command("suspense")
def suspense_cmd(
    search: str | None = typer.Option(None, help="name, IBAN, description or end-to-end id contains"),
    limit: int = typer.Option(50),
    offset: int = typer.Option(0),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The suspense queue with the best candidates and why."""
    with _user_errors(), session_scope() as s:
        rows = reports.suspense(s, search=search, limit=limit, offset=offset)

    def render(items: list[dict[str, Any]]) -> None:
        table = Table("line", "date", "open", "counterparty", "description", "best candidate")
        for r in items:
            best = r["candidates"][0] if r["candidates"] else None
            table.add_row(str(r["id"]), str(r["booked_on"] or ""), r["open"], r["counterparty"] or "",
                          (r["description"] or "")[:50],
                          f"{best['target']} ({best['score']}): {best['reason']}" if best else "")
        console.print(table)

    _print(rows, as_json, render)


@app.command("book")
def book_cmd(
    line: int = typer.Argument(..., help="bank line id"),
    donor: int | None = typer.Option(None, help="book as a gift of this donor"),
    candidate: str | None = typer.Option(None, help='accept a shown candidate, e.g. "donor:12"'),
    not_gift: NotGiftPurpose | None = typer.Option(None, "--not-gift", help="book as not a gift"),
    amount: str | None = typer.Option(None, help="only this part (e.g. 12.50); default: all that is open"),
    campaign: int | None = typer.Option(None, help="campaign id of the gift"),
    note: str | None = typer.Option(None),
) -> None:
    """Book a suspense line (or part of it)."""
    with _user_errors(), session_scope() as s:
        chosen = [x for x in (donor, candidate, not_gift) if x is not None]
        if len(chosen) != 1:
            raise ValidationError("give exactly one of --donor, --candidate, --not-gift")
        if candidate:
            allocations = service.book_candidate(s, line, candidate)
        else:
            row = service.get_line(s, line)
            part_amount = Money.parse(amount, row.currency) if amount else None
            part = (service.Part(kind=AllocationKind.GIFT, amount=part_amount, donor_id=donor, campaign_id=campaign,
                                 note=note) if donor is not None else
                    service.Part(kind=AllocationKind.NOT_GIFT, amount=part_amount, purpose=str(not_gift), note=note))
            allocations = service.book(s, line, [part])
        for a in allocations:
            console.print(f"booked allocation {a.id}: {a.kind} {Money(a.amount_minor, a.currency)}"
                          + (f" gift {a.gift_id}" if a.gift_id else ""))


@app.command("undo")
def undo_cmd(
    allocation: int = typer.Argument(..., help="allocation id (see `bank book` output)"),
    reason: str = typer.Option(..., help="why the booking was wrong"),
) -> None:
    """Undo a booking: its gift is reversed and the amount goes back to suspense."""
    with _user_errors(), session_scope() as s:
        a = service.undo(s, allocation, reason=reason)
        console.print(f"undone allocation {a.id}" + (f"; gift {a.gift_id} reversed" if a.gift_id else ""))
