"""Template helpers shared by every page: icons, severity badges, navigation, query strings."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from salesradar.web.icons import ICON_PATHS

register = template.Library()


SEVERITY_STYLE: dict[str, tuple[str, str, Any]] = {
    # severity -> (Tabler colour, icon, word); the word and icon make colour never the only signal
    "danger": ("red", "alert-octagon", _("Danger")),
    "warning": ("yellow", "alert-triangle", _("Warning")),
    "normal": ("green", "circle-check", _("Normal")),
    "info": ("azure", "info-circle", _("Info")),
}

STATUS_STYLE: dict[str, tuple[str, str, Any]] = {
    # three-state progress (on track / behind / at risk) for targets and trends
    "on_track": ("green", "circle-check", _("On track")),
    "behind": ("yellow", "alert-triangle", _("Behind")),
    "at_risk": ("red", "alert-octagon", _("At risk")),
    "no_data": ("secondary", "info-circle", _("No data")),
}


@register.simple_tag
def icon(name: str, css_class: str = "") -> SafeString:
    """Render the named outline icon as inline SVG, hidden from screen readers."""
    return _icon(name, css_class)


@lru_cache(maxsize=256)
def _icon(name: str, css_class: str) -> SafeString:
    # a page draws the same few icons hundreds of times; build each one once
    try:
        paths = ICON_PATHS[name]
    except KeyError:
        raise template.TemplateSyntaxError(f"unknown icon {name!r}") from None
    inner = format_html_join("", '<path d="{}"/>', ((d,) for d in paths))
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="icon {}" width="24" height="24" '
        'viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">'
        "{}</svg>",
        css_class,
        inner,
    )


def _badge(style: tuple[str, str, Any], label: Any = None) -> SafeString:
    colour, icon_name, word = style
    return format_html(
        '<span class="badge bg-{}-lt sr-badge">{} {}</span>',
        colour,
        _icon(icon_name, "icon-sm"),
        label if label is not None else word,
    )


@register.simple_tag
def severity_badge(severity: str, label: Any = None) -> SafeString:
    """Render a severity as colour + icon + word (the word defaults to the severity's name)."""
    return _badge(SEVERITY_STYLE.get(str(severity), SEVERITY_STYLE["info"]), label)


@register.simple_tag
def status_badge(status: str, label: Any = None) -> SafeString:
    """Render a three-state progress status as colour + icon + word."""
    return _badge(STATUS_STYLE.get(str(status), STATUS_STYLE["no_data"]), label)


@register.filter
def severity_colour(severity: str) -> str:
    return SEVERITY_STYLE.get(str(severity), SEVERITY_STYLE["info"])[0]


@register.simple_tag(takes_context=True)
def query_replace(context: dict[str, Any], **changes: Any) -> str:
    """Return the current query string with ``changes`` applied (for pagination and filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


NAV_LINKS: tuple[tuple[str, str, Any, bool], ...] = (
    # (url name, icon, label, admins and ops only); pages not installed yet are skipped
    ("web:cockpit", "gauge", _("Cockpit"), False),
    ("web:workspace", "checklist", _("My workspace"), False),
    ("web:customer_list", "building", _("Customers"), False),
    ("health:list", "trending-up", _("Customer health"), False),
    ("reports:weekly", "chart-bar", _("Weekly report"), False),
    ("review:cards", "list-check", _("Action cards"), False),
    ("review:director", "users", _("Director views"), False),
    ("web:opportunity_list", "briefcase", _("Opportunities"), False),
    ("web:deal_board", "layout-kanban", _("Deal board"), False),
    ("web:pool", "users-group", _("Lead pool"), False),
    ("web:alert_list", "alert-triangle", _("Alerts"), False),
    ("web:rule_list", "settings", _("Rules"), True),
    ("web:inbox", "inbox", _("Inbox"), False),
)


@register.simple_tag(takes_context=True)
def nav_state(context: dict[str, Any]) -> dict[str, Any]:
    """Return the navigation links the signed-in user may follow and the inbox unread count."""
    from salesradar.notify.services import unread_count
    from salesradar.web.permissions import manages_rules

    request = context["request"]
    user = request.user
    unread = unread_count(user)
    current = request.resolver_match.view_name if request.resolver_match else ""
    links = []
    for name, icon_name, label, restricted in NAV_LINKS:
        if restricted and not manages_rules(user):
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        active = current == name or current.startswith(name.removesuffix("_list") + "_")
        badge = unread if name == "web:inbox" else 0
        links.append(
            {"url": url, "icon": icon_name, "label": label, "active": active, "badge": badge}
        )
    return {"links": links, "unread": unread}


INDUSTRY_LABELS: dict[str, Any] = {
    # the industry keys the demo and imports write; anything else is shown as typed
    "manufacturing": _("Manufacturing"),
    "software": _("Software"),
    "retail": _("Retail"),
    "healthcare": _("Healthcare"),
    "logistics": _("Logistics"),
    "energy": _("Energy"),
    "construction": _("Construction"),
    "finance": _("Finance"),
    "education": _("Education"),
    "food": _("Food and beverage"),
}


@register.filter
def industry_label(value: str) -> Any:
    """An industry key in the reader's language ("manufacturing" -> 制造业)."""
    return INDUSTRY_LABELS.get(str(value or "").strip().lower(), value)
