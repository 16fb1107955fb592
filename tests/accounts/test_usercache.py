"""A signed-in read takes its user from the process's copy, which PostgreSQL keeps true
(``accounts.usercache``). Its writes are committed here (``transaction=True``): a rolled-back
test transaction never notifies anyone."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from accounts import services, usercache
from accounts.models import User
from notes.models import Comment
from tests.conftest import make_client, requires_postgres
from tests.factories import UserFactory
from tests.factories.notes import NoteFactory
from tests.helpers import assert_error

pytestmark = pytest.mark.django_db(transaction=True)

KEPT = 3600  # so that only a notification, never the copy's age, can explain a user being forgotten


@pytest.fixture
def kept(settings):
    """The cache on, for as long as any test would take; off again (its listener stopped) after."""
    settings.USER_CACHE_SECONDS = KEPT


def _user_queries(client, path: str, user: User, method: str = "get", **request) -> tuple[int, int]:
    """(status, how many of the request's queries read ``user``'s row by its id)."""
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(path, **request)
    table = User._meta.db_table
    return response.status_code, sum(
        f'FROM "{table}" WHERE "{table}"."id" = {user.pk}' in query["sql"] for query in queries
    )


def _eventually(check, seconds: float = 5.0):
    """``check()``'s first truthy answer, asked until ``seconds`` have passed (a notification
    arrives within milliseconds of its commit; this bounds a broken listener)."""
    deadline = time.monotonic() + seconds
    while not (answer := check()) and time.monotonic() < deadline:
        time.sleep(0.01)
    return answer


@pytest.fixture
def reader(kept):
    """``(user, client, other, profile)``: a signed-in user whose first read (``other``'s profile)
    loaded their row, which the process now keeps."""
    user, other = UserFactory(), UserFactory()
    client = make_client(user)
    profile = f"/api/v1/users/{other.username}"
    assert _user_queries(client, profile, user) == (200, 1)
    return user, client, other, profile


@requires_postgres("notifications are PostgreSQL's")
def test_a_read_takes_its_user_from_the_copy_and_a_write_loads_it_unless_it_needs_only_the_id(reader):
    user, client, other, profile = reader
    assert _user_queries(client, profile, user) == (200, 0)
    assert _user_queries(client, f"/api/v1/users/{user.username}/notes", user) == (200, 0)
    assert _user_queries(client, "/api/v1/me", user) == (200, 1)  # it shows the counters
    assert _user_queries(client, f"/api/v1/users/{other.username}/follow", user, "post")[1] == 1
    note = NoteFactory(author=other)
    like = f"/api/v1/notes/{note.pk}/like"
    assert _user_queries(client, like, user, "post") == (200, 0)  # a toggle uses the id alone
    assert _user_queries(client, like, user, "delete") == (200, 0)
    # So do a comment, its deletion and a checkout (here of an empty cart): id and settings.
    comment = {"data": {"body": "好看"}, "format": "json"}
    status, loads = _user_queries(client, f"/api/v1/notes/{note.pk}/comments", user, "post", **comment)
    assert (status, loads) == (201, 0)
    created = Comment.objects.get(note=note, author=user)
    assert _user_queries(client, f"/api/v1/comments/{created.pk}", user, "delete") == (204, 0)
    assert Comment.objects.get(pk=created.pk).deleted_at is not None
    checkout = {"data": {}, "format": "json", "HTTP_IDEMPOTENCY_KEY": "empty-cart"}
    assert _user_queries(client, "/api/v1/shop/orders", user, "post", **checkout)[1] == 0


@requires_postgres("notifications are PostgreSQL's")
def test_a_deactivated_user_is_refused_at_once_though_its_copy_is_young(reader):
    user, client, _, profile = reader
    assert _user_queries(client, profile, user) == (200, 0)

    User.objects.filter(pk=user.pk).update(is_active=False)  # committed: the trigger notifies

    assert _eventually(lambda: client.get(profile).status_code == 401)
    assert_error(client.get(profile), 401, "authentication_failed")
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert _eventually(lambda: client.get(profile).status_code == 200)


@requires_postgres("notifications are PostgreSQL's")
def test_a_deleted_user_is_refused_not_a_500(reader):
    user, client, _, profile = reader
    User.objects.filter(pk=user.pk).delete()
    assert _eventually(lambda: client.get(profile).status_code == 401)
    assert_error(client.get(profile), 401, "authentication_failed")


@requires_postgres("notifications are PostgreSQL's")
def test_a_change_to_the_profile_reaches_the_copy(reader):
    user, client, _, profile = reader
    user.is_staff = True
    user.save()  # every column, as the admin saves it
    assert _eventually(lambda: _user_queries(client, profile, user) == (200, 1))
    assert _user_queries(client, profile, user) == (200, 0)


@requires_postgres("notifications are PostgreSQL's")
def test_moving_counters_keeps_the_copy_and_me_shows_them_as_they_are(reader):
    user, client, fan, profile = reader
    services.follow_create(follower=fan, followee=user)  # moves user.follower_count, by F()
    User.objects.filter(pk=user.pk).update(like_collect_count=F("like_collect_count") + 3)
    # Notices arrive in commit order: once a later change to someone else is heard, a notice of
    # the counters would have been too.
    assert pk_loaded(fan.pk) is True
    User.objects.filter(pk=fan.pk).update(bio="later")
    assert _eventually(lambda: pk_loaded(fan.pk))

    assert _user_queries(client, profile, user) == (200, 0)
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.content
    assert (me.json()["follower_count"], me.json()["like_collect_count"]) == (1, 3)


@requires_postgres("the trigger is PostgreSQL's")
def test_every_column_but_the_counters_is_watched():
    """A column added to ``User`` without recreating the trigger would change without telling the
    processes that keep copies: this fails until a migration adds it to the trigger's list."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_trigger t
            JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr::int2[])
            WHERE t.tgname = 'accounts_user_changed'
            """
        )
        watched = {name for (name,) in cursor.fetchall()}
    columns = {f.column for f in User._meta.concrete_fields}
    assert watched == columns - set(User.COUNTERS) - {User._meta.pk.column}


@requires_postgres("notifications are PostgreSQL's")
def test_a_row_read_while_a_notice_arrives_is_not_kept(kept, monkeypatch):
    user = UserFactory()
    cache = usercache._process_cache()
    read = usercache.user_row

    def read_then_notice(pk):
        row = read(pk)
        cache.forget(pk)  # as the listener does when the row changes between the read and keeping it
        return row

    monkeypatch.setattr(usercache, "user_row", read_then_notice)
    assert usercache.user_get_kept(user.pk).pk == user.pk
    monkeypatch.setattr(usercache, "user_row", read)
    assert pk_loaded(user.pk) is True


def pk_loaded(pk: int) -> bool:
    """Whether reading user ``pk`` now queries the database."""
    with CaptureQueriesContext(connection) as queries:
        assert usercache.user_get_kept(pk).pk == pk
    return len(queries) > 0


@pytest.fixture
def kept_user(kept):
    """``(user, cache)``: a user the process's cache has just kept (a second read queries nothing)."""
    user = UserFactory()
    assert pk_loaded(user.pk) is True
    assert pk_loaded(user.pk) is False
    return user, usercache._process_cache()


@requires_postgres("notifications are PostgreSQL's")
def test_the_listener_comes_back_after_losing_its_connection_and_keeps_nothing_from_before(kept_user):
    user, cache = kept_user
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            ["zhongcao usercache"],
        )
        assert cursor.fetchone() == (True,)
    assert _eventually(lambda: not cache.listening.is_set())
    # While nobody listens, a change could go unheard: nothing is read from the copy or kept.
    assert pk_loaded(user.pk) is True
    assert _eventually(cache.listening.is_set, seconds=10)
    assert pk_loaded(user.pk) is True  # forgotten on reconnecting
    assert pk_loaded(user.pk) is False
    User.objects.filter(pk=user.pk).update(bio="heard again")
    assert _eventually(lambda: pk_loaded(user.pk))


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the embedded default")
def test_without_postgresql_every_read_loads_its_user(reader):
    user, client, _, profile = reader  # its first read loaded the row
    assert _user_queries(client, profile, user) == (200, 1)
    assert usercache._cache is None


@requires_postgres("notifications are PostgreSQL's")
def test_a_notice_that_names_no_user_forgets_everyone_and_the_listener_stays(kept_user):
    user, cache = kept_user
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, 'not an id')", [usercache.CHANNEL])
    assert _eventually(lambda: pk_loaded(user.pk))
    assert cache.listening.is_set()  # heard, not a broken connection
    assert pk_loaded(user.pk) is False  # kept again at once
