"""Every operation of the OpenAPI schema fuzzed with data generated from the schema (Schemathesis):
no answer is a 500, and every answer has a status, content type and body that its operation
documents. Signed in and anonymous, against a small world, so that the ids it tries are sometimes
real."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_client
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory

# The app as Django builds it, not ``config.wsgi``'s: that one also warms a serving process (loads
# the segmenter's dictionary, freezes the collector's generations), which this test process is not.
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
#: What an answer must do. Not the negative-data checks: the API lets some invalid input pass where
#: a default serves (a ``page_size`` that is not a number gives the default page).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def token(db):
    """A real access token, of someone with a note, beside someone else's note.

    The app is then called as a server calls it, whose request signals would close the database
    connection, and the test's transaction with it: they are held off, as Django's test client holds
    them off for its own requests (so only after logging in through it)."""
    user = UserFactory()
    NoteFactory(author=user)
    NoteFactory()
    access = make_client(user).tokens["access_token"]
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield access
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@SCHEMA.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
@pytest.mark.django_db
def test_no_operation_answers_outside_its_schema(case, token, signed_in):
    headers = {"Authorization": f"Bearer {token}"} if signed_in else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
