from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.api.factories import Org, build_org, client_for
from tests.api.receivers import event_receiver  # noqa: F401  (fixture)


@pytest.fixture
def org(db: None) -> Org:
    return build_org()


@pytest.fixture
def rep_client(org: Org) -> APIClient:
    return client_for(org.rep)
