"""Sign-in, sign-out, login throttling, the home redirect and the per-user time zone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from tests.factories import UserFactory
from tests.web.support import english_client

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    cache.clear()


@pytest.fixture
def client() -> Client:
    return english_client()


def sign_in(client: Client, username: str, password: str = PASSWORD) -> object:
    return client.post(reverse("web:login"), {"username": username, "password": password})


def test_anonymous_visitor_is_sent_to_the_sign_in_page(client: Client) -> None:
    response = client.get(reverse("web:cockpit"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_sign_in_page_renders_the_tabler_layout_with_vendored_assets(client: Client) -> None:
    response = client.get(reverse("web:login"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "web/vendor/tabler/tabler.min.css" in html
    assert "web/vendor/htmx/htmx.min.js" in html
    assert "web/vendor/echarts/echarts.min.js" in html
    assert "https://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert 'name="language"' in html


def test_manager_signs_in_and_lands_on_the_cockpit(client: Client) -> None:
    manager = UserFactory(role=Role.MANAGER)

    response = sign_in(client, manager.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    home = client.get(reverse("web:home"))

    assert home.status_code == 302
    assert home["Location"] == reverse("web:cockpit")


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.OPS, Role.ADMIN])
def test_directors_ops_and_admins_land_on_the_cockpit(client: Client, role: Role) -> None:
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("web:home"))

    assert response["Location"] == reverse("web:cockpit")


def test_rep_lands_on_the_workspace(client: Client) -> None:
    client.force_login(UserFactory(role=Role.REP))

    response = client.get(reverse("web:home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:workspace")


def test_wrong_password_shows_an_error_and_does_not_sign_in(client: Client) -> None:
    rep = UserFactory()

    response = sign_in(client, rep.username, "wrong")

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_user_name_is_locked_after_repeated_failures_even_with_the_right_password(
    client: Client, settings: object
) -> None:
    settings.LOGIN_MAX_FAILURES = 3  # type: ignore[attr-defined]
    rep = UserFactory()
    for _ in range(3):
        sign_in(client, rep.username, "wrong")

    response = sign_in(client, rep.username)

    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lock_is_per_address_so_another_address_may_still_sign_in(settings: object) -> None:
    settings.LOGIN_MAX_FAILURES = 2  # type: ignore[attr-defined]
    rep = UserFactory()
    attacker = english_client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        sign_in(attacker, rep.username, "wrong")
    office = english_client(REMOTE_ADDR="198.51.100.7")

    response = sign_in(office, rep.username)

    assert response.status_code == 302
    assert "_auth_user_id" in office.session


def test_lock_expires_after_the_configured_minutes(client: Client, settings: object) -> None:
    settings.LOGIN_MAX_FAILURES = 1  # type: ignore[attr-defined]
    settings.LOGIN_LOCK_MINUTES = 1  # type: ignore[attr-defined]
    rep = UserFactory()
    sign_in(client, rep.username, "wrong")
    assert "Too many" in sign_in(client, rep.username).content.decode()

    from salesradar.web import throttle

    # the cache expiry is the lock: clearing the key is what the timeout does
    cache.delete(throttle._key(rep.username, "127.0.0.1"))
    response = sign_in(client, rep.username)

    assert response.status_code == 302


def test_success_clears_the_failure_count(client: Client, settings: object) -> None:
    settings.LOGIN_MAX_FAILURES = 2  # type: ignore[attr-defined]
    rep = UserFactory()
    sign_in(client, rep.username, "wrong")
    sign_in(client, rep.username)
    client.post(reverse("web:logout"))

    sign_in(client, rep.username, "wrong")
    response = sign_in(client, rep.username)

    assert response.status_code == 302


def test_sign_out_is_a_post_and_ends_the_session(client: Client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))

    assert client.get(reverse("web:logout")).status_code == 405
    response = client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:login")
    assert "_auth_user_id" not in client.session


def test_times_are_shown_in_the_users_own_zone(client: Client) -> None:
    user = UserFactory(role=Role.MANAGER, time_zone="Europe/Berlin")
    client.force_login(user)

    response = client.get(reverse("web:account"))

    assert "Times shown in Europe/Berlin" in response.content.decode()


def test_unknown_stored_zone_falls_back_to_the_site_default(client: Client) -> None:
    user = UserFactory(role=Role.MANAGER, time_zone="Mars/Olympus")
    client.force_login(user)

    response = client.get(reverse("web:account"))

    assert response.status_code == 200
    assert "Times shown in Asia/Shanghai" in response.content.decode()


def test_user_changes_their_time_zone(client: Client) -> None:
    user = UserFactory(role=Role.REP)
    client.force_login(user)

    response = client.post(reverse("web:account"), {"time_zone": "America/New_York"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "America/New_York"
    assert "Times shown in America/New_York" in client.get(response["Location"]).content.decode()


def test_invalid_time_zone_is_refused_with_an_error(client: Client) -> None:
    user = UserFactory(role=Role.REP)
    client.force_login(user)

    response = client.post(reverse("web:account"), {"time_zone": "Nowhere/Else"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert User.objects.get(pk=user.pk).time_zone == "Asia/Shanghai"


def test_language_switch_changes_the_interface_language(client: Client) -> None:
    client.force_login(UserFactory(role=Role.MANAGER))

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/account/"})
    response = client.get(reverse("web:account"))

    assert "时区" in response.content.decode()


def test_htmx_requests_carry_the_csrf_token_the_layout_embeds() -> None:
    manager = UserFactory(role=Role.MANAGER)
    client = english_client(enforce_csrf_checks=True)
    client.force_login(manager)
    page = client.get(reverse("web:account")).content.decode()
    token = page.split('hx-headers=\'{"X-CSRFToken": "', 1)[1].split('"', 1)[0]

    refused = client.post(reverse("web:inbox_mark_read"), {"all": "1"})
    accepted = client.post(
        reverse("web:inbox_mark_read"), {"all": "1"}, headers={"X-CSRFToken": token}
    )

    assert refused.status_code == 403
    assert accepted.status_code == 302


@pytest.mark.parametrize(("https", "secure"), [("1", True), ("", False)])
def test_cookies_are_secure_when_served_over_https(
    tmp_path: Path, https: str, secure: bool
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "salesradar.config.settings",
        "SALESRADAR_DATA_DIR": str(tmp_path),
        "SALESRADAR_HTTPS": https,
        "SALESRADAR_BASE_URL": "https://radar.example.cn",
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "getattr(s, 'SECURE_PROXY_SSL_HEADER', None) is not None, "
        "list(getattr(s, 'CSRF_TRUSTED_ORIGINS', [])))"
    )

    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )

    origins = "['https://radar.example.cn']" if secure else "[]"
    assert result.stdout.split() == [str(secure)] * 4 + [origins]


def test_a_malformed_lockout_setting_is_refused_loudly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "salesradar.config.settings",
        "SALESRADAR_DATA_DIR": str(tmp_path),
        "SALESRADAR_LOGIN_MAX_FAILURES": "five",
    }

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "SALESRADAR_LOGIN_MAX_FAILURES must be a whole number, not 'five'" in result.stderr


def test_an_unknown_time_zone_is_refused_when_a_user_is_saved_through_a_form() -> None:
    user = UserFactory(role=Role.REP)
    user.time_zone = "Mars/Olympus"

    with pytest.raises(ValidationError) as refused:
        user.full_clean()

    assert refused.value.message_dict["time_zone"] == [
        "“Mars/Olympus” is not a known time zone; use a name such as Asia/Shanghai."
    ]


def test_the_admin_sign_in_is_locked_by_the_same_counter(client: Client, settings: object) -> None:
    settings.LOGIN_MAX_FAILURES = 2  # type: ignore[attr-defined]
    boss = UserFactory(is_staff=True, is_superuser=True)
    admin_login = reverse("admin:login")
    sign_in(client, boss.username, "wrong")  # one failure on /login/ ...
    client.post(admin_login, {"username": boss.username, "password": "wrong"})  # ... one here

    response = client.post(
        admin_login, {"username": boss.username, "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failures_are_counted_in_a_cache_every_process_shares() -> None:
    from django.conf import settings

    backend = settings.CACHES["default"]["BACKEND"]

    assert "locmem" not in backend and "dummy" not in backend
