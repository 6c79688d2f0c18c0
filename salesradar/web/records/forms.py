"""Forms of the record pages: they parse and validate; ``records.services`` writes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from salesradar.accounts.choices import Role
from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.activities.choices import ActivityKind, Outcome
from salesradar.crm.models import Contact, Customer
from salesradar.crm.services import customer_clashes
from salesradar.pipeline.choices import LostReason, evidence_label
from salesradar.pipeline.models import Opportunity, Stage

# GB 32100-2015: 18 characters from digits and upper-case letters without I, O, S, V, Z.
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
QUICK_KINDS = [ActivityKind.CALL, ActivityKind.VISIT, ActivityKind.IM, ActivityKind.MEETING]


class FastSelect(forms.Select):
    """A select rendered in Python rather than one template per option.

    Django renders every option through the template engine; for a rep's few hundred
    customers that alone costs over 100 ms a page, against a 300 ms budget.
    """

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = {str(item) for item in (value if isinstance(value, list | tuple) else [value])}
        chosen.discard("None")
        options = "".join(
            f'<option value="{escape(option)}"{" selected" if str(option) in chosen else ""}>'
            f"{escape(label)}</option>"
            for option, label in self.choices
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            mark_safe(options),  # every value and label above is escaped
        )


class StyledForm(forms.Form):
    """Give every widget Tabler's classes so templates can render fields in a loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style(self)


def style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.RadioSelect | forms.CheckboxInput):
            continue
        css = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", css)


def owner_choices(user: Any) -> forms.ModelChoiceField:
    """An owner picker limited to the active people ``user`` may see (a rep: only themself)."""
    people = visible(user, User).filter(is_active=True).order_by("last_name", "first_name")
    return forms.ModelChoiceField(queryset=people, label=_("Owner"), required=False)


class FollowupForm(StyledForm):
    """The quick "log a follow-up" form: a customer, what happened and the next step."""

    customer = forms.ModelChoiceField(
        queryset=Customer.objects.none(), label=_("Customer"), widget=FastSelect
    )
    kind = forms.ChoiceField(
        label=_("How"),
        choices=[(kind.value, kind.label) for kind in QUICK_KINDS],
        initial=ActivityKind.CALL,
        widget=forms.RadioSelect,
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=Outcome.choices,
        initial=Outcome.POSITIVE,
        widget=forms.RadioSelect,
    )
    summary = forms.CharField(
        label=_("What happened"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    opportunity = forms.ModelChoiceField(
        queryset=Opportunity.objects.none(),
        label=_("Opportunity"),
        required=False,
        widget=FastSelect,
    )
    decision_maker_present = forms.BooleanField(label=_("Decision maker present"), required=False)
    next_step = forms.CharField(label=_("Next step"), required=False, max_length=200)
    next_step_due = forms.DateField(
        label=_("Next step due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self, *args: Any, user: Any, customer: Customer | None = None, **kwargs: Any
    ) -> None:
        """Offer the user's own customers, or only ``customer`` when logging from its page."""
        super().__init__(*args, **kwargs)
        self.fixed_customer = customer
        customers = self.fields["customer"]
        opportunities = self.fields["opportunity"]
        assert isinstance(customers, forms.ModelChoiceField)
        assert isinstance(opportunities, forms.ModelChoiceField)
        # Any visible customer is accepted (a manager logging for the team, a link from a
        # customer page), but the picker lists only the user's own: a phone needs a short list.
        customers.queryset = visible(user, Customer)
        opportunities.queryset = visible(user, Opportunity).filter(closed_at__isnull=True)
        open_deals = opportunities.queryset
        if customer is not None:
            self.initial["customer"] = customer.pk
            customers.widget = forms.HiddenInput()
            open_deals = open_deals.filter(customer=customer)
        else:
            own = Customer.objects.filter(owner=user).order_by("name").values_list("pk", "name")
            chosen = str(self.data.get("customer") or self.initial.get("customer") or "")
            listed = list(own[:500])
            if chosen.isdigit() and int(chosen) not in {pk for pk, _n in listed}:
                extra = visible(user, Customer).filter(pk=int(chosen)).values_list("pk", "name")
                listed = list(extra) + listed
            customers.choices = [("", _("Choose a customer")), *listed]
            # Choosing a customer reloads the form with that customer's open deals (htmx).
            customers.widget.attrs.update(
                {
                    "hx-get": reverse("web:followup"),
                    "hx-trigger": "change",
                    "hx-target": "#followup-card",
                    "hx-swap": "outerHTML",
                    "hx-include": "closest form",
                }
            )
            if chosen.isdigit():
                open_deals = open_deals.filter(customer_id=int(chosen))
            else:
                open_deals = open_deals.none()
        opportunities.choices = [
            ("", _("None")),
            *[
                (pk, f"{code} · {name}")
                for pk, code, name in open_deals.order_by("name").values_list("pk", "code", "name")[
                    :100
                ]
            ],
        ]
        style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        customer, deal = data.get("customer"), data.get("opportunity")
        if customer and deal and deal.customer_id != customer.pk:
            self.add_error("opportunity", _("This opportunity belongs to another customer."))
        due = data.get("next_step_due")
        if due and due < timezone.localdate():
            self.add_error("next_step_due", _("The next step cannot be due in the past."))
        if due and not data.get("next_step"):
            self.add_error("next_step", _("Say what the next step is, or clear its date."))
        return data


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ["name", "credit_code", "industry", "region", "size", "tier", "lifecycle", "owner"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["owner"] = owner_choices(user)
        if user.role == Role.REP and not user.is_superuser:
            # A rep's new customers are their own; handing one over is a manager's call.
            self.fields["owner"].disabled = True
            if self.instance.pk is None:
                self.initial["owner"] = user.pk
        self.fields["credit_code"].help_text = _("18 characters, as printed on the licence.")
        style(self)

    def clean_credit_code(self) -> str | None:
        code = (self.cleaned_data.get("credit_code") or "").strip().upper()
        if not code:
            return None
        if not CREDIT_CODE.match(code):
            raise ValidationError(
                _("A unified social credit code has 18 digits and capital letters.")
            )
        clashes = customer_clashes(name="", credit_code=code, exclude_pk=self.instance.pk)
        if clashes:
            raise ValidationError(clashes["credit_code"])
        return code

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        clashes = customer_clashes(name=name, credit_code=None, exclude_pk=self.instance.pk)
        if clashes:
            raise ValidationError(clashes["name"])
        return name


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "title", "decision_role", "phone", "email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style(self)

    def clean_phone(self) -> str:
        phone: str = self.cleaned_data.get("phone", "").strip()
        if phone and not re.fullmatch(r"[+0-9][0-9 ()-]{4,30}", phone):
            raise ValidationError(_("Enter a phone number with digits, spaces or dashes."))
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("phone") and not data.get("email") and not self.errors:
            raise ValidationError(_("Give a phone number or an email address."))
        return data


class OpportunityForm(forms.ModelForm):
    class Meta:
        model = Opportunity
        fields = ["name", "owner", "amount", "product_line", "expected_close_date"]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = owner_choices(user)
        self.fields["owner"].required = True
        if user.role == Role.REP and not user.is_superuser:
            self.fields["owner"].disabled = True
            if self.instance.pk is None:
                self.initial["owner"] = user.pk
        self.fields["amount"].min_value = 0
        style(self)

    def clean_amount(self) -> Any:
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount < 0:
            raise ValidationError(_("The amount cannot be negative."))
        return amount

    def clean_expected_close_date(self) -> dt.date | None:
        day: dt.date | None = self.cleaned_data.get("expected_close_date")
        changed = "expected_close_date" in self.changed_data
        if day and changed and day < timezone.localdate():
            raise ValidationError(_("The expected close date cannot be in the past."))
        return day


class StageMoveForm(StyledForm):
    """Move a deal: the next stage is offered first, and going back asks for a reason."""

    to_stage = forms.ChoiceField(label=_("Move to"))
    lost_reason = forms.ChoiceField(
        label=_("Lost reason"), choices=[("", "—"), *LostReason.choices], required=False
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)

    def __init__(
        self, *args: Any, opportunity: Opportunity, wanted: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        stages = list(Stage.objects.filter(process_id=opportunity.process_id).order_by("order"))
        current = next((stage for stage in stages if stage.pk == opportunity.stage_id), None)
        order = current.order if current else -1
        self.stage_orders = {stage.key: stage.order for stage in stages if not stage.is_terminal}
        self.current_order = order
        to_stage = self.fields["to_stage"]
        assert isinstance(to_stage, forms.ChoiceField)
        to_stage.choices = [
            (stage.key, str(stage)) for stage in stages if stage.pk != opportunity.stage_id
        ]
        ahead = [stage for stage in stages if stage.order > order]
        default = wanted if wanted in dict(to_stage.choices) else None
        if default is None and ahead:
            default = ahead[0].key
        if default:
            self.initial.setdefault("to_stage", default)
        self.fields["note"].help_text = _("Required when the deal goes back to an earlier stage.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = data.get("to_stage")
        going_back = target in self.stage_orders and self.stage_orders[target] < self.current_order
        if going_back and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why the deal goes back to an earlier stage."))
        return data


def gate_evidence_kinds(opportunity: Opportunity) -> list[str]:
    """The evidence kinds the gates of the opportunity's process ask for, in stage order."""
    kinds: list[str] = []
    for gate in (
        Stage.objects.filter(process_id=opportunity.process_id)
        .order_by("order")
        .values_list("gate", flat=True)
    ):
        for item in gate or []:
            kind = item.get("evidence") if isinstance(item, dict) else None
            if kind and kind not in kinds:
                kinds.append(str(kind))
    return kinds


class EvidenceForm(StyledForm):
    """Add a piece of proof a gate asks for: its kind, a title and an optional link.

    The kinds the process's gates name are offered by their label in the reader's language;
    a process whose gates name none takes any kind typed in.
    """

    kind = forms.SlugField(label=_("Kind of evidence"), max_length=60)
    title = forms.CharField(label=_("Title"), max_length=200)
    url = forms.URLField(label=_("Link"), required=False, assume_scheme="https")

    def __init__(self, *args: Any, opportunity: Opportunity, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = gate_evidence_kinds(opportunity)
        if kinds:
            self.fields["kind"] = forms.ChoiceField(
                label=_("Kind of evidence"),
                choices=[(kind, evidence_label(kind)) for kind in kinds],
                widget=FastSelect(attrs={"class": "form-select"}),
            )
        self.kinds = kinds

    def clean_kind(self) -> str:
        kind: str = self.cleaned_data["kind"].strip().lower()
        return kind
