from django.urls import path

from salesradar.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.upload, name="upload"),
    path("<int:run_id>/map/", views.map_columns, name="map"),
    path("<int:run_id>/", views.result, name="result"),
    path("<int:run_id>/undo/", views.undo, name="undo"),
    path("<int:run_id>/errors.<str:file_format>", views.error_report, name="errors"),
    path("template/<str:kind>.<str:language>.csv", views.template, name="template"),
    path("export/", views.export_index, name="export_index"),
    path("export/<str:kind>.<str:file_format>", views.export, name="export"),
]
