"""The handover page: pick the leaving rep and the successors, preview, then confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesradar.accounts.choices import ALL_SEEING_ROLES, Role
from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.core.errors import DomainError
from salesradar.handover.models import Handover, Split
from salesradar.handover.services import KINDS, hand_over, plan_handover

KIND_LABELS = {
    "customer": gettext_lazy("Customers"),
    "opportunity": gettext_lazy("Open deals"),
    "lead": gettext_lazy("Leads"),
    "task": gettext_lazy("Open tasks"),
    "action_card": gettext_lazy("Action cards"),
    "alert": gettext_lazy("Open alerts"),
}


class HandoverForm(forms.Form):
    leaving = forms.ModelChoiceField(
        queryset=User.objects.none(), label=gettext_lazy("Leaving rep")
    )
    successors = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), label=gettext_lazy("Successors")
    )
    split = forms.ChoiceField(choices=Split.choices, label=gettext_lazy("Split"))
    mapping = forms.CharField(
        label=gettext_lazy("Tier or region mapping"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "For a tier or region split, one line each: A=username or 华东=username. "
            "Anything unmapped goes to the first successor."
        ),
    )
    effective_on = forms.DateField(
        label=gettext_lazy("Effective on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy("The rep is deactivated and their tokens revoked on this day."),
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = visible(user, User).filter(is_active=True).order_by("last_name", "first_name")
        self.fields["leaving"].queryset = people  # type: ignore[attr-defined]
        self.fields["successors"].queryset = people  # type: ignore[attr-defined]
        self.fields["effective_on"].initial = timezone.localdate()

    def clean_mapping(self) -> dict[str, int]:
        mapping: dict[str, int] = {}
        for number, line in enumerate(self.cleaned_data.get("mapping", "").splitlines(), 1):
            if not line.strip():
                continue
            key, sep, username = (part.strip() for part in line.partition("="))
            user = User.objects.filter(username=username).first() if sep else None
            if not key or user is None:
                raise forms.ValidationError(
                    _("Line {number}: write KEY=username with a known username.").format(
                        number=number
                    )
                )
            mapping[key] = user.pk
        return mapping


def _may_use(user: Any) -> bool:
    return bool(user.is_superuser or user.role in {Role.MANAGER, *ALL_SEEING_ROLES})


@login_required
def handover_page(request: HttpRequest) -> HttpResponse:
    """GET the form; POST "preview" shows exactly what would move; POST "confirm" moves it."""
    if not _may_use(request.user):
        raise PermissionDenied(_("Only managers, directors, ops and admins hand over reps."))
    form = HandoverForm(request.POST or None, user=request.user)
    context: dict[str, Any] = {"form": form, "kinds": KIND_LABELS}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        successors = list(data["successors"])
        try:
            if "confirm" in request.POST:
                effective = timezone.make_aware(
                    dt.datetime.combine(data["effective_on"], dt.time(0, 0))
                )
                handover = hand_over(
                    data["leaving"], successors=successors, split=data["split"],
                    mapping=data["mapping"], effective_at=effective, by=request.user,
                    at=timezone.now(), note=data["note"],
                )  # fmt: skip
                messages.success(request, _summary(handover))
                return redirect("handover:page")
            plan = plan_handover(
                data["leaving"], successors=successors, split=data["split"],
                mapping=data["mapping"], by=request.user,
            )  # fmt: skip
        except DomainError as refused:
            form.add_error(None, refused.message_text)
        else:
            names = {s.pk: str(s) for s in successors}
            counts = plan.counts()
            context["preview"] = {
                "rows": [(names[pk], [counts[pk][kind] for kind in KINDS]) for pk in counts],
                "moves": [(KIND_LABELS[m.kind], m.label, names[m.to_id]) for m in plan.moves],
                "total": len(plan.moves),
            }
    context["recent"] = Handover.objects.select_related("leaving", "created_by")[:10]
    return render(request, "handover/page.html", context)


def _summary(handover: Handover) -> str:
    if handover.status != "done":
        return _("Handover of {name} scheduled for {day}.").format(
            name=handover.leaving, day=timezone.localtime(handover.effective_at).date()
        )
    moved = ", ".join(f"{KIND_LABELS[kind]} {handover.moved.get(kind, 0)}" for kind in KINDS)
    return _("Handover of {name} done: {moved}.").format(name=handover.leaving, moved=moved)
