import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from donorcrm.audit import AuditLog
from donorcrm.donors.models import ConsentEvent, Donor, DonorAccount
from donorcrm.donors.service import (
    add_account,
    erase_donor,
    get_donor,
    mark_deceased,
    may_contact,
    merge_donors,
    set_consent,
    update_donor,
)
from donorcrm.errors import InvalidState, ValidationError
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import net_total, reverse_gift
from donorcrm.money import Money
from tests import factories as f

T0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_update_is_audited_with_before_and_after(session: Session) -> None:
    d = f.donor(session, city="Utrecht")
    update_donor(session, d.id, {"city": "Zwolle"})
    row = session.execute(select(AuditLog).where(AuditLog.action == "donor.update",
                                                 AuditLog.entity_id == str(d.id))).scalars().one()
    assert row.before == {"city": "Utrecht"} and row.after == {"city": "Zwolle"}
    with pytest.raises(ValidationError):
        update_donor(session, d.id, {"email": "not-an-address"})
    with pytest.raises(ValidationError):
        update_donor(session, d.id, {"status": "erased"})


def test_bad_iban_is_refused_with_a_masked_message(session: Session) -> None:
    d = f.donor(session)
    with pytest.raises(ValidationError, match="invalid IBAN NL91 \\*\\*\\*\\* 4301"):
        add_account(session, d.id, "NL91ABNA0417164301")
    acc = add_account(session, d.id, "nl91 abna 0417 1643 00")
    assert acc.iban == "NL91ABNA0417164300" and acc.iban_last4 == "4300" and acc.bic == "ABNANL2A"
    assert add_account(session, d.id, "NL91ABNA0417164300").id == acc.id


def test_consent_latest_event_wins_per_channel_and_purpose(session: Session) -> None:
    a, b, c = f.donor(session), f.donor(session), f.donor(session, email=None)
    set_consent(session, a.id, "email", "fundraising", True, at=T0)
    set_consent(session, b.id, "email", "fundraising", True, at=T0)
    set_consent(session, b.id, "email", "fundraising", False, at=T0 + dt.timedelta(days=3))
    set_consent(session, c.id, "email", "fundraising", True, at=T0)  # no address: cannot be e-mailed
    set_consent(session, a.id, "post", "fundraising", False, at=T0)
    now = T0 + dt.timedelta(days=10)
    ids = may_contact(session, "email", "fundraising", now)
    assert a.id in ids and b.id not in ids and c.id not in ids
    assert b.id in may_contact(session, "email", "fundraising", T0 + dt.timedelta(days=1))
    assert a.id not in may_contact(session, "post", "fundraising", now)
    assert a.id not in may_contact(session, "email", "newsletter", now)
    mark_deceased(session, a.id, dt.date(2020, 2, 1))
    assert a.id not in may_contact(session, "email", "fundraising", now)


def test_merge_moves_gifts_consents_and_accounts(session: Session) -> None:
    keep, dup = f.donor(session, phone=None), f.donor(session, phone="+31612345678")
    g1 = f.gift(session, keep.id, 1000)
    g2 = f.gift(session, dup.id, 2500)
    reverse_gift(session, g2.id, entry_type="refund", on=dt.date(2020, 6, 1))
    f.gift(session, dup.id, 700)
    set_consent(session, dup.id, "email", "fundraising", True, at=T0)
    add_account(session, dup.id, "NL91ABNA0417164300")
    add_account(session, keep.id, "NL91ABNA0417164300")
    add_account(session, dup.id, "DE89370400440532013000")
    total_before = net_total(session)
    merge_donors(session, keep.id, dup.id)
    assert net_total(session, donor_id=keep.id) == Money(1700)
    assert net_total(session, donor_id=dup.id) == Money(0)
    assert net_total(session) == total_before
    assert session.execute(select(func.count()).select_from(Gift).where(Gift.donor_id == dup.id)).scalar_one() == 0
    assert session.execute(select(ConsentEvent.donor_id)).scalars().all() == [keep.id]
    ibans = sorted(session.execute(select(DonorAccount.iban).where(DonorAccount.donor_id == keep.id)).scalars())
    assert ibans == ["DE89370400440532013000", "NL91ABNA0417164300"]
    survivor, merged = get_donor(session, keep.id), get_donor(session, dup.id)
    assert survivor.phone == "+31612345678"
    assert merged.status == "merged" and merged.merged_into_id == keep.id
    assert g1.id is not None
    with pytest.raises(InvalidState):
        merge_donors(session, keep.id, dup.id)
    with pytest.raises(ValidationError):
        merge_donors(session, keep.id, keep.id)


def test_erasure_anonymises_but_keeps_the_books(session: Session) -> None:
    d = f.donor(session, first_name="Fatima", last_name="El Amrani", email="fatima@example.org",
                birth_date=dt.date(1970, 1, 2), reference="EXT-9")
    add_account(session, d.id, "NL91ABNA0417164300")
    f.gift(session, d.id, 5000, on=dt.date(2020, 1, 5))
    f.gift(session, d.id, 2500, on=dt.date(2020, 2, 5))
    update_donor(session, d.id, {"city": "Den Haag"})
    total_before = net_total(session)
    erase_donor(session, d.id)
    erased = session.get(Donor, d.id)
    assert erased is not None and erased.status == "erased" and erased.erased_at is not None
    for field in ("first_name", "email", "birth_date", "street", "postcode", "reference", "phone", "city"):
        assert getattr(erased, field) is None
    assert "Fatima" not in (erased.last_name or "")
    assert net_total(session, donor_id=d.id) == Money(7500)
    assert net_total(session) == total_before
    assert session.execute(select(DonorAccount).where(DonorAccount.donor_id == d.id)).first() is None
    trail = session.execute(select(AuditLog).where(AuditLog.entity == "donor",
                                                   AuditLog.entity_id == str(d.id))).scalars().all()
    assert "Fatima" not in repr([(a.before, a.after) for a in trail])
    assert "Den Haag" not in repr([(a.before, a.after) for a in trail])
    assert any(a.action == "donor.erase" for a in trail)
    with pytest.raises(InvalidState):
        update_donor(session, d.id, {"first_name": "Again"})
