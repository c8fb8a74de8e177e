import datetime as dt

import pytest

from donorcrm.money import Money
from donorcrm.receipts.common import Charity, DonorInfo, LedgerGift
from donorcrm.receipts.uk import (
    SCHEDULE_COLUMNS,
    ClaimGift,
    Declaration,
    DeclarationMethod,
    DeclarationScope,
    benefit_allowed,
    claim_deadline,
    claim_schedule,
    covers,
    declaration_problems,
    eligible,
    giving_statement,
    postcode,
    reclaim,
    schedule_csv,
    small_donations_topup_base,
)

CHARITY = Charity(name="Demo Charity", street="1 High St", postcode="SW1A 1AA", city="London", country="GB",
                  hmrc_ref="AB12345")
DONOR = DonorInfo(id=3, name="Jane Smith", first_name="Jane", last_name="Smith", title="Mrs",
                  street="Baker Street", house_number="221B", postcode="nw16xe", city="London", country="GB",
                  language="en")


def gbp(pounds: int, pence: int = 0) -> Money:
    return Money(pounds * 100 + pence, "GBP")


def gift(i: int, on: dt.date, amount: Money, **kw: object) -> LedgerGift:
    return LedgerGift(id=i, received_on=on, amount=amount, **kw)  # type: ignore[arg-type]


def test_reclaim_is_25p_per_pound_at_basic_rate() -> None:
    assert reclaim(gbp(1)) == gbp(0, 25)
    assert reclaim(gbp(80)) == gbp(20)
    assert reclaim(gbp(10)) == gbp(2, 50)
    assert reclaim(gbp(0, 3)) == gbp(0, 0)  # rounded down: never claim more than due


def test_reclaim_follows_the_rate_setting() -> None:
    assert reclaim(gbp(100), basic_rate=22) == Money(2820, "GBP")


def test_declaration_covers_past_four_years_present_and_future() -> None:
    d = Declaration(id=1, donor_id=3, made_on=dt.date(2024, 6, 1))
    assert covers(d, gift(1, dt.date(2020, 6, 1), gbp(5)))
    assert not covers(d, gift(2, dt.date(2020, 5, 31), gbp(5)))
    assert covers(d, gift(3, dt.date(2030, 1, 1), gbp(5)))


def test_cancellation_stops_future_cover() -> None:
    d = Declaration(id=1, donor_id=3, made_on=dt.date(2024, 1, 1), cancelled_on=dt.date(2024, 6, 1))
    assert covers(d, gift(1, dt.date(2024, 5, 31), gbp(5)))
    assert not covers(d, gift(2, dt.date(2024, 6, 1), gbp(5)))


def test_oral_declaration_needs_its_record_and_can_be_undone_within_30_days() -> None:
    g = gift(1, dt.date(2024, 2, 1), gbp(10))
    base = dict(id=1, donor_id=3, made_on=dt.date(2024, 1, 10), method=DeclarationMethod.ORAL)
    assert not covers(Declaration(**base), g)  # type: ignore[arg-type]
    sent = dt.date(2024, 1, 12)
    assert covers(Declaration(**base, record_sent_on=sent), g)  # type: ignore[arg-type]
    assert not covers(Declaration(**base, record_sent_on=sent, cancelled_on=dt.date(2024, 2, 11)), g)  # type: ignore[arg-type]
    assert covers(Declaration(**base, record_sent_on=sent, cancelled_on=dt.date(2024, 2, 12)), g)  # type: ignore[arg-type]


def test_single_gift_declaration_covers_only_its_gift() -> None:
    d = Declaration(id=1, donor_id=3, made_on=dt.date(2024, 1, 1), scope=DeclarationScope.SINGLE, gift_id=9)
    assert covers(d, gift(9, dt.date(2024, 1, 1), gbp(5)))
    assert not covers(d, gift(8, dt.date(2024, 1, 1), gbp(5)))


def test_declaration_problems() -> None:
    d = Declaration(id=1, donor_id=3, made_on=dt.date(2024, 1, 1))
    assert declaration_problems(d, DONOR) == []
    bad = DonorInfo(id=4, name="X", last_name="X", postcode="1234 AB")
    whats = {p.what for p in declaration_problems(d, bad)}
    assert whats == {"first name or initial missing", "house name or number missing", "UK postcode missing"}


def test_benefit_limits() -> None:
    assert benefit_allowed(gbp(100), gbp(25))
    assert not benefit_allowed(gbp(100), gbp(25, 1))
    assert benefit_allowed(gbp(500), gbp(45))  # 25 + 5% of 400
    assert not benefit_allowed(gbp(500), gbp(45, 1))
    assert benefit_allowed(gbp(1_000_000), gbp(2_500))
    assert not benefit_allowed(gbp(1_000_000), gbp(2_500, 1))


def test_claim_deadline_is_four_years_after_period_end() -> None:
    assert claim_deadline(dt.date(2024, 5, 1)) == dt.date(2028, 12, 31)
    assert claim_deadline(dt.date(2024, 5, 1), "03-31") == dt.date(2029, 3, 31)
    assert claim_deadline(dt.date(2024, 2, 1), "03-31") == dt.date(2028, 3, 31)


def test_eligibility_and_statement() -> None:
    d = Declaration(id=1, donor_id=3, made_on=dt.date(2024, 1, 1))
    gifts = [gift(1, dt.date(2024, 3, 1), gbp(80)), gift(2, dt.date(2024, 4, 1), gbp(20), reversed=True),
             gift(3, dt.date(2024, 5, 1), gbp(10), advantage=gbp(5))]
    assert eligible(gifts[0], [d])
    assert not eligible(gifts[0], [d], donor_is_person=False)
    assert not eligible(gifts[0], [])
    draft = giving_statement(DONOR, 2024, gifts, [d], CHARITY)
    assert draft is not None
    assert draft.gift_ids == [1, 3]
    assert draft.figures["giftaid_total"] == "80.00"
    assert draft.figures["giftaid_reclaim"] == "20.00"


@pytest.mark.parametrize(("raw", "clean"), [("nw16xe", "NW1 6XE"), ("SW1A1AA", "SW1A 1AA"),
                                            (" ec1a 1bb ", "EC1A 1BB"), ("1234 AB", "")])
def test_postcode_format(raw: str, clean: str) -> None:
    assert postcode(raw) == clean


def test_schedule_rows_follow_hmrc_columns() -> None:
    items = [ClaimGift(gift(1, dt.date(2024, 3, 5), gbp(80)), DONOR),
             ClaimGift(gift(2, dt.date(2024, 3, 6), gbp(12, 5), sponsored=True), DONOR)]
    rows, problems = claim_schedule(items)
    assert problems == []
    assert rows[0].cells() == ["Mrs", "Jane", "Smith", "221B", "NW1 6XE", "", "", "05/03/24", "80.00"]
    assert rows[1].cells()[6:] == ["Yes", "06/03/24", "12.05"]
    text = schedule_csv(rows)
    assert text.splitlines()[0] == ",".join(SCHEDULE_COLUMNS)
    assert text.splitlines()[1] == "Mrs,Jane,Smith,221B,NW1 6XE,,,05/03/24,80.00"


def test_long_names_are_cut_with_a_problem_and_long_titles_left_empty() -> None:
    donor = DonorInfo(id=5, name="x", title="Professor", first_name="A" * 40, last_name="B", house_number="1",
                      postcode="SW1A1AA")
    rows, problems = claim_schedule([ClaimGift(gift(1, dt.date(2024, 1, 1), gbp(5)), donor)])
    assert rows[0].title == ""
    assert rows[0].first_name == "A" * 35
    assert [p.what for p in problems] == ["first name longer than 35 characters, shortened"]


def test_small_gifts_aggregate_in_lines_of_at_most_1000() -> None:
    items = [ClaimGift(gift(i, dt.date(2024, 1, 1) + dt.timedelta(days=i), gbp(20)), DONOR) for i in range(60)]
    items.append(ClaimGift(gift(100, dt.date(2024, 1, 2), gbp(20, 1)), DONOR))  # above the limit: own row
    rows, _ = claim_schedule(items, aggregate_small=True)
    aggregated = [r for r in rows if r.aggregated]
    assert [r.amount for r in aggregated] == ["1000.00", "200.00"]
    assert aggregated[0].first_name == "" and aggregated[0].postcode == ""
    assert aggregated[0].date == "19/02/24"  # date of the last gift in the line
    assert len([r for r in rows if not r.aggregated]) == 1


def test_small_donations_scheme_top_up_base() -> None:
    assert small_donations_topup_base(gbp(9_000), gbp(2_000)) == gbp(8_000)
    assert small_donations_topup_base(gbp(9_000), gbp(300)) == gbp(3_000)
