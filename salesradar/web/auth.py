"""Sign-in and sign-out: Django's auth views with our templates and login throttling."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from salesradar.web import throttle


def client_address(request: HttpRequest | None) -> str:
    # REMOTE_ADDR, not X-Forwarded-For: a client can forge that header to dodge the lock.
    return str(request.META.get("REMOTE_ADDR", "")) if request is not None else ""


LOCKED = _("Too many failed sign-ins for this user name. Try again in {minutes} minutes.")


class ThrottledSignIn(forms.Form):
    """Refuse to check the password at all while the user name and address are locked.

    Mixed into every sign-in form (the app's and the admin's), so one lockout, counted in the
    shared cache, covers every way to guess a password.
    """

    request: HttpRequest | None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request)
        if username and throttle.is_locked(username, address):
            minutes = throttle.lock_seconds() // 60
            raise forms.ValidationError(str(LOCKED).format(minutes=minutes), code="locked")
        try:
            cleaned: dict[str, Any] = super().clean()
        except forms.ValidationError:
            if username:
                throttle.record_failure(username, address)
            raise
        throttle.clear(username, address)
        return cleaned


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """The app's sign-in form (/login/)."""


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The admin's sign-in form (/admin/login/), where superusers sign in."""


class SignInView(auth_views.LoginView):
    template_name = "web/registration/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """Sign out on POST only (Django's rule), then show the sign-in page."""
