"""Collection runs end to end on a committed database: files, idempotency, kill and rerun, dry run,
pre-notifications, confirmation."""

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from donorcrm import migrate
from donorcrm.commitments.service import change_amount
from donorcrm.db import make_engine, session_scope
from donorcrm.gifts.models import Gift
from donorcrm.money import Money
from donorcrm.sepa import mandates, pain008, service
from donorcrm.sepa.models import Collection, Prenotification, SepaFile
from tests.sepa_factories import SETTINGS, iban_for, sepa_donor

RUN_ON = dt.date(2026, 12, 10)


def _world(engine: Engine, n: int = 7) -> list[int]:
    with session_scope(engine) as s:
        ids = []
        for i in range(n):
            _, c, _ = sepa_donor(s, 1000 + 250 * i, day=1 + 3 * i, iban=iban_for(1000 + i),
                                 holder="Zoë Ångström" if i == 0 else f"Jan Donor{i}",
                                 email=None if i == 1 else f"d{i}@example.org")
            ids.append(c.id)
        return ids


def _count(engine: Engine, model: type) -> int:
    with session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def _settings(engine: Engine, **kw: object):  # type: ignore[no-untyped-def]
    return replace(SETTINGS, database_url=engine.url.render_as_string(hide_password=False), **kw)


def test_a_run_records_writes_validates_and_stores_files(engine: Engine, tmp_path: Path) -> None:
    _world(engine)
    result = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine, out_dir=tmp_path)
    assert result.status == "written" and result.n_collections == 7
    assert result.total_minor == sum(1000 + 250 * i for i in range(7))
    assert sum(f.n_transactions for f in result.files) == 7
    assert sum(f.control_sum_minor for f in result.files) == result.total_minor
    for f in result.files:
        content = Path(f.path).read_bytes()  # type: ignore[arg-type]
        assert pain008.validate(content) == []
        assert re.search(rb"<ReqdColltnDt>(\d{4}-\d\d-\d\d)</ReqdColltnDt>", content)
    # grouped by due date: collection days 1, 4, 7, ... in January 2027
    assert len({f.message_id.split("-")[2] for f in result.files}) == len(result.files)
    with session_scope(engine) as s:
        rows = s.execute(select(Collection)).scalars().all()
        assert {r.status for r in rows} == {"presented"}
        m = mandates.get_mandate(s, rows[0].mandate_id)
        assert m.last_presented_on == rows[0].due_on


def test_running_again_changes_nothing_and_writes_the_same_bytes(engine: Engine, tmp_path: Path) -> None:
    _world(engine)
    first = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine, out_dir=tmp_path / "a")
    again = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine, out_dir=tmp_path / "b")
    assert again.resumed and again.run_id == first.run_id
    assert [f.sha256 for f in again.files] == [f.sha256 for f in first.files]
    assert _count(engine, Collection) == 7 and _count(engine, SepaFile) == len(first.files)
    for f in first.files:
        assert (tmp_path / "a" / f.filename).read_bytes() == (tmp_path / "b" / f.filename).read_bytes()


@pytest.mark.parametrize("crash", ["batch:1", "record", "file:1"])
def test_killed_halfway_and_run_again_gives_the_same_files_without_duplicates(
        engine: Engine, empty_database_url: str, crash: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "BATCH", 3)
    _world(engine)
    service.run_collections(RUN_ON, settings=_settings(engine), engine=engine, stop_after=crash)
    resumed = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine)
    assert resumed.status == "written" and _count(engine, Collection) == 7
    # the same world run without interruption in another database writes the same files
    migrate.upgrade(empty_database_url)
    clean_engine = make_engine(empty_database_url)
    try:
        _world(clean_engine)
        clean = service.run_collections(RUN_ON, settings=_settings(clean_engine), engine=clean_engine)
        with session_scope(engine) as s, session_scope(clean_engine) as c:
            ours = [_strip_time(x) for x in s.execute(select(SepaFile.content).order_by(SepaFile.message_id)).scalars()]
            theirs = [_strip_time(x) for x in c.execute(select(SepaFile.content).order_by(SepaFile.message_id)).scalars()]
        assert ours == theirs and len(ours) == len(clean.files)
    finally:
        clean_engine.dispose()


def _strip_time(content: bytes) -> bytes:
    return re.sub(rb"<CreDtTm>[^<]*</CreDtTm>", b"", content)


def test_a_bank_cap_splits_files_with_exact_sums(engine: Engine) -> None:
    with session_scope(engine) as s:
        for i in range(5):
            sepa_donor(s, 700 + i, day=5)
    result = service.run_collections(RUN_ON, settings=_settings(engine, max_transactions_per_file=2), engine=engine)
    assert [f.n_transactions for f in result.files] == [2, 2, 1]
    with session_scope(engine) as s:
        for f in s.execute(select(SepaFile)).scalars():
            assert pain008.validate(f.content) == []


def test_pain008_001_08_where_the_bank_asks(engine: Engine) -> None:
    _world(engine, 2)
    result = service.run_collections(RUN_ON, settings=_settings(engine, sepa_pain008_version="pain.008.001.08"),
                                     engine=engine)
    with session_scope(engine) as s:
        content = s.get(SepaFile, result.files[0].id).content  # type: ignore[union-attr]
    assert b"pain.008.001.08" in content and pain008.validate(content, "pain.008.001.08") == []


def test_dry_run_writes_nothing_and_shows_what_changed(engine: Engine) -> None:
    ids = _world(engine)
    service.run_collections(dt.date(2026, 11, 10), settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        change_amount(s, ids[2], Money(9900, "EUR"), dt.date(2027, 1, 1))
        from donorcrm.commitments.service import pause

        pause(s, ids[3], "donor asked")
        _, new, _ = sepa_donor(s, 500)
        for _ in range(3):  # three donors on one account
            sepa_donor(s, 300, iban=iban_for(4242))
    before = _count(engine, Collection)
    with session_scope(engine) as s:
        preview = service.preview(s, RUN_ON, _settings(engine))
    assert _count(engine, Collection) == before
    assert preview.stopped == [ids[3]]
    assert preview.changed == [{"commitment_id": ids[2], "before": 1500, "after": 9900}]
    assert new.id in preview.new
    assert any(x["kind"] == "one IBAN on many donors" and x["donors"] == 3 for x in preview.suspicious)
    assert iban_for(4242) not in str(preview.as_dict())  # IBANs are masked wherever shown


def test_prenotifications_fill_the_outbox_and_can_skip_unchanged(engine: Engine) -> None:
    ids = _world(engine, 3)
    first = service.run_collections(dt.date(2026, 11, 10), settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        assert service.build_prenotifications(s, first.run_id, _settings(engine)) == 3
        assert service.build_prenotifications(s, first.run_id, _settings(engine)) == 0  # once per collection
        notes = service.outbox(s, first.run_id)
        assert {n.channel for n in notes} == {"email", "post"}
        assert all(n.creditor_id == SETTINGS.creditor_id and n.mandate_reference.startswith("DCRM-") for n in notes)
        change_amount(s, ids[0], Money(2000, "EUR"), dt.date(2027, 1, 1))
    second = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        service.build_prenotifications(s, second.run_id, _settings(engine, sepa_prenotify_changes_only=True))
        statuses = {p.amount_minor: p.status for p in s.execute(
            select(Prenotification).where(Prenotification.run_id == second.run_id)).scalars()}
    assert statuses[2000] == "pending" and list(statuses.values()).count("skipped") == 2


def test_confirm_books_each_collection_once_as_a_recurring_gift(engine: Engine) -> None:
    _world(engine, 4)
    result = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        assert service.confirm_run(s, result.run_id) == 4
    with session_scope(engine) as s:
        assert service.confirm_run(s, result.run_id) == 0
        gifts = s.execute(select(Gift)).scalars().all()
        assert len(gifts) == 4
        assert {(g.source, g.channel, g.category) for g in gifts} == {("sepa", "sepa_dd", "individual_recurring")}
        cols = {c.end_to_end_id: c for c in s.execute(select(Collection)).scalars()}
        assert all(cols[g.external_ref].gift_id == g.id and g.commitment_id for g in gifts)
        assert all(g.received_on == cols[g.external_ref].due_on for g in gifts)


def test_an_amendment_goes_into_the_next_file_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        _, _, m = sepa_donor(s, 1000, iban=iban_for(77, "ABNA"))
        mid = m.id
    service.run_collections(dt.date(2026, 11, 10), settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        mandates.amend(s, mid, iban=iban_for(78, "RABO"))
    second = service.run_collections(RUN_ON, settings=_settings(engine), engine=engine)
    third = service.run_collections(dt.date(2027, 1, 10), settings=_settings(engine), engine=engine)
    with session_scope(engine) as s:
        c2 = s.get(SepaFile, second.files[0].id).content  # type: ignore[union-attr]
        c3 = s.get(SepaFile, third.files[0].id).content  # type: ignore[union-attr]
    assert b"<AmdmntInd>true</AmdmntInd>" in c2 and b"SMNDA" in c2
    assert b"<AmdmntInd>false</AmdmntInd>" in c3 and b"SMNDA" not in c3
