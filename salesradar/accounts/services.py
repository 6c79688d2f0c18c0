"""Accounts services: the one way a user is created outside the admin."""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]+")


def username_for(name: str) -> str:
    """A user name from a display name or e-mail: 王芳 -> 王芳, Wei Zhang -> wei.zhang."""
    text = unicodedata.normalize("NFKC", name).strip()
    if "@" in text:
        text = text.split("@", 1)[0]
    text = _USERNAME_UNSAFE.sub(".", text.casefold()).strip(".")
    return (text or "user")[:140]


def create_inactive_user(name: str, *, role: str = Role.REP) -> User:
    """Create an inactive user standing for someone named by another system (an old owner).

    The user cannot sign in (no usable password, inactive) but can own records, so history
    keeps its people; an administrator activates them later. ``name`` is a display name, a
    vendor user id or an e-mail; the user name is derived from it and made unique.
    """
    text = name.strip()
    email = ""
    try:
        validate_email(text)
        email = text.casefold()
    except ValidationError:  # not an e-mail: a display name or a vendor's user id
        email = ""
    base = username_for(text)
    with transaction.atomic():
        username = base
        suffix = 1
        while User.objects.filter(username=username).exists():
            suffix += 1
            username = f"{base}{suffix}"
        first_name, last_name = split_full_name("" if email else text)
        user = User(
            username=username,
            email=email,
            first_name=first_name,
            last_name=last_name,
            is_active=False,
            role=role,
        )
        user.set_unusable_password()
        user.save()
    return user


def split_full_name(name: str) -> tuple[str, str]:
    """Split a display name into (first, last): 王芳 -> (芳, 王); Wei Zhang -> (Wei, Zhang)."""
    text = name.strip()
    if not text:
        return "", ""
    if any("\u4e00" <= char <= "\u9fff" for char in text) and " " not in text:
        # family name first; two-character family names (欧阳, 司马) are rare enough to accept
        return text[1:][:150], text[:1]
    first, _sep, last = text.partition(" ")
    return first[:150], last.strip()[:150]
