from django.urls import include, path

from salesradar.web import auth, inbox_views, views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth.SignInView.as_view(), name="login"),
    path("logout/", auth.SignOutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("cockpit/", views.cockpit, name="cockpit"),
    path("inbox/", inbox_views.inbox, name="inbox"),
    path("inbox/<int:pk>/", inbox_views.inbox_message, name="inbox_message"),
    path("inbox/read/", inbox_views.inbox_mark_read, name="inbox_mark_read"),
    path("deliveries/", inbox_views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/retry/", inbox_views.delivery_retry, name="delivery_retry"),
    path("", include("salesradar.web.records.urls")),
]
