"""OpenAPI pieces drf-spectacular cannot guess: the token scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "salesradar.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Personal API token (sr_…), created with `salesradar apitoken create`.",
        }


def register() -> None:
    """Importing this module registers the extensions; nothing else to do."""
