"""Serializers: strict about unknown keys, limited to what the caller may see, model-validated."""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, RelatedField

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import visible
from salesradar.activities.models import Activity, Task
from salesradar.alerts.models import Alert
from salesradar.core.errors import DomainError
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.pipeline.choices import LostReason
from salesradar.pipeline.models import (
    Contract,
    Invoice,
    Opportunity,
    Quote,
    StageChange,
    Target,
)


def has_visibility(model: type[models.Model]) -> bool:
    return model is Team or hasattr(model, "owner_path")


EARLIEST_YEAR = 1900
"""Times before this are refused: no sales record is that old, and before time zones were
standardised Asia/Shanghai had a local mean time offset (+08:05:43) that RFC 3339, and so the
schema's ``date-time``, cannot express."""


class ApiDateTimeField(serializers.DateTimeField):
    """A date-time that refuses years before 1900 with a message naming the limit."""

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)
        if parsed.year < EARLIEST_YEAR:
            raise serializers.ValidationError(
                _("Give a time from the year {year} on.").format(year=EARLIEST_YEAR)
            )
        return parsed


class StrictFieldsMixin:
    """Refuse keys the serializer does not know, instead of silently dropping them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError(
                    {key: [_("Unknown field.")] for key in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class ApiSerializer(StrictFieldsMixin, serializers.Serializer):
    """A plain input serializer for actions."""


class ApiModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Related choices are limited to visible rows; the model's own validation runs too."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: ApiDateTimeField,
    }

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return fields
        for field in fields.values():
            related = field.child_relation if isinstance(field, ManyRelatedField) else field
            if (
                isinstance(related, RelatedField)
                and not related.read_only
                and related.queryset is not None
                and has_visibility(related.queryset.model)
            ):
                related.queryset = visible(user, related.queryset.all())
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        model = self.Meta.model
        candidate = copy.copy(self.instance) if self.instance is not None else model()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        exclude = [field.name for field in model._meta.fields if not field.editable]
        try:
            candidate.full_clean(exclude=exclude, validate_unique=False)
        except DjangoValidationError as error:
            if hasattr(error, "error_dict"):
                raise serializers.ValidationError(error.message_dict) from None
            raise serializers.ValidationError({"non_field_errors": error.messages}) from None
        return attrs


class OwnedDefaultMixin:
    """On create, an omitted owner means the caller."""

    owner_field = "owner"

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()  # type: ignore[misc]
        fields[self.owner_field].required = False
        return fields  # type: ignore[no-any-return]

    def create(self, validated_data: dict[str, Any]) -> Any:
        validated_data.setdefault(self.owner_field, self.context["request"].user)
        return super().create(validated_data)  # type: ignore[misc]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and self.owner_field not in attrs:  # type: ignore[attr-defined]
            attrs[self.owner_field] = self.context["request"].user  # type: ignore[attr-defined]
        return super().validate(attrs)  # type: ignore[misc]


class UserSerializer(ApiModelSerializer):
    full_name = serializers.CharField(source="get_full_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "full_name", "email", "role", "team", "language", "is_active"]
        read_only_fields = fields


class TeamSerializer(ApiModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "code", "name", "parent", "manager", "region", "path"]
        read_only_fields = fields


class CustomerSerializer(OwnedDefaultMixin, ApiModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "credit_code",
            "industry",
            "region",
            "size",
            "tier",
            "lifecycle",
            "owner",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


class ContactSerializer(ApiModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "customer",
            "name",
            "title",
            "decision_role",
            "phone",
            "email",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class LeadSerializer(OwnedDefaultMixin, ApiModelSerializer):
    class Meta:
        model = Lead
        fields = [
            "id",
            "code",
            "company_name",
            "contact_name",
            "phone",
            "email",
            "region",
            "industry",
            "source",
            "status",
            "owner",
            "customer",
            "created_at",
            "assigned_at",
            "first_contact_at",
            "recycle_count",
        ]
        read_only_fields = ["created_at", "assigned_at", "recycle_count"]


class OpportunitySerializer(OwnedDefaultMixin, ApiModelSerializer):
    stage_key = serializers.CharField(source="stage.key", read_only=True)
    # an open or won deal has no lost reason: "" is a value the schema must allow
    lost_reason = serializers.ChoiceField(
        choices=LostReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "code",
            "name",
            "customer",
            "owner",
            "process",
            "stage",
            "stage_key",
            "amount",
            "currency",
            "product_line",
            "expected_close_date",
            "created_at",
            "updated_at",
            "stage_entered_at",
            "closed_at",
            "lost_reason",
            "lost_note",
        ]
        read_only_fields = [
            "stage",
            "created_at",
            "updated_at",
            "stage_entered_at",
            "closed_at",
            "lost_reason",
        ]
        extra_kwargs = {"process": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from salesradar.pipeline.services import default_process, first_open_stage

        if self.instance is None:  # the same choice open_opportunity makes, for the model check
            try:
                attrs["process"] = default_process(attrs.get("process"))
                attrs["stage"] = first_open_stage(attrs["process"])
            except DomainError as refused:
                raise serializers.ValidationError(refused.fields) from None
        elif "process" in attrs and attrs["process"].pk != self.instance.process_id:
            raise serializers.ValidationError(
                {"process": [_("The process of an opportunity cannot change.")]}
            )
        return super().validate(attrs)


class StageChangeSerializer(ApiModelSerializer):
    # the opening entry of a deal's history has no from-stage
    from_stage_key = serializers.CharField(
        source="from_stage.key", read_only=True, default=None, allow_null=True
    )
    to_stage_key = serializers.CharField(source="to_stage.key", read_only=True)

    class Meta:
        model = StageChange
        fields = [
            "id",
            "opportunity",
            "from_stage",
            "from_stage_key",
            "to_stage",
            "to_stage_key",
            "changed_at",
            "changed_by",
            "is_regression",
            "note",
        ]
        read_only_fields = fields


class ActivitySerializer(OwnedDefaultMixin, ApiModelSerializer):
    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "customer",
            "opportunity",
            "contact",
            "owner",
            "occurred_at",
            "duration_minutes",
            "outcome",
            "summary",
            "decision_maker_present",
            "next_step",
            "next_step_due",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from salesradar.activities.services import check_followup

        attrs = super().validate(attrs)
        merged = {
            name: attrs.get(name, getattr(self.instance, name, None))
            for name in ("customer", "opportunity", "contact", "occurred_at")
        }
        try:
            check_followup(**merged, summary=attrs.get("summary"), next_step=attrs.get("next_step"))
        except DomainError as refused:
            raise serializers.ValidationError(refused.fields) from None
        return attrs


class TaskSerializer(ApiModelSerializer):
    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "description",
            "assignee",
            "created_by",
            "due_at",
            "status",
            "origin",
            "origin_ref",
            "customer",
            "opportunity",
            "created_at",
            "completed_at",
        ]
        read_only_fields = ["created_by", "origin", "origin_ref", "created_at", "completed_at"]
        extra_kwargs = {"assignee": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:
            user = self.context["request"].user
            attrs.setdefault("assignee", user)
            attrs["created_by"] = user
        return super().validate(attrs)


class QuoteSerializer(ApiModelSerializer):
    class Meta:
        model = Quote
        fields = [
            "id",
            "opportunity",
            "version",
            "status",
            "requested_at",
            "sent_at",
            "amount",
            "currency",
        ]
        validators: list[Any] = []  # the model's constraints are checked in validate()


class ContractSerializer(ApiModelSerializer):
    class Meta:
        model = Contract
        fields = [
            "id",
            "code",
            "customer",
            "opportunity",
            "renewal_of",
            "signed_at",
            "starts_on",
            "ends_on",
            "amount",
            "currency",
            "status",
        ]


class InvoiceSerializer(ApiModelSerializer):
    class Meta:
        model = Invoice
        fields = [
            "id",
            "code",
            "contract",
            "customer",
            "issued_on",
            "due_on",
            "amount",
            "currency",
            "paid_amount",
            "paid_at",
        ]


class TargetSerializer(ApiModelSerializer):
    class Meta:
        model = Target
        fields = ["id", "user", "team", "period", "period_start", "measure", "value", "currency"]
        validators: list[Any] = []  # the model's constraints are checked in validate()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        from salesradar.api.errors import api_error
        from salesradar.api.services import check_target_author

        try:
            check_target_author(self.context["request"].user)
        except DomainError as refused:  # a permission refusal must stay a 403, not a 400
            raise api_error(refused) from None
        return super().validate(attrs)


class AlertSerializer(ApiModelSerializer):
    rule_key = serializers.CharField(source="rule.key", read_only=True)
    rule_name = serializers.CharField(source="rule.__str__", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "rule_key",
            "rule_name",
            "fingerprint",
            "entity_type",
            "entity_id",
            "state",
            "severity",
            "value",
            "threshold",
            "reference",
            "message",
            "labels",
            "owner",
            "team",
            "started_at",
            "firing_since",
            "last_evaluated_at",
            "resolved_at",
            "acknowledged_at",
            "acknowledged_by",
            "ack_note",
            "snoozed_until",
            "escalation_level",
        ]
        read_only_fields = fields


class MoveStageSerializer(ApiSerializer):
    stage = serializers.CharField(max_length=60, help_text=_("Key of the stage to move to."))
    at = ApiDateTimeField(required=False, help_text=_("When the move happened; now if omitted."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lost_reason = serializers.ChoiceField(
        choices=LostReason.choices, required=False, allow_blank=True
    )


class NoteSerializer(ApiSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SnoozeSerializer(ApiSerializer):
    until = ApiDateTimeField(help_text=_("When the alert may fire again."))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ErrorSerializer(serializers.Serializer):
    """The shape of every error answer (for the schema)."""

    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField()
