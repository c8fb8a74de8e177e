import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from donorcrm.campaigns.models import Campaign
from donorcrm.donors.models import ConsentEvent, Donor, DonorAccount
from donorcrm.errors import FileFormatError
from donorcrm.gifts.models import Gift
from donorcrm.gifts.service import net_total
from donorcrm.importing.service import import_donors, import_gifts
from donorcrm.money import Money

DONORS = """\
reference;first_name;name_infix;last_name;postcode;city;country;email;birth_date;iban;consent_email
D1;Anna;de;Vries;1011 AB;Amsterdam;NL;anna@example.org;1980-02-01;NL91ABNA0417164300;ja
D2;Bram;;Jansen;3511 CD;Utrecht;nl;;01-02-1975;;
D3;Cor;;Bakker;;;NL;;;NL91ABNA0417164301;
D4;Dina;;;;;NL;;;;
D5;Eva;;Smit;;;NL;eva@;;;
D6;Fenna;;Visser;;;NL;;31-02-1990;;
D1;Anna;;Copy;;;NL;;;;
D7;Gijs;;Mulder;;;NL;;;;misschien
"""

GIFTS = """\
reference,donor_reference,date,amount,currency,channel,category,campaign
G1,D1,2020-12-01,"25,00",EUR,ideal,crowdfunding,XMAS20
G2,D2,15-06-2020,"1.250,50",EUR,bank_transfer,individual_one_off,
G3,D1,2020-13-01,"10,00",EUR,ideal,individual_one_off,
G4,D1,2020-05-01,"0,00",EUR,ideal,individual_one_off,
G5,D1,2020-05-01,"-5,00",EUR,ideal,individual_one_off,
G6,D1,2020-05-01,"5,00",EUR,ideal,sponsoring,
G7,D99,2020-05-01,"5,00",EUR,ideal,individual_one_off,
G8,D1,2020-05-01,"5.00",EUR,ideal,individual_one_off,
G9,D1,2020-05-01,"5,00",EUR,carrier_pigeon,individual_one_off,
G10,D2,2020-05-01,"7,50",EUR,ideal,individual_one_off,NOPE
G11,D2,2020-05-01,"7,50"
G2,D2,2020-06-15,"1.250,50",EUR,bank_transfer,individual_one_off,
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_donor_import_rejects_exactly_the_bad_rows(session: Session, tmp_path: Path) -> None:
    path = _write(tmp_path, "donors.csv", DONORS)
    result = import_donors(session, path)
    assert result.written == 2
    rejected = {p.where: p.what for p in result.problems}
    assert set(rejected) == {"line 4", "line 5", "line 6", "line 7", "line 8", "line 9"}
    assert "IBAN" in rejected["line 4"]
    assert "last_name" in rejected["line 5"]
    assert "e-mail" in rejected["line 6"]
    assert "birth_date" in rejected["line 7"]
    assert "repeats" in rejected["line 8"]
    assert "consent_email" in rejected["line 9"]
    anna = session.execute(select(Donor).where(Donor.reference == "D1")).scalars().one()
    assert anna.name_infix == "de" and anna.birth_date.isoformat() == "1980-02-01"
    bram = session.execute(select(Donor).where(Donor.reference == "D2")).scalars().one()
    assert bram.country == "NL" and bram.birth_date.isoformat() == "1975-02-01"
    assert session.execute(select(DonorAccount.iban).where(DonorAccount.donor_id == anna.id)).scalar_one() \
        == "NL91ABNA0417164300"
    assert session.execute(select(func.count()).select_from(ConsentEvent)
                           .where(ConsentEvent.donor_id == anna.id)).scalar_one() == 1

    again = import_donors(session, path)
    assert again.written == 0 and again.already_present == 2
    assert session.execute(select(func.count()).select_from(Donor)
                           .where(Donor.reference.in_(["D1", "D2"]))).scalar_one() == 2


def test_gift_import_rejects_exactly_the_bad_rows_and_reimport_is_a_no_op(session: Session, tmp_path: Path) -> None:
    import_donors(session, _write(tmp_path, "donors.csv", DONORS))
    session.add(Campaign(code="XMAS20", name="December crowdfunding", kind="crowdfunding"))
    session.flush()
    path = _write(tmp_path, "gifts.csv", GIFTS)
    result = import_gifts(session, path, locale="nl")
    rejected = {p.where: p.what for p in result.problems}
    assert result.written == 2
    assert set(rejected) == {f"line {n}" for n in (4, 5, 6, 7, 8, 9, 10, 11, 12, 13)}
    assert "date" in rejected["line 4"]
    assert "positive" in rejected["line 5"] and "positive" in rejected["line 6"]
    assert "category" in rejected["line 7"]
    assert "unknown donor reference" in rejected["line 8"]
    assert "amount" in rejected["line 9"]  # "5.00" is not Dutch notation
    assert "channel" in rejected["line 10"]
    assert "campaign" in rejected["line 11"]
    assert "fields" in rejected["line 12"]
    assert "repeats" in rejected["line 13"]
    assert net_total(session) == Money(2500 + 125050)
    crowd = session.execute(select(Gift).where(Gift.external_ref == "G1")).scalars().one()
    assert crowd.category == "individual_crowdfunding" and crowd.campaign_id is not None

    again = import_gifts(session, path, locale="nl")
    assert again.written == 0 and again.already_present == 2
    assert net_total(session) == Money(2500 + 125050)


def test_a_file_without_required_columns_is_refused_whole(session: Session, tmp_path: Path) -> None:
    path = _write(tmp_path, "gifts.csv", "reference,amount\nX,5\n")
    with pytest.raises(FileFormatError, match="line 1: missing column"):
        import_gifts(session, path)
