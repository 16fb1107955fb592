"""seed_demo leaves something in every feed for every demo login."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts import demo
from notes.models import NoteScore
from tests.conftest import ApiClient, login
from tests.notes.feeds_support import ids

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("feed_backend", "eager_celery")]


def signed_in(username: str) -> ApiClient:
    client = ApiClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {login(client, username, demo.DEMO_PASSWORD)['access_token']}"
    )
    return client


def test_every_demo_login_has_something_in_every_feed():
    out = StringIO()
    call_command("seed_demo", "--users", "4", "--notes", "2", stdout=out)
    assert "feeds:" in out.getvalue()
    places = list(NoteScore.objects.filter(rankable=True).exclude(lat=None).values_list("lat", "lng"))
    assert places
    for spec in demo.LOGINS:
        client = signed_in(spec.username)
        assert ids(client.get("/api/v1/feed/following")), spec.username
        assert ids(client.get("/api/v1/feed/discover")), spec.username
        nearby = [ids(client.get(f"/api/v1/feed/nearby?lat={lat}&lng={lng}")) for lat, lng in places]
        assert any(nearby), spec.username


def test_the_feeds_step_is_idempotent():
    call_command("seed_demo", "--users", "4", "--notes", "1", stdout=StringIO())
    before = sorted(NoteScore.objects.values_list("note_id", "rankable", "likes", "collects"))
    call_command("seed_demo", "--users", "4", "--notes", "1", stdout=StringIO())
    assert sorted(NoteScore.objects.values_list("note_id", "rankable", "likes", "collects")) == before
