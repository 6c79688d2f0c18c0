"""``POST /api/handovers/``: preview or carry out a handover (the same verb as the web)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.accounts.models import User
from salesradar.api.errors import ApiError
from salesradar.api.parsers import refuse_oversized
from salesradar.handover.models import Handover, Split
from salesradar.handover.services import hand_over, plan_handover

USER_ID = {"min_value": 1, "max_value": 2**63 - 1}  # a row id; larger would overflow the query


class HandoverRequest(serializers.Serializer):
    leaving = serializers.IntegerField(help_text=_("Id of the rep who leaves."), **USER_ID)
    successors = serializers.ListField(
        child=serializers.IntegerField(**USER_ID), min_length=1, max_length=100
    )
    split = serializers.ChoiceField(choices=Split.choices, default=Split.ONE)
    mapping = serializers.DictField(
        child=serializers.IntegerField(**USER_ID),
        required=False,
        help_text=_("Tier or region → user id."),
    )
    effective_at = serializers.DateTimeField(required=False)
    preview = serializers.BooleanField(default=False)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


_MOVE = inline_serializer(
    "HandoverMove",
    {
        "kind": serializers.CharField(),
        "id": serializers.IntegerField(),
        "record": serializers.CharField(),
        "to": serializers.IntegerField(),
    },
)


class HandoverView(APIView):
    @extend_schema(
        request=HandoverRequest,
        responses={
            200: inline_serializer(
                "HandoverPreview",
                {
                    "counts": serializers.DictField(child=serializers.DictField()),
                    "moves": serializers.ListField(child=_MOVE),
                },
            ),
            201: inline_serializer(
                "HandoverDone",
                {
                    "id": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "effective_at": serializers.DateTimeField(),
                    "moved": serializers.DictField(child=serializers.IntegerField()),
                },
            ),
        },
        summary="Preview or carry out a handover of a leaving rep's book",
    )
    def post(self, request: Request) -> Response:
        refuse_oversized(request.META)
        incoming = HandoverRequest(data=request.data)
        incoming.is_valid(raise_exception=True)
        data: dict[str, Any] = incoming.validated_data
        people = User.objects.in_bulk([data["leaving"], *data["successors"]])
        missing = [pk for pk in [data["leaving"], *data["successors"]] if pk not in people]
        if missing:
            raise ApiError(
                str(_("No user with id {ids}.")).format(ids=", ".join(map(str, missing))),
                code="unknown_user",
            )
        leaving = people[data["leaving"]]
        successors = [people[pk] for pk in dict.fromkeys(data["successors"])]
        mapping = data.get("mapping") or {}
        if data["preview"]:
            plan = plan_handover(
                leaving, successors=successors, split=data["split"], mapping=mapping,
                by=request.user,
            )  # fmt: skip
            return Response(
                {
                    "counts": {str(k): v for k, v in plan.counts().items()},
                    "moves": [
                        {"kind": m.kind, "id": m.object_id, "record": m.label, "to": m.to_id}
                        for m in plan.moves
                    ],
                }
            )
        now = timezone.now()
        handover: Handover = hand_over(
            leaving, successors=successors, split=data["split"], mapping=mapping,
            effective_at=data.get("effective_at") or now, by=request.user, at=now,
            note=data.get("note", ""),
        )  # fmt: skip
        return Response(
            {
                "id": handover.pk,
                "status": handover.status,
                "effective_at": handover.effective_at,
                "moved": handover.moved,
            },
            status=status.HTTP_201_CREATED,
        )
