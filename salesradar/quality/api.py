"""REST endpoints of saved backtests, under /api/quality/ with the API's auth."""

from __future__ import annotations

from typing import Any

from django.urls import path
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied

from salesradar.accounts.choices import Role
from salesradar.quality.models import BacktestRun


class BacktestRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = BacktestRun
        fields = ["id", "label", "created_at", "start", "end", "horizon_days", "result"]


class ManagersOnly:
    def check_permissions(self, request: Any) -> None:
        super().check_permissions(request)  # type: ignore[misc]
        user = request.user
        if not (user.is_superuser or getattr(user, "role", Role.REP) != Role.REP):
            raise PermissionDenied("Backtests are for managers and above.")


class BacktestList(ManagersOnly, generics.ListAPIView):
    serializer_class = BacktestRunSerializer
    queryset = BacktestRun.objects.all()
    filter_backends: list[Any] = []


class BacktestDetail(ManagersOnly, generics.RetrieveAPIView):
    serializer_class = BacktestRunSerializer
    queryset = BacktestRun.objects.all()


app_name = "quality-api"
urlpatterns = [
    path("backtests/", BacktestList.as_view(), name="backtests"),
    path("backtests/<int:pk>/", BacktestDetail.as_view(), name="backtest"),
]
