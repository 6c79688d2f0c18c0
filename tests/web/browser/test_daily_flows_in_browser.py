"""The four daily flows of issue 14 in chromium, each on a desktop in English and on a phone in
Chinese: an IM message's link lands on the deal; a manager moves a deal on the board, is
refused by the gate, adds the evidence in place and the move goes through; a rep creates a
quote and a contract and wins the deal; a rep claims from the pool up to the limit and is
refused beyond it. Screenshots go to the test's ``tmp_path`` and, when
``SALESRADAR_SCREENS_DIR`` is set, there too (the reviewer's copies).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.web.browser.conftest import EVALUATED_AT, PASSWORD, PHONE, DemoSite

T = TypeVar("T")
VARIANTS = {
    # variant -> (viewport options, browser locale)
    "desktop-en": ({"viewport": {"width": 1280, "height": 900}}, "en-US"),
    "phone-zh": (
        {"viewport": PHONE, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
        "zh-CN",
    ),
}
CLAIMS_PER_DAY = 2


def off_the_loop(work: Callable[[], T]) -> T:
    """Run database work in a thread of its own: Django refuses it while Playwright's event
    loop runs in this one (the demo is committed, so another connection sees it)."""
    found: dict[str, Any] = {}

    def run() -> None:
        from django.db import connection

        try:
            found["value"] = work()
        except BaseException as error:  # re-raised in the test's thread
            found["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in found:
        raise found["error"]
    return found["value"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Actors:
    """Per variant: who does what to which record."""

    im_rep: str
    im_link: str
    im_deal_code: str
    board_manager: str
    board_deal: int
    board_deal_owner: int
    won_rep: str
    won_deal: int
    pool_rep: str


def prepare(demo_site: DemoSite) -> dict[str, Actors]:
    """Pick, for each variant, people and deals the flows need, and give them the password.

    The deal the other browser tests of the shared demo site show is left out, so winning a
    deal here cannot change what they see.
    """
    from salesradar.accounts.choices import Role
    from salesradar.accounts.models import User
    from salesradar.accounts.visibility import visible
    from salesradar.alerts.models import Alert
    from salesradar.crm.choices import LeadStatus
    from salesradar.crm.models import Lead
    from salesradar.crm.pool import default_pool
    from salesradar.notify.models import Delivery
    from salesradar.notify.services import plan_notifications
    from salesradar.pipeline.models import Opportunity

    plan_notifications(until=EVALUATED_AT)
    languages = {"desktop-en": "en", "phone-zh": "zh-hans"}
    used: set[int] = set()
    chosen: dict[str, Actors] = {}
    reps = list(User.objects.filter(role=Role.REP, is_active=True).order_by("username"))
    managers = list(User.objects.filter(role=Role.MANAGER, is_active=True).order_by("username"))
    for variant, language in languages.items():
        # an IM-style digest link to a deal, read by its owner
        im_rep, link, code = None, "", ""
        for delivery in Delivery.objects.filter(recipient__role=Role.REP).order_by("pk"):
            if delivery.recipient_id in used:
                continue
            for item in delivery.payload.get("items", []):
                match = re.search(r"/opportunities/(\d+)/$", item.get("link", ""))
                if match:
                    deal = Opportunity.objects.get(pk=int(match.group(1)))
                    im_rep, link, code = delivery.recipient, match.group(0), deal.code
                    break
            if im_rep is not None:
                break
        assert im_rep is not None, "no digest links to a deal"
        used.add(im_rep.pk)
        # a manager's team deal in the first stage with a decision maker and no pain points
        board_manager = board_deal = None
        for manager in managers:
            deals = (
                visible(manager, Opportunity)
                .filter(
                    stage__key="initial_contact", customer__contacts__decision_role="decision_maker"
                )
                .exclude(evidence__kind="pain_points")
                .exclude(pk__in=[actor.board_deal for actor in chosen.values()])
                .order_by("pk")
            )
            board_deal = deals.first()
            if board_deal is not None:
                board_manager = manager
                break
        assert board_manager is not None and board_deal is not None
        # a rep's deal in negotiation without a contract
        won = (
            Opportunity.objects.filter(stage__key="negotiation", contracts__isnull=True)
            .exclude(owner_id__in=used)
            .exclude(pk__in=[actor.won_deal for actor in chosen.values()])
            .exclude(pk=demo_site.gated_opportunity_id)
            .filter(owner__role=Role.REP)
            .order_by("pk")
            .first()
        )
        assert won is not None, "no deal in negotiation without a contract"
        used.add(won.owner_id)
        pool_rep = next(rep for rep in reps if rep.pk not in used)
        used.add(pool_rep.pk)
        for person in (im_rep, board_manager, won.owner, pool_rep):
            person.set_password(PASSWORD)
            person.language = language
            person.save(update_fields=["password", "language"])
        chosen[variant] = Actors(
            im_rep=im_rep.username,
            im_link=link,
            im_deal_code=code,
            board_manager=board_manager.username,
            board_deal=board_deal.pk,
            board_deal_owner=board_deal.owner_id,
            won_rep=won.owner.username,
            won_deal=won.pk,
            pool_rep=pool_rep.username,
        )
    pool = default_pool()
    pool.claims_per_day = CLAIMS_PER_DAY
    pool.max_open_per_rep = 10_000
    pool.save()
    for n in range(2 * (CLAIMS_PER_DAY + 1)):
        Lead.objects.get_or_create(
            code=f"BROWSER-POOL-{n}",
            defaults={
                "company_name": f"Pool trial company {n}",
                "source": "web",
                "status": LeadStatus.NEW,
            },
        )
    assert Alert.objects.exists()
    return chosen


@pytest.fixture(scope="module")
def actors(demo_site: DemoSite, django_db_blocker: Any) -> dict[str, Actors]:
    with django_db_blocker.unblock():
        return off_the_loop(lambda: prepare(demo_site))


@pytest.fixture(params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def screen(browser: Browser, variant: str, tmp_path: Path) -> Iterator[Page]:
    options, locale = VARIANTS[variant]
    context = browser.new_context(locale=locale, timezone_id="Asia/Shanghai", **options)  # type: ignore[arg-type]
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    snap(page, tmp_path / "screenshot.png")
    context.close()


def snap(page: Page, path: Path) -> None:
    """Take a full-page screenshot, or the viewport when chromium cannot capture the whole
    page (it sometimes refuses a tall page on a loaded machine); a picture, not the test."""
    try:
        page.screenshot(path=str(path), full_page=True)
    except PlaywrightError:
        page.screenshot(path=str(path))


def keep(page: Page, tmp_path: Path, name: str) -> None:
    """Save a screenshot in ``tmp_path`` and in SALESRADAR_SCREENS_DIR when it is set."""
    path = tmp_path / f"{name}.png"
    snap(page, path)
    wanted = os.environ.get("SALESRADAR_SCREENS_DIR")
    if wanted:
        Path(wanted).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(wanted) / f"{name}.png")


def sign_in(page: Page, site: DemoSite, username: str, then: str = "/") -> None:
    page.goto(f"{site.url}/login/?next={then}")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/login/" not in url)


def test_a_rep_opens_an_alert_from_an_im_message_link_and_lands_on_the_deal(
    actors: dict[str, Actors], screen: Page, variant: str, demo_site: DemoSite, tmp_path: Path
) -> None:
    actor = actors[variant]
    assert "/admin/" not in actor.im_link

    sign_in(screen, demo_site, actor.im_rep, then=actor.im_link)

    assert screen.url.endswith(actor.im_link)
    expect(screen.locator("dl")).to_contain_text(actor.im_deal_code)
    expect(screen.locator("html")).to_have_attribute("lang", "en" if "en" in variant else "zh-hans")
    keep(screen, tmp_path, f"im-link-lands-on-deal-{variant}")


def test_a_manager_moves_a_deal_on_the_board_adds_the_missing_evidence_and_it_moves(
    actors: dict[str, Actors], screen: Page, variant: str, demo_site: DemoSite, tmp_path: Path
) -> None:
    actor = actors[variant]
    sign_in(screen, demo_site, actor.board_manager)
    screen.goto(f"{demo_site.url}/opportunities/board/?owner={actor.board_deal_owner}")
    card = screen.locator(f"#card-{actor.board_deal}")
    expect(card).to_be_visible()
    target = screen.locator('section[data-column="needs_confirmed"]')

    if variant.startswith("desktop"):
        # grab the card by its edge (not its menu) and drop it on the column's heading
        card.drag_to(target, source_position={"x": 6, "y": 6}, target_position={"x": 30, "y": 12})
    else:  # on a phone the card moves by its menu
        card.locator("select[name=to_stage]").select_option("needs_confirmed")
        card.locator("form button[type=submit]").tap()

    refusal = screen.locator(f"#board-refused-{actor.board_deal}")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Pain-point list" if "en" in variant else "痛点清单")
    keep(screen, tmp_path, f"board-gate-refused-{variant}")
    card = screen.locator(f"#card-{actor.board_deal}")
    expect(card.locator("select[name=kind]")).to_have_value("pain_points")
    card.locator("input[name=title]").fill("Workshop pain points")
    card.locator("form[hx-post*=board-evidence] button[type=submit]").click()

    moved = screen.locator(f'section[data-column="needs_confirmed"] #card-{actor.board_deal}')
    expect(moved).to_be_visible()
    keep(screen, tmp_path, f"board-moved-{variant}")


def test_a_rep_creates_a_quote_and_a_contract_and_wins_the_deal(
    actors: dict[str, Actors], screen: Page, variant: str, demo_site: DemoSite, tmp_path: Path
) -> None:
    actor = actors[variant]
    deal_page = f"/opportunities/{actor.won_deal}/"
    sign_in(screen, demo_site, actor.won_rep, then=deal_page)
    documents = screen.locator("#documents")

    documents.locator("#quote-new input[name=amount]").fill("280000")
    documents.locator("#quote-new button[type=submit]").click()
    screen.locator("#quote-list form[action$='/send/'] button").first.click()
    expect(screen.locator("#quote-list")).to_contain_text("Sent" if "en" in variant else "已发送")
    screen.locator("#contract-new summary").click()
    screen.locator("#contract-new input[name=amount]").fill("280000")
    screen.locator("#contract-new form button[type=submit]").click()
    expect(screen.locator("#documents")).to_contain_text("HT")
    screen.locator("#stage-move select[name=to_stage]").select_option("won")
    screen.locator("#stage-move button[type=submit]").click()

    expect(screen.locator("[aria-current=step]")).to_contain_text(
        "Won" if "en" in variant else "赢单"
    )
    keep(screen, tmp_path, f"deal-won-from-the-web-{variant}")


def test_a_rep_claims_from_the_pool_up_to_the_limit_and_is_refused_beyond_it(
    actors: dict[str, Actors], screen: Page, variant: str, demo_site: DemoSite, tmp_path: Path
) -> None:
    actor = actors[variant]
    sign_in(screen, demo_site, actor.pool_rep, then="/pool/?q=Pool+trial")
    expect(screen.locator("#pool-limits")).to_contain_text(str(CLAIMS_PER_DAY))

    for _ in range(CLAIMS_PER_DAY + 1):
        with screen.expect_navigation():
            screen.locator("section[aria-labelledby=pool-leads] .sr-claim").first.click()

    refusal = screen.locator("#messages .alert-danger").first
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text(str(CLAIMS_PER_DAY))
    mine = screen.locator("section[aria-labelledby=pool-mine]")
    expect(mine).to_contain_text("Pool trial company")
    box = screen.locator(".sr-claim").first.bounding_box()
    if variant.startswith("phone"):
        assert box is not None and box["height"] >= 44, "claim buttons are thumb-sized"
    keep(screen, tmp_path, f"pool-claim-refused-{variant}")
