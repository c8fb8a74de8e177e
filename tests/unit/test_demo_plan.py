"""The demo's population plan and synthetic identities, without a database."""

from __future__ import annotations

import random
import re

import pytest
from schwifty import IBAN

from donorcrm.demo import targets as T
from donorcrm.demo.identity import EMAIL_DOMAINS, PersonFactory, iban_check_digits, nl_iban, postcode
from donorcrm.demo.plan import make_plan, scaled, year_bounds


@pytest.fixture(scope="module")
def plan():
    return make_plan(3_000, seed=7)


def test_donors_per_year_hit_the_scaled_targets_exactly(plan):
    assert plan.donors_per_year[2020] == 3_000
    for year, n in T.DONORS_PER_YEAR.items():
        assert plan.donors_per_year[year] == scaled(n, plan.scale)


def test_commitments_active_at_year_end_hit_the_scaled_targets(plan):
    for year in T.YEARS:
        assert plan.commitments_active[year] == scaled(T.COMMITMENTS_ACTIVE_AT_YEAR_END[year], plan.scale)


def test_retention_is_plausible(plan):
    """Recurring donors stay far more often than one-off donors; both within what the sector reports."""
    def givers(year, kinds):
        return {g[0] for g in plan.gifts[year] if g[2] in kinds}

    def recurring(year):
        jan1, dec31 = year_bounds(year)
        return {c.donor_id for c in plan.commitments if c.start <= dec31 and (c.end is None or c.end > jan1)
                and c.collections(year)}

    for year in (2018, 2019, 2020):
        rec_prev, rec = recurring(year - 1), recurring(year)
        one_prev = givers(year - 1, "o") - rec_prev
        one_now = givers(year, "o")
        recurring_retention = len(rec_prev & rec) / len(rec_prev)
        one_off_retention = len(one_prev & (one_now | rec)) / len(one_prev)
        assert 0.78 <= recurring_retention <= 0.9
        assert 0.35 <= one_off_retention <= 0.55


def test_same_seed_same_plan_other_seed_other_plan():
    a, b, c = make_plan(500, seed=1), make_plan(500, seed=1), make_plan(500, seed=2)

    def fingerprint(p):
        return (sorted(p.person_first.items()), [(x.donor_id, x.start, x.end, x.amount) for x in p.commitments],
                p.gifts)

    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)


def test_generated_ibans_pass_schwifty_and_the_eleven_test():
    rng = random.Random(3)
    for _ in range(2_000):
        iban, bic = nl_iban(rng)
        parsed = IBAN(iban)
        assert parsed.country_code == "NL"
        account = iban[8:]
        if iban[4:8] != "INGB":
            assert sum(int(d) * w for d, w in zip(account, range(10, 0, -1), strict=True)) % 11 == 0
        assert bic.startswith(iban[4:8])


def test_iban_check_digits_of_a_known_iban():
    assert iban_check_digits("NL", "ABNA0417164300") == "91"  # NL91ABNA0417164300


def test_postcodes_and_people_look_dutch():
    rng = random.Random(5)
    for _ in range(2_000):
        code = postcode(rng)
        assert re.fullmatch(r"[1-9]\d{3} [A-Z]{2}", code) and code[-2:] not in {"SA", "SD", "SS"}
    people = PersonFactory(random.Random(9))
    for _ in range(500):
        p = people.person()
        assert p["first_name"] and p["last_name"] and p["street"] and p["city"]
        if p["email"]:
            assert p["email"].rsplit("@", 1)[1] in EMAIL_DOMAINS  # never a real mailbox


def test_too_small_a_demo_is_refused():
    with pytest.raises(ValueError):
        make_plan(10, seed=1)
