"""The demo organisation: a synthetic refugee charity modelled on a published 2020 annual report.

`build_demo(engine, donors, seed, progress)` fills an empty, migrated database deterministically from the
seed: the same seed and size give the same data. What it reproduces and what it assumes is listed in
targets.py. Other packages add their own demo data by appending a step to DEMO_STEPS (see `register_step`):
a step is a function (engine, DemoContext) that reads the ids the core steps created from the context
(ctx.plan, ctx.fund_ids, ctx.campaign_ids, ctx.org_ids) and draws randomness from ctx.rng("its-name").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from donorcrm import audit
from donorcrm.auth import add_user
from donorcrm.db import session_scope
from donorcrm.demo import targets
from donorcrm.demo.bulk import BulkWriter
from donorcrm.demo.plan import Plan, make_plan
from donorcrm.demo.steps import (
    DemoContext,
    step_commitments,
    step_ledger,
    step_people,
    step_reference,
)
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.money import Money

__all__ = ["DEMO_STEPS", "DemoContext", "DemoStep", "build_demo", "database_is_empty", "register_step",
           "unfinished_demo"]


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[[Engine, DemoContext], None]


def step_users(engine: Engine, ctx: DemoContext) -> None:
    with session_scope(engine) as session:
        for username, password, role, full_name in targets.DEMO_USERS:
            add_user(session, username, password, role, full_name)
    ctx.count("app_user", len(targets.DEMO_USERS))


def step_finish(engine: Engine, ctx: DemoContext) -> None:
    with session_scope(engine) as session:
        audit.record(session, "demo.build", "demo", None, after={
            "seed": ctx.seed, "donors": ctx.donors, "rows": dict(sorted(ctx.counts.items())),
        })
    if engine.dialect.name == "postgresql":
        # Planner statistics for the freshly loaded tables (ANALYZE samples, so seconds even at 30M gifts);
        # autovacuum would get there too, but the admin opened right after the build would plan blind.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    elif engine.dialect.name == "sqlite":
        # Fold the write-ahead log back into the database: after a large build it is as big as the data.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


DEMO_STEPS: list[DemoStep] = [
    DemoStep("reference", step_reference),
    DemoStep("people", step_people),
    DemoStep("commitments", step_commitments),
    DemoStep("ledger", step_ledger),
    DemoStep("users", step_users),
    DemoStep("finish", step_finish),
]


def register_step(name: str, run: Callable[[Engine, DemoContext], None], *, before: str = "finish") -> None:
    """Add a demo step (once) before another one, by default before the closing audit step."""
    if any(s.name == name for s in DEMO_STEPS):
        return
    index = next(i for i, s in enumerate(DEMO_STEPS) if s.name == before)
    DEMO_STEPS.insert(index, DemoStep(name, run))


def database_is_empty(engine: Engine) -> bool:
    """True when the migrated database holds no donors and no gifts yet."""
    names = set(inspect(engine).get_table_names())
    if not {"donor", "gift"} <= names:
        raise InvalidState("the database has no donorcrm tables; run `donorcrm db upgrade` first")
    with engine.connect() as conn:
        return not any(conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first() for t in ("donor", "gift"))


def unfinished_demo(engine: Engine) -> bool:
    """True when a demo build started here and never finished (it was stopped or failed half way).

    Each step commits on its own, so such a database holds part of a demo; nothing builds on top of it.
    """
    with engine.connect() as conn:
        actions = {a for (a,) in conn.execute(text(
            "SELECT DISTINCT action FROM audit_log WHERE action IN ('demo.start', 'demo.build')"))}
    return actions == {"demo.start"}


UNFINISHED = ("an earlier demo build stopped before it finished, so this database holds part of a demo;"
              " build the demo into a new, empty database")


def build_demo(engine: Engine, donors: int | None = None, seed: int = 2020, progress: bool = False) -> str:
    """Build the demo organisation into an empty database and return a printable summary."""
    donors = targets.DEFAULT_DONORS if donors is None else donors
    if donors < 100:
        raise ValidationError("the demo needs at least 100 donors")
    empty = database_is_empty(engine)
    if unfinished_demo(engine):
        raise InvalidState(UNFINISHED)
    if not empty:
        raise InvalidState("the database has donors or gifts already; the demo builds into an empty database")
    with audit.acting_as("demo"), session_scope(engine) as session:
        audit.record(session, "demo.start", "demo", None, after={"seed": seed, "donors": donors})
    started = time.perf_counter()
    timings: list[str] = []
    with _Progress(progress) as bar:
        bar.update("planning", 0, None)
        plan = make_plan(donors, seed)
        timings.append(f"planning {time.perf_counter() - started:.1f} s")
        ctx = DemoContext(seed=seed, donors=donors, plan=plan, progress=bar.update)
        with audit.acting_as("demo"):
            for step in list(DEMO_STEPS):
                step_started = time.perf_counter()
                step.run(engine, ctx)
                timings.append(f"{step.name} {time.perf_counter() - step_started:.1f} s")
    ctx.summary.append("Time per step: " + ", ".join(timings))
    with engine.begin() as conn:
        BulkWriter(conn).fix_sequences(["app_user", "audit_log"])
    return summarise(ctx, plan, time.perf_counter() - started)


def summarise(ctx: DemoContext, plan: Plan, seconds: float) -> str:
    year = targets.REPORT_YEAR
    ind = sum(v for (y, c), v in ctx.income.items() if y == year and c.startswith("individual_"))
    lines = [
        f"Demo organisation built in {seconds:.1f} s (seed {ctx.seed}, {ctx.donors:,} donors in {year}).",
        "Donors giving per year: " + ", ".join(f"{y}: {n:,}" for y, n in plan.donors_per_year.items()),
        "Commitments active at year end: " + ", ".join(f"{y}: {n:,}" for y, n in plan.commitments_active.items()),
        f"Income {year} (net of reversals):",
    ]
    by_cat = sorted((c, v) for (y, c), v in ctx.income.items() if y == year)
    for category, cents in by_cat:
        lines.append(f"  {category:<26} {Money(cents, 'EUR').format('nl'):>20}")
    lines.append(f"  {'individuals together':<26} {Money(ind, 'EUR').format('nl'):>20}")
    lines.append("Rows: " + ", ".join(f"{t} {n:,}" for t, n in sorted(ctx.counts.items())))
    lines.append("Logins (change these before real use): " + ", ".join(
        f"{u} / {p} ({r})" for u, p, r, _ in targets.DEMO_USERS))
    lines.append("Reported figures and the assumptions behind the rest: donorcrm/demo/targets.py")
    lines += ctx.summary
    return "\n".join(lines)


class _Progress:
    """A rich progress bar per phase, or nothing when progress is off."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.tasks: dict[str, object] = {}
        self.bar: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
            self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, label: str, n: int, total: int | None) -> None:
        if self.bar is None:
            return
        task = self.tasks.get(label)
        if task is None:
            for other in self.tasks.values():  # the previous phase is done
                t = self.bar.tasks[other]  # type: ignore[index]
                if t.total is not None:
                    self.bar.update(other, completed=t.total)  # type: ignore[arg-type]
                else:
                    self.bar.update(other, total=1, completed=1)  # type: ignore[arg-type]
            task = self.tasks[label] = self.bar.add_task(label, total=total)
        self.bar.update(task, advance=n, total=total)  # type: ignore[arg-type]


def _register_package_steps() -> None:
    """Each domain package's demo data, after the core ledger exists."""
    from donorcrm.bequests.demo import demo_step as bequests_step
    from donorcrm.campaigns.demo import demo_step as campaigns_step
    from donorcrm.grants.demo import demo_link_step as grants_step

    register_step("grants", grants_step)
    register_step("bequests", bequests_step)
    register_step("campaigns", campaigns_step)
    register_step("report-summaries", step_report_summaries)


def step_report_summaries(engine: Engine, ctx: DemoContext) -> None:
    """The ledger step writes the report summaries of what it loads and the later steps book through the
    services, which keep them current; rebuild from the ledger only if rows went past both."""
    from donorcrm.gifts import summary

    with session_scope(engine) as session:
        if summary.ensure_current(session):
            ctx.summary.append("Report summaries rebuilt from the ledger.")


_register_package_steps()
