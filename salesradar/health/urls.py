from django.urls import path

from salesradar.health import views

app_name = "health"
urlpatterns = [
    path("", views.health_list, name="list"),
    path("customers/<int:customer_pk>/", views.customer_brief, name="brief"),
    path("blocks/<int:pk>/clear/", views.block_clear, name="block_clear"),
    path("calibration/", views.calibration_report, name="calibration"),
]
