"""Every API answer matches what the OpenAPI schema promises (schemathesis conformance checks).

Generated valid requests go to every operation; each documented answer's body must validate
against its declared schema and content type. Plus the edges a client hits by mistake: an
unknown address answers JSON for any method, never Django's HTML CSRF page.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from salesradar.api.tokens import issue_token
from salesradar.pipeline.models import Process
from salesradar.pipeline.services import open_opportunity
from tests.api.factories import Org, client_for
from tests.api.test_schema_fuzz import connection_kept_open, seed  # noqa: F401  (fixture)
from tests.factories import CustomerFactory

EXAMPLES = 6
CHECKS = [response_schema_conformance, content_type_conformance]


def conform(operation: Any, headers: dict[str, str], failures: list[str], seen: Counter) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def exercise(case: Any) -> None:
        response = case.call(headers=headers)
        seen[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as error:
            failures.append(f"{operation.label} -> {response.status_code}: {error}"[:1500])

    exercise()


def plain(operation: Any, headers: dict[str, str], failures: list[str], seen: Counter) -> None:
    """Call ``operation`` without parameters and check the answer."""
    case = operation.Case()
    response = case.call(headers=headers)
    seen[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as error:
        failures.append(f"{operation.label} -> {response.status_code}: {error}"[:1500])


@pytest.mark.django_db
@pytest.mark.usefixtures("connection_kept_open")
def test_every_answer_matches_its_documented_schema(org: Org, default_process: Process) -> None:
    from salesradar.config.wsgi import application

    seed(org)
    open_opportunity(  # a history whose opening entry has no from-stage
        CustomerFactory(owner=org.rep), owner=org.rep, name="ERP", by=org.rep, at=timezone.now()
    )
    secret = issue_token(org.director, name="conformance", scopes=["read", "write"]).secret
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    failures: list[str] = []
    seen: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {secret}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        conform(operation, headers, failures, seen)
        if operation.method.upper() == "GET" and "{" not in operation.path:
            plain(operation, headers, failures, seen)  # the seeded rows, unfiltered

    assert seen[200] > 0 and seen[201] > 0, seen
    assert failures == [], "\n\n".join(dict.fromkeys(failures))


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_address_answers_json_404_for_every_method(org: Org, method: str) -> None:
    signed_in = APIClient(enforce_csrf_checks=True)
    signed_in.force_login(org.rep)

    for client in (signed_in, client_for(org.rep), APIClient(enforce_csrf_checks=True)):
        response = getattr(client, method)("/api/no-such-thing/", {}, format="json")
        assert response.status_code == 404, response.content[:200]
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["code"] == "not_found"
