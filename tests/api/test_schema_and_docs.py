"""The OpenAPI schema and the browsable docs, served without any outside address."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.api.factories import CORE_ENDPOINTS

pytestmark = pytest.mark.django_db


def test_schema_is_openapi_3_with_the_token_scheme_and_every_core_object() -> None:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["tokenAuth"]["scheme"] == "bearer"
    paths = set(schema["paths"])
    for name in CORE_ENDPOINTS:
        assert f"/api/{name}/" in paths
    assert "/api/opportunities/{id}/move-stage/" in paths
    assert "/api/alerts/{id}/snooze/" in paths


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_load_their_scripts_from_our_own_static_files(page: str) -> None:
    response = Client().get(page)

    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("drf_spectacular_sidecar" in source for source in sources)
    assert not [source for source in sources if source.startswith(("http:", "https:", "//"))]
