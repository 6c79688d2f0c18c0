"""A demo company served over HTTP and Debian's chromium driven by Playwright.

The demo (small size, fixed seed and day, evaluated once so alerts exist) is built once for
this package into the test database and committed, because the server thread reads it over
its own connections; it is flushed again when the package's last test has run, so the rest
of the suite starts from an empty database as usual. Each test gets a fresh browser context
and leaves a screenshot in its ``tmp_path``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.test.utils import setup_databases, teardown_databases
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_SEED = 7
DEMO_TODAY = dt.date(2026, 11, 20)
EVALUATED_AT = dt.datetime(2026, 11, 20, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PASSWORD = "browser-tests-only-9f3a"
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class DemoSite:
    url: str
    manager: str
    rep: str
    planted_alert_ids: tuple[int, ...]
    gated_opportunity_id: int
    rep_customer_id: int


def choose_actors(planted: set[tuple[str, int]]) -> dict[str, object]:
    """Pick a manager with a planted stuck deal alerting in their team, and one of their reps.

    ``planted`` holds the (entity type, id) of the demo's planted problems; the manager's
    alerts about them are the ones the cockpit test expects to see.
    """
    from salesradar.accounts.choices import Role
    from salesradar.accounts.models import User
    from salesradar.accounts.visibility import visible
    from salesradar.alerts.models import Alert
    from salesradar.crm.models import Customer
    from salesradar.pipeline.models import Opportunity

    for manager in User.objects.filter(role=Role.MANAGER).order_by("username"):
        alerts = (
            visible(manager, Alert)
            .filter(entity_type="opportunity", state="firing", rule__key__contains="stage")
            .order_by("-severity", "id")
        )
        for alert in alerts:
            opportunity = Opportunity.objects.select_related("stage").get(pk=alert.entity_id)
            if opportunity.stage.key != "negotiation" or opportunity.contracts.exists():
                continue
            rep = (
                visible(manager, User)
                .filter(role=Role.REP, customers__isnull=False)
                .order_by("username")
                .first()
            )
            assert rep is not None
            customer = Customer.objects.filter(owner=rep).order_by("name").first()
            assert customer is not None
            planted_alerts = [
                pk
                for pk, entity_type, entity_id in visible(manager, Alert)
                .filter(state="firing")
                .values_list("pk", "entity_type", "entity_id")
                if (entity_type, entity_id) in planted
            ]
            return {
                "manager": manager.username,
                "rep": rep.username,
                "planted_alert_ids": tuple(planted_alerts),
                "gated_opportunity_id": opportunity.pk,
                "rep_customer_id": customer.pk,
            }
    raise AssertionError("the demo has no firing stage alert on a deal in negotiation")


def build_demo_site() -> dict[str, object]:
    from salesradar.accounts.models import User
    from salesradar.alerts.engine import evaluate
    from salesradar.alerts.rules import ensure_default_rules
    from salesradar.demo.services import build_demo
    from salesradar.health.services import refresh_health

    result = build_demo(seed=DEMO_SEED, size="small", today=DEMO_TODAY, truth_path=None)
    ensure_default_rules()
    evaluate(at=EVALUATED_AT)
    refresh_health(at=EVALUATED_AT)  # the health pages read the stored scores
    planted = {(item.entity_type, item.entity_id) for item in result.ground_truth if item.planted}
    actors = choose_actors(planted)
    for username in (actors["manager"], actors["rep"]):
        user = User.objects.get(username=username)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return actors


@pytest.fixture(scope="package")
def demo_site(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> Iterator[DemoSite]:
    # The server thread reads the database for as long as it runs, so access stays unblocked.
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        own_databases = None
        if connection.settings_dict["NAME"] != connection.creation._get_test_db_name():
            # pytest-django sets up the test database only when some collected test is
            # marked for it; run on their own, these tests set it up themselves.
            own_databases = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        call_command("flush", interactive=False, verbosity=0)
        actors = build_demo_site()
        server = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield DemoSite(url=f"http://127.0.0.1:{server.port}", **actors)  # type: ignore[arg-type]
        finally:
            server.terminate()
            call_command("flush", interactive=False, verbosity=0)
            if own_databases is not None:
                teardown_databases(own_databases, verbosity=0)


@pytest.fixture(scope="package")
def playwright_driver(demo_site: DemoSite) -> Iterator[Playwright]:
    # TRICKY: Playwright's sync API runs an event loop in this thread, and Django refuses
    # database work while one runs; so the demo is built before the driver starts and
    # flushed after it stops (fixture teardown runs in reverse order).
    assert CHROMIUM.exists(), "install Debian's chromium: apt-get install -y chromium"
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


def open_context(browser: Browser, **options: object) -> BrowserContext:
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai", **options)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A desktop-sized page; its last state is saved as ``screenshot.png`` in ``tmp_path``."""
    context = open_context(browser, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
    context.close()


@pytest.fixture
def phone_page(browser: Browser, tmp_path: Path) -> Iterator[Page]:
    """A 390-px-wide touch screen like a current iPhone; screenshot saved in ``tmp_path``."""
    context = open_context(
        browser, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    page.screenshot(path=str(tmp_path / "screenshot.png"), full_page=True)
    context.close()


def sign_in(page: Page, site: DemoSite, username: str) -> None:
    page.goto(f"{site.url}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
