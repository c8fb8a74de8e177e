"""donorcrm's scheduler: APScheduler 3 with its job store on the configured database.

    python scheduler.py              run the schedule until stopped
    python scheduler.py --once JOB   run one job now (for cron, tests and the admin)
    python scheduler.py --list       the jobs and their schedule

Jobs are plain functions in donorcrm.jobs. Each firing is guarded by a unique (job, slot) row in
job_run, so a job fired twice, or by two scheduler processes sharing the job store, runs once per slot.
The job store's table (apscheduler_jobs) is created by the migrations, not by APScheduler.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import MetaData

import donorcrm.models  # noqa: F401  (every table known to the ORM before the first flush)
from donorcrm import jobs
from donorcrm.audit import set_actor
from donorcrm.config import get_settings
from donorcrm.db import get_engine
from donorcrm.receipts.jobs import trigger as receipt_trigger


def fire_scheduled(job: str) -> None:
    """What APScheduler calls: the slot is the minute of the scheduled time (now, floored)."""
    slot = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    jobs.fire(job, slot)


def schedule() -> dict[str, CronTrigger]:
    settings = get_settings()
    return {
        "sepa_collection_run": CronTrigger(day=settings.sepa_run_day, hour=6, minute=0),
        "sepa_prenotifications": CronTrigger(hour=7, minute=0),
        "sepa_mandate_expiry": CronTrigger(day=1, hour=5, minute=0),
        "sepa_return_inbox": CronTrigger(minute="*/15"),
        "bequest_follow_up": CronTrigger(hour=7, minute=30),
        "grant_reminders": CronTrigger(hour=7, minute=45),
        "annual_receipts": CronTrigger(**receipt_trigger(settings)),  # once a year, date in settings
    }


def build_scheduler(scheduler_class: type[BaseScheduler] = BlockingScheduler, url: str | None = None) -> BaseScheduler:
    engine = get_engine(url or get_settings().database_url)
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs", metadata=MetaData())
    scheduler = scheduler_class(jobstores={"default": store}, executors={"default": ThreadPoolExecutor(2)},
                                  job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
                                  timezone="UTC")
    for name, trigger in schedule().items():
        scheduler.add_job(fire_scheduled, trigger, args=[name], id=name, name=name, replace_existing=True)
    return scheduler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--once", metavar="JOB", help="run one job now and exit")
    parser.add_argument("--slot", help="slot key for --once (default: now, to the minute)")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    set_actor("scheduler")
    if args.list:
        for name, trigger in schedule().items():
            print(f"{name:24} {trigger}")
        return 0
    if args.once:
        if args.once not in jobs.JOBS:
            print(f"unknown job {args.once}; known: {', '.join(sorted(jobs.JOBS))}", file=sys.stderr)
            return 2
        slot = args.slot or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M")
        outcome = jobs.fire(args.once, slot)
        print(json.dumps({"job": outcome.job, "slot": outcome.slot, "ran": outcome.ran, "outcome": outcome.outcome,
                          "counts": outcome.counts}, default=str))
        return 0
    scheduler = build_scheduler()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
