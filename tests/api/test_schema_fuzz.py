"""Schemathesis against the OpenAPI schema, through the WSGI app with a real token: no 5xx.

Every operation gets a bounded number of generated requests, valid ones (positive) and ones
that break the schema on purpose (negative), deterministically (``derandomize``) so a failure
reproduces. Failures are collected across all operations so one run shows all of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from salesradar.alerts.models import Alert
from salesradar.api.tokens import issue_token
from salesradar.pipeline.models import Process
from tests.api.factories import Org, firing_alert
from tests.factories import ActivityFactory, ContactFactory, OpportunityFactory, QuoteFactory

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


def seed(org: Org) -> None:
    """A few rows of every kind so generated ids sometimes hit something real."""
    for owner in (org.rep, org.peer, org.director):
        opportunity = OpportunityFactory(owner=owner)
        ContactFactory(customer=opportunity.customer)
        ActivityFactory(opportunity=opportunity)
        QuoteFactory(opportunity=opportunity)
        firing_alert(owner, key=f"rule-{owner.pk}")


def fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    headers: dict[str, str],
    failures: list[str],
    answered: Counter[int],
) -> None:
    """Send ``examples`` generated requests to one operation; note every 5xx."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        response = case.call(headers=headers)
        answered[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(
                f"{operation.label} [{mode.value}] -> {response.status_code}: "
                f"{case.as_curl_command()}\n{response.text[:300]}"
            )

    exercise()


@pytest.fixture
def connection_kept_open() -> Iterator[None]:
    """Keep the test's database connection across WSGI requests, as Django's test client does.

    The WSGI handler closes "old" connections at the end of each request, and a connection
    inside the test's transaction counts as old.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("connection_kept_open")
def test_no_generated_request_makes_the_api_fail(org: Org, default_process: Process) -> None:
    from salesradar.config.wsgi import application

    seed(org)
    secret = issue_token(org.director, name="fuzz", scopes=["read", "write"]).secret
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    failures: list[str] = []
    answered: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode, examples in EXAMPLES.items():
            fuzz(operation, mode, examples, headers, failures, answered)
    print(  # the figure the issue asks for; shown with pytest -s
        f"schemathesis: {operations} operations, {sum(answered.values())} requests, "
        f"statuses {dict(sorted(answered.items()))}, {len(failures)} server errors"
    )
    assert operations > 40
    assert answered[201] > 0 and answered[200] > 0, answered  # valid writes got through
    assert answered[400] > 0, answered  # and broken ones were refused
    assert Alert.objects.exists()  # the seed data survived the fuzzing's refusals
    assert failures == [], "\n\n".join(failures[:20])
