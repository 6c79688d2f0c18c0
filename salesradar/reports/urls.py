from django.urls import path

from salesradar.reports import views

app_name = "reports"
urlpatterns = [path("weekly/", views.weekly_report, name="weekly")]
