"""`donorcrm campaigns ...` and `donorcrm actions ...`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from donorcrm.db import session_scope
from donorcrm.money import Money

app = typer.Typer(help="Campaigns, crowdfunding pages and match pools.", no_args_is_help=True)
actions_app = typer.Typer(help="Petitions and e-mail actions.", no_args_is_help=True)
console = Console()
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _eur(minor: int | None) -> str:
    return "" if minor is None else Money(minor).format("nl")


def _result_dict(r) -> dict[str, object]:  # type: ignore[no-untyped-def]
    d = asdict(r)
    d.update(net_minor=r.net_minor, cost_ratio=r.cost_ratio, roi=r.roi, average_gift_minor=r.average_gift_minor,
             acquired_retention=r.acquired_retention)
    return d


@app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Every campaign with what it raised."""
    from donorcrm.campaigns.reports import campaign_results

    with session_scope() as s:
        rows = campaign_results(s)
    if as_json:
        from donorcrm.cli import emit_json

        emit_json([_result_dict(r) for r in rows])
        return
    table = Table("code", "name", "kind", "parent", "raised", "matched", "cost", "new donors")
    for r in rows:
        table.add_row(r.code, r.name, r.kind, r.parent_code or "", _eur(r.raised_minor), _eur(r.matched_minor),
                      _eur(r.cost_minor), str(r.new_donors))
    console.print(table)


@app.command("show")
def show_cmd(code: str, as_json: JsonOpt = False) -> None:
    """One campaign: thermometer, match pools and its results."""
    from donorcrm.campaigns.reports import campaign_results
    from donorcrm.campaigns.service import get_campaign, thermometer

    with session_scope() as s:
        get_campaign(s, code)
        t = thermometer(s, code)
        result = next(r for r in campaign_results(s) if r.code == code)
    data = {"thermometer": {**asdict(t), "total_minor": t.total_minor}, "result": _result_dict(result)}
    if as_json:
        from donorcrm.cli import emit_json

        emit_json(data)
        return
    console.print(f"[bold]{t.code}[/] {t.name}")
    console.print(f"goal {_eur(t.goal_minor)}  raised {_eur(t.raised_minor)}  matched {_eur(t.matched_minor)}"
                  f"  gifts {t.gifts}  donors {t.donors}")
    console.print(f"cost {_eur(result.cost_minor)}  net {_eur(result.net_minor)}  ROI {result.roi}"
                  f"  new donors {result.new_donors}")


@app.command("report")
def report_cmd(year: Annotated[int | None, typer.Option()] = None, as_json: JsonOpt = False) -> None:
    """Per campaign raised, matched, cost, net, cost ratio, ROI, new donors, average gift, retention."""
    from donorcrm.campaigns.reports import campaign_results, fundraising_cost_ratio

    with session_scope() as s:
        rows = campaign_results(s, year)
        ratio = fundraising_cost_ratio(s, year) if year else None
    if as_json:
        from donorcrm.cli import emit_json

        emit_json({"campaigns": [_result_dict(r) for r in rows],
                   "fundraising_cost_ratio": None if ratio is None else {**asdict(ratio), "ratio": ratio.ratio}})
        return
    table = Table("code", "raised", "matched", "cost", "net", "cost %", "ROI", "new", "avg gift", "retained %",
                  title=f"Campaigns {year or 'all years'}")
    for r in rows:
        table.add_row(r.code, _eur(r.raised_minor), _eur(r.matched_minor), _eur(r.cost_minor), _eur(r.net_minor),
                      str(r.cost_ratio or ""), str(r.roi or ""), str(r.new_donors), _eur(r.average_gift_minor),
                      str(r.acquired_retention or ""))
    console.print(table)
    if ratio is not None:
        console.print(f"fundraising cost ratio {year}: {ratio.ratio}% "
                      f"({_eur(ratio.fundraising_cost_minor)} / {_eur(ratio.raised_income_minor)})")


@actions_app.command("import")
def import_cmd(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
               campaign: Annotated[str, typer.Option(help="Code of the petition or action campaign.")]) -> None:
    """Import signers as contacts with their consent; rejected rows listed; re-import is a no-op."""
    from donorcrm.campaigns.actions import import_participants

    with session_scope() as s:
        result = import_participants(s, file, campaign)
    typer.echo(f"{result.participants} participants ({result.new_contacts} new contacts, "
               f"{result.matched_donors} existing donors), {result.already_present} already present, "
               f"{len(result.problems)} rejected")
    for p in result.problems:
        typer.echo(f"  rejected {p}", err=True)
    if result.problems:
        raise typer.Exit(1)
