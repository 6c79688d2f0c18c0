from django.urls import path

from salesradar.crm import views

app_name = "leads"

urlpatterns = [
    path("web-form/", views.web_form, name="web-form"),
]
