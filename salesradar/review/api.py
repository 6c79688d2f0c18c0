"""REST endpoints of action cards under /api/review/, with the API's auth and visibility."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.accounts.models import User
from salesradar.accounts.visibility import visible
from salesradar.activities.models import ActionCard
from salesradar.review.services import create_action_card, deliver_card, verify_card


class ActionCardSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))

    class Meta:
        model = ActionCard
        fields = [
            "id",
            "owner",
            "what",
            "deliverable",
            "due_at",
            "status",
            "origin",
            "origin_ref",
            "customer",
            "opportunity",
            "delivered_at",
            "delivery_note",
            "verified_at",
            "verified_by",
            "review_note",
        ]
        read_only_fields = [
            "status",
            "origin",
            "origin_ref",
            "delivered_at",
            "delivery_note",
            "verified_at",
            "verified_by",
            "review_note",
        ]


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")
    accepted = serializers.BooleanField(required=False, default=True)


class CardList(generics.ListCreateAPIView):
    serializer_class = ActionCardSerializer
    filterset_fields = ["status", "owner"]
    ordering_fields = ["due_at", "id"]

    def get_queryset(self) -> Any:
        return visible(self.request.user, ActionCard).order_by("due_at", "id")

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        data = dict(serializer.validated_data)
        serializer.instance = create_action_card(
            owner=data.pop("owner"),
            what=data.pop("what"),
            deliverable=data.pop("deliverable"),
            due_at=data.pop("due_at"),
            by=self.request.user,
            at=timezone.now(),
            customer=data.get("customer"),
            opportunity=data.get("opportunity"),
        )


class Deliver(APIView):
    @extend_schema(request=NoteSerializer, responses=ActionCardSerializer)
    def post(self, request: Request, pk: int) -> Response:
        card = get_object_or_404(visible(request.user, ActionCard), pk=pk)
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        card = deliver_card(
            card, by=request.user, note=payload.validated_data["note"], at=timezone.now()
        )
        return Response(ActionCardSerializer(card).data)


class Verify(APIView):
    @extend_schema(request=NoteSerializer, responses=ActionCardSerializer)
    def post(self, request: Request, pk: int) -> Response:
        card = get_object_or_404(visible(request.user, ActionCard).select_related("owner"), pk=pk)
        payload = NoteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        card = verify_card(
            card,
            by=request.user,
            accepted=payload.validated_data["accepted"],
            note=payload.validated_data["note"],
            at=timezone.now(),
        )
        return Response(ActionCardSerializer(card).data)


app_name = "review-api"
urlpatterns = [
    path("cards/", CardList.as_view(), name="cards"),
    path("cards/<int:pk>/deliver/", Deliver.as_view(), name="deliver"),
    path("cards/<int:pk>/verify/", Verify.as_view(), name="verify"),
]
