"""End to end in chromium: the gate refusal, a follow-up from a phone, the language switch."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.web.browser.conftest import DemoSite, sign_in


def test_stage_move_that_fails_its_gate_shows_what_is_missing(
    page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    sign_in(page, demo_site, demo_site.manager)
    page.goto(f"{demo_site.url}/opportunities/{demo_site.gated_opportunity_id}/")
    expect(page.locator("[aria-current=step]")).to_contain_text("Negotiation")

    page.get_by_label("Move to").select_option("won")
    page.get_by_role("button", name="Move", exact=True).click()

    refusal = page.locator("#stage-move-refused")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Cannot move to Won")
    expect(refusal).to_contain_text("a signed contract")
    page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
    page.reload()
    expect(page.locator("[aria-current=step]")).to_contain_text("Negotiation")


def test_rep_logs_a_follow_up_on_a_phone(
    phone_page: Page, demo_site: DemoSite, tmp_path: Path
) -> None:
    page = phone_page
    sign_in(page, demo_site, demo_site.rep)
    page.goto(f"{demo_site.url}/workspace/")
    form = page.locator("#followup-card")

    form.get_by_label("Customer").select_option(str(demo_site.rep_customer_id))
    # choosing the customer reloads the form with that customer's deals
    page.wait_for_load_state("networkidle")
    expect(form.get_by_label("Customer")).to_have_value(str(demo_site.rep_customer_id))
    form.get_by_text("Visit", exact=True).tap()
    form.get_by_label("What happened").fill("Walked the plant with the buyer")
    save = form.get_by_role("button", name="Save follow-up")
    box = save.bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb-sized target
    save.tap()

    expect(page.locator("#followup-card [role=status]")).to_contain_text("logged")
    page.locator("#followup-card").screenshot(path=str(tmp_path / "follow-up-saved.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    page.goto(f"{demo_site.url}/customers/{demo_site.rep_customer_id}/")
    expect(page.locator("#timeline")).to_contain_text("Walked the plant with the buyer")


def test_switching_to_chinese_shows_the_pages_in_chinese(page: Page, demo_site: DemoSite) -> None:
    sign_in(page, demo_site, demo_site.manager)
    page.goto(f"{demo_site.url}/workspace/")
    expect(page.locator("h1")).to_have_text(re.compile("My workspace"))

    page.get_by_label("Open user menu").click()
    page.locator("#nav-language").select_option("zh-hans")
    page.locator("#nav-language").locator("xpath=..").get_by_role("button").click()

    expect(page.locator("h1")).to_have_text(re.compile("我的工作台"))
    expect(page.locator("#followup-card")).to_contain_text("登记跟进")
    page.goto(f"{demo_site.url}/opportunities/{demo_site.gated_opportunity_id}/")
    expect(page.locator("[aria-current=step]")).to_contain_text("商务谈判")
