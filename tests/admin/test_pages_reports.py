"""Overview, Donor growth and Income breakdown pages: login, role checks, filters, figures."""

import datetime as dt

import pytest

from admin_pages.common import money, pct
from donorcrm.reports import growth, income, overview
from tests.admin.conftest import THIS_YEAR, page


@pytest.mark.parametrize("name", ["overview", "growth", "income"])
def test_pages_need_a_login(db_url: str, name: str) -> None:
    at = page(name)
    assert any("log in" in w.value for w in at.warning)
    assert not at.metric and not at.dataframe


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_figures_equal_the_report_and_follow_the_date(db_url: str, report_session) -> None:
    at = page("overview", "viewer")
    assert not at.exception
    o = overview.overview(report_session, dt.date.today())
    shown = _metrics(at)
    assert shown["Active donors"] == f"{o.active_donors:,}"
    assert shown["Active recurring commitments"] == f"{o.active_commitments:,}"
    assert shown["Recurring value per month"] == money(o.commitments_monthly_minor)
    assert shown[f"Retention {THIS_YEAR - 1}"] == pct(o.retention_last_year)
    ytd_label = f"Income {THIS_YEAR} to {dt.date.today():%d %b}"
    assert shown[ytd_label] == money(o.ytd.this_year_minor)

    earlier = dt.date(THIS_YEAR - 1, 6, 30)
    at.date_input(key="overview_as_of").set_value(earlier).run()
    o2 = overview.overview(report_session, earlier)
    shown2 = _metrics(at)
    assert shown2[f"Income {THIS_YEAR - 1} to 30 Jun"] == money(o2.ytd.this_year_minor)
    assert shown2[f"Retention {THIS_YEAR - 2}"] == pct(o2.retention_last_year)
    assert o2.ytd.this_year_minor != o.ytd.this_year_minor


def test_growth_figures_equal_the_report_and_the_year_filter_changes_them(db_url: str, report_session) -> None:
    at = page("growth", "viewer")
    assert not at.exception
    years = growth.years_with_data(report_session)
    rows = growth.growth_table(report_session, first_year=years[0], last_year=THIS_YEAR)
    table = at.dataframe[0].value
    assert list(table["Year"]) == [str(g.year) for g in rows]
    assert list(table["New"]) == [g.new for g in rows]
    assert list(table["Lapsed"]) == [g.lapsed for g in rows]
    assert list(table["Retention"]) == [pct(g.retention) for g in rows]
    fep = at.dataframe[1].value
    assert list(fep["Net"]) == list(fep["Income change"])  # gains - losses == change, shown to the cent
    assert len(at.get("vega_lite_chart")) >= 3
    # Viewers get counts, not names.
    assert len(at.dataframe) == 2

    at.selectbox(key="growth_from").set_value(THIS_YEAR - 1).run()
    assert list(at.dataframe[0].value["Year"]) == [str(THIS_YEAR - 1), str(THIS_YEAR)]


def test_growth_lists_lapsed_donors_for_fundraisers(db_url: str, report_session) -> None:
    at = page("growth", "fundraiser")
    lybunt = growth.lapsed_donors(report_session, THIS_YEAR, kind="lybunt", limit=100)
    assert list(at.dataframe[2].value["Donor"]) == [d.donor_id for d in lybunt]
    at.radio(key="growth_lapsed_kind").set_value("sybunt").run()
    sybunt = growth.lapsed_donors(report_session, THIS_YEAR, kind="sybunt", limit=100)
    assert list(at.dataframe[2].value["Donor"]) == [d.donor_id for d in sybunt]
    assert _metrics(at)[f"SYBUNT donors for {THIS_YEAR}"] == f"{growth.lapsed_count(report_session, THIS_YEAR, kind='sybunt'):,}"
    at.button(key="growth_csv").click().run()
    assert at.get("download_button")


def test_income_figures_equal_the_report_and_filters_change_them(db_url: str, report_session) -> None:
    at = page("income", "finance")
    assert not at.exception
    years = income.years_with_income(report_session)
    first = years[max(0, len(years) - 6)]
    cells = income.by_category(report_session, income.Filter(first, THIS_YEAR))
    pivot = at.dataframe[0].value
    for c in cells:
        assert pivot.loc[pivot["Category"] == c.label, str(c.year)].item() == money(c.amount_minor)
    statement = at.dataframe[1].value
    expected = income.accounts_statement(report_session, THIS_YEAR)
    assert list(statement["Amount"]) == [money(r.amount_minor) for r in expected]

    fund_id = next(c.id for c in income.by_fund(report_session) if c.id)
    at.selectbox(key="income_fund").set_value(fund_id).run()
    narrowed = income.accounts_statement(report_session, THIS_YEAR, income.Filter(fund_id=fund_id))
    assert list(at.dataframe[1].value["Amount"]) == [money(r.amount_minor) for r in narrowed]
    assert narrowed[-1].amount_minor != expected[-1].amount_minor


def test_income_drill_down_shows_the_gifts_behind_a_cell(db_url: str, report_session) -> None:
    at = page("income", "finance")
    at.selectbox(key="drill_year").set_value(THIS_YEAR - 1)
    at.selectbox(key="drill_category").set_value("individual_one_off").run()
    p = income.gifts_behind(report_session, year=THIS_YEAR - 1, category="individual_one_off")
    drill = at.dataframe[-1].value
    assert list(drill["Gift"]) == [g.id for g in p.rows]
    cell = next(c for c in income.by_category(report_session, income.Filter(THIS_YEAR - 1, THIS_YEAR - 1))
                if c.category == "individual_one_off")
    assert p.total_minor == cell.amount_minor


def test_income_drill_down_is_denied_to_viewers(db_url: str) -> None:
    at = page("income", "viewer")
    assert any("finance role" in c.value for c in at.caption)
    assert all(s.key != "drill_year" for s in at.selectbox)
