"""Customers, contacts, opportunities and the rep workspace; included by ``web.urls``."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
