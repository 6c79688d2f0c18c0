"""``POST /api/capture/parse/``: the fields a note suggests, for a client to confirm."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.api.choices import Scope
from salesradar.api.errors import ApiError
from salesradar.api.models import ApiToken
from salesradar.api.parsers import refuse_oversized
from salesradar.capture.services import (
    MAX_NOTE_LENGTH,
    NoteRefused,
    proposal_as_json,
    propose_followup,
)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=MAX_NOTE_LENGTH, trim_whitespace=True)
    occurred_at = serializers.DateTimeField(
        required=False, help_text=_("When the note was written; dates in it count from then.")
    )


class CanRead(permissions.BasePermission):
    """Reading a note writes nothing, so a read-only token may ask."""

    message = _("This token lacks the “read” scope.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        return not isinstance(token, ApiToken) or Scope.READ in (token.scopes or [])


_FIELD = inline_serializer(
    "ProposedField",
    {
        "value": serializers.JSONField(),
        "label": serializers.CharField(required=False),
        "evidence": serializers.CharField(),
        "confidence": serializers.ChoiceField(choices=["high", "low"]),
        "alternatives": serializers.ListField(child=serializers.IntegerField(), required=False),
    },
    allow_null=True,
)


class ParseNoteView(APIView):
    permission_classes = [CanRead]

    @extend_schema(
        request=NoteSerializer,
        responses={
            200: inline_serializer(
                "NoteProposal",
                {
                    "customer": _FIELD,
                    "contact": _FIELD,
                    "opportunity": _FIELD,
                    "kind": _FIELD,
                    "next_step": _FIELD,
                    "next_step_due": _FIELD,
                    "amount": _FIELD,
                    "objections": serializers.ListField(child=serializers.DictField()),
                    "competitors": serializers.ListField(child=serializers.CharField()),
                    "keywords": serializers.ListField(child=serializers.CharField()),
                },
            )
        },
        summary="Propose follow-up fields from a note (nothing is saved)",
    )
    def post(self, request: Request) -> Response:
        refuse_oversized(request.META)
        incoming = NoteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        at = incoming.validated_data.get("occurred_at") or timezone.now()
        try:
            proposal = propose_followup(incoming.validated_data["note"], by=request.user, at=at)
        except NoteRefused as refused:
            raise ApiError(str(refused), code="note_refused") from refused
        return Response(proposal_as_json(proposal))
