"""The REST API's endpoints: thin viewsets over visible rows, actions calling the services."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from salesradar.accounts.models import Team, User
from salesradar.accounts.visibility import visible
from salesradar.activities.models import Activity, Task
from salesradar.activities.services import log_followup
from salesradar.alerts import lifecycle
from salesradar.alerts.models import Alert
from salesradar.api import serializers as api_serializers
from salesradar.api.errors import ApiError
from salesradar.api.filters import filterset_for
from salesradar.api.idempotency import HEADER, run_idempotently
from salesradar.api.parsers import refuse_oversized
from salesradar.core.errors import Conflict, Invalid
from salesradar.crm import pool
from salesradar.crm.intake import LeadInput, intake_leads
from salesradar.crm.models import Contact, Customer, Lead
from salesradar.crm.services import save_customer
from salesradar.pipeline.models import (
    Contract,
    Invoice,
    Opportunity,
    Quote,
    StageChange,
    Target,
)
from salesradar.pipeline.services import move_stage, open_opportunity

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ERRORS = {
    code: OpenApiResponse(api_serializers.ErrorSerializer, description=description)
    for code, description in (
        (400, "Invalid input"),
        (401, "Not authenticated"),
        (403, "Missing scope"),
        (404, "Not found or not visible"),
    )
}
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 visible ASCII characters; a retry with the same "
    "key and body replays the first answer.",
)


class ApiViewMixin:
    """Visibility, body limits, NUL-free query strings and idempotency for every endpoint."""

    request: Request
    queryset: QuerySet[Any]

    def get_queryset(self) -> QuerySet[Any]:
        return visible(self.request.user, self.queryset.all())

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if any("\x00" in key or "\x00" in value for key, value in request.query_params.items()):
            raise ApiError(_("The query string contains a NUL character."), code="invalid_query")
        if request.method not in UNSAFE:
            return
        refuse_oversized(request.META)
        method = (request.method or "").lower()
        handler = getattr(self, method, None)
        if handler is None:
            return  # dispatch answers 405
        key = request.headers.get(HEADER)
        if key is not None:

            def keyed(request: Request, *args: Any, **kwargs: Any) -> Response:
                return run_idempotently(handler, request, key, *args, **kwargs)

            setattr(self, method, keyed)
        else:

            def atomic(request: Request, *args: Any, **kwargs: Any) -> Response:
                with transaction.atomic():
                    return handler(request, *args, **kwargs)

            setattr(self, method, atomic)


class ReadOnlyViewSet(ApiViewMixin, viewsets.ReadOnlyModelViewSet):
    pass


class WritableViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """List, read, create and partially update; nothing is deleted through the API."""

    http_method_names = ["get", "post", "patch", "head", "options"]


def documented(**extra: Any) -> Any:
    """Document the Idempotency-Key header and the error answers of the writes."""

    def decorate(viewset: type[Any]) -> type[Any]:
        serializer = viewset.serializer_class
        writes = {
            "create": extend_schema(
                parameters=[IDEMPOTENCY_PARAMETER], responses={201: serializer, **ERRORS}
            ),
            "partial_update": extend_schema(
                parameters=[IDEMPOTENCY_PARAMETER], responses={200: serializer, **ERRORS}
            ),
        }
        return extend_schema_view(**{**writes, **extra})(viewset)  # type: ignore[no-any-return]

    return decorate


class UserViewSet(ReadOnlyViewSet):
    """People the caller may see (a rep sees themself, a manager their teams)."""

    queryset = User.objects.order_by("id")
    serializer_class = api_serializers.UserSerializer
    filterset_class = filterset_for(User, exact=("role", "is_active"), references=("team",))
    ordering_fields = ["id", "username", "role"]


class TeamViewSet(ReadOnlyViewSet):
    queryset = Team.objects.order_by("path")
    serializer_class = api_serializers.TeamSerializer
    filterset_class = filterset_for(Team, references=("parent", "manager"))
    ordering_fields = ["id", "code", "name", "path"]


class CustomerViewSet(WritableViewSet):
    queryset = Customer.objects.order_by("id")
    serializer_class = api_serializers.CustomerSerializer
    filterset_class = filterset_for(
        Customer,
        exact=("tier", "lifecycle", "region", "industry", "size", "code"),
        references=("owner",),
        ranges=("created_at", "updated_at"),
        text=("name",),
    )
    ordering_fields = ["id", "code", "name", "tier", "created_at", "updated_at"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        customer = Customer(**serializer.validated_data)
        serializer.instance = save_customer(customer, at=timezone.now())

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        hand_over(serializer, by=self.request.user)
        customer = serializer.instance
        assert isinstance(customer, Customer)
        for name, value in serializer.validated_data.items():  # type: ignore[union-attr]
            setattr(customer, name, value)
        save_customer(customer, at=timezone.now())


def hand_over(serializer: serializers.BaseSerializer, *, by: Any) -> None:
    """Apply a change of ``owner`` through the pool's verbs, with their history and rules.

    ``owner: null`` releases the record to its pool (the previous owner then waits before
    reclaiming it); another owner is a hand assignment. The rest of the PATCH is saved after.
    """
    record = serializer.instance
    assert isinstance(record, Lead | Customer)
    validated: dict[str, Any] = serializer.validated_data  # type: ignore[assignment]
    if "owner" not in validated:
        return
    owner = validated.pop("owner")
    if (owner.pk if owner is not None else None) == record.owner_id:
        return
    if owner is None:
        pool.release(record, by=by)
    else:
        pool.assign(record, to=owner, by=by)


class ContactViewSet(WritableViewSet):
    queryset = Contact.objects.order_by("id")
    serializer_class = api_serializers.ContactSerializer
    filterset_class = filterset_for(Contact, exact=("decision_role",), references=("customer",))
    ordering_fields = ["id", "name", "created_at"]


class LeadViewSet(WritableViewSet):
    queryset = Lead.objects.order_by("id")
    serializer_class = api_serializers.LeadSerializer
    filterset_class = filterset_for(
        Lead,
        exact=("status", "source", "region", "code"),
        references=("owner", "customer"),
        ranges=("created_at", "assigned_at"),
        text=("company_name",),
    )
    ordering_fields = ["id", "code", "created_at", "assigned_at", "status"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        """Take the lead in as every lead comes in (``crm.intake``), then hand it to its owner."""
        data = dict(serializer.validated_data)
        owner, customer = data.pop("owner", None), data.pop("customer", None)
        row = LeadInput(
            company_name=data.get("company_name", ""),
            contact_name=data.get("contact_name", ""),
            phone=data.get("phone", ""),
            email=data.get("email", ""),
            region=data.get("region", ""),
            industry=data.get("industry", ""),
            code=data.get("code", ""),
        )
        at = timezone.now()
        [outcome] = intake_leads([row], source=data["source"], at=at, route=owner is None)
        if outcome.status == "duplicate":
            raise Conflict(
                " ".join(collision.message for collision in outcome.collisions),
                code="duplicate",
                fields={c.field: [c.message] for c in outcome.collisions},
            )
        if outcome.status == "invalid":
            raise Invalid(_("The lead is not valid."), code="invalid", fields=outcome.errors)
        lead = Lead.objects.get(pk=outcome.lead_id)
        if customer is not None:
            Lead.objects.filter(pk=lead.pk).update(customer=customer)
        if owner is not None and outcome.status == "created":
            pool.assign(lead, to=owner, by=self.request.user, at=at)
        lead.refresh_from_db()
        serializer.instance = lead

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        hand_over(serializer, by=self.request.user)
        serializer.save()


@documented(
    move_stage=extend_schema(
        request=api_serializers.MoveStageSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: api_serializers.OpportunitySerializer,
            409: OpenApiResponse(api_serializers.ErrorSerializer, description="Move refused"),
            422: OpenApiResponse(
                api_serializers.ErrorSerializer, description="A gate requirement is missing"
            ),
            **ERRORS,
        },
    ),
)
class OpportunityViewSet(WritableViewSet):
    queryset = Opportunity.objects.select_related("stage").order_by("id")
    serializer_class = api_serializers.OpportunitySerializer
    filterset_class = filterset_for(
        Opportunity,
        exact=("currency", "product_line", "lost_reason", "code"),
        references=("owner", "customer", "stage", "process"),
        ranges=("created_at", "updated_at", "closed_at", "expected_close_date"),
        text=("name",),
    )
    ordering_fields = ["id", "code", "amount", "created_at", "updated_at", "expected_close_date"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = open_opportunity(
            data.pop("customer"),
            owner=data.pop("owner"),
            name=data.pop("name"),
            by=self.request.user,
            at=timezone.now(),
            note=_("Entered through the API"),
            **data,
        )

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        serializer.save(updated_at=timezone.now())

    @action(detail=True, methods=["post"], url_path="move-stage")
    def move_stage(self, request: Request, pk: str | None = None) -> Response:
        """Move the opportunity to another stage; every gate on the way must be met."""
        opportunity = self.get_object()
        form = api_serializers.MoveStageSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        move_stage(  # a refusal (409, or 422 for a missing gate) is answered by api.errors
            opportunity,
            data["stage"],
            by=request.user,
            at=data.get("at") or timezone.now(),
            note=data.get("note", ""),
            lost_reason=data.get("lost_reason", ""),
        )
        opportunity.refresh_from_db()
        return Response(self.get_serializer(opportunity).data)


class StageChangeViewSet(ReadOnlyViewSet):
    queryset = StageChange.objects.select_related("from_stage", "to_stage").order_by("id")
    serializer_class = api_serializers.StageChangeSerializer
    filterset_class = filterset_for(
        StageChange,
        exact=("is_regression",),
        references=("opportunity", "to_stage", "from_stage", "changed_by"),
        ranges=("changed_at",),
    )
    ordering_fields = ["id", "changed_at"]


class ActivityViewSet(WritableViewSet):
    """Follow-ups; POST logs one (a lead of the customer counts as contacted from then)."""

    queryset = Activity.objects.order_by("id")
    serializer_class = api_serializers.ActivitySerializer
    filterset_class = filterset_for(
        Activity,
        exact=("kind", "outcome", "decision_maker_present"),
        references=("owner", "customer", "opportunity", "contact"),
        ranges=("occurred_at",),
    )
    ordering_fields = ["id", "occurred_at", "created_at"]

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = log_followup(
            data.pop("customer"), by=data.pop("owner"), logged_at=timezone.now(), **data
        )


class TaskViewSet(WritableViewSet):
    queryset = Task.objects.order_by("id")
    serializer_class = api_serializers.TaskSerializer
    filterset_class = filterset_for(
        Task,
        exact=("status", "origin"),
        references=("assignee", "customer", "opportunity"),
        ranges=("due_at",),
    )
    ordering_fields = ["id", "due_at", "created_at"]

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        status_value = serializer.validated_data.get("status")
        completed = timezone.now() if status_value == "done" else None
        if status_value is None:
            serializer.save()
        else:
            serializer.save(completed_at=completed)


class QuoteViewSet(WritableViewSet):
    queryset = Quote.objects.order_by("id")
    serializer_class = api_serializers.QuoteSerializer
    filterset_class = filterset_for(
        Quote, exact=("status",), references=("opportunity",), ranges=("requested_at", "sent_at")
    )
    ordering_fields = ["id", "requested_at", "sent_at", "amount"]


class ContractViewSet(WritableViewSet):
    queryset = Contract.objects.order_by("id")
    serializer_class = api_serializers.ContractSerializer
    filterset_class = filterset_for(
        Contract,
        exact=("status", "code"),
        references=("customer", "opportunity"),
        ranges=("signed_at", "ends_on"),
    )
    ordering_fields = ["id", "signed_at", "ends_on", "amount"]


class InvoiceViewSet(WritableViewSet):
    queryset = Invoice.objects.order_by("id")
    serializer_class = api_serializers.InvoiceSerializer
    filterset_class = filterset_for(
        Invoice,
        exact=("code",),
        references=("customer", "contract"),
        ranges=("due_on", "issued_on", "paid_at"),
    )
    ordering_fields = ["id", "due_on", "issued_on", "amount"]


class TargetViewSet(WritableViewSet):
    queryset = Target.objects.order_by("id")
    serializer_class = api_serializers.TargetSerializer
    filterset_class = filterset_for(
        Target,
        exact=("period", "measure"),
        references=("user", "team"),
        ranges=("period_start",),
    )
    ordering_fields = ["id", "period_start", "value"]


def alert_action_schema(request: type[serializers.Serializer]) -> Any:
    return extend_schema(
        request=request,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: api_serializers.AlertSerializer,
            409: OpenApiResponse(
                api_serializers.ErrorSerializer, description="The alert's state refuses it"
            ),
            **ERRORS,
        },
    )


@extend_schema_view(
    acknowledge=alert_action_schema(api_serializers.NoteSerializer),
    snooze=alert_action_schema(api_serializers.SnoozeSerializer),
    resolve=alert_action_schema(api_serializers.NoteSerializer),
)
class AlertViewSet(ReadOnlyViewSet):
    """Alerts the caller may see; acknowledge, snooze or resolve them."""

    queryset = Alert.objects.select_related("rule").order_by("id")
    serializer_class = api_serializers.AlertSerializer
    filterset_class = filterset_for(
        Alert,
        exact=("state", "severity", "entity_type", "entity_id"),
        references=("owner", "team", "rule"),
        ranges=("started_at",),
    )
    ordering_fields = ["id", "started_at", "severity", "state"]

    def _transition(self, request: Request, change: Any, form_class: type) -> Response:
        alert = self.get_object()
        form = form_class(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            change(alert, form.validated_data)
        except lifecycle.TransitionRefused as refused:
            raise ApiError(
                refused.messages[0],
                code="alert_transition_refused",
                status_code=status.HTTP_409_CONFLICT,
            ) from None
        return Response(self.get_serializer(alert).data)

    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Take the alert: escalation and reminders stop."""
        return self._transition(
            request,
            lambda alert, data: lifecycle.acknowledge(
                alert, by=request.user, note=data.get("note", ""), at=timezone.now()
            ),
            api_serializers.NoteSerializer,
        )

    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: str | None = None) -> Response:
        """Quiet the alert until a time; it fires again then if still true."""
        return self._transition(
            request,
            lambda alert, data: lifecycle.snooze(
                alert,
                by=request.user,
                until=data["until"],
                note=data.get("note", ""),
                at=timezone.now(),
            ),
            api_serializers.SnoozeSerializer,
        )

    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Close the alert by hand; the next evaluation reopens it if still true."""
        return self._transition(
            request,
            lambda alert, data: lifecycle.resolve(
                alert, by=request.user, note=data.get("note", ""), at=timezone.now()
            ),
            api_serializers.NoteSerializer,
        )


for _viewset in (
    CustomerViewSet,
    ContactViewSet,
    LeadViewSet,
    ActivityViewSet,
    TaskViewSet,
    QuoteViewSet,
    ContractViewSet,
    InvoiceViewSet,
    TargetViewSet,
):
    documented()(_viewset)
