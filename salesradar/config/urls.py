from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from salesradar.web.auth import ThrottledAdminAuthenticationForm

admin.site.login_form = ThrottledAdminAuthenticationForm  # the same lockout as /login/
admin.site.site_header = _("SalesRadar administration")
admin.site.site_title = _("SalesRadar")
admin.site.index_title = _("Data and settings")

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/health/", include("salesradar.health.api")),
    path("api/review/", include("salesradar.review.api")),
    path("api/quality/", include("salesradar.quality.api")),
    path("api/", include("salesradar.api.urls")),
    path("health/", include("salesradar.health.urls")),
    path("quality/", include("salesradar.quality.urls")),
    path("reports/", include("salesradar.reports.urls")),
    path("review/", include("salesradar.review.urls")),
    path("imports/", include("salesradar.imports.urls")),
    path("capture/", include("salesradar.capture.urls")),
    path("handover/", include("salesradar.handover.urls")),
    path("leads/", include("salesradar.crm.urls")),
    path("", include("salesradar.web.urls")),
]
