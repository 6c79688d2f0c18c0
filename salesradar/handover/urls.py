from django.urls import URLPattern, path

from salesradar.handover import views

app_name = "handover"

urlpatterns: list[URLPattern] = [path("", views.handover_page, name="page")]
