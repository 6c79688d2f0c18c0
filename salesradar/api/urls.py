from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from salesradar.api import views
from salesradar.api.errors import not_found
from salesradar.api.inbound import InboundWebhookView
from salesradar.capture.api import ParseNoteView
from salesradar.forecast.api import CalibrationView, DealScoresView, ForecastView
from salesradar.handover.api import HandoverView

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("users", views.UserViewSet)
router.register("teams", views.TeamViewSet)
router.register("customers", views.CustomerViewSet)
router.register("contacts", views.ContactViewSet)
router.register("leads", views.LeadViewSet)
router.register("opportunities", views.OpportunityViewSet)
router.register("stage-changes", views.StageChangeViewSet)
router.register("activities", views.ActivityViewSet)
router.register("tasks", views.TaskViewSet)
router.register("quotes", views.QuoteViewSet)
router.register("contracts", views.ContractViewSet)
router.register("invoices", views.InvoiceViewSet)
router.register("targets", views.TargetViewSet)
router.register("alerts", views.AlertViewSet)

urlpatterns: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path(
        "redoc/",
        SpectacularRedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("inbound/<slug:key>/", InboundWebhookView.as_view(), name="inbound"),
    path("capture/parse/", ParseNoteView.as_view(), name="capture-parse"),
    path("handovers/", HandoverView.as_view(), name="handovers"),
    path("forecast/", ForecastView.as_view(), name="forecast"),
    path("forecast/deal-scores/", DealScoresView.as_view(), name="forecast-deal-scores"),
    path("forecast/calibration/", CalibrationView.as_view(), name="forecast-calibration"),
    *router.urls,
    re_path(r"^.*$", not_found),
]
