from django.urls import URLPattern, path

from salesradar.capture import views

app_name = "capture"

urlpatterns: list[URLPattern] = [
    path("follow-up/", views.followup_from_note, name="followup"),
]
