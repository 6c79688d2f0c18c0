"""End to end in chromium: a manager signs in, sees the planted problems and acknowledges one."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.browser.conftest import DemoSite, sign_in


def test_manager_sees_planted_problems_on_the_cockpit_and_acknowledges_one(
    page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    assert demo_site.planted_alert_ids, "the evaluation raised no alert about a planted problem"

    sign_in(page, demo_site, demo_site.manager)

    assert page.url.rstrip("/").endswith("/cockpit")
    board = page.locator("#alert-board")
    expect(board).to_be_visible()
    shown = [pk for pk in demo_site.planted_alert_ids if page.locator(f"#alert-{pk}").count()]
    assert shown, "none of the planted problems' alerts is on the alert board"
    row = page.locator(f"#alert-{shown[0]}")
    expect(row).to_contain_text("Firing")
    page.screenshot(path=str(tmp_path / "cockpit.png"), full_page=True)
    detail_url = row.get_by_role("link").first.get_attribute("href")
    assert detail_url

    row.get_by_placeholder("Note (optional)").fill("Calling the customer today")
    row.get_by_role("button", name="Acknowledge").click()

    row = page.locator(f"#alert-{shown[0]}")
    expect(row).to_contain_text("Acknowledged")
    expect(row).to_contain_text("Calling the customer today")
    page.goto(f"{demo_site.url}{detail_url}")  # the alert's own page, with its history
    expect(page.locator("#main")).to_contain_text("Acknowledged")
    expect(page.locator("#main")).to_contain_text("Calling the customer today")
