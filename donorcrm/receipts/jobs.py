"""The January job: issue last year's receipts and deliver them. Firing it twice does no harm:
the run resumes, issued donors have no unreceipted gifts left, and sent deliveries are not resent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from donorcrm import audit
from donorcrm.config import Settings, get_settings
from donorcrm.db import get_engine, session_scope
from donorcrm.receipts import batch, delivery, service


def trigger(settings: Settings | None = None) -> dict[str, int]:
    """Cron fields for the scheduler, from the configurable date (MM-DD), at 06:00."""
    settings = settings or get_settings()
    month, day = (int(x) for x in settings.receipt_job_date.split("-"))
    return {"month": month, "day": day, "hour": 6, "minute": 0}


def issue_annual_receipts(on: dt.date | None = None, *, database_url: str | None = None,
                          out_dir: str | None = None) -> dict[str, Any]:
    """Issue every receipt due for the year before `on` (default today), e-mail them or add them to a print file."""
    settings = get_settings()
    engine = get_engine(database_url)
    year = (on or dt.date.today()).year - 1
    with audit.acting_as("job:receipts"):
        with session_scope(engine) as s:
            service.flag_corrections(s, year)
            run_id = batch.open_run(s, year, settings=settings).id
        assert run_id is not None
        result = batch.work(engine, run_id, settings=settings)
        with session_scope(engine) as s:
            planned = delivery.plan(s, year=year)
        mailed = delivery.send_emails(engine, settings=settings)
        path, printed = delivery.write_print_file(engine, Path(out_dir) if out_dir else settings.data_dir / "receipts",
                                                  year=year)
    return {"year": year, "run_id": run_id, "issued": result.issued, "failed": result.failed,
            "planned": planned, "emailed": mailed.sent, "email_failed": mailed.failed,
            "printed": printed, "print_file": str(path) if path else None}
