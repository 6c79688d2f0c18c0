from django.urls import include, path

from salesradar.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("salesradar.web.records.urls")),
]
