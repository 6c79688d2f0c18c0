"""In chromium: the weekly report, the health list and a health brief render with their charts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.browser.conftest import DemoSite, sign_in

SCREENS = Path("/work/notes/screens/health")


def keep(page: Page, tmp_path: Path, name: str) -> None:
    """Save a full-page screenshot in the test's folder and, on this machine, in the notes."""
    page.screenshot(path=str(tmp_path / name), full_page=True)
    if SCREENS.parent.exists():
        SCREENS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENS / name), full_page=True)


def test_manager_reads_the_weekly_report_with_charts_and_downloads(
    page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    sign_in(page, demo_site, demo_site.manager)

    page.goto(f"{demo_site.url}/reports/weekly/?week=2026-11-09")

    expect(page.locator("#section-regressions")).to_contain_text("Cross-stage regression rate")
    expect(page.locator("#section-alerts")).to_contain_text("Median hours to acknowledge")
    expect(page.locator(".sr-report-chart[data-ready='1']").first).to_be_visible()
    assert page.locator("#section-funnel tbody tr").count() >= 1
    keep(page, tmp_path, "weekly-report.png")
    with page.expect_download() as download:
        page.locator("#download-xlsx").click()
    assert download.value.suggested_filename == "salesradar-weekly-2026-11-09.xlsx"


def test_rep_opens_the_health_list_and_a_brief_with_its_trend(
    page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    sign_in(page, demo_site, demo_site.rep)

    page.goto(f"{demo_site.url}/health/")
    expect(page.locator("#health-table")).to_be_visible()
    keep(page, tmp_path, "health-list.png")
    first = page.locator("#health-table tbody a").first
    expect(first).to_be_visible()
    first.click()

    expect(page.locator("#next-actions li")).to_have_count(3)
    expect(page.locator("#health-trend[data-ready='1']")).to_be_visible()
    expect(page.locator("#last-interaction")).not_to_be_empty()
    keep(page, tmp_path, "health-brief.png")


def test_manager_reads_the_director_views_and_the_action_card_board(
    page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    sign_in(page, demo_site, demo_site.manager)

    page.goto(f"{demo_site.url}/review/director/")
    expect(page.locator("#new-hire-survival")).to_contain_text("6 months")
    expect(page.locator("#capability-heat-map tbody tr").first).to_be_visible()
    expect(page.locator("#proposal-funnel")).to_contain_text("Quotes requested")
    keep(page, tmp_path, "director-views.png")

    page.goto(f"{demo_site.url}/review/cards/")
    page.get_by_label("What", exact=True).fill("Visit the top customer's CFO")
    page.get_by_label("Verifiable deliverable").fill("Meeting minutes")
    page.get_by_label("By when").fill("2099-01-01")
    page.get_by_role("button", name="Write the card").click()
    expect(page.locator("#main")).to_contain_text("Visit the top customer's CFO")
    keep(page, tmp_path, "action-cards.png")
