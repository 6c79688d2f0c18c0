from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from salesradar.web import (
    alerts_views,
    auth,
    inbox_views,
    pool_views,
    rules_views,
    search_views,
    views,
)

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("web/favicon.svg"), permanent=True),
        name="favicon",
    ),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("cockpit/", views.cockpit, name="cockpit"),
    path("alerts/", alerts_views.alert_list, name="alert_list"),
    path("alerts/<int:pk>/", alerts_views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/acknowledge/", alerts_views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:pk>/snooze/", alerts_views.alert_snooze, name="alert_snooze"),
    path("alerts/<int:pk>/assign/", alerts_views.alert_assign, name="alert_assign"),
    path("rules/", rules_views.rule_list, name="rule_list"),
    path("rules/<int:pk>/", rules_views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/toggle/", rules_views.rule_toggle, name="rule_toggle"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/<int:pk>/", inbox_views.inbox_message, name="inbox_message"),
    path("inbox/read/", inbox_views.inbox_mark_read, name="inbox_mark_read"),
    path("inbox/latest/", inbox_views.inbox_latest, name="inbox_latest"),
    path("deliveries/", inbox_views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/retry/", inbox_views.delivery_retry, name="delivery_retry"),
    path("search/", search_views.search, name="search"),
    path("pool/", pool_views.pool, name="pool"),
    path("pool/<str:kind>/<int:pk>/claim/", pool_views.pool_claim, name="pool_claim"),
    path("pool/<str:kind>/<int:pk>/release/", pool_views.pool_release, name="pool_release"),
    path("pool/<str:kind>/<int:pk>/assign/", pool_views.pool_assign, name="pool_assign"),
    path("pool/lead/<int:pk>/nurture/", pool_views.pool_nurture, name="pool_nurture"),
    path("", include("salesradar.web.records.urls")),
]
