"""The in-app inbox and, for admins and ops, the failed deliveries with a retry action."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from salesradar.accounts.visibility import visible
from salesradar.notify import dispatch
from salesradar.notify.choices import DeliveryStatus
from salesradar.notify.models import Delivery, InboxMessage
from salesradar.notify.services import mark_read, unread_count
from salesradar.web.permissions import manages_rules

PAGE_SIZE = 25


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """List the signed-in person's digests, newest first, unread ones marked."""
    show = request.GET.get("show", "all")
    messages_qs = visible(request.user, InboxMessage).filter(user=request.user)
    if show == "unread":
        messages_qs = messages_qs.filter(read_at__isnull=True)
    page = Paginator(messages_qs.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"page": page, "show": show, "unread": unread_count(request.user)}
    return render(request, "web/inbox/list.html", context)


@login_required
def inbox_message(request: HttpRequest, pk: int) -> HttpResponse:
    """Show one digest and mark it read."""
    own = visible(request.user, InboxMessage).filter(user=request.user)
    message = get_object_or_404(own, pk=pk)
    if message.read_at is None:
        mark_read(request.user, [message.pk], at=timezone.now())
        message.refresh_from_db(fields=["read_at"])
    return render(request, "web/inbox/detail.html", {"message": message})


@require_POST
@login_required
def inbox_mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted message ids (``message``), or every unread one (``all``), as read."""
    if request.POST.get("all"):
        own = visible(request.user, InboxMessage).filter(user=request.user)
        ids = own.values_list("pk", flat=True)
    else:
        ids = [int(value) for value in request.POST.getlist("message") if value.isdigit()]
    count = mark_read(request.user, ids, at=timezone.now())
    messages.success(
        request,
        ngettext("{count} message marked read.", "{count} messages marked read.", count).format(
            count=count
        ),
    )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = ""  # never bounce a person to another site
    return redirect(target or "web:inbox")


def _require_rule_manager(request: HttpRequest) -> None:
    if not manages_rules(request.user):
        raise PermissionDenied(_("Only administrators and sales operations may do this."))


@login_required
def deliveries(request: HttpRequest) -> HttpResponse:
    """List failed deliveries (admins and ops), newest first, with what the provider answered."""
    _require_rule_manager(request)
    status = request.GET.get("status", DeliveryStatus.FAILED)
    if status not in DeliveryStatus.values:
        status = DeliveryStatus.FAILED
    rows = (
        visible(request.user, Delivery)
        .filter(status=status)
        .select_related("channel", "recipient")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "status": status, "statuses": DeliveryStatus.choices}
    return render(request, "web/deliveries/list.html", context)


@require_POST
@login_required
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed delivery again through the notify app's own retry."""
    _require_rule_manager(request)
    delivery = get_object_or_404(visible(request.user, Delivery), pk=pk)
    if delivery.status != DeliveryStatus.FAILED:
        messages.warning(request, _("Only a failed delivery can be retried."))
    else:
        dispatch.retry(delivery, now=timezone.now())
        messages.success(request, _("The delivery is queued again."))
    return redirect("web:deliveries")


BELL_ITEMS = 6


@login_required
def inbox_latest(request: HttpRequest) -> HttpResponse:
    """The bell's dropdown: the latest notifications, unread first marked, and the count."""
    latest = list(
        request.user.inbox.only("pk", "subject", "created_at", "read_at").order_by(
            "-created_at", "-pk"
        )[:BELL_ITEMS]
    )
    context = {"latest": latest, "unread": unread_count(request.user)}
    return render(request, "web/inbox/_bell.html", context)
