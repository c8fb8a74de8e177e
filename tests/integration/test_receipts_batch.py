import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from donorcrm.db import session_scope
from donorcrm.donors.service import set_consent
from donorcrm.errors import InvalidState
from donorcrm.receipts import batch, delivery, jobs, service
from donorcrm.receipts.models import (
    DeliveryStatus,
    ItemStatus,
    Receipt,
    ReceiptDelivery,
    ReceiptLine,
    ReceiptPdf,
    ReceiptRun,
    RunStatus,
)
from tests.integration.receipts_support import CURRENCY, SETTINGS, donor, gift, pdf_pages

Y = 2025


def seed(engine: Engine, n: int, countries: tuple[str, ...] = ("NL", "NL", "DE", "GB"), email_every: int = 0) -> list[int]:
    ids = []
    with session_scope(engine) as s:
        for i in range(n):
            c = countries[i % len(countries)]
            d = donor(s, c, last_name=f"Donor{i}", email=f"d{i}@example.org" if email_every else None)
            if email_every and i % email_every == 0:
                set_consent(s, d, "email", "receipts", True)
            gift(s, d, 1000 + i, dt.date(Y, 1 + i % 12, 1), CURRENCY[c])
            ids.append(d)
    return ids


def assert_gapless_and_single(engine: Engine) -> None:
    with Session(engine) as s:
        for series in s.execute(select(Receipt.series).distinct()).scalars():
            serials = sorted(s.execute(select(Receipt.serial).where(Receipt.series == series, Receipt.year == Y)).scalars())
            assert serials == list(range(1, len(serials) + 1)), series
        per_donor = s.execute(select(Receipt.donor_id, func.count()).where(Receipt.status == "issued")
                              .group_by(Receipt.donor_id).having(func.count() > 1)).all()
        assert per_donor == []
        assert s.execute(select(func.count()).select_from(Receipt).where(Receipt.pdf_sha256.is_(None))).scalar_one() == 0


def start(engine: Engine, settings=SETTINGS) -> int:
    with session_scope(engine) as s:
        return batch.open_run(s, Y, settings=settings).id  # type: ignore[return-value]


def test_a_run_issues_every_due_receipt_once(engine: Engine) -> None:
    seed(engine, 12)
    run_id = start(engine)
    seen = []
    result = batch.work(engine, run_id, settings=SETTINGS, chunk=5, progress=seen.append)
    assert (result.issued, result.failed) == (12, 0)
    assert sum(seen) == 12
    assert_gapless_and_single(engine)
    with Session(engine) as s:
        assert s.get(ReceiptRun, run_id).status == RunStatus.DONE
        assert batch.run_counts(s, run_id)[ItemStatus.ISSUED] == 12
    # A second run finds nothing left to do.
    run2 = start(engine)
    assert batch.work(engine, run2, settings=SETTINGS).issued == 0


def test_crash_and_rerun_leaves_no_gap_and_no_double(engine: Engine) -> None:
    seed(engine, 15)
    run_id = start(engine)

    def crash(_: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        batch.work(engine, run_id, settings=SETTINGS, chunk=4, progress=crash)
    with Session(engine) as s:
        assert batch.run_counts(s, run_id)[ItemStatus.ISSUED] == 4
    assert start(engine) == run_id  # the open run resumes
    assert batch.work(engine, run_id, settings=SETTINGS, chunk=4).issued == 11
    assert_gapless_and_single(engine)


def test_receipts_stored_before_a_crash_get_their_document_on_rerun(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine, 6)
    run_id = start(engine)
    real = service.draw

    def broken(*a, **kw):  # noqa: ANN002, ANN003
        raise RuntimeError("printer on fire")

    monkeypatch.setattr(service, "draw", broken)
    with pytest.raises(RuntimeError):
        batch.work(engine, run_id, settings=SETTINGS, chunk=3)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(Receipt).where(Receipt.pdf_sha256.is_(None))).scalar_one() == 3
    monkeypatch.setattr(service, "draw", real)
    batch.work(engine, run_id, settings=SETTINGS, chunk=3)
    assert_gapless_and_single(engine)


def test_a_worker_leaves_documents_another_worker_drew_meanwhile(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker starting while this one draws finds the receipts without a document and draws them first.
    seed(engine, 6)
    run_id = start(engine)
    real = service.draw

    def overtaken(stored):  # noqa: ANN001, ANN202
        batch.render_missing(engine, run_id, SETTINGS)
        return real(stored)

    monkeypatch.setattr(service, "draw", overtaken)
    assert batch.work(engine, run_id, settings=SETTINGS, chunk=4).issued == 6
    assert_gapless_and_single(engine)
    with Session(engine) as s:
        stored = dict(s.execute(select(Receipt.id, Receipt.pdf_sha256)).all())
        kept = dict(s.execute(select(ReceiptPdf.receipt_id, ReceiptPdf.sha256)).all())
        assert s.get(ReceiptRun, run_id).status == RunStatus.DONE
    assert kept == stored and len(kept) == 6


def test_one_bad_donor_fails_alone(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = seed(engine, 5, countries=("NL",))
    run_id = start(engine)
    real = service.drafts_for

    def picky(session, requests, year, settings):  # noqa: ANN001, ANN202
        if any(r.donor_id == ids[2] for r in requests):
            raise ValueError("broken address")
        return real(session, requests, year, settings)

    monkeypatch.setattr(service, "drafts_for", picky)
    result = batch.work(engine, run_id, settings=SETTINGS, chunk=10)
    assert (result.issued, result.failed) == (4, 1)
    assert_gapless_and_single(engine)
    monkeypatch.setattr(service, "drafts_for", real)
    with session_scope(engine) as s:
        assert batch.retry_failed(s, run_id) == 1
        assert s.get(ReceiptRun, run_id).status == RunStatus.OPEN
    assert batch.work(engine, run_id, settings=SETTINGS).issued == 1
    assert_gapless_and_single(engine)
    with Session(engine) as s:
        assert s.get(ReceiptRun, run_id).status == RunStatus.DONE


def test_dry_run_preview_changes_nothing(engine: Engine) -> None:
    seed(engine, 4)
    with Session(engine) as s:
        p = batch.preview(s, Y, settings=SETTINGS)
        assert dict(p.receipts) == {"NL": 2, "DE": 1, "UK": 1}
        assert s.execute(select(func.count()).select_from(Receipt)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(ReceiptRun)).scalar_one() == 0


@pytest.mark.postgres
def test_two_worker_processes_share_a_run_on_postgres(engine: Engine, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SKIP LOCKED workers need PostgreSQL")
    seed(engine, 16)
    run_id = start(engine)
    counts = batch.work_in_processes(engine, run_id, 2, settings=SETTINGS, chunk=2, poll_seconds=0.1)
    assert counts[ItemStatus.ISSUED] == 16 and counts[ItemStatus.PENDING] == 0
    assert_gapless_and_single(engine)
    with Session(engine) as s:
        assert s.get(ReceiptRun, run_id).status == RunStatus.DONE


def test_several_workers_refused_on_sqlite(engine: Engine, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("sqlite only")
    with pytest.raises(InvalidState):
        batch.work_in_processes(engine, 1, 2, settings=SETTINGS)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture()
def smtp_server():  # noqa: ANN201
    import socket

    with socket.socket() as sock:  # a free port; aiosmtpd probes the port it is given, so 0 will not do
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_delivery_by_email_with_consent_and_print_for_the_rest(engine: Engine, tmp_path: Path, smtp_server) -> None:  # noqa: ANN001
    inbox, port = smtp_server
    settings = replace(SETTINGS, smtp_host="127.0.0.1", smtp_port=port)
    seed(engine, 6, countries=("NL", "DE"), email_every=2)  # donors 0, 2, 4 consent to e-mail
    run_id = start(engine, settings)
    batch.work(engine, run_id, settings=settings)
    with session_scope(engine) as s:
        assert delivery.plan(s, year=Y) == {"email": 3, "print": 3}
        assert delivery.plan(s, year=Y) == {"email": 0, "print": 0}  # planned once

    calls = {"n": 0}

    def flaky(st):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionRefusedError("smtp down")
        return delivery.smtp_connect(st)

    first = delivery.send_emails(engine, settings=settings, connect=flaky)
    assert (first.sent, first.failed) == (2, 1)
    second = delivery.send_emails(engine, settings=settings)  # retries the failed one
    assert (second.sent, second.failed) == (1, 0)
    assert delivery.send_emails(engine, settings=settings).sent == 0  # nothing is sent twice
    assert len(inbox.messages) == 3
    assert sorted(m[1][0] for m in inbox.messages) == ["d0@example.org", "d2@example.org", "d4@example.org"]
    import email
    from email import policy

    msg = email.message_from_bytes(inbox.messages[0][2], policy=policy.default)
    assert msg["Subject"].startswith("Uw jaaroverzicht giften 2025")
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_filename().startswith("NL-2025-")
    assert pdf_pages(attachment.get_content()) == 1
    path, printed = delivery.write_print_file(engine, tmp_path, year=Y)
    assert printed == 3 and path is not None
    assert pdf_pages(path.read_bytes()) == 3  # the three German donors' one-page confirmations
    assert delivery.write_print_file(engine, tmp_path, year=Y) == (None, 0)
    with Session(engine) as s:
        statuses = s.execute(select(ReceiptDelivery.status, func.count()).group_by(ReceiptDelivery.status)).all()
        assert dict(statuses) == {DeliveryStatus.SENT: 6}


def test_january_job_is_safe_to_fire_twice(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine, 5)
    url = engine.url.render_as_string(hide_password=False)
    for key, value in {"ORG_HMRC_REF": "XR12345", "ORG_DE_FINANZAMT": "Berlin", "ORG_DE_STEUERNUMMER": "27/1",
                       "ORG_DE_NOTICE_DATE": "2024-03-01", "RECEIPT_JOB_DATE": "01-20"}.items():
        monkeypatch.setenv(f"DONORCRM_{key}", value)
    first = jobs.issue_annual_receipts(dt.date(Y + 1, 1, 20), database_url=url, out_dir=str(tmp_path))
    second = jobs.issue_annual_receipts(dt.date(Y + 1, 1, 20), database_url=url, out_dir=str(tmp_path))
    assert first["year"] == Y and first["issued"] == 5 and first["printed"] == 5
    assert second["issued"] == 0 and second["printed"] == 0
    assert jobs.trigger() == {"month": 1, "day": 20, "hour": 6, "minute": 0}
    assert_gapless_and_single(engine)
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(ReceiptLine)).scalar_one() == 5


def test_annual_receipts_job_is_registered_and_guarded_per_slot(engine: Engine, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from donorcrm import jobs as registry

    seed(engine, 2, countries=("NL",))
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DONORCRM_DATABASE_URL", url)
    monkeypatch.setenv("DONORCRM_DATA_DIR", str(tmp_path))
    from donorcrm.db import get_engine

    get_engine.cache_clear()
    slot = dt.datetime(Y + 1, 1, 15, 6, 0, tzinfo=dt.UTC)
    try:
        first = registry.fire("annual_receipts", slot, engine=engine, on=dt.date(Y + 1, 1, 15))
        again = registry.fire("annual_receipts", slot, engine=engine, on=dt.date(Y + 1, 1, 15))
    finally:
        get_engine.cache_clear()
    assert first.ran and first.counts["issued"] == 2 and first.counts["printed"] == 2
    assert not again.ran
    assert_gapless_and_single(engine)
