"""Project-wide fixtures: a temp media root, fast hashing, clean caches, and API clients that log
in through the real allauth headless endpoints and carry a real JWT."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.moderation import MODERATORS_GROUP
from tests.factories import UserFactory
from tests.factories.accounts import PASSWORD

LOGIN_URL = "/_allauth/app/v1/auth/login"


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # A test's writes are rolled back, never committed, so PostgreSQL never tells the user cache
    # about them: it is tested on its own, with committed writes (tests/accounts/test_usercache.py).
    settings.USER_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _clear_cache():
    """Throttles and allauth rate limits live in the cache; each test starts with none used."""
    cache.clear()
    yield
    cache.clear()


def requires_postgres(reason: str = "real row-level concurrency needs PostgreSQL"):
    return pytest.mark.skipif(connection.vendor != "postgresql", reason=reason)


def login(client: APIClient, username: str, password: str = PASSWORD) -> dict:
    """Log in through allauth headless; returns its ``meta`` (access_token, refresh_token...)."""
    response = client.post(LOGIN_URL, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["meta"]


class ApiClient(APIClient):
    """An APIClient that knows who it is logged in as."""

    user = None
    tokens: dict | None = None


def make_client(user=None) -> ApiClient:
    client = ApiClient()
    if user is not None:
        client.tokens = login(client, user.username)
        client.user = user
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access_token']}")
    return client


def twin(client: ApiClient) -> ApiClient:
    """Another API client with ``client``'s token: one per thread of a concurrency test, no second
    login."""
    other = make_client()
    other.user = client.user
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {client.tokens['access_token']}")
    return other


@pytest.fixture
def anon_client() -> ApiClient:
    return make_client()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def client_for(db):
    """``client_for(user)`` gives an API client logged in as ``user`` with a real JWT."""
    return make_client


@pytest.fixture
def api(client_for, user) -> ApiClient:
    return client_for(user)


@pytest.fixture
def moderator_admin(db) -> Client:
    """A browser session in the admin as a staff member of the Moderators group (no superuser)."""
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS_GROUP))
    client = Client()
    client.force_login(user)
    return client
