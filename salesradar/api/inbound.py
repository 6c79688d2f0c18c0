"""Events from an external CRM: verified (Standard Webhooks), mapped, applied, recorded.

Every verified event is stored with its outcome (applied, ignored, refused, failed) under its
``webhook-id``, so a sender's retry is answered from the record instead of applied twice; a
failed event (our fault) is tried again when it comes again. An event is applied whole or not
at all. External ids live in ``imports.ExternalRef`` under the source's system name, shared
with file imports from the same CRM.

Accepted types: ``customer.upserted`` and ``opportunity.upserted`` (see docs/api.md). A new
opportunity is entered in the stage its CRM reports (as the admin and imports do); a later
stage change of a known one goes through ``move_stage`` with every gate enforced.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.accounts.models import User
from salesradar.api.choices import InboundOutcome
from salesradar.api.errors import ApiError, body
from salesradar.api.models import InboundEvent, InboundSource
from salesradar.api.parsers import refuse_oversized
from salesradar.core.errors import DomainError
from salesradar.core.fields import DEFAULT_CURRENCY
from salesradar.crm.choices import Tier
from salesradar.crm.models import Customer
from salesradar.crm.services import save_customer
from salesradar.imports.models import ExternalRef
from salesradar.notify.channels.webhook import decode_signing_key
from salesradar.pipeline.choices import LostReason
from salesradar.pipeline.models import Opportunity, Process, Stage
from salesradar.pipeline.services import default_process, move_stage, open_opportunity

logger = logging.getLogger(__name__)

SPECIAL_STAGES = ("won", "lost")
CLOCK_SKEW = dt.timedelta(minutes=5)


class MappingError(ValueError):
    """A stage mapping that cannot be used; the message says why."""


class VerificationFailed(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Refused(Exception):
    """The event cannot be applied as sent; nothing of it is written."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


# --- verification -------------------------------------------------------------------------


def verify(
    secret: str, headers: Any, body_bytes: bytes, *, now: dt.datetime, tolerance: int
) -> str:
    """Check the Standard Webhooks headers; return the event id or raise VerificationFailed."""
    event_id = headers.get("webhook-id") or ""
    raw_timestamp = headers.get("webhook-timestamp") or ""
    signatures = headers.get("webhook-signature") or ""
    if not event_id or not raw_timestamp or not signatures:
        raise VerificationFailed(
            _("Missing webhook-id, webhook-timestamp or webhook-signature header.")
        )
    if len(event_id) > 255:
        raise VerificationFailed(_("The webhook-id is longer than 255 characters."))
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise VerificationFailed(_("The webhook-timestamp is not a number.")) from None
    if abs(now.timestamp() - timestamp) > tolerance:
        raise VerificationFailed(_("The webhook-timestamp is too old or in the future."))
    try:
        key = decode_signing_key(secret)
    except (binascii.Error, ValueError):
        raise VerificationFailed(_("This source's signing key is not usable.")) from None
    signed = f"{event_id}.{timestamp}.".encode() + body_bytes
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    for candidate in signatures.split():
        version, _sep, encoded = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return str(event_id)
    raise VerificationFailed(_("No signature matches."))


# --- stage mapping ------------------------------------------------------------------------


def validate_mapping(mapping: Any, process: Process | None) -> None:
    """Refuse a mapping that is not {their name: our stage key} over the process's stages."""
    if not isinstance(mapping, dict):
        raise MappingError(_('Give an object such as {"Closed Won": "won"}.'))
    resolved = process
    if resolved is None:
        resolved = Process.objects.filter(is_default=True).first()
    known = (
        set(Stage.objects.filter(process=resolved).values_list("key", flat=True))
        if resolved
        else set()
    )
    for theirs, ours in mapping.items():
        if not isinstance(ours, str) or not theirs.strip():
            raise MappingError(_("Every stage name must map to a stage key."))
        if ours not in SPECIAL_STAGES and known and ours not in known:
            raise MappingError(
                _(
                    "“{theirs}” maps to “{ours}”, which is not a stage of the process ({known})."
                ).format(theirs=theirs, ours=ours, known=", ".join(sorted(known)))
            )


def map_stage(source: InboundSource, process: Process, their_stage: str) -> Stage:
    """Return our stage for their stage name (case and spaces ignored) or refuse."""
    wanted = " ".join(their_stage.split()).casefold()
    ours = None
    for theirs, key in (source.stage_mapping or {}).items():
        if " ".join(str(theirs).split()).casefold() == wanted:
            ours = key
            break
    if ours is None:
        raise Refused(
            _(
                "Their stage “{stage}” maps to nothing; add it to the source's stage mapping."
            ).format(stage=their_stage)
        )
    stages = Stage.objects.filter(process=process)
    if ours == "won":
        stage = stages.filter(is_won=True).order_by("order").first()
    elif ours == "lost":
        stage = stages.filter(is_lost=True).order_by("order").first()
    else:
        stage = stages.filter(key=ours).first()
    if stage is None:
        raise Refused(
            _("Their stage “{stage}” maps to “{key}”, which this process does not have.").format(
                stage=their_stage, key=ours
            )
        )
    return stage


# --- event data ---------------------------------------------------------------------------


class ExternalCustomer(serializers.Serializer):
    id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=200, required=False)
    tier = serializers.ChoiceField(choices=Tier.choices, required=False)
    region = serializers.CharField(max_length=60, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=60, required=False, allow_blank=True)
    owner = serializers.CharField(max_length=254, required=False, allow_blank=True)


class ExternalOpportunity(serializers.Serializer):
    id = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=200, required=False)
    stage = serializers.CharField(max_length=200, required=False)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0, required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    owner = serializers.CharField(max_length=254, required=False, allow_blank=True)
    customer = ExternalCustomer()
    lost_reason = serializers.ChoiceField(choices=LostReason.choices, required=False)


def parse_data(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    form = serializer_class(data=data)
    if not form.is_valid():
        details = "; ".join(
            f"{field}: {' '.join(map(str, errors)) if isinstance(errors, list) else errors}"
            for field, errors in form.errors.items()
        )
        raise Refused(_("The event's data is not valid: {details}").format(details=details))
    return dict(form.validated_data)


def external_code(prefix: str, system: str, external_id: str) -> str:
    digest = hashlib.sha256(f"{system}\x00{external_id}".encode()).hexdigest()[:20]
    return f"{prefix}{digest}"


def find_ref(system: str, model: type[models.Model], external_id: str) -> int | None:
    return (
        ExternalRef.objects.filter(
            source=system,
            content_type=ContentType.objects.get_for_model(model),
            external_id=external_id,
        )
        .values_list("object_id", flat=True)
        .first()
    )


def remember_ref(system: str, obj: models.Model, external_id: str) -> None:
    ExternalRef.objects.create(
        source=system,
        content_type=ContentType.objects.get_for_model(type(obj)),
        external_id=external_id,
        object_id=obj.pk,
    )


def resolve_owner(source: InboundSource, given: str | None) -> User | None:
    if given:
        found = User.objects.filter(
            Q(email__iexact=given) | Q(username=given), is_active=True
        ).first()
        if found is not None:
            return found
    return source.default_owner


def upsert_customer(source: InboundSource, data: dict[str, Any]) -> Customer:
    external_id = data["id"]
    existing = find_ref(source.system, Customer, external_id)
    customer = Customer.objects.filter(pk=existing).first() if existing else None
    owner = resolve_owner(source, data.get("owner"))
    if customer is None:
        if not data.get("name"):
            raise Refused(_("A new customer needs a name."))
        customer = Customer(
            code=external_code("X", source.system, external_id), name=data["name"], owner=owner
        )
        created = True
    else:
        created = False
        if data.get("owner") and owner is not None:
            customer.owner = owner
    for name in ("name", "tier", "region", "industry"):
        if data.get(name) not in (None, ""):
            setattr(customer, name, data[name])
    save_customer(customer, at=timezone.now())  # the duplicate guard every way in applies
    if created:
        remember_ref(source.system, customer, external_id)
    return customer


def upsert_opportunity(source: InboundSource, data: dict[str, Any], at: dt.datetime) -> Opportunity:
    customer = upsert_customer(source, data["customer"])
    external_id = data["id"]
    existing = find_ref(source.system, Opportunity, external_id)
    opportunity = (
        Opportunity.objects.select_related("stage").filter(pk=existing).first()
        if existing
        else None
    )
    owner = resolve_owner(source, data.get("owner"))
    if opportunity is None:
        if owner is None:
            raise Refused(
                _("Nobody owns this opportunity: name a known user or set a default owner.")
            )
        if not data.get("name"):
            raise Refused(_("A new opportunity needs a name."))
        process = default_process(source.process)
        stage = map_stage(source, process, data["stage"]) if data.get("stage") else None
        opportunity = open_opportunity(
            customer,
            owner=owner,
            name=data["name"],
            by=None,
            at=at,
            code=external_code("XO", source.system, external_id),
            process=process,
            stage=stage,
            amount=data.get("amount") or 0,
            currency=data.get("currency") or DEFAULT_CURRENCY,
            expected_close_date=data.get("expected_close_date"),
            lost_reason=data.get("lost_reason", ""),
            note=_("From {source}").format(source=source.key),
        )
        remember_ref(source.system, opportunity, external_id)
        return opportunity
    for name in ("name", "amount", "currency", "expected_close_date"):
        if name in data:
            setattr(opportunity, name, data[name])
    if data.get("owner") and owner is not None:
        opportunity.owner = owner
    opportunity.updated_at = max(at, opportunity.updated_at)
    opportunity.full_clean(exclude=["customer", "owner", "process", "stage"])
    opportunity.save()
    if data.get("stage"):
        target = map_stage(source, opportunity.process, data["stage"])
        if target.pk != opportunity.stage_id:
            move_stage(
                opportunity,
                target,
                by=None,
                at=at,
                note=_("From {source}").format(source=source.key),
                lost_reason=data.get("lost_reason", ""),
            )
    return opportunity


def event_time(document: dict[str, Any], fallback: dt.datetime) -> dt.datetime:
    raw = document.get("timestamp")
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None or parsed.tzinfo is None:
        return fallback
    return min(parsed, fallback + CLOCK_SKEW)


@dataclass
class Applied:
    outcome: str
    message: str = ""
    object_type: str = ""
    object_id: int | None = None


def apply_event(source: InboundSource, document: Any, at: dt.datetime) -> Applied:
    """Apply one decoded event; raise Refused when it cannot be applied."""
    if not isinstance(document, dict) or not isinstance(document.get("type"), str):
        raise Refused(_('An event is a JSON object with a "type" and "data".'))
    event_type = document["type"]
    when = event_time(document, at)
    if event_type == "customer.upserted":
        customer = upsert_customer(source, parse_data(ExternalCustomer, document.get("data")))
        return Applied(InboundOutcome.APPLIED, "", "customer", customer.pk)
    if event_type == "opportunity.upserted":
        opportunity = upsert_opportunity(
            source, parse_data(ExternalOpportunity, document.get("data")), when
        )
        return Applied(InboundOutcome.APPLIED, "", "opportunity", opportunity.pk)
    return Applied(
        InboundOutcome.IGNORED,
        _("Events of type “{type}” are not used.").format(type=event_type[:80]),
    )


def receive(
    source: InboundSource, event_id: str, body_bytes: bytes, *, at: dt.datetime
) -> tuple[InboundEvent, bool]:
    """Record and apply one verified event; return it and whether it was a repeat."""
    known = InboundEvent.objects.filter(source=source, event_id=event_id).first()
    if known is not None and known.outcome != InboundOutcome.FAILED:
        return known, True
    try:
        document = json.loads(body_bytes)
    except (ValueError, UnicodeDecodeError):
        document = None
        result = Applied(InboundOutcome.REFUSED, _("The body is not valid JSON."))
    else:
        result = Applied(InboundOutcome.FAILED)
    event_type = document.get("type", "") if isinstance(document, dict) else ""
    with transaction.atomic():
        if result.outcome != InboundOutcome.REFUSED:
            try:
                with transaction.atomic():
                    result = apply_event(source, document, at)
            except Refused as refused:
                result = Applied(InboundOutcome.REFUSED, refused.message)
            except DomainError as refused:  # a verb refused it (a gate, a duplicate, …)
                result = Applied(InboundOutcome.REFUSED, " ".join(refused.messages))
            except Exception as error:  # recorded and retried when the sender tries again
                logger.exception("inbound event %s from %s failed", event_id, source.key)
                result = Applied(InboundOutcome.FAILED, f"{type(error).__name__}: {error}")
        values = {
            "event_type": str(event_type)[:80],
            "payload": document if document is not None else None,
            "received_at": at,
            "outcome": result.outcome,
            "message": result.message,
            "object_type": result.object_type,
            "object_id": result.object_id,
        }
        if known is not None:
            for name, value in values.items():
                setattr(known, name, value)
            known.attempts += 1
            known.save()
            return known, False
        try:
            with transaction.atomic():
                return InboundEvent.objects.create(
                    source=source, event_id=event_id, **values
                ), False
        except IntegrityError:
            pass
    # a concurrent delivery of the same event recorded it first
    return InboundEvent.objects.get(source=source, event_id=event_id), True


OUTCOME_STATUS = {
    InboundOutcome.APPLIED: status.HTTP_200_OK,
    InboundOutcome.IGNORED: status.HTTP_200_OK,
    InboundOutcome.REFUSED: status.HTTP_422_UNPROCESSABLE_ENTITY,
    InboundOutcome.FAILED: status.HTTP_503_SERVICE_UNAVAILABLE,
}


class InboundResultSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    outcome = serializers.ChoiceField(choices=InboundOutcome.choices)
    message = serializers.CharField()
    duplicate = serializers.BooleanField()


class InboundWebhookView(APIView):
    """Receive one signed event from an external CRM."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request={"application/json": {"type": "object"}},
        parameters=[
            OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True)
            for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
        ],
        responses={200: InboundResultSerializer, 422: InboundResultSerializer},
        auth=[],
    )
    def post(self, request: Request, key: str) -> Response:
        source = InboundSource.objects.filter(key=key, enabled=True).first()
        if source is None:
            raise ApiError(
                _("No enabled inbound source has this key."),
                code="not_found",
                status_code=status.HTTP_404_NOT_FOUND,
            )
        refuse_oversized(request.META)
        raw = request.body
        refuse_oversized({}, len(raw))
        now = timezone.now()
        try:
            event_id = verify(
                source.secret, request.headers, raw, now=now, tolerance=source.tolerance_seconds
            )
        except VerificationFailed as failed:
            logger.warning("inbound event refused for %s: %s", source.key, failed.message)
            return Response(
                body("invalid_signature", failed.message), status=status.HTTP_401_UNAUTHORIZED
            )
        event, duplicate = receive(source, event_id, raw, at=now)
        return Response(
            {
                "event_id": event.event_id,
                "outcome": event.outcome,
                "message": event.message,
                "duplicate": duplicate,
            },
            status=OUTCOME_STATUS[InboundOutcome(event.outcome)],
        )
