"""REST endpoints of customer health, under /api/health/ with the API's auth and visibility."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from salesradar.accounts.visibility import visible
from salesradar.crm.models import Customer
from salesradar.health.brief import health_brief
from salesradar.health.models import CustomerHealth, HealthCalibration, OpportunityBlock
from salesradar.health.services import clear_block


class CustomerHealthSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = CustomerHealth
        fields = [
            "customer",
            "customer_name",
            "computed_at",
            "potential",
            "depth",
            "relationship",
            "risk",
            "score",
            "tier",
            "tier_since",
            "weakest",
            "facts",
        ]


class CalibrationSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthCalibration
        fields = [
            "computed_at",
            "samples",
            "renewals",
            "applied",
            "weights",
            "coefficients",
            "pillar_auc",
            "model_auc",
            "default_auc",
            "note",
        ]


class BriefSerializer(serializers.Serializer):
    health = CustomerHealthSerializer(allow_null=True)
    last_interaction = serializers.DictField(allow_null=True)
    trend = serializers.ListField(child=serializers.DictField())
    next_actions = serializers.ListField(child=serializers.CharField())
    block = serializers.DictField(allow_null=True)


class ClearSerializer(serializers.Serializer):
    note = serializers.CharField()


class HealthList(generics.ListAPIView):
    serializer_class = CustomerHealthSerializer
    filterset_fields = ["tier", "weakest"]
    ordering_fields = ["score", "customer"]

    def get_queryset(self) -> Any:
        return (
            visible(self.request.user, CustomerHealth)
            .select_related("customer")
            .order_by("score", "customer_id")
        )


class BriefView(APIView):
    @extend_schema(responses=BriefSerializer)
    def get(self, request: Request, customer_pk: int) -> Response:
        customer = get_object_or_404(visible(request.user, Customer), pk=customer_pk)
        brief = health_brief(customer, at=timezone.now())
        last = brief.last_interaction
        block = brief.block
        return Response(
            {
                "health": CustomerHealthSerializer(brief.health).data if brief.health else None,
                "last_interaction": {
                    "kind": last.kind,
                    "occurred_at": last.occurred_at,
                    "summary": last.summary,
                    "outcome": last.outcome,
                    "owner": str(last.owner),
                }
                if last
                else None,
                "trend": brief.trend,
                "next_actions": brief.next_actions,
                "block": {
                    "id": block.pk,
                    "opened_at": block.opened_at,
                    "reason": block.reason,
                    "clearable_by": str(block.clearable_by) if block.clearable_by else None,
                }
                if block
                else None,
            }
        )


class ClearBlockView(APIView):
    @extend_schema(request=ClearSerializer, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        block = get_object_or_404(visible(request.user, OpportunityBlock), pk=pk)
        payload = ClearSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            clear_block(
                block, by=request.user, note=payload.validated_data["note"], at=timezone.now()
            )
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from None
        return Response(status=204)


class CalibrationList(generics.ListAPIView):
    serializer_class = CalibrationSerializer
    queryset = HealthCalibration.objects.order_by("-computed_at")
    filter_backends: list[Any] = []


app_name = "health-api"
urlpatterns = [
    path("customers/", HealthList.as_view(), name="list"),
    path("customers/<int:customer_pk>/brief/", BriefView.as_view(), name="brief"),
    path("blocks/<int:pk>/clear/", ClearBlockView.as_view(), name="block_clear"),
    path("calibrations/", CalibrationList.as_view(), name="calibrations"),
]
